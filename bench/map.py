"""Benchmark: the map page in headless Chromium with N providers (default 5,000), beside a
bare page that draws with the same vendored Leaflet.markercluster and nothing else.

Times from navigation start until every marker/cluster is drawn (the ``markers-drawn``
performance mark, set by the map once markercluster has processed all markers; the bare page
sets the same mark) and the JS heap after drawing. The app runs under gunicorn with production
settings (DEBUG off, so the rendered page comes from the page cache once warm); tiles are
answered locally. Three pages, loaded alternately:

- the map page as shipped (its first view asks for the municipality's box; beyond
  ``MAP_MAX_POINTS`` matches it gets grid counts from the server instead of points);
- the map page with every point sent (``MAP_MAX_POINTS`` above the count), so that it draws
  exactly what the bare page draws;
- the bare page: the same compact JSON of every provider (``/api/providers.json``) drawn with
  markercluster and the same icons — the floor of both.

Usage: ``.venv/bin/python bench/map.py [--count 5000] [--runs 5]`` with ``DATABASE_URL``
pointing at a scratch database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import _common  # noqa: E402
from api import filled  # noqa: E402  (sets production settings)

BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2b1e9a60000000049454e44ae426082"
)

# The floor: Leaflet + markercluster with the app's options and icons, nothing else.
BARE_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>bare</title>
<link rel="stylesheet" href="{leaflet_css}">
<link rel="stylesheet" href="{cluster_css}">
<link rel="stylesheet" href="{cluster_default_css}">
<style>body {{ margin: 0; }} #map {{ width: {width}px; height: {height}px; }}</style>
</head><body><div id="map"></div>
<script src="{leaflet_js}"></script>
<script src="{cluster_js}"></script>
<script>
const config = {config};
const map = L.map("map").setView(config.center, config.zoom);
L.tileLayer(config.tileUrl, {{ maxZoom: 18 }}).addTo(map);
const cluster = L.markerClusterGroup({{
  chunkedLoading: true, disableClusteringAtZoom: 17, showCoverageOnHover: false, maxClusterRadius: 50,
}});
map.addLayer(cluster);
const icons = {{}};
fetch("{api_url}", {{ headers: {{ Accept: "application/json" }} }}).then((r) => r.json()).then((data) => {{
  const layers = [];
  for (const row of data.providers) {{
    if (row[1] === null) continue;
    const type = row[3];
    icons[type] = icons[type] || L.divIcon({{ html: config.types[type].svg, className: "type-marker", iconSize: [28, 28], iconAnchor: [14, 14] }});
    layers.push(L.marker([row[1], row[2]], {{ icon: icons[type], title: row[4], alt: row[4], keyboard: true }}));
  }}
  cluster.options.chunkProgress = (done, total) => {{
    if (done < total) return;
    Promise.resolve().then(finish);
  }};
  const finish = () => {{
    map.fitBounds(cluster.getBounds(), {{ padding: [20, 20], maxZoom: 16, animate: false }});
    document.getElementById("map").dataset.markerCount = String(layers.length);
    document.getElementById("map").dataset.ready = "1";
    performance.mark("markers-drawn");
  }};
  cluster.addLayers(layers);
}});
</script></body></html>
"""


def med(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    total = filled(args.count)
    from django.templatetags.static import static

    tag = f"[map] {total:,} providers"
    env: dict[str, str] = {}  # production settings, the page cache included
    from playwright.sync_api import sync_playwright

    with _common.Gunicorn(workers=4, env=env) as shipped, \
            _common.Gunicorn(workers=4, env={**env, "MAP_MAX_POINTS": str(total + 1)}) as points, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )

        def visit(url: str, bare_html: str | None = None) -> dict:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("https://cyberjapandata.gsi.go.jp/**",
                          lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG))
            if bare_html is not None:
                context.route(url, lambda route: route.fulfill(
                    status=200, content_type="text/html; charset=utf-8", body=bare_html))
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(url)
            try:
                page.wait_for_selector("#map[data-ready='1']", state="attached", timeout=120_000)
            except Exception:
                raise SystemExit(f"{url}: the map was not drawn {errors}") from None
            drawn = page.evaluate("performance.getEntriesByName('markers-drawn')[0].startTime")
            phases = page.evaluate(
                "(() => { const nav = performance.getEntriesByType('navigation')[0];"
                " const api = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/providers.json'));"
                " return { html: nav.responseEnd, dom: nav.domContentLoadedEventEnd,"
                " api_start: api ? api.startTime : 0, api_end: api ? api.responseEnd : 0 }; })()"
            )
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            phases["main"] = metrics.get("TaskDuration", 0) * 1000
            cdp.send("HeapProfiler.collectGarbage")
            heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
            info = page.evaluate(
                "(() => { const m = document.getElementById('map'); const box = m.getBoundingClientRect();"
                " return { markers: Number(m.dataset.markerCount || 0), cells: Number(m.dataset.clusterCount || 0),"
                " width: Math.round(box.width), height: Math.round(box.height),"
                " config: document.getElementById('map-config') ? JSON.parse(document.getElementById('map-config').textContent) : null }; })()"
            )
            context.close()
            return {"ms": drawn, "heap": heap, **phases, **info}

        first = visit(shipped.url("/"))
        config = first["config"]
        bare_html = BARE_PAGE.format(
            leaflet_css=static("leaflet/leaflet.css"),
            cluster_css=static("vendor/leaflet.markercluster-1.5.3/MarkerCluster.css"),
            cluster_default_css=static("vendor/leaflet.markercluster-1.5.3/MarkerCluster.Default.css"),
            leaflet_js=static("leaflet/leaflet.js"),
            cluster_js=static("vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js"),
            width=first["width"], height=first["height"],
            config=json.dumps({k: config[k] for k in ("center", "zoom", "tileUrl", "types")}),
            api_url="/api/providers.json",
        )
        pages = {
            "map page as shipped": (shipped.url("/"), None),
            "map page, every point sent": (points.url("/"), None),
            "bare markercluster page (floor)": (points.url("/bench-bare/"), bare_html),
        }
        samples: dict[str, list[dict]] = {name: [] for name in pages}
        for url, html in pages.values():
            for _ in range(4):
                visit(url, html)  # warm the workers and their page caches
        for _ in range(args.runs):
            for name, (url, html) in pages.items():
                samples[name].append(visit(url, html))
        browser.close()
    floor = statistics.median(s["ms"] for s in samples["bare markercluster page (floor)"])
    for name, got in samples.items():
        ms = statistics.median(s["ms"] for s in got)
        heap = statistics.median(s["heap"] for s in got) / 2**20
        last = got[-1]
        drawn = f"{last['markers']:,} markers" + (f" + {last['cells']:,} grid cells" if last["cells"] else "")
        ratio = "" if "floor" in name else f", {ms / floor:.2f}x the bare page"
        print(
            f"{tag} | {name}: {drawn}, drawn after median {ms:.0f} ms "
            f"(min {min(s['ms'] for s in got):.0f}, max {max(s['ms'] for s in got):.0f}, runs {len(got)}), "
            f"JS heap {heap:.1f} MiB{ratio}; main thread busy {med(got, 'main'):.0f} ms, HTML {med(got, 'html'):.0f} ms, DOM ready {med(got, 'dom'):.0f} ms, "
            f"API {med(got, 'api_start'):.0f}-{med(got, 'api_end'):.0f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
