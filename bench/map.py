"""Benchmark: the map page in headless Chromium with N providers (default 5,000), beside a
bare page that draws with the same vendored Leaflet.markercluster and nothing else.

Times from navigation start until every marker/cluster is drawn (the ``markers-drawn``
performance mark, set by the map once markercluster has processed all markers; the bare page
sets the same mark); the page's main-thread CPU time until then, by kind (layout, style,
parsing, paint, GC, script and the rest), from a Chromium trace of every visit (thread time: on
a shared machine the main thread waits for a core for much of the wall time); its busy wall
time (Performance.getMetrics) and the JS heap after drawing. The app runs under gunicorn
with production settings (DEBUG off); tiles are answered locally. Three pages, loaded in turn
(in a turning order, after a warm-up; medians):

- the map page as shipped (its first view asks for the municipality's box; beyond
  ``MAP_MAX_POINTS`` matches it gets grid counts from the server instead of points);
- the map page with every point sent (``MAP_MAX_POINTS`` above the count), so that it draws
  exactly what the bare page draws;
- the bare page: the same compact JSON (the map page's first request, the same URL) drawn with
  markercluster, the same options and the same marker icons — the floor of both.

Every page's HTML is handed to the browser from memory (the map page's fetched from the server
just before, its time printed apart: it is kept per process and minute, and a visit that met a
process without it would time a page render, which ``bench/front.py`` measures). The JSON comes
from the server for every page, or from memory with ``--data-in-memory`` (browser time only).
``--trace DIR`` keeps the first measured run's trace of each page (open it in DevTools'
Performance panel).

Usage: ``.venv/bin/python bench/map.py [--count 5000] [--runs 5] [--data-in-memory] [--trace DIR]``
with ``DATABASE_URL`` pointing at a scratch database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import _common  # noqa: E402
import orjson  # noqa: E402
from api import filled  # noqa: E402  (sets production settings)

BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2b1e9a60000000049454e44ae426082"
)

# The floor: Leaflet + markercluster with the app's options and icons (markers and clusters), nothing else.
BARE_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>bare</title>
<link rel="stylesheet" href="{leaflet_css}">
<link rel="stylesheet" href="{cluster_css}">
<link rel="stylesheet" href="{cluster_default_css}">
<style>body {{ margin: 0; }} .visually-hidden {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }} #map {{ width: {width}px; height: {height}px; }}</style>
</head><body><div id="map"></div>
<script src="{leaflet_js}"></script>
<script src="{cluster_js}"></script>
<script>
const config = {config};
const map = L.map("map").setView(config.center, config.zoom);
L.tileLayer(config.tileUrl, {{ maxZoom: 18 }}).addTo(map);
// The map's cluster icon: markercluster's own, with a name for screen readers.
const clusterIcon = (group) => {{
  const n = group.getChildCount();
  const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  const label = config.cluster.replace("%(n)s", String(n));
  return L.divIcon({{
    html: `<div><span aria-hidden="true">${{n}}</span><span class="visually-hidden">${{label}}</span></div>`,
    className: `marker-cluster marker-cluster-${{size}}`, iconSize: new L.Point(40, 40),
  }});
}};
const cluster = L.markerClusterGroup({{
  chunkedLoading: true, disableClusteringAtZoom: 17, showCoverageOnHover: false, maxClusterRadius: 50,
  iconCreateFunction: clusterIcon,
}});
map.addLayer(cluster);
const icons = {{}};
fetch("{api_url}", {{ headers: {{ Accept: "application/json" }} }}).then((r) => r.json()).then((data) => {{
  const layers = [];
  for (const row of data.providers) {{
    if (row[1] === null) continue;
    const type = data.types ? data.types[row[3]] : row[3];  // a view's rows name their type by id
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


TRACE_CATEGORIES = "devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing"
TOP_LEVEL = ("RunTask", "ThreadControllerImpl::RunTask")
# Trace events that are work in their own right (not wrappers of others), for the breakdown.
WORK = {
    "Layout": "layout", "UpdateLayoutTree": "style", "ParseHTML": "parse HTML",
    "ParseAuthorStyleSheet": "parse CSS", "Paint": "paint", "Commit": "commit",
    "MinorGC": "GC", "MajorGC": "GC",
}


def med(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def main_thread_cpu(events: list[dict]) -> dict[str, float]:
    """CPU time (ms) of the page's main thread until every marker is drawn, from a Chromium
    trace: all its tasks, then layout, style, parsing, paint, GC and the script and the rest
    left over. Thread time, not wall time: on a shared machine the main thread waits for a core
    for much of the wall time, and that wait is no cost of the page."""
    mark = next((e for e in events if e.get("name") == "markers-drawn" and e.get("ph") in ("I", "R", "n")), None)
    if mark is None:
        return {}
    main = next(((e["pid"], e["tid"]) for e in events if e.get("name") == "thread_name"
                 and e.get("pid") == mark["pid"] and e.get("args", {}).get("name") == "CrRendererMain"), None)
    timed = sorted((e for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X"
                    and "tdur" in e and e["ts"] <= mark["ts"]), key=lambda e: (e["ts"], -e["dur"]))
    out = {"tasks": 0.0}
    open_until = 0  # the end of the counted event being inside: nested ones are not counted twice
    for e in timed:
        if e["name"] in TOP_LEVEL:
            out["tasks"] += e["tdur"] / 1000
            continue
        kind = WORK.get(e["name"])
        if not kind or e["ts"] < open_until:
            continue
        open_until = e["ts"] + e["dur"]
        out[kind] = out.get(kind, 0.0) + e["tdur"] / 1000
    out["script and the rest"] = out["tasks"] - sum(v for k, v in out.items() if k != "tasks")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-in-memory", action="store_true",
                        help="hand the map's answer to the browser from memory too (no server time in it; "
                             "the answer goes through the browser driver instead)")
    parser.add_argument("--trace", metavar="DIR",
                        help="keep the first measured run's Chromium trace of each page (DIR/map-1.json … "
                             "map-3.json, opened by DevTools' Performance panel)")
    args = parser.parse_args(argv)
    total = filled(args.count)
    from django.templatetags.static import static

    tag = f"[map] {total:,} providers"
    # Production settings, the page cache included.
    env: dict[str, str] = {}
    from playwright.sync_api import sync_playwright

    with _common.Gunicorn(workers=4, env=env) as shipped, \
            _common.Gunicorn(workers=4, env={**env, "MAP_MAX_POINTS": str(total + 1)}) as points, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )

        def fetch(url: str) -> tuple[bytes, float]:
            """A document from the server as the browser asks for it (Japanese), and how long it took."""
            headers = {"Accept-Language": "ja-JP,ja;q=0.9", "Accept-Encoding": "identity"}
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - local server
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - local server
                body = response.read()
            return body, (time.perf_counter() - started) * 1000

        def visit(url: str, html: bytes | None = None, api: bytes | None = None, trace: str | None = None) -> dict:
            """Load ``url`` in a fresh browser context until every marker is drawn. The page itself
            (``html``, else fetched from the server just before) is handed to the browser from
            memory, so that every page gets it alike and at once (the rendered map page is kept
            per server process and minute: a visit that met a process without it would time a
            page render, which bench/front.py measures); so is the map's answer (``api``) with
            --data-in-memory. Scripts, styles and the answer come from the server."""
            server_ms = 0.0
            if html is None:
                html, server_ms = fetch(url)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            context.route("https://cyberjapandata.gsi.go.jp/**",
                          lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG))
            context.route(url, lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html))
            if api is not None and args.data_in_memory:
                context.route("**/api/providers.json?*", lambda route: route.fulfill(
                    status=200, content_type="application/json", body=api))
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            cdp = context.new_cdp_session(page)
            events: list[dict] = []
            complete: list[bool] = []
            cdp.on("Tracing.dataCollected", lambda data: events.extend(data["value"]))
            cdp.on("Tracing.tracingComplete", lambda _data: complete.append(True))
            cdp.send("Tracing.start", {"categories": TRACE_CATEGORIES, "transferMode": "ReportEvents"})
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
                " return { dom: nav.domContentLoadedEventEnd,"
                " api_start: api ? api.startTime : 0, api_end: api ? api.responseEnd : 0 }; })()"
            )
            phases["server"] = server_ms
            # Until every marker is drawn: the main thread's busy time and its parts, as Chromium counts them.
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            phases["main"] = metrics.get("TaskDuration", 0) * 1000
            phases["script"] = metrics.get("ScriptDuration", 0) * 1000
            phases["layout"] = (metrics.get("LayoutDuration", 0) + metrics.get("RecalcStyleDuration", 0)) * 1000
            phases["after_data"] = drawn - phases["api_end"]
            cdp.send("Tracing.end")
            while not complete:
                page.wait_for_timeout(50)
            if trace:
                Path(trace).write_text(json.dumps({"traceEvents": events}))
            cpu = main_thread_cpu(events)
            if not cpu:
                raise SystemExit(f"{url}: no markers-drawn mark in the trace")
            phases["cpu"] = cpu["tasks"]
            phases["breakdown"] = cpu
            cdp.send("HeapProfiler.collectGarbage")
            heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
            info = page.evaluate(
                "(() => { const m = document.getElementById('map'); const box = m.getBoundingClientRect();"
                " return { markers: Number(m.dataset.markerCount || 0), cells: Number(m.dataset.clusterCount || 0),"
                " width: Math.round(box.width), height: Math.round(box.height),"
                " config: document.getElementById('map-config') ? JSON.parse(document.getElementById('map-config').textContent) : null }; })()"
            )
            context.close()
            if errors:
                raise SystemExit(f"{url}: {errors}")
            return {"ms": drawn, "heap": heap, **phases, **info}

        first = visit(points.url("/"))
        config = first["config"]
        # Every page draws from the same bytes: the answer to the map page's first request
        # (the municipality's box), asked of the server once.
        answers = {server: fetch(server.url(config["firstUrl"]))[0] for server in (shipped, points)}
        if orjson.loads(answers[points])["count"] != total:
            raise SystemExit("the map page's first request does not hold every provider")
        bare_html = BARE_PAGE.format(
            leaflet_css=static("leaflet/leaflet.css"),
            cluster_css=static("vendor/leaflet.markercluster-1.5.3/MarkerCluster.css"),
            cluster_default_css=static("vendor/leaflet.markercluster-1.5.3/MarkerCluster.Default.css"),
            leaflet_js=static("leaflet/leaflet.js"),
            cluster_js=static("vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js"),
            width=first["width"], height=first["height"],
            config=json.dumps({**{k: config[k] for k in ("center", "zoom", "tileUrl", "types")},
                               "cluster": config["strings"]["cluster"]}),
            api_url=config["firstUrl"],
        ).encode()
        pages = {
            "map page as shipped": (shipped.url("/"), None, answers[shipped]),
            "map page, every point sent": (points.url("/"), None, answers[points]),
            "bare markercluster page (floor)": (points.url("/bench-bare/"), bare_html, answers[points]),
        }
        names = list(pages)
        samples: dict[str, list[dict]] = {name: [] for name in pages}
        for page_args in pages.values():
            for _ in range(2):
                visit(*page_args)  # warm the workers and the browser
        if args.trace:
            Path(args.trace).mkdir(parents=True, exist_ok=True)
        for run in range(args.runs):
            # Alternating, in a turning order: no page always follows the same one.
            for name in names[run % len(names):] + names[: run % len(names)]:
                trace = str(Path(args.trace) / f"map-{names.index(name) + 1}.json") if args.trace and not run else None
                samples[name].append(visit(*pages[name], trace=trace))
        browser.close()
    every, bare = samples["map page, every point sent"][-1], samples["bare markercluster page (floor)"][-1]
    if every["markers"] != bare["markers"]:
        raise SystemExit(f"the bare page drew {bare['markers']:,} markers, the map page {every['markers']:,}")
    floor = samples["bare markercluster page (floor)"]
    data = "from memory" if args.data_in_memory else "from the server"
    for name, got in samples.items():
        ms = med(got, "ms")
        heap = med(got, "heap") / 2**20
        last = got[-1]
        drawn = f"{last['markers']:,} markers" + (f" + {last['cells']:,} grid cells" if last["cells"] else "")
        ratio = "" if "floor" in name else (
            f", {ms / med(floor, 'ms'):.2f}x the bare page; main thread CPU {med(got, 'cpu') / med(floor, 'cpu'):.2f}x")
        server = "" if "floor" in name else f"page from the server {med(got, 'server'):.0f} ms (not in the drawing time), "
        print(
            f"{tag} | {name} (data {data}): {drawn}, drawn after median {ms:.0f} ms "
            f"(min {min(s['ms'] for s in got):.0f}, max {max(s['ms'] for s in got):.0f}, runs {len(got)}){ratio}; "
            f"main thread CPU {med(got, 'cpu'):.0f} ms, busy {med(got, 'main'):.0f} ms of wall time; JS heap {heap:.1f} MiB; "
            f"{server}DOM ready {med(got, 'dom'):.0f} ms, data {med(got, 'api_start'):.0f}-{med(got, 'api_end'):.0f} ms, "
            f"drawn {med(got, 'after_data'):.0f} ms after the data",
            flush=True,
        )
        kinds = sorted({k for s in got for k in s["breakdown"] if k != "tasks"})
        parts = {k: statistics.median(s["breakdown"].get(k, 0.0) for s in got) for k in kinds}
        print(f"{tag} | {name}: main thread CPU by kind (median ms): "
              + ", ".join(f"{k} {v:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])), flush=True)


if __name__ == "__main__":
    main()
