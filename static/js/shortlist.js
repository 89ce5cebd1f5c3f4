// Shortlist for printing: a tick box on every list item that has data-provider-id.
// The ticked ids live in localStorage (kept across result pages and searches) until the user
// clears them; the bar at the bottom opens the list of exactly those providers (to read on a
// phone, share or print), which remembers the search it came from (from=) for its way back.
(function () {
  "use strict";
  var KEY = "rm-shortlist";
  var MAX = 300;
  var items = document.querySelectorAll("[data-provider-id]");
  var root = document.querySelector("[data-shortlist-root]") || document.body;
  var listUrl = root.getAttribute("data-list-url") || "/shortlist/";
  var labels = {
    tick: root.getAttribute("data-label-tick") || "印刷する一覧に入れる",
    count: root.getAttribute("data-label-count") || "印刷用に選んだ事業所: {n}件",
    open: root.getAttribute("data-label-open") || "選んだ事業所の一覧（印刷・送る）",
    clear: root.getAttribute("data-label-clear") || "選択をすべて外す",
    full: root.getAttribute("data-label-full") || "選べるのは{n}件までです。"
  };

  function load() {
    try {
      var ids = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(ids) ? ids.filter(function (v) { return /^\d+$/.test(String(v)); }).map(String) : [];
    } catch (e) { return []; }
  }
  function save(ids) {
    try { localStorage.setItem(KEY, JSON.stringify(ids)); } catch (e) { /* storage blocked */ }
  }

  var bar = document.createElement("div");
  bar.className = "shortlist-bar";
  bar.setAttribute("role", "region");
  bar.setAttribute("aria-label", labels.open);
  bar.innerHTML = '<p class="shortlist-bar__count" aria-live="polite"></p>' +
    '<a class="shortlist-bar__open button" data-shortlist-open></a>' +
    '<button type="button" class="shortlist-bar__clear button button--plain" data-shortlist-clear></button>';
  bar.querySelector("[data-shortlist-open]").textContent = labels.open;
  bar.querySelector("[data-shortlist-clear]").textContent = labels.clear;
  /* The bar's styles are in css/site.css (no inline styles: Content-Security-Policy). */

  function render() {
    var ids = load();
    bar.hidden = ids.length === 0;
    bar.querySelector(".shortlist-bar__count").textContent = labels.count.replace("{n}", ids.length);
    var from = window.location.search.replace(/^\?/, "");
    bar.querySelector("[data-shortlist-open]").href = listUrl + "?ids=" + ids.join(",") +
      (from ? "&from=" + encodeURIComponent(from) : "");
    document.querySelectorAll("input[data-shortlist-tick]").forEach(function (box) {
      box.checked = ids.indexOf(box.value) !== -1;
    });
  }

  function toggle(id, on) {
    var ids = load().filter(function (v) { return v !== id; });
    if (on) {
      if (ids.length >= MAX) { window.alert(labels.full.replace("{n}", MAX)); render(); return; }
      ids.push(id);
    }
    save(ids);
    render();
  }

  function enhance(item) {
    var id = String(item.getAttribute("data-provider-id"));
    if (!/^\d+$/.test(id) || item.querySelector("input[data-shortlist-tick]")) return;
    var label = document.createElement("label");
    label.className = "shortlist-tick";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.value = id;
    box.setAttribute("data-shortlist-tick", "");
    box.addEventListener("change", function () { toggle(id, box.checked); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(labels.tick));
    item.appendChild(label);
  }
  items.forEach(enhance);
  // The map page may redraw its result list; tick boxes follow the new items.
  if (window.MutationObserver) {
    new MutationObserver(function (records) {
      var added = false;
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          if (node.hasAttribute("data-provider-id")) { enhance(node); added = true; }
          node.querySelectorAll("[data-provider-id]").forEach(function (el) { enhance(el); added = true; });
        });
      });
      if (added) {
        if (!bar.parentNode) document.body.appendChild(bar);
        render();
      }
    }).observe(document.body, { childList: true, subtree: true });
  }

  bar.querySelector("[data-shortlist-clear]").addEventListener("click", function () {
    save([]);
    render();
  });
  window.addEventListener("storage", function (event) { if (event.key === KEY) render(); });

  if (items.length || load().length) {
    document.body.appendChild(bar);
    render();
  }
})();
