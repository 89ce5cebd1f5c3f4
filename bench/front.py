"""Benchmark: front page requests per second under gunicorn (production settings, 4 workers,
concurrency 10) beside a floor: the same HTML bytes answered by a constant view through the
same middleware, on the same server, timed alternately.

Usage: ``.venv/bin/python bench/front.py [--count 5000] [--seconds 3] [--rounds 3]`` with
``DATABASE_URL`` set to a scratch database (filled up to ``--count`` providers, 5,000 by
default). Lines: the page from the per-process page cache (``PAGE_CACHE_SECONDS``, on in
production), the page rendered on every request (cache off), and a filtered search page.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
from api import filled  # noqa: E402  (sets production settings)

CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')
BROWSER = {"Accept": "text/html", "Accept-Language": "ja", "Accept-Encoding": "gzip, deflate"}


def fetch(url: str) -> bytes:
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Language": "ja"})  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - local server
        return response.read()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measured burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    total = filled(args.count)
    tag = f"[front] {total:,} providers, gunicorn {args.workers} workers, concurrency {args.concurrency}"
    pages = {"front page /": "/", "search page /?type=nursing&cap=h24": "/?type=nursing&cap=h24"}
    scratch = Path(_common.scratch_dir("bench-front-"))
    # Render each page once to give the floors their bytes (the same document).
    with _common.Gunicorn(workers=1) as probe:
        bodies = {label: fetch(probe.url(path)) for label, path in pages.items()}
    figures: dict[tuple[str, str], list[dict]] = {}
    for number, (label, path) in enumerate(pages.items()):
        floor_file = scratch / f"{number}.html"
        floor_file.write_bytes(bodies[label])
        env = {"FLOOR_BODY_FILE": str(floor_file)}
        with _common.Gunicorn(workers=args.workers, app="_floor_site", env=env) as cached, \
                _common.Gunicorn(workers=args.workers, app="_floor_site",
                                 env={**env, "PAGE_CACHE_SECONDS": "0"}) as uncached:
            app_body, floor_body = fetch(cached.url(path)), fetch(cached.url("/bench-floor/"))
            if CSRF.sub(rb"\1\2", app_body) != CSRF.sub(rb"\1\2", floor_body):
                raise SystemExit(f"{label}: the floor does not answer the app's page")
            runs = {
                "floor": cached.url("/bench-floor/"),
                "page cache on": cached.url(path),
                "page cache off": uncached.url(path),
            }
            for url in runs.values():  # warm every worker
                _common.load(url, args.concurrency, 0.5, BROWSER)
            for _ in range(args.rounds):
                for name, url in runs.items():
                    figures.setdefault((label, name), []).append(
                        _common.load(url, args.concurrency, args.seconds, BROWSER)
                    )
        floor_rps = statistics.median(f["rps"] for f in figures[(label, "floor")])
        for name in runs:
            got = figures[(label, name)]
            rps = statistics.median(f["rps"] for f in got)
            p50 = statistics.median(f["p50_ms"] for f in got)
            ratio = "" if name == "floor" else f", {rps / floor_rps:.2f}x the floor's rate"
            print(
                f"{tag} | {label} ({len(bodies[label]) / 1024:.0f} KiB) {name}: {rps:,.0f} req/s, "
                f"p50 {p50:.0f} ms{ratio}",
                flush=True,
            )


if __name__ == "__main__":
    main()
