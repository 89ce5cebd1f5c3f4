// Print preview pages: the "印刷する" button (the browser's own print, same page as the PDF)
// and clearing the shortlist that produced this sheet.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // The memo stays in this browser tab (sessionStorage) and on the sheet; it is sent only by
  // the PDF button's POST form, so it never appears in a URL.
  var NOTE_KEY = "rm-print-note";
  var noteInput = document.querySelector("[data-note-input]");
  var noteOutput = document.querySelector("[data-note-output]");
  if (noteInput && noteOutput) {
    var showNote = function () {
      noteOutput.textContent = noteInput.value;
      noteOutput.hidden = !noteInput.value.trim();
    };
    try { if (!noteInput.value) noteInput.value = sessionStorage.getItem(NOTE_KEY) || ""; } catch (e) { /* storage blocked */ }
    showNote();
    noteInput.addEventListener("input", function () {
      showNote();
      try { sessionStorage.setItem(NOTE_KEY, noteInput.value); } catch (e) { /* storage blocked */ }
    });
  }
  document.querySelectorAll("[data-shortlist-clear]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      try { localStorage.removeItem("rm-shortlist"); } catch (e) { /* storage blocked */ }
      var back = document.querySelector("[data-back-link]");
      window.location.href = back ? back.href : "/";
    });
  });
})();
