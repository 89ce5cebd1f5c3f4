"""Benchmark of paper output: PDF of 10, 100 and 300 providers, a provider sheet and the flyer.

Prints the median wall time and memory per document (figures, not assertions). Runs against a
throw-away SQLite database filled with fictional providers, with printed maps in their vector
form unless PRINT_MAP_TILE_URL points to a reachable tile source.

    .venv/bin/python bench/print.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(db_path: Path) -> None:
    # DATABASE_URL when given (make bench / bench-postgres), else a throw-away SQLite file.
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{db_path}")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PRINT_MAP_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
    os.environ["TILE_CACHE_DIR"] = str(db_path.parent / "tiles")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def make_providers(n: int) -> list[int]:
    import datetime as dt
    import random
    from decimal import Decimal

    from resourcemap import providers
    from resourcemap.models import Area, ProviderChange
    from resourcemap.reference import load_reference

    load_reference()
    rng = random.Random(7)
    districts = list(Area.objects.filter(level="district"))
    caps = ["h24", "mitori", "home_visit", "oushin", "palliative", "dementia", "acp"]
    ids = []
    for i in range(n):
        area = rng.choice(districts)
        provider = providers.provider_create(
            data={
                "name": f"ベンチ診療所{i:03d}", "kana": f"ベンチシンリョウジョ{i:03d}",
                "provider_type": "clinic", "postal_code": "154-0001",
                "address": f"東京都世田谷区{area.name}{i % 5 + 1}-{i % 20 + 1}-{i % 9 + 1}",
                "latitude": Decimal(f"{float(area.center_lat) + rng.uniform(-0.004, 0.004):.6f}"),
                "longitude": Decimal(f"{float(area.center_lng) + rng.uniform(-0.004, 0.004):.6f}"),
                "area": area.code, "phone": f"03-{3000 + i:04d}-{1000 + i:04d}",
                "fax": f"03-{3000 + i:04d}-{2000 + i:04d}",
            },
            capabilities={code: {} for code in rng.sample(caps, 3)},
            periods=[(d, dt.time(9), dt.time(12, 30)) for d in range(6)]
            + [(d, dt.time(14), dt.time(18)) for d in range(5)],
            actor_kind=ProviderChange.Actor.SYSTEM, source="bench",
        )
        ids.append(provider.pk)
    return ids


def measure(client, url: str, repeat: int) -> dict:
    import subprocess

    response = client.get(url)  # warm-up: fonts, CSS, templates
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf", url
    info = subprocess.run(["pdfinfo", "-"], input=response.content, capture_output=True).stdout
    pages = next(
        (line.split()[1] for line in info.decode().splitlines() if line.startswith("Pages:")), "?"
    )
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    # Memory in a separate, traced run: tracing slows Python code down several times.
    tracemalloc.start()
    client.get(url)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "median_s": statistics.median(times),
        "peak_mib": peak / 2**20,
        "size_kib": len(response.content) / 1024,
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp) / "bench.sqlite3")
        from django.conf import settings
        from django.test import Client

        settings.ALLOWED_HOSTS = ["*"]
        ids = make_providers(300)
        client = Client()
        cases = [
            (f"{n} providers", "/print/pdf/?ids=" + ",".join(map(str, ids[:n])))
            for n in (10, 100, 300)
        ]
        cases.append(("300 providers, no map/hours", "/print/pdf/?opts=1&ids=" + ",".join(map(str, ids))))
        cases.append(("provider sheet", f"/providers/{ids[0]}/sheet/pdf/"))
        cases.append(("flyer", "/flyer/pdf/"))
        print(f"{'document':<30} {'median s':>9} {'peak MiB*':>10} {'pages':>6} {'PDF KiB':>8}")
        for label, url in cases:
            r = measure(client, url, args.repeat)
            print(f"{label:<30} {r['median_s']:>9.2f} {r['peak_mib']:>10.1f} {r['pages']:>6} {r['size_kib']:>8.0f}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"* Python allocations during one request (tracemalloc). Process max RSS: {rss:.0f} MiB")
        from resourcemap import staticmap

        print("  maps:", "tiles" if staticmap.tiles_likely() else "vector fallback (tiles unreachable)")


if __name__ == "__main__":
    main()
