// Front page map: markers for the current search (same query string as the list), clustered.
// The list is server-rendered; this only adds the map. State lives in the URL: the form submits
// with GET, so reload and Back/Forward reproduce the search.
const config = JSON.parse(document.getElementById("map-config").textContent);
const mapEl = document.getElementById("map");
const statusEl = document.getElementById("map-status");
const form = document.getElementById("search-form");
const markers = new Map();
const SHOW_ZOOM = 17;
let cluster = null;
let map = null;

function setStatus(text) {
  if (statusEl) statusEl.textContent = text;
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function iconFor(typeCode) {
  const type = config.types[typeCode];
  return L.divIcon({
    html: type ? type.svg : "",
    className: "type-marker",
    iconSize: [28, 28],
    iconAnchor: [14, 14],
    popupAnchor: [0, -12],
  });
}

function clusterIcon(group) {
  // As markercluster's default icon, plus a name for screen readers ("12" alone says little).
  const n = group.getChildCount();
  const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  const label = escapeHtml(config.strings.cluster.replace("%(n)s", String(n)));
  return L.divIcon({
    html: `<div><span aria-hidden="true">${n}</span><span class="visually-hidden">${label}</span></div>`,
    className: `marker-cluster marker-cluster-${size}`,
    iconSize: new L.Point(40, 40),
  });
}

function popupHtml(row, columns) {
  const item = Object.fromEntries(columns.map((name, i) => [name, row[i]]));
  const type = config.types[item.type];
  const url = `${config.detailUrl}${item.id}/`;
  return `<p class="popup__type">${type ? escapeHtml(type.name) : ""}</p>` +
    `<p class="popup__name"><a href="${url}">${escapeHtml(item.name)}</a></p>` +
    `<p class="popup__address">${escapeHtml(item.address)}</p>` +
    `<p><a href="${url}">${escapeHtml(config.strings.detail)}</a></p>`;
}

async function loadMarkers() {
  const response = await fetch(config.apiUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const data = await response.json();
  const icons = {};
  const layers = [];
  const columns = data.columns;
  for (const row of data.providers) {
    const [id, lat, lng, type, name] = row;
    if (lat === null || lng === null) continue;
    icons[type] = icons[type] || iconFor(type);
    const marker = L.marker([lat, lng], { icon: icons[type], title: name, alt: name, keyboard: true });
    marker.bindPopup(() => popupHtml(row, columns));
    markers.set(id, marker);
    layers.push(marker);
  }
  const drawn = new Promise((resolve) => {
    if (!layers.length) resolve();
    else cluster.options.chunkProgress = (done, total) => { if (done >= total) resolve(); };
  });
  cluster.addLayers(layers);
  await drawn;
  mapEl.dataset.markerCount = String(layers.length);
  mapEl.dataset.resultCount = String(data.count);
  setStatus(config.strings.markers.replace("%(n)s", String(layers.length)));
  if (config.point) {
    const centre = [config.point.lat, config.point.lng];
    if (config.point.radius) {
      const circle = L.circle(centre, { radius: config.point.radius, color: "#1f5fa8", weight: 2, fill: false, interactive: false }).addTo(map);
      map.fitBounds(circle.getBounds(), { animate: false });
    } else {
      map.setView(centre, 15, { animate: false });
    }
    L.circleMarker(centre, { radius: 7, color: "#000", weight: 3, fillColor: "#ffd400", fillOpacity: 1, interactive: false }).addTo(map);
  } else if (layers.length) {
    // No animation: an animated first zoom can be left half-done when the page is frozen
    // (Back/Forward cache), which then blocks later view changes.
    map.fitBounds(cluster.getBounds(), { padding: [20, 20], maxZoom: 16, animate: false });
  }
  mapEl.dataset.ready = "1";
  performance.mark("markers-drawn");
  window.portalMap = { map, cluster, markers };
}

function showMarker(id) {
  const marker = markers.get(id);
  if (!marker) return;
  setView("map", false);
  mapEl.scrollIntoView({ block: "nearest" });
  // Clustering stops at SHOW_ZOOM, so after this jump the marker itself is on the map.
  map.setView(marker.getLatLng(), Math.max(map.getZoom(), SHOW_ZOOM), { animate: false });
  const open = () => {
    marker.openPopup();
    const el = marker.getElement();
    if (el) el.focus({ preventScroll: true });
  };
  if (map.hasLayer(marker)) open();
  else cluster.zoomToShowLayer(marker, open);
}

function setView(view, remember = true) {
  const body = document.querySelector(".results__body");
  if (!body) return;
  const narrow = window.matchMedia("(max-width: 47.99em)").matches;
  const show = narrow ? view : "both";
  body.dataset.show = show;
  document.querySelectorAll("[data-view]").forEach((b) => {
    b.setAttribute("aria-pressed", String(show === "both" || b.dataset.view === show));
  });
  if (remember) try { sessionStorage.setItem("rm-view", view); } catch (e) { /* ignore */ }
  if (map) setTimeout(() => map.invalidateSize(), 0);
}

function initNearMe() {
  const button = document.querySelector("[data-near-me]");
  if (!button) return;
  button.addEventListener("click", () => {
    if (!("geolocation" in navigator)) {
      setStatus(config.strings.noGeolocation);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.lng.value = pos.coords.longitude.toFixed(6);
        form.elements.place.value = config.strings.hereLabel;
        form.elements.near.value = config.strings.hereLabel;
        form.elements.sort.value = "distance";
        if (!form.elements.radius.value) form.elements.radius.value = "1000";
        form.submit();
      },
      () => setStatus(config.strings.geolocationFailed),
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 },
    );
  });
}

function initFilterFold() {
  // The filter panel is a <details>: folded on phones while results are shown (set by the
  // server), always opened on wider screens where it sits beside the results.
  const fold = document.getElementById("filters-fold");
  const summary = fold && fold.querySelector("[data-filters-toggle]");
  if (!fold || !summary) return;
  const wide = window.matchMedia("(min-width: 48em)");
  const sync = () => summary.setAttribute("aria-expanded", String(fold.open));
  if (wide.matches) fold.open = true;
  wide.addEventListener("change", () => { if (wide.matches) fold.open = true; });
  fold.addEventListener("toggle", sync);
  sync();
}

function cleanSubmit() {
  // Drop empty fields so the URL stays short and readable (same search either way).
  form.addEventListener("submit", () => {
    for (const el of form.elements) {
      if (el.name && !el.value && (el.tagName === "SELECT" || el.type === "text" || el.type === "search" || el.type === "time" || el.type === "hidden")) {
        if (el.name !== "near") el.disabled = true;
      }
    }
    const open = form.querySelector("input[name=open]:checked");
    if (open && !open.value) open.disabled = true;
  });
  // Selecting a day or time implies "open at".
  for (const name of ["day", "time"]) {
    form.elements[name].addEventListener("change", () => {
      if (form.elements[name].value) form.querySelector("input[name=open][value=at]").checked = true;
    });
  }
}

function init() {
  if (!window.L || !L.markerClusterGroup) {
    setStatus(config.strings.loadFailed);
    return;
  }
  map = L.map(mapEl, { keyboard: true, zoomControl: false }).setView(config.center, config.zoom);
  // Zoom buttons named in the page's language (Leaflet's own titles are English).
  L.control.zoom({ zoomInTitle: config.strings.zoomIn, zoomOutTitle: config.strings.zoomOut }).addTo(map);
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
  cluster = L.markerClusterGroup({
    chunkedLoading: true, disableClusteringAtZoom: SHOW_ZOOM, showCoverageOnHover: false, maxClusterRadius: 50,
    iconCreateFunction: clusterIcon,
  });
  map.addLayer(cluster);
  map.on("popupopen", (event) => {
    const close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", config.strings.closePopup);
  });
  loadMarkers().catch(() => {
    setStatus(config.strings.loadFailed);
    mapEl.dataset.ready = "error";
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-show-marker]");
    if (button) showMarker(Number(button.dataset.showMarker));
    const toggle = event.target.closest("[data-view]");
    if (toggle) setView(toggle.dataset.view);
  });
  let saved = "both";
  try { saved = sessionStorage.getItem("rm-view") || "both"; } catch (e) { /* ignore */ }
  setView(saved, false);
  window.matchMedia("(max-width: 47.99em)").addEventListener("change", () => setView(saved, false));
}

initFilterFold();
initNearMe();
cleanSubmit();
if (window.L) init(); else window.addEventListener("load", init);
