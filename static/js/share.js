// Shortlist page: copy the list's link, or hand it to the phone's share sheet (Web Share API)
// where the browser has one. Without JavaScript the link stays a visible, selectable field.
(function () {
  "use strict";
  var box = document.querySelector("[data-share]");
  if (!box) return;
  var field = box.querySelector("[data-share-url]");
  var status = box.querySelector("[data-share-status]");
  var copyButton = box.querySelector("[data-share-copy]");
  var shareButton = box.querySelector("[data-share-native]");
  var url = field.value;

  function say(text) { status.textContent = text; }

  // Tapping the field selects the whole link, ready to copy by hand.
  field.addEventListener("focus", function () { field.select(); });

  function copyBySelection() {
    field.focus();
    field.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  copyButton.hidden = false;
  copyButton.addEventListener("click", function () {
    var done = function () { say(box.getAttribute("data-label-copied")); };
    var failed = function () {
      if (copyBySelection()) done(); else say(box.getAttribute("data-label-copy-failed"));
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(done, failed);
    } else {
      failed();
    }
  });

  if (navigator.share) {
    shareButton.hidden = false;
    shareButton.addEventListener("click", function () {
      navigator.share({ title: box.getAttribute("data-share-title") || document.title, url: url })
        .catch(function () { /* closed by the user */ });
    });
  }
})();
