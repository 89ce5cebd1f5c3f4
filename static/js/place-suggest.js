// Autocompletion of the place field ("住所・駅名・地区名"): a native <datalist> filled from the
// gazetteer (/api/places?q=…) while typing. The browser shows and announces the choices (also
// on phones); without JavaScript the field is a plain text field and the search still works.
const input = document.getElementById("f-near");
const list = input && document.getElementById(input.dataset.suggestList || "");
const url = input && input.dataset.suggestUrl;
let timer = null;
let pending = null;
let last = null;

async function refresh() {
  const text = input.value.trim();
  if (text === last) return;
  last = text;
  if (pending) pending.abort();
  if (!text) {
    list.replaceChildren();
    return;
  }
  pending = new AbortController();
  try {
    const address = new URL(url, document.baseURI);
    address.searchParams.set("q", text);
    const response = await fetch(address, {
      signal: pending.signal,
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const data = await response.json();
    if (data.query !== last || !Array.isArray(data.places)) return;
    list.replaceChildren(
      ...data.places.map((place) => {
        const option = document.createElement("option");
        option.value = place.label;
        option.textContent = [place.kind_label, place.detail].filter(Boolean).join("　");
        return option;
      }),
    );
  } catch (error) {
    if (error.name !== "AbortError") list.replaceChildren();
  }
}

if (input && list && url) {
  input.setAttribute("list", list.id);
  // The browser's own address autofill would hide the suggestions.
  input.setAttribute("autocomplete", "off");
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
}
