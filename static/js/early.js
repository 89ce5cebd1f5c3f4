/* Apply the larger-text choice before the first paint, so the page does not jump.
   Loaded without defer in <head> (a file, not inline, for the Content-Security-Policy). */
document.documentElement.classList.add("js");
try { var t = localStorage.getItem("rm-large-text"); if (t === "1" || t === "200") document.documentElement.classList.add("large-text"); if (t === "200") document.documentElement.classList.add("text-200"); } catch (e) {}
