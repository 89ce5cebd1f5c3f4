// Small map on the provider page: one marker, no interaction needed.
const config = JSON.parse(document.getElementById("provider-map-config").textContent);
const el = document.getElementById("provider-map");
function init() {
  if (!el || config.lat === null || !window.L) return;
  const map = L.map(el, { scrollWheelZoom: false }).setView([config.lat, config.lng], 16);
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
  L.marker([config.lat, config.lng], {
    title: config.name,
    alt: config.name,
    // Nothing happens on click, so the marker is not a control (no extra Tab stop).
    interactive: false,
    keyboard: false,
    icon: L.divIcon({ html: config.svg, className: "type-marker", iconSize: [28, 28], iconAnchor: [14, 14] }),
  }).addTo(map);
}
if (window.L) init(); else window.addEventListener("load", init);
