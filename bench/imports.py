"""Benchmark of the public-data import (``resourcemap.opendata.import_file``).

Builds a fictional MHLW-layout file (``jigyosho_130.csv``) with N Setagaya rows (and, for the
national-file preview, 3 × N rows of other municipalities) and prints:

- floor: a bare ``Provider.objects.bulk_create`` of the same N rows (no checks, no history),
  rolled back;
- N new rows imported (committed), and the ratio to the floor;
- the same N rows imported again (all unchanged);
- a dry-run preview of the 4 × N-row "national" file with N rows of an already imported ward;
- the same preview as the admin page gets it for a big file: the ``opendata_import`` job run by
  a worker (upload stored, preview computed, the page's JSON written), and the staff choice
  applied by the second job (all rows unchanged, so nothing is written);
- the staff sheet import (admin インポート) of ``--sheet-count`` of those providers as exported
  (1,580 by default, the ward's count): the ``provider_sheet_import`` preview job and the
  confirmation job, as a worker runs them for a big sheet (all rows unchanged).

Runs against a throw-away SQLite database unless DATABASE_URL is set (use a scratch database:
it is migrated, and rows with 事業所番号 19xxxxxxxx are deleted first).

    .venv/bin/python bench/imports.py [--count 5000] [--sheet-count 1580]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

_common.scratch_django("bench-imports-")

from django.contrib.auth.models import User  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from jobs import staged  # noqa: E402
from resourcemap import admin_views, formats, import_jobs, opendata, sheet_import  # noqa: E402
from resourcemap.models import Area, Provider, ProviderType  # noqa: E402
from resourcemap.reference import load_reference  # noqa: E402
from resourcemap.resources import ContactlessProviderResource  # noqa: E402

HEADER = (
    "都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,"
    "方書（ビル名等）,緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号,利用可能曜日,"
    "利用可能曜日特記事項,定員,URL"
).split(",")


def rows_for(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
    rows = []
    for n in range(count):
        area = districts[n % len(districts)]
        lat = Decimal(area.center_lat) + Decimal(rng.randint(-8, 8)) / 10000
        lng = Decimal(area.center_lng) + Decimal(rng.randint(-8, 8)) / 10000
        rows.append([
            "131121", str(n + 1), "東京都", "世田谷区", f"ベンチ訪問看護{n}", f"ベンチホウモンカンゴ{n}",
            "訪問看護", f"東京都世田谷区{area.name}{n % 9 + 1}-{n % 30 + 1}-{n % 20 + 1}", "",
            str(lat), str(lng), f"03-{3000 + n % 6000:04d}-{n % 10000:04d}", "", "", "株式会社ベンチ",
            f"19{n:08d}", "平日,土曜日", "", "", "",
        ])
    return rows


def other_rows(count: int) -> list[list[str]]:
    return [
        ["271004", str(n), "大阪府", "大阪市", f"よそ訪問看護{n}", "ヨソホウモンカンゴ", "訪問看護",
         f"大阪府大阪市北区梅田{n % 9 + 1}-1-1", "", "34.70", "135.49", "06-6000-0000", "", "", "",
         f"27{n:08d}", "", "", "", ""]
        for n in range(count)
    ]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def floor_seconds(rows: list[list[str]]) -> float:
    nursing = ProviderType.objects.get(code="nursing")
    objects = [
        Provider(name=r[4], kana=r[5], provider_type=nursing, address=r[7], latitude=Decimal(r[9]),
                 longitude=Decimal(r[10]), phone=r[11], corporate_name=r[14], care_code=r[15],
                 hours_unknown=True, hours_note="利用可能曜日: 平日,土曜日")
        for r in rows
    ]
    start = time.perf_counter()
    with transaction.atomic():
        Provider.objects.bulk_create(objects, batch_size=500)
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--sheet-count", type=int, default=1580)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    load_reference()
    Provider.objects.filter(care_code__startswith="19").delete()
    rows = rows_for(args.count)
    data = csv_bytes(rows)
    vendor = connection.vendor

    floor = floor_seconds(rows)
    start = time.perf_counter()
    report = opendata.import_file(data, file_name="jigyosho_130.csv", commit=True)
    new = time.perf_counter() - start
    assert report.committed and report.totals["new"] == args.count, report.summary()
    start = time.perf_counter()
    again = opendata.import_file(data, file_name="jigyosho_130.csv", commit=True)
    unchanged = time.perf_counter() - start
    assert again.totals["unchanged"] == args.count, again.summary()
    national = csv_bytes(rows + other_rows(3 * args.count))
    start = time.perf_counter()
    preview = opendata.import_file(national, file_name="jigyosho_130.csv", commit=False)
    preview_s = time.perf_counter() - start
    assert preview.totals["unchanged"] == args.count

    user, _created = User.objects.get_or_create(username="bench-import", defaults={"is_staff": True})
    start = time.perf_counter()
    job = import_jobs.start_preview(user=user, upload=ContentFile(national, name="jigyosho_130.csv"),
                                    run_here=True)
    job_s = time.perf_counter() - start
    shown = import_jobs.payload(job)
    assert shown["totals"]["unchanged"] == args.count and job.total == 4 * args.count, shown.get("summary")
    start = time.perf_counter()
    applied = import_jobs.start_apply(user=user, preview=job, choice="all", run_here=True)
    apply_s = time.perf_counter() - start
    assert import_jobs.payload(applied)["committed"] is True, import_jobs.payload(applied)

    sheet_rows = min(args.sheet_count, args.count)
    sheet_ids = Provider.objects.filter(care_code__startswith="19").order_by("pk").values_list("pk", flat=True)
    sheet = formats.CSV().export_data(ContactlessProviderResource().export(
        Provider.objects.filter(pk__in=list(sheet_ids[:sheet_rows]))))
    start = time.perf_counter()
    sheet_job = sheet_import.start_preview(user=user, upload=ContentFile(sheet, name="providers.csv"), fmt=0,
                                           run_here=True)
    sheet_preview_s = time.perf_counter() - start
    sheet_shown = staged.payload(sheet_job)
    assert sheet_shown["can_apply"] and sheet_shown["totals"]["skip"] == sheet_rows, {k: v for k, v in sheet_shown.items() if k != "rows"}
    start = time.perf_counter()
    sheet_applied = sheet_import.start_apply(user=user, preview=sheet_job, run_here=True)
    sheet_apply_s = time.perf_counter() - start
    assert staged.payload(sheet_applied)["committed"] is True, staged.payload(sheet_applied)

    print(f"database: {vendor}, rows: {args.count}")
    print(f"floor (bare bulk_create of {args.count} providers): {floor:.2f} s")
    print(f"import {args.count} new rows: {new:.2f} s ({new / floor:.1f}x the floor; target <= 10x)")
    print(f"import {args.count} unchanged rows: {unchanged:.2f} s (target <= 5 s)")
    print(f"preview of a {4 * args.count}-row national file ({args.count} of this ward, unchanged): {preview_s:.2f} s")
    print(f"admin preview job of that file on a worker (stored upload, preview, page data): {job_s:.2f} s; "
          f"applying the choice: {apply_s:.2f} s")
    print(f"staff sheet import of {sheet_rows} unchanged providers ({len(sheet) // 1024} KB) as a worker runs it: "
          f"preview {sheet_preview_s:.2f} s, confirmation {sheet_apply_s:.2f} s "
          f"(on a worker above {admin_views.SHEET_SYNC_MAX_BYTES // 1024} KB: the requests only store the file and show progress)")
    Provider.objects.filter(care_code__startswith="19").delete()


if __name__ == "__main__":
    main()
