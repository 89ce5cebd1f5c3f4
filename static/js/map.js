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
// The first view, kept while the map is hidden (phone list view) and set when it is shown.
let fitMarkers = null;
const NEAREST_IN_VIEW = 5;

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

function popupHtml(item) {
  const type = config.types[item.type];
  const url = `${config.detailUrl}${item.id}/`;
  return `<p class="popup__type">${type ? escapeHtml(type.name) : ""}</p>` +
    `<p class="popup__name"><a href="${url}">${escapeHtml(item.name)}</a></p>` +
    (item.address ? `<p class="popup__address">${escapeHtml(item.address)}</p>` : "") +
    (item.phone ? `<p class="popup__phone">${escapeHtml(config.strings.phone)} <a href="tel:${escapeHtml(item.phone)}">${escapeHtml(item.phone)}</a></p>` : "") +
    `<p><a href="${url}">${escapeHtml(config.strings.detail)}</a></p>`;
}

// The map asks the API only for what it shows: the view (padded) as bbox= with the zoom.
// Up to the API's point limit it gets providers (clustered here by markercluster); beyond
// it, counts per grid cell computed by the server. It asks again only when the view leaves
// what it has, or when it had cell counts and the zoom changed.
let loaded = null;
let requestSeq = 0;
let serverClusters = null;

function viewQuery(bounds, zoom) {
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const parts = [
    clamp(bounds.getWest(), -180, 179.99999), clamp(bounds.getSouth(), -90, 89.99999),
    clamp(bounds.getEast(), -179.99999, 180), clamp(bounds.getNorth(), -89.99999, 90),
  ].map((v) => v.toFixed(5));
  const sep = config.apiUrl.endsWith("?") ? "" : "&";
  return `${config.apiUrl}${sep}bbox=${parts.join(",")}&zoom=${zoom}`;
}

function ensurePopup(marker, row, columns) {
  // One popup per marker only once it is opened (binding every marker doubles the memory).
  // A view's rows carry what the markers need: the address and phone are asked for first,
  // so the popup opens whole (resolves when it is bound).
  if (marker.getPopup()) return Promise.resolve();
  const item = Object.fromEntries(columns.map((name, i) => [name, row[i]]));
  item.type = marker.portalType;
  const bind = () => { if (!marker.getPopup()) marker.bindPopup(() => popupHtml(item)); };
  if ("address" in item) return Promise.resolve(bind());
  return fetch(`${config.rowUrl}${item.id}`)
    .then((response) => (response.ok ? response.json() : null))
    .then((data) => {
      const full = data && data.providers[0];
      if (full) data.columns.forEach((name, i) => { item[name] = full[i]; });
    })
    .catch(() => {})
    .then(bind);
}

function pointMarker(row, columns, icons, types) {
  // No listener per marker: one on the cluster group opens any marker's popup (onMarkerClick).
  // A view's rows name their type by id (``types``: id -> code), whole rows by its code.
  const [id, lat, lng, typeKey, name] = row;
  const type = types ? types[typeKey] : typeKey;
  icons[type] = icons[type] || iconFor(type);
  const marker = L.marker([lat, lng], { icon: icons[type], title: name, alt: name, keyboard: true });
  marker.portalRow = row;
  marker.portalColumns = columns;
  marker.portalType = type;
  markers.set(id, marker);
  return marker;
}

function onMarkerClick(event) {
  const marker = event.layer;
  if (!marker || !marker.portalRow || marker.getPopup()) return;
  ensurePopup(marker, marker.portalRow, marker.portalColumns).then(() => marker.openPopup());
}

function cellMarker([lat, lng, n]) {
  const marker = L.marker([lat, lng], {
    icon: clusterIcon({ getChildCount: () => n }), keyboard: true,
    title: config.strings.cluster.replace("%(n)s", String(n)),
  });
  marker.on("click", () => map.setView([lat, lng], Math.min(map.getZoom() + 2, SHOW_ZOOM), { animate: false }));
  return marker;
}

async function fetchView(bounds, zoom, url = null) {
  const seq = ++requestSeq;
  // No extra request headers: the first view's request must match the page's preload.
  const response = await fetch(url || viewQuery(bounds, zoom));
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const data = await response.json();
  if (seq !== requestSeq) return null; // a newer view was asked for meanwhile
  return data;
}

async function draw(data, bounds, zoom) {
  cluster.clearLayers();
  serverClusters.clearLayers();
  markers.clear();
  const icons = {};
  const layers = [];
  for (const row of data.providers) {
    if (row[1] === null || row[2] === null) continue;
    layers.push(pointMarker(row, data.columns, icons, data.types));
  }
  const drawn = new Promise((resolve) => {
    if (!layers.length) resolve();
    else cluster.options.chunkProgress = (done, total) => { if (done >= total) resolve(); };
  });
  cluster.addLayers(layers);
  const cells = data.clusters || [];
  for (const cell of cells) serverClusters.addLayer(cellMarker(cell));
  await drawn;
  loaded = { bounds, zoom, clustered: cells.length > 0 };
  mapEl.dataset.markerCount = String(layers.length);
  mapEl.dataset.clusterCount = String(cells.length);
  mapEl.dataset.resultCount = String(data.count);
  setStatus(config.strings.markers.replace("%(n)s", String(cells.length ? data.count : layers.length)));
  return layers.length;
}

async function loadMarkers() {
  // First view: the municipality (or the map's view), so a city-sized search comes whole.
  const start = config.bounds
    ? L.latLngBounds([config.bounds[0], config.bounds[1]], [config.bounds[2], config.bounds[3]])
    : map.getBounds().pad(0.5);
  const zoom = map.getZoom();
  const data = await fetchView(start, zoom, config.bounds ? config.firstUrl : null);
  // The first view (around the place searched, or all the markers) is set once the map is on
  // screen: a hidden map (the list first on a phone) has no size to centre in. It is set from
  // the answer before the markers are added, so markercluster places them once, at the final
  // zoom (fitting afterwards re-clusters them and forces a layout of the whole page).
  // No animation: an animated first zoom can be left half-done when the page is frozen
  // (Back/Forward cache), which then blocks later view changes.
  const points = [];
  for (const row of data.providers) if (row[1] !== null && row[2] !== null) points.push(L.latLng(row[1], row[2]));
  if (config.point) {
    const centre = [config.point.lat, config.point.lng];
    if (config.point.radius) {
      const circle = L.circle(centre, { radius: config.point.radius, color: "#1f5fa8", weight: 2, fill: false, interactive: false }).addTo(map);
      fitMarkers = () => map.fitBounds(circle.getBounds(), { animate: false });
    } else {
      // The place and its nearest few providers, so the first answers are on the map too.
      fitMarkers = () => {
        const nearest = points.sort((a, b) => map.distance(centre, a) - map.distance(centre, b)).slice(0, NEAREST_IN_VIEW);
        map.fitBounds(L.latLngBounds([centre, ...nearest]), { padding: [40, 40], maxZoom: 15, animate: false });
      };
    }
    L.circleMarker(centre, { radius: 7, color: "#000", weight: 3, fillColor: "#ffd400", fillOpacity: 1, interactive: false }).addTo(map);
  } else if (points.length) {
    fitMarkers = () => map.fitBounds(L.latLngBounds(points), { padding: [20, 20], maxZoom: 16, animate: false });
  }
  if (fitMarkers && mapEl.offsetWidth) { fitMarkers(); fitMarkers = null; }
  await draw(data, start, zoom);
  map.on("moveend", onMoveEnd);
  mapEl.dataset.ready = "1";
  performance.mark("markers-drawn");
  window.portalMap = { map, cluster, markers };
}

function onMoveEnd() {
  const view = map.getBounds();
  const zoom = map.getZoom();
  if (loaded && loaded.bounds.contains(view) && (!loaded.clustered || loaded.zoom === zoom)) return;
  const bounds = view.pad(0.5);
  fetchView(bounds, zoom)
    .then((data) => (data ? draw(data, bounds, zoom) : null))
    .catch(() => setStatus(config.strings.loadFailed));
}

function showMarker(id) {
  const marker = markers.get(id);
  if (!marker) return;
  const bound = ensurePopup(marker, marker.portalRow, marker.portalColumns);
  fitMarkers = null;  // the marker decides the view, not the whole result
  setView("map", false);
  mapEl.scrollIntoView({ block: "nearest" });
  // Clustering stops at SHOW_ZOOM, so after this jump the marker itself is on the map.
  map.setView(marker.getLatLng(), Math.max(map.getZoom(), SHOW_ZOOM), { animate: false });
  const open = () => {
    marker.openPopup();
    const el = marker.getElement();
    if (el) el.focus({ preventScroll: true });
  };
  bound.then(() => {
    if (map.hasLayer(marker)) open();
    else cluster.zoomToShowLayer(marker, open);
  });
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
  if (map) {
    // At once (not after a timeout), so a view set right after this (showMarker) is centred
    // in the map's new size; the view itself is left where it was.
    map.invalidateSize({ pan: false });
    if (fitMarkers && mapEl.offsetWidth) { fitMarkers(); fitMarkers = null; }
  }
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

function initLegend() {
  // The legend is folded on phones (it would push the list down), open beside a wide map.
  const legend = document.querySelector("[data-legend]");
  if (legend && window.matchMedia("(min-width: 48em)").matches) legend.open = true;
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
  cluster.on("click", onMarkerClick);
  map.addLayer(cluster);
  serverClusters = L.layerGroup().addTo(map);
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
  // On a phone a search shows the list first (the map is one tap away); the choice is kept.
  let saved = config.searched ? "list" : "both";
  try { saved = sessionStorage.getItem("rm-view") || saved; } catch (e) { /* ignore */ }
  setView(saved, false);
  window.matchMedia("(max-width: 47.99em)").addEventListener("change", () => setView(saved, false));
}

initFilterFold();
initLegend();
initNearMe();
cleanSubmit();
if (window.L) init(); else window.addEventListener("load", init);
