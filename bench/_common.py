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


def scratch_django(prefix: str) -> str:
    """Django on a scratch folder (removed at exit): a throw-away SQLite database there unless
    DATABASE_URL is set, uploaded and generated files (MEDIA_ROOT) there, DEBUG settings.
    Returns the folder."""
    path = scratch_dir(prefix)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{path}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("MEDIA_ROOT", f"{path}/media")
    import django

    django.setup()
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


# A keyword of one or two characters in raw SQL on PostgreSQL: the same GIN index the app uses.
KEYWORD_FLOOR_PG = "resourcemap_short_grams(p.search_text) @> ARRAY[%s]::text[]"


def compact_floor_sql(where: str, order: str = "p.kana, p.id") -> str:
    """Raw SQL giving the compact API's rows for a WHERE clause over ``p`` (provider)."""
    return public_providers_sql(
        "SELECT p.id, CAST(p.latitude AS FLOAT), CAST(p.longitude AS FLOAT), t.code, p.name, p.address, p.phone "
        "FROM resourcemap_provider p JOIN resourcemap_providertype t ON t.id = p.provider_type_id",
        where, order,
    )


def public_providers_sql(select_from: str, where: str, order: str) -> str:
    """``select_from`` (over ``p``, the provider table) limited to public providers and ``where``."""
    return f"{select_from} WHERE p.status IN ('active', 'suspended') {('AND ' + where) if where else ''} ORDER BY {order}"  # noqa: S608 - constant fragments written in the benchmarks


def compact_floor(connection, sql: str, params=(), query: str = "") -> bytes:
    """The compact ``.json`` document from raw SQL: same keys, same rows, same order."""
    import orjson

    rows = fetch_rows(connection, sql, params)
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A gunicorn server on a free local port with the current (production) environment.

    ``with Gunicorn(workers=4) as server: server.url("/")``; ``app`` is the WSGI module path
    (run from the repository root, with bench/ importable for the benchmarks' own apps).
    """

    def __init__(self, workers: int = 4, app: str = "resourcemap.wsgi", env: dict | None = None,
                 ready_path: str = "/api/providers.json?type=none"):
        self.workers = workers
        self.app = app
        self.env = dict(os.environ, **(env or {}))
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT / "bench"), self.env.get("PYTHONPATH"))))
        self.ready_path = ready_path
        self.port = free_port()
        self.process = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        import subprocess
        import urllib.error
        import urllib.request

        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), self.app, "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--chdir", str(ROOT)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(self.url(self.ready_path), timeout=5)  # noqa: S310 - local server
                break
            except urllib.error.HTTPError:
                break  # answering (a 400 for the unknown type is an answer)
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn {self.app} did not start") from None
                time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=20)


def load(url: str, concurrency: int, seconds: float, headers: dict | None = None) -> dict:
    """Requests per second and latency of GET ``url`` with ``concurrency`` clients at once.

    One asyncio loop, a new connection per request (gunicorn's sync workers close it anyway),
    so the client costs little of the machine it shares with the server. Every answer must be
    a 200; returns {"rps", "p50_ms", "p90_ms", "requests"}.
    """
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nConnection: close\r\n{extra}\r\n"
    ).encode()
    latencies: list[float] = []
    failures: list[bytes] = []

    async def client(deadline: float) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request)
            await writer.drain()
            body = await reader.read(-1)
            writer.close()
            if not body.startswith(b"HTTP/1.1 200"):
                failures.append(body[:200])
                return
            latencies.append(time.perf_counter() - start)

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(client(start + seconds) for _ in range(concurrency)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    if failures:
        raise SystemExit(f"{url}: answered {failures[0]!r}")
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p90_ms": latencies[int(len(latencies) * 0.9)] * 1000,
        "requests": len(latencies),
    }


def view_floor_sql(where: str, order: str = "p.kana, p.id") -> str:
    """Raw SQL giving a map view's rows (``bbox=``): id, rounded coordinates, type id, name."""
    return public_providers_sql(
        "SELECT p.id, CAST(ROUND(p.latitude, 5) AS FLOAT), CAST(ROUND(p.longitude, 5) AS FLOAT), "
        "p.provider_type_id, p.name FROM resourcemap_provider p",
        where, order,
    )


def view_floor(connection, sql: str, params=(), query: str = "") -> bytes:
    """A map view's ``.json`` document from raw SQL: the rows as they come, the type codes by id."""
    import orjson

    rows = fetch_rows(connection, sql, params)
    types = {str(pk): code for pk, code in fetch_rows(connection, "SELECT id, code FROM resourcemap_providertype")}
    return orjson.dumps({
        "count": len(rows), "query": query, "columns": ["id", "lat", "lng", "type_id", "name"],
        "providers": rows, "types": types,
    })


def fetch_rows(connection, sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
