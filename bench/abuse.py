"""Abuse resistance figures, each printed beside its target (part of ``make bench``).

- XLSX bombs (one cell at XFD1048576; 900,000 shared strings; a part that unpacks to 64 MB):
  time until refused and peak memory (max RSS) of a child process that only reads the file.
  Targets: < 1 s and < 100 MB each.
- A bounded load run against gunicorn in production mode (DEBUG=0, 3 sync workers, the
  fictional demo data, behind a "proxy": ``TRUSTED_PROXIES=127.0.0.1`` and one
  ``X-Forwarded-For`` address per simulated visitor):
  - map API p95 idle, then while 6 anonymous visitors keep asking for uncached
    ``/print/pdf/?cap=h24`` lists (each with its own title, so every one is a cache miss).
    Target: under 2x the idle p95.
  - 60 access-code guesses at once from one address (per-client limit), and 60 at once from 60
    addresses (the all-codes limit, i.e. one invitation guessed from many addresses): how many
    were answered past the limit. Target: 0. On PostgreSQL (and SQLite).

Each database is a scratch one made here and removed afterwards: a temporary SQLite file, and
``<database>_abuse`` next to ``DATABASE_URL`` (when it is PostgreSQL) or ``PG_URL`` (when that
server answers). One to two minutes on a quiet machine (the API is sampled for at most 40 s
while the renders run).

    .venv/bin/python bench/abuse.py
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

_TMP = _common.scratch_dir("bench-abuse-")
PY = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
WRONG_CODE = "ABCD-EFGH-JKMN"
# The server's limits for the guesses: the defaults per client, and an all-codes limit small
# enough for 60 tries from 60 addresses to reach it.
CODE_LIMIT = 10
CODE_ALL_LIMIT = 30
PDF_CLIENTS = 6
API_SAMPLES = 80
IDLE_SECONDS = 6
BUSY_SECONDS = 40

CHILD = r"""
import io, json, os, resource, sys, time, zipfile
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
import django; django.setup()
import openpyxl
from resourcemap import formats, spreadsheet_limits

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
book = openpyxl.Workbook(); book.active.append(["名称", "住所"]); out = io.BytesIO(); book.save(out)
base = out.getvalue()

def replace(parts):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, parts.pop(item.filename, src.read(item.filename)))
        for name, content in parts.items():
            dst.writestr(name, content)
    return out.getvalue()

kind, path = sys.argv[2], sys.argv[3]
if kind == "read":
    data = open(path, "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        formats.read_xlsx(data)
        refused = False
    except formats.FileFormatError:
        refused = True
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"bytes": len(data), "refused": refused, "seconds": elapsed, "peak_mb": peak / 1024, "before_mb": before / 1024}))
    sys.exit(0)
if kind == "far-cell":
    data = replace({"xl/worksheets/sheet1.xml": ('<?xml version="1.0"?><worksheet ' + NS + '><dimension ref="A1:XFD1048576"/><sheetData><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>').encode()})
elif kind == "shared-strings":
    data = replace({"xl/sharedStrings.xml": b'<?xml version="1.0"?><sst ' + NS.encode() + b">" + b"<si><t>a</t></si>" * 900_000 + b"</sst>"})
else:
    data = replace({"xl/media/blank.bin": b" " * (64 * 1024 * 1024 + 1)})
open(path, "wb").write(data)
"""


def xlsx_bombs() -> None:
    for kind in ("far-cell", "shared-strings", "unpacks-64mb"):
        path = os.path.join(_TMP, f"{kind}.xlsx")
        subprocess.run([PY, "-c", CHILD, str(ROOT), kind, path], check=True, timeout=120,
                       env=_child_env(f"sqlite:///{_TMP}/xlsx.sqlite3"))
        result = subprocess.run(  # a fresh process that only reads the file
            [PY, "-c", CHILD, str(ROOT), "read", path], capture_output=True, text=True,
            timeout=120, check=False, env=_child_env(f"sqlite:///{_TMP}/xlsx.sqlite3"),
        )
        if result.returncode:
            print(f"xlsx bomb {kind}: child failed\n{result.stderr[-2000:]}")
            continue
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        ok = figures["refused"] and figures["seconds"] < 1 and figures["peak_mb"] < 100
        print(
            f"xlsx bomb {kind:15s} {figures['bytes']:>9,} bytes: refused={figures['refused']} in "
            f"{figures['seconds']:.3f} s (target < 1 s), peak RSS {figures['peak_mb']:.0f} MB "
            f"(of which Django and the file: {figures['before_mb']:.0f} MB; target < 100 MB)"
            f"{'' if ok else '  ** MISSED **'}",
            flush=True,
        )


# --- servers ----------------------------------------------------------------------------------


def _child_env(database_url: str, **extra) -> dict:
    """Production settings (DEBUG off) for a server or a management command."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="resourcemap.settings", DEBUG="0", TESTING="0",
        SECRET_KEY="bench-only-" + "x" * 50, ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0", LOG_LEVEL="ERROR", DATABASE_URL=database_url,
        STATIC_ROOT=str(ROOT / "var" / "bench-static"), MEDIA_ROOT=f"{_TMP}/media",
        TILE_CACHE_DIR=f"{_TMP}/tiles", PRINT_MAP_TILE_URL="http://127.0.0.1:9/{z}/{x}/{y}.png",
        PDF_CACHE_DIR=f"{_TMP}/pdf-cache-{abs(hash(database_url))}",
        TRUSTED_PROXIES="127.0.0.1", PAGE_CACHE_SECONDS="0",
        RATELIMIT_SURVEY_CODE=f"{CODE_LIMIT}/m", RATELIMIT_SURVEY_CODE_ALL=f"{CODE_ALL_LIMIT}/h",
    )
    env.update(extra)
    return env


def _manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scratch_postgres() -> str | None:
    """``<database>_abuse`` beside DATABASE_URL (PostgreSQL) or PG_URL, when the server answers."""
    for url in (os.environ.get("DATABASE_URL", ""), os.environ.get("PG_URL", "")):
        if url.startswith(("postgres://", "postgresql://")):
            result = subprocess.run([PY, str(ROOT / "scripts" / "scratch-db.py"), url, "abuse"],
                                    capture_output=True, text=True, timeout=60, check=False)
            if result.returncode == 0:
                return result.stdout.strip()
            print(f"PostgreSQL at {url.rsplit('@', 1)[-1]} not reachable: guesses on SQLite only")
            return None
    print("no PostgreSQL (set PG_URL): guesses on SQLite only")
    return None


def _drop_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if re.fullmatch(r"[A-Za-z0-9_]+_abuse", name):
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(database_url: str, *, demo: bool):
    """A migrated database (with the demo providers) and gunicorn serving it."""
    env = _child_env(database_url)
    _manage(env, "migrate", "--noinput")
    _manage(env, "createcachetable")
    _manage(env, "load_reference")
    if demo:
        _manage(env, "load_demo", "--if-empty")
        _manage(env, "collectstatic", "--noinput")
    port = _free_port()
    process = subprocess.Popen(
        [GUNICORN, "resourcemap.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3",
         "--timeout", "120", "--graceful-timeout", "3", "--chdir", str(ROOT)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                if _get(port, "/api/providers.json?type=none-such")[0]:
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(port: int, method: str, path: str, *, client: str = "192.0.2.1", body: str = "",
             headers: dict | None = None, timeout: float = 120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers={
            "Host": "127.0.0.1", "X-Forwarded-For": client, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def _get(port: int, path: str, **kwargs):
    return _request(port, "GET", path, **kwargs)


def _clear_counters(database_url: str) -> None:
    sql = "DELETE FROM resourcemap_ratecounter"
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(urlsplit(database_url).path, timeout=20) as conn:
            conn.execute(sql)
    else:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql)


# --- figures ----------------------------------------------------------------------------------


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1] * 1000


API_PATHS = (
    "/api/providers.json",
    "/api/providers.json?cap=h24",
    "/api/providers.json?type=clinic",
    "/api/providers.json?type=nursing&cap=mitori",
)


def _api_samples(port: int, *, count: int = 0, seconds: float = 0) -> list[float]:
    """Sequential map API requests: ``count`` of them, or for ``seconds``."""
    samples: list[float] = []
    until = time.perf_counter() + seconds
    while len(samples) < count or time.perf_counter() < until:
        start = time.perf_counter()
        status, _headers, _body = _get(port, API_PATHS[len(samples) % len(API_PATHS)],
                                       client="192.0.2.200")
        samples.append(time.perf_counter() - start)
        assert status == 200, status  # noqa: S101 - a benchmark that measured errors is void
    return samples


def pdf_load(port: int, vendor: str) -> None:
    """Map API p95 idle, and while 6 visitors keep asking for new PDFs."""
    status, headers, body = _get(port, "/print/pdf/?cap=h24&title=warm-up", client="192.0.2.250")
    first = dict(headers)
    if status != 200 or first.get("Content-Type") != "application/pdf":
        raise SystemExit(f"PDF warm-up failed: {status} {body[:300]!r}")
    status, _h, body = _get(port, "/api/providers.json?cap=h24")
    rows = json.loads(body)["count"]
    _api_samples(port, count=12)  # warm every worker
    idle = _api_samples(port, count=API_SAMPLES, seconds=IDLE_SECONDS)
    stop = threading.Event()
    outcome: dict[str, int] = {}
    render_seconds: list[float] = []
    lock = threading.Lock()

    def visitor(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            start = time.perf_counter()
            try:
                status, headers, _body = _get(
                    port, f"/print/pdf/?cap=h24&title=visitor-{n}-{i}", client=f"198.51.100.{n + 1}")
            except OSError:  # the server stopped under it
                return
            elapsed = time.perf_counter() - start
            kind = {200: "rendered", 429: "refused (per-client limit)",
                    503: "refused (renders busy)"}.get(status, f"status {status}")
            if status == 200 and dict(headers).get("X-PDF-Cache") == "hit":
                kind = "from cache"
            with lock:
                outcome[kind] = outcome.get(kind, 0) + 1
                if kind == "rendered":
                    render_seconds.append(elapsed)
            if status in (429, 503):
                stop.wait(1)  # a browser user clicking again, not a tight loop

    threads = [threading.Thread(target=visitor, args=(n,), daemon=True) for n in range(PDF_CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the renders are under way
    # Sample the API until the first renders are done (at least API_SAMPLES requests; at most
    # BUSY_SECONDS, so that a slow machine keeps the run short).
    busy: list[float] = []
    deadline = time.perf_counter() + BUSY_SECONDS
    while (len(busy) < API_SAMPLES or not render_seconds) and time.perf_counter() < deadline:
        busy += _api_samples(port, count=10)
    stop.set()  # renders still running end with the server
    idle_p95, busy_p95 = _p95(idle), _p95(busy)
    ratio = busy_p95 / idle_p95
    mean_render = statistics.mean(render_seconds) if render_seconds else 0
    print(
        f"[{vendor}] map API p95 ({len(API_PATHS)} map queries): idle {idle_p95:.0f} ms "
        f"({len(idle)} requests), while {PDF_CLIENTS} visitors ask for uncached /print/pdf/?cap=h24 "
        f"({rows} rows) {busy_p95:.0f} ms ({len(busy)} requests) = {ratio:.2f}x idle (target < 2x)"
        f"{'' if ratio < 2 else '  ** MISSED **'}",
        flush=True,
    )
    print(
        f"[{vendor}]   PDF requests meanwhile: "
        + ", ".join(f"{count} {kind}" for kind, count in sorted(outcome.items()))
        + (f"; a render took {mean_render:.1f} s on average" if render_seconds
           else f"; no render finished within {BUSY_SECONDS} s"),
        flush=True,
    )


def _csrf(port: int, client: str) -> tuple[str, str]:
    status, headers, body = _get(port, "/survey/", client=client)
    cookie = next(v for k, v in headers if k.lower() == "set-cookie" and v.startswith("csrftoken="))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return cookie.split(";", 1)[0], token


def _guess_at_once(port: int, addresses: list[str]) -> list[int]:
    """One wrong access code from each address, all sent at the same moment."""
    forms = [_csrf(port, address) for address in addresses]  # each visitor opened the page
    barrier = threading.Barrier(len(addresses))
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(address: str, cookie: str, token: str) -> None:
        barrier.wait()
        status, _headers, _body = _request(
            port, "POST", "/survey/", client=address,
            body=f"csrfmiddlewaretoken={token}&code={WRONG_CODE}",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=guess, args=(a, *f)) for a, f in zip(addresses, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def guesses(port: int, database_url: str, vendor: str, tries: int = 60) -> None:
    """60 wrong access codes at once, from one address and then from 60 addresses."""
    for label, limit, addresses in (
        ("from one address", CODE_LIMIT, ["203.0.113.5"] * tries),
        (f"from {tries} addresses", CODE_ALL_LIMIT, [f"203.0.113.{i + 10}" for i in range(tries)]),
    ):
        _clear_counters(database_url)
        statuses = _guess_at_once(port, addresses)
        answered = statuses.count(404)
        over = max(0, answered - limit)
        other = len(statuses) - answered - statuses.count(429)
        print(
            f"[{vendor}] {tries} parallel access-code guesses {label} (limit {limit}): "
            f"{answered} answered, {over} over the limit (target 0), {statuses.count(429)} refused "
            f"with 429{f', {other} other answers' if other else ''}"
            f"{'' if over == 0 and other == 0 else '  ** MISSED **'}",
            flush=True,
        )


if __name__ == "__main__":
    started = time.perf_counter()
    xlsx_bombs()
    sqlite_url = f"sqlite:///{_TMP}/abuse.sqlite3"
    postgres_url = _scratch_postgres()
    try:
        with server(postgres_url or sqlite_url, demo=True) as port:
            vendor = "postgresql" if postgres_url else "sqlite"
            guesses(port, postgres_url or sqlite_url, vendor)
            pdf_load(port, vendor)  # last: renders still running end with the server
        if postgres_url:
            with server(sqlite_url, demo=False) as port:
                guesses(port, sqlite_url, "sqlite")
    finally:
        if postgres_url:
            _drop_postgres(postgres_url)
    print(f"abuse figures took {time.perf_counter() - started:.0f} s", flush=True)
