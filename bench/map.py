"""Benchmark: the map page in headless Chromium with N providers (default 5,000).

Measures the time from navigation start until every marker/cluster is drawn (the page sets the
``markers-drawn`` performance mark once Leaflet.markercluster has processed all markers).
Tiles are answered locally. Usage: ``.venv/bin/python bench/map.py [--count 5000]`` with
``DATABASE_URL`` pointing at a scratch database; the app runs under gunicorn with production
settings (DEBUG off).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from api import prepare_database, synthesize  # noqa: E402

BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2b1e9a60000000049454e44ae426082"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    prepare_database()
    synthesize(args.count)
    from resourcemap.models import Provider

    total = Provider.objects.published().count()
    port = free_port()
    # Production settings (set by bench/_common.py through the api import) under gunicorn.
    env = dict(os.environ, PAGE_CACHE_SECONDS="0")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "resourcemap.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--chdir", str(ROOT)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/providers.json", timeout=5)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        times = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run", "--disable-sync"],
            )
            for _ in range(args.runs + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route("https://cyberjapandata.gsi.go.jp/**",
                              lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG))
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#map[data-ready='1']", timeout=60_000)
                markers = int(page.get_attribute("#map", "data-marker-count"))
                times.append(page.evaluate("performance.getEntriesByName('markers-drawn')[0].startTime"))
                context.close()
            browser.close()
        times = times[1:]  # the first run warms the server and caches
        print(
            f"[map] {total:,} providers, {markers} markers: drawn after median "
            f"{statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f}, runs {len(times)})"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
