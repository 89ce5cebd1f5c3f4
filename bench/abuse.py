"""Abuse resistance figures.

- XLSX bombs (one cell at XFD1048576; 900,000 shared strings; a part that unpacks to 64 MB):
  time until refused and peak memory (max RSS) of a child process that only reads the file.
  Targets: < 1 s and < 100 MB each.
- 60 access-code guesses at once from one address against the survey start page (threads,
  each with its own database connection): how many were answered past the limit. Target: 0.

Runs on a throw-away SQLite database unless DATABASE_URL is set (use a scratch database).

    .venv/bin/python bench/abuse.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

_TMP = _common.scratch_dir("bench-abuse-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "ERROR")

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
        subprocess.run([sys.executable, "-c", CHILD, str(ROOT), kind, path], check=True, timeout=120)
        result = subprocess.run(  # a fresh process that only reads the file
            [sys.executable, "-c", CHILD, str(ROOT), "read", path], capture_output=True, text=True,
            timeout=120, check=False,
        )
        if result.returncode:
            print(f"xlsx bomb {kind}: child failed\n{result.stderr[-2000:]}")
            continue
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"xlsx bomb {kind:15s} {figures['bytes']:>9,} bytes: refused={figures['refused']} in "
            f"{figures['seconds']:.3f} s (target < 1 s), peak RSS {figures['peak_mb']:.0f} MB "
            f"(of which Django and the file: {figures['before_mb']:.0f} MB; target < 100 MB)",
            flush=True,
        )


def parallel_guesses(tries: int = 60) -> None:
    import django

    django.setup()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # 404/429 lines are expected
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from surveys import ratelimit

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django.core.cache import caches

    caches["ratelimit"].clear()
    barrier = threading.Barrier(tries)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess():
        try:
            barrier.wait()
            status = Client(REMOTE_ADDR="203.0.113.5").post(
                reverse("surveys:start"), {"code": "ABCD-EFGH-JKMN"}
            ).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limit = ratelimit.limit_of("survey_code")
    answered = sum(1 for s in statuses if s != 429)
    print(
        f"{tries} parallel access-code guesses ({connection.vendor}), limit {limit}: "
        f"{answered} answered, {max(0, answered - limit)} over the limit (target 0), "
        f"{statuses.count(429)} refused with 429, {len(statuses)} finished",
        flush=True,
    )


if __name__ == "__main__":
    xlsx_bombs()
    parallel_guesses()
