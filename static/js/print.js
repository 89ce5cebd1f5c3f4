// Print preview pages: the "印刷する" button (the browser's own print, same page as the PDF)
// and clearing the shortlist that produced this sheet.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-shortlist-clear]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      try { localStorage.removeItem("rm-shortlist"); } catch (e) { /* storage blocked */ }
      var back = document.querySelector("[data-back-link]");
      window.location.href = back ? back.href : "/";
    });
  });
})();
