// Survey form: a draggable map pin that writes into the latitude/longitude inputs (and
// follows them when typed). Without JavaScript or Leaflet the inputs alone still work.
(function () {
  "use strict";
  function init() {
    var errors = document.getElementById("survey-errors");
    if (errors) errors.focus();
    // Count and note only for the capabilities that are ticked: a shorter form on a phone.
    Array.prototype.forEach.call(document.querySelectorAll(".survey-cap"), function (row) {
      var box = row.querySelector(".survey-cap__check input[type=checkbox]");
      var extra = row.querySelector(".survey-cap__extra");
      if (!box || !extra) return;
      var sync = function () { extra.hidden = !box.checked && !extra.querySelector(".errorlist"); };
      box.addEventListener("change", sync);
      sync();
    });
    var el = document.getElementById("survey-map");
    if (!el) return;
    if (typeof window.L === "undefined" || !el.dataset.tiles) { el.hidden = true; return; }
    var latInput = document.getElementById(el.dataset.latInput);
    var lngInput = document.getElementById(el.dataset.lngInput);
    if (!latInput || !lngInput) { el.hidden = true; return; }
    var lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
    var hasPoint = !isNaN(lat) && !isNaN(lng);
    var center = hasPoint ? [lat, lng] : [parseFloat(el.dataset.centerLat) || 35.6464, parseFloat(el.dataset.centerLng) || 139.6533];
    var map = L.map(el, { keyboard: true }).setView(center, hasPoint ? 17 : 13);
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "国土地理院" }).addTo(map);
    var marker = L.marker(center, { draggable: true, keyboard: false, title: el.getAttribute("aria-label") || "" }).addTo(map);
    function write(point) {
      latInput.value = point.lat.toFixed(6);
      lngInput.value = point.lng.toFixed(6);
    }
    marker.on("dragend", function () { write(marker.getLatLng()); });
    map.on("click", function (e) { marker.setLatLng(e.latlng); write(e.latlng); });
    function follow() {
      var a = parseFloat(latInput.value), b = parseFloat(lngInput.value);
      if (!isNaN(a) && !isNaN(b)) { marker.setLatLng([a, b]); map.panTo([a, b]); }
    }
    latInput.addEventListener("change", follow);
    lngInput.addEventListener("change", follow);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
