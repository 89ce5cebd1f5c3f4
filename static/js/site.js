// Site-wide behaviour: the larger-text button (150%, 200%, then back to normal), remembered in
// this browser. The early script in base.html applies the choice before the first paint.
(function () {
  "use strict";
  var KEY = "rm-large-text";  // "1" = 150%, "200" = 200%, "0" = normal
  var root = document.documentElement;
  var button = document.querySelector("[data-text-size-toggle]");
  if (!button) return;
  var level = button.querySelector("[data-text-size-level]");
  function current() {
    if (!root.classList.contains("large-text")) return 100;
    return root.classList.contains("text-200") ? 200 : 150;
  }
  function apply(size) {
    root.classList.toggle("large-text", size > 100);
    root.classList.toggle("text-200", size === 200);
    try { localStorage.setItem(KEY, size === 200 ? "200" : size === 150 ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  function sync() {
    var size = current();
    button.setAttribute("aria-pressed", size > 100 ? "true" : "false");
    if (level) level.textContent = size > 100 ? " " + size + "%" : "";
  }
  button.hidden = false;
  sync();
  button.addEventListener("click", function () {
    var size = current();
    apply(size === 100 ? 150 : size === 150 ? 200 : 100);
    sync();
  });
})();
