// Site-wide behaviour: the larger-text toggle (remembered in this browser).
(function () {
  "use strict";
  var KEY = "rm-large-text";
  var root = document.documentElement;
  var button = document.querySelector("[data-text-size-toggle]");
  if (!button) return;
  var labelOn = button.getAttribute("data-label-on") || button.textContent;
  function sync() {
    var on = root.classList.contains("large-text");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = labelOn;
  }
  button.hidden = false;
  sync();
  button.addEventListener("click", function () {
    root.classList.toggle("large-text");
    try { localStorage.setItem(KEY, root.classList.contains("large-text") ? "1" : "0"); } catch (e) { /* private mode */ }
    sync();
  });
})();
