// Provider form: set the location by clicking or dragging a marker on a Leaflet map.
// The latitude/longitude inputs stay the source of truth: the map follows them and writes
// back to them. Leaflet itself is loaded as a classic script before this module (global L).

const DIGITS = 6;

function readInputs(lat, lng) {
  const a = Number.parseFloat(lat.value);
  const b = Number.parseFloat(lng.value);
  return Number.isFinite(a) && Number.isFinite(b) ? [a, b] : null;
}

function setup(container) {
  const L = window.L;
  if (!L) return;
  const config = JSON.parse(container.dataset.config);
  const form = container.closest("form");
  const lat = form ? form.querySelector("input[name='latitude']") : null;
  const lng = form ? form.querySelector("input[name='longitude']") : null;
  const editable = Boolean(lat && lng);

  const map = L.map(container, { scrollWheelZoom: false }).setView(config.center, config.zoom);
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
  if (config.boundary && config.boundary.length > 2) {
    L.polygon(config.boundary, { color: "#1f5fa8", weight: 2, fill: false, interactive: false }).addTo(map);
  }

  let marker = null;
  const write = (latlng) => {
    if (!editable) return;
    lat.value = latlng.lat.toFixed(DIGITS);
    lng.value = latlng.lng.toFixed(DIGITS);
    lat.dispatchEvent(new Event("change", { bubbles: true }));
    lng.dispatchEvent(new Event("change", { bubbles: true }));
  };
  const place = (latlng) => {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, { draggable: editable, keyboard: true, title: container.getAttribute("aria-label") });
    marker.on("dragend", () => write(marker.getLatLng()));
    marker.addTo(map);
  };

  const start = editable ? readInputs(lat, lng) : config.marker;
  if (start) place(L.latLng(start[0], start[1]));

  if (editable) {
    map.on("click", (event) => {
      place(event.latlng);
      write(event.latlng);
    });
    const follow = () => {
      const value = readInputs(lat, lng);
      if (!value) {
        if (marker) {
          marker.remove();
          marker = null;
        }
        return;
      }
      place(L.latLng(value[0], value[1]));
      map.panTo(value);
    };
    lat.addEventListener("input", follow);
    lng.addEventListener("input", follow);
  }
  container.rmMap = map;
  container.rmMarker = () => marker;
}

document.querySelectorAll(".rm-location-map").forEach(setup);
