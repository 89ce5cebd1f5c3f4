// Autocompletion of typed names: a native <datalist> filled from a small JSON endpoint while
// typing, for every field with data-suggest-url (the place field "住所・駅名・地区名" from
// /api/places, and on a site with many areas the 地域・地区 field from /api/areas). The
// endpoint answers {"query", "<data-suggest-key>": [{"label", "kind_label", "detail"}]}. The
// browser shows and announces the choices (also on phones); without JavaScript each is a plain
// text field and the search still works (the server reads the typed name).
function attach(input) {
  const list = document.getElementById(input.dataset.suggestList || "");
  const url = input.dataset.suggestUrl;
  const key = input.dataset.suggestKey || "places";
  if (!list || !url) return;
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
      if (data.query !== last || !Array.isArray(data[key])) return;
      list.replaceChildren(
        ...data[key].map((item) => {
          const option = document.createElement("option");
          option.value = item.label;
          option.textContent = [item.kind_label, item.detail].filter(Boolean).join("　");
          return option;
        }),
      );
    } catch (error) {
      if (error.name !== "AbortError") list.replaceChildren();
    }
  }

  input.setAttribute("list", list.id);
  // The browser's own address autofill would hide the suggestions.
  input.setAttribute("autocomplete", "off");
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
}

document.querySelectorAll("input[data-suggest-url]").forEach(attach);
