"""Shared pieces of the benchmarks: production settings, timing, floors.

Every figure is printed with the provider count it was measured on. A floor is the same
document built with raw SQL and orjson; it is checked to be equal to the app's answer (parsed)
and timed alternately with the app in the same run, so both see the same caches and load.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scratch_dir(prefix: str) -> str:
    """A temporary folder for a benchmark's scratch database and files, removed at exit."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def production_env() -> None:
    """Production settings (DEBUG off) with a throw-away secret; call before django.setup()."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("STATIC_ROOT", str(ROOT / "var" / "bench-static"))


def collect_static() -> None:
    """Production pages need the hashed static files (kept under var/ between runs)."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def alternate(app, floor, runs: int) -> tuple[float, float]:
    """Median ms of ``app`` and ``floor``, run one after the other ``runs`` times (after a warm-up)."""
    app()
    floor()
    app_times, floor_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        app()
        app_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        floor()
        floor_times.append(time.perf_counter() - start)
    return median_ms(app_times), median_ms(floor_times)


def timed(fn, runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def compact_floor_sql(where: str, order: str = "p.kana, p.id") -> str:
    """Raw SQL giving the compact API's rows for a WHERE clause over ``p`` (provider)."""
    return (
        "SELECT p.id, CAST(p.latitude AS FLOAT), CAST(p.longitude AS FLOAT), t.code, p.name, p.address, p.phone "  # noqa: S608 - constant fragments written in the benchmarks
        "FROM resourcemap_provider p JOIN resourcemap_providertype t ON t.id = p.provider_type_id "
        f"WHERE p.status IN ('active', 'suspended') {('AND ' + where) if where else ''} ORDER BY {order}"
    )


def compact_floor(connection, sql: str, params=(), query: str = "") -> bytes:
    """The compact ``.json`` document from raw SQL: same keys, same rows, same order."""
    import orjson

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return orjson.dumps(
        {
            "count": len(rows),
            "query": query,
            "columns": ["id", "lat", "lng", "type", "name", "address", "distance_m", "phone"],
            "providers": [[r[0], r[1], r[2], r[3], r[4], r[5], None, r[6]] for r in rows],
        }
    )


def same_document(app_body: bytes, floor_body: bytes, label: str) -> None:
    import orjson

    if orjson.loads(app_body) != orjson.loads(floor_body):
        raise SystemExit(f"{label}: the floor does not produce the app's document")


def fmt_ratio(app_ms: float, floor_ms: float) -> str:
    return f"{app_ms:.1f} ms (floor {floor_ms:.1f} ms, {app_ms / floor_ms:.2f}x)" if floor_ms else f"{app_ms:.1f} ms"
