"""The real published files (``../shared/realdata/``) imported as a ward would, with figures.

For every CSV in the folder (MHLW national files first, then the others; a ナビイ facility file
with its ``*_speciality_hours`` file when that is there too), on one database with
the Setagaya reference data: the import with "import the good rows, leave out the listed
ones", then the same file a second time (which must change nothing). Prints one table row per
file: rows read, imported (new / changed), unchanged, skipped (other municipalities), not on
this map, left out (rows with problems), seconds; then the second run's new + changed rows
and seconds. Everything runs in one transaction that is rolled back at the end, so the
database is left as it was.

Runs against a throw-away SQLite database unless DATABASE_URL is set.

    .venv/bin/python bench/realdata.py [--dir ../shared/realdata] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

_common.scratch_django("bench-realdata-")

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from resourcemap import opendata  # noqa: E402
from resourcemap.reference import load_reference  # noqa: E402


def real_files(folder: Path) -> list[Path]:
    """Every CSV in the folder (MHLW files first, then the others by path); a ナビイ
    ``*_speciality_hours`` file is read with its facility file, not on its own."""
    files = [p for p in folder.rglob("*.csv") if "speciality_hours" not in p.name]
    return sorted(files, key=lambda p: (p.parent.name != "mhlw", str(p.relative_to(folder))))


def hours_file(path: Path) -> Path | None:
    """The ``*_speciality_hours`` file of a ナビイ facility file, when it is in the same folder."""
    if "_facility_info_" not in path.name:
        return None
    kind, _sep, date = path.name.partition("_facility_info_")
    found = sorted(path.parent.glob(f"{kind.split('-')[0]}-*_speciality_hours_{date[:8]}*.csv"))
    return found[0] if found else None


COLUMNS = ("file", "rows read", "new", "changed", "unchanged", "skipped (other municipalities)",
           "not on this map", "left out", "seconds", "2nd run: new + changed", "2nd run seconds")


def run_file(path: Path):
    data = path.read_bytes()
    hours = hours_file(path)
    extra = {"hours_data": hours.read_bytes(), "hours_file_name": hours.name} if hours else {}
    start = time.perf_counter()
    report = opendata.import_file(data, file_name=path.name, commit=True, leave_out_errors=True, **extra)
    seconds = time.perf_counter() - start
    t = report.totals
    start = time.perf_counter()
    again = opendata.import_file(data, file_name=path.name, commit=True, leave_out_errors=True, **extra)
    again_seconds = time.perf_counter() - start
    a = again.totals
    return [path.name, str(report.rows_read), str(t["new"]), str(t["update"]), str(t["unchanged"]),
            str(t["skipped"]), str(t["not_listed"]), str(t["error_lines"]), f"{seconds:.2f}",
            str(a["new"] + a["update"]), f"{again_seconds:.2f}"], report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=str(ROOT.parent / "shared" / "realdata"))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--problems", action="store_true", help="list the rows left out and why")
    args, _rest = parser.parse_known_args()
    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"realdata: {folder} not found, nothing to measure")
        return
    call_command("migrate", verbosity=0)
    load_reference()
    table, reports = [], []
    with transaction.atomic():
        for path in real_files(folder):
            row, report = run_file(path)
            table.append(row)
            reports.append(report)
        transaction.set_rollback(True)
    print(f"database: {connection.vendor}")
    if args.markdown:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for row in table:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(COLUMNS)]
        print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
        for row in table:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    for report in reports:
        if report.not_listed:
            print(f"{report.file_name}: not on this map: {report.not_listed_text()}")
        if args.problems:
            for line in report.error_lines():
                print(f"{report.file_name}: {line}")


if __name__ == "__main__":
    main()
