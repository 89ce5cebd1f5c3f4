// Search form: the capabilities offered follow the chosen provider types (the server renders
// the same choice for the current search, so this only keeps it right while ticking types).
const form = document.getElementById("search-form");

function syncCapabilities() {
  if (!form) return;
  const chosen = [...form.querySelectorAll("input[name=type]:checked")].map((box) => box.value);
  form.querySelectorAll("[data-cap-types]").forEach((item) => {
    const applies = item.dataset.capTypes.split(" ").filter(Boolean);
    const box = item.querySelector("input[name=cap]");
    const offered = !chosen.length || (box && box.checked) || applies.some((code) => chosen.includes(code));
    item.hidden = !offered;
  });
}

if (form) {
  form.querySelectorAll("input[name=type]").forEach((box) => box.addEventListener("change", syncCapabilities));
}
