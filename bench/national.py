"""Benchmark at national scale: 400,000 synthetic providers on PostgreSQL, then each request
beside its raw floor (``make bench-national``).

Usage: ``DATABASE_URL=postgres://…/scratch .venv/bin/python bench/national.py [--count 400000]
[--profile national|one-city] [--load-only] [--front-only]`` (``--front-only``: the front page
rendered without the page cache, with the 地域/地区 form as configured and with every area listed). The database is migrated and filled with COPY
(not the per-provider write path) when it has fewer providers than ``--count``, then vacuumed.
Profiles: ``national`` (default) makes each of ~1,700 synthetic towns a municipality of its own
(a 地域 and a few 地区 per town, its own address text); the town at the reference centre keeps
the reference municipality's real areas and gets about as many providers as it really has.
``one-city`` keeps the same positions but puts every provider in the reference municipality's
districts and addresses: the worst case for its filters and keywords (results grow with the
country). The profile and load time are kept with the data (a comment on the provider table);
every line states the profile, the provider count and the load time. Floors are raw SQL +
orjson producing the same document (checked by parsed equality) and are timed alternately
with the app. The clock is fixed at a Tuesday 10:00 JST so that
"open now" is the same request on every run. Production settings (DEBUG off).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

_common.production_env()

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from resourcemap import folding  # noqa: E402

KATA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
NOW = "2026-12-01 10:00:00 +09:00"  # a Tuesday, not a holiday
# A Setagaya-sized view (the reference municipality's bounding box, roughly).
CITY_BBOX = "139.58,35.60,139.69,35.68"
JAPAN_BBOX = "128.0,30.0,146.0,46.0"


PROFILES = ("national", "one-city")
# The reference municipality's real size (世田谷区 lists about 1,600 providers; with every care
# office about 3,000): the dense town at the reference centre gets this many.
REFERENCE_TOWN_SIZE = 3000
# Kanji for the synthetic place names (用 and 賀 left out: only the reference town has 用賀).
PLACE_KANJI = "山川田中本野原宮島北南東西新大小上下松竹梅森林沢池岡浜崎坂石井高平河谷村"
BENCH_TAG = "bench/national.py"


def _place_name(rng: random.Random, n: int = 2) -> str:
    return "".join(rng.choice(PLACE_KANJI) for _ in range(n))


def _towns(seed: int) -> list[dict]:
    """~1,700 synthetic towns over Japan (centre, spread, weight); the first, dense one is at the
    reference centre. Fixed by ``seed`` alone, so a database filled in steps keeps its towns."""
    rng = random.Random(seed)
    prefectures = [f"{_place_name(rng)}県" for _ in range(47)]
    towns = [{"lat": 35.643, "lng": 139.653, "spread": 0.025, "weight": 0.0, "index": 0}]
    for i in range(1, 1701):
        towns.append({
            "lat": rng.uniform(31.0, 43.5), "lng": rng.uniform(130.0, 145.0), "spread": rng.uniform(0.01, 0.05),
            "weight": rng.paretovariate(1.5), "index": i,
            "prefecture": rng.choice(prefectures), "city": f"{_place_name(rng)}{rng.choice('市町市区')}",
            "districts": [_place_name(rng) for _ in range(rng.randint(2, 4))],
        })
    return towns


def _town_areas(towns: list[dict]) -> dict[int, list]:
    """National profile: each synthetic town its own municipality, with a 地域 of its own and
    its 地区 (synthetic names); the reference town keeps the reference municipality's real areas.
    Returns {town index: [district Area, …]}, creating the rows that are missing."""
    from resourcemap.models import Area

    by_code = {a.code: a for a in Area.objects.filter(code__startswith="town")}
    missing = []
    for town in towns[1:]:
        code = f"town{town['index']:04d}"
        if code not in by_code:
            missing.append(Area(
                code=code, name=town["city"], level=Area.Level.REGION, center_lat=f"{town['lat']:.6f}",
                center_lng=f"{town['lng']:.6f}", sort_order=1000 + town["index"],
            ))
    for area in Area.objects.bulk_create(missing):
        by_code[area.code] = area
    missing = []
    for town in towns[1:]:
        region = by_code[f"town{town['index']:04d}"]
        for j, name in enumerate(town["districts"], start=1):
            code = f"town{town['index']:04d}_{j}"
            if code not in by_code:
                missing.append(Area(
                    code=code, name=name, level=Area.Level.DISTRICT, parent=region,
                    center_lat=region.center_lat, center_lng=region.center_lng, sort_order=1000 + town["index"],
                ))
    for area in Area.objects.bulk_create(missing):
        by_code[area.code] = area
    areas = {0: list(Area.objects.filter(level=Area.Level.DISTRICT).exclude(code__startswith="town"))}
    for town in towns[1:]:
        areas[town["index"]] = [by_code[f"town{town['index']:04d}_{j}"] for j in range(1, len(town["districts"]) + 1)]
    return areas


def loaded_profile() -> dict | None:
    """What bench/national.py loaded into this database (profile, count, seconds), or None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('resourcemap_provider'::regclass, 'pg_class')")
        comment = cursor.fetchone()[0] or ""
    if not comment.startswith(BENCH_TAG):
        return None
    return orjson.loads(comment[len(BENCH_TAG):])


def _remember_profile(info: dict) -> None:
    text = BENCH_TAG + orjson.dumps(info).decode()
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON TABLE resourcemap_provider IS '{text}'")  # noqa: S608 - our own JSON, no quotes


def load(count: int, profile: str = "national", seed: int = 11) -> tuple[int, float]:
    """COPY synthetic providers (with capabilities and weekly hours) until there are ``count``.

    ``national``: the towns are municipalities of their own (areas, addresses); the reference
    town has about as many providers as the real reference municipality. ``one-city``: the
    same positions over Japan, but every provider gets a district and an address of the
    reference municipality (the worst case for its filters and keywords).
    Returns (providers, seconds of the whole load so far).
    """
    from resourcemap.models import Area, Capability, Municipality, Provider, ProviderType

    existing = Provider.objects.count()
    # A database filled before profiles were recorded: taken as asked, load time unknown.
    info = loaded_profile() or {"profile": profile, "count": existing, "seconds": None if existing else 0.0}
    if existing and info["profile"] != profile:
        raise SystemExit(
            f"the database holds {existing:,} providers of the {info['profile']!r} profile, not {profile!r}: "
            "use another database"
        )
    if existing >= count:
        return existing, info["seconds"]
    start = time.perf_counter()
    rng = random.Random(seed + existing)
    types = list(ProviderType.objects.all())
    caps_by_type = {t.pk: list(Capability.objects.filter(provider_types=t)) for t in types}
    towns = _towns(seed)
    reference = Municipality.current()
    reference_address = f"{reference.prefecture}{reference.name}"
    if profile == "national":
        areas_by_town = _town_areas(towns)
        # The reference town's share: about REFERENCE_TOWN_SIZE of the whole count.
        others = sum(t["weight"] for t in towns[1:])
        share = min(REFERENCE_TOWN_SIZE / count, 0.5)
        towns[0]["weight"] = others * share / (1 - share)
    else:
        districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
        towns[0]["weight"] = 20.0
    cum_weights = list(itertools.accumulate(t["weight"] for t in towns))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM resourcemap_provider")
        next_id = cursor.fetchone()[0] + 1
    fields = [f for f in Provider._meta.concrete_fields if f.name != "id"]
    columns = ["id"] + [f.column for f in fields]
    now = timezone.now()
    provider_buf = io.StringIO()
    cap_rows: list[tuple] = []
    period_rows: list[tuple] = []
    made = 0
    raw = connection.connection
    total = count - existing

    def flush():
        nonlocal provider_buf, cap_rows, period_rows
        with raw.cursor() as cur:
            with cur.copy(f"COPY resourcemap_provider ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(provider_buf.getvalue())
            with cur.copy(
                "COPY resourcemap_providercapability (provider_id, capability_id, count, note) FROM STDIN"
            ) as copy:
                for row in cap_rows:
                    copy.write_row(row)
            with cur.copy(
                "COPY resourcemap_openingperiod (provider_id, weekday, opens, closes) FROM STDIN"
            ) as copy:
                for row in period_rows:
                    copy.write_row(row)
        provider_buf = io.StringIO()
        cap_rows, period_rows = [], []

    connection.ensure_connection()
    with connection.cursor() as cursor:
        # A bulk load: the map's grid cells are counted once at the end, not per row.
        cursor.execute("ALTER TABLE resourcemap_provider DISABLE TRIGGER resourcemap_provider_cells")
    for i in range(total):
        pid = next_id + i
        ptype = rng.choice(types)
        town = rng.choices(towns, cum_weights=cum_weights)[0]
        if profile == "one-city" or town["index"] == 0:
            area = rng.choice(districts if profile == "one-city" else areas_by_town[0])
            address = f"{reference_address}{area.name}"
            postal, phone = "154-0001", "03"
        else:
            area = rng.choice(areas_by_town[town["index"]])
            address = f"{town['prefecture']}{town['city']}{area.name}"
            postal, phone = f"{100 + town['index'] % 900:03d}-{town['index']:04d}", f"0{10 + town['index'] % 89}"
        kana = "".join(rng.choice(KATA) for _ in range(rng.randint(3, 7)))
        values = {
            "name": f"{kana}{ptype.name}{pid}",
            "kana": kana,
            "provider_type": ptype.pk,
            "status": "active" if rng.random() > 0.03 else "closed",
            "postal_code": postal,
            "address": f"{address}{rng.randint(1, 6)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
            "latitude": f"{town['lat'] + rng.gauss(0, town['spread']):.6f}",
            "longitude": f"{town['lng'] + rng.gauss(0, town['spread'] * 1.2):.6f}",
            "area": area.pk,
            "phone": f"{phone}-{rng.randint(3000, 6999)}-{rng.randint(0, 9999):04d}",
            "is_demo": True,
            "last_confirmed_on": "2025-06-01",
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
        }
        values["search_text"] = folding.search_text(values.get(n, "") for n in folding.SEARCH_FIELDS)
        row = [str(pid)]
        for f in fields:
            key = f.name
            if key in values:
                value = values[key]
            elif f.name == "version":
                value = 1
            elif f.get_internal_type() == "BooleanField":
                value = False
            elif f.null:
                value = None
            else:
                value = ""
            if value is None:
                row.append("\\N")
            elif isinstance(value, bool):
                row.append("t" if value else "f")
            else:
                row.append(str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " "))
        provider_buf.write("\t".join(row) + "\n")
        pool = caps_by_type[ptype.pk]
        for cap in rng.sample(pool, k=min(len(pool), rng.randint(0, 4))):
            cap_rows.append((pid, cap.pk, rng.randint(0, 40) if cap.has_count else None, ""))
        style = rng.random()
        if style < 0.1:
            period_rows += [(pid, d, dt.time(0), dt.time(0)) for d in range(8)]
        else:
            for d in range(5 if style < 0.6 else 6):
                period_rows.append((pid, d, dt.time(9), dt.time(12, 30)))
                period_rows.append((pid, d, dt.time(14), dt.time(18)))
        made += 1
        if made % 20000 == 0:
            flush()
    flush()
    raw.commit() if not raw.autocommit else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('resourcemap_provider', 'id'), "
            "(SELECT MAX(id) FROM resourcemap_provider))"
        )
        cursor.execute("ALTER TABLE resourcemap_provider ENABLE TRIGGER resourcemap_provider_cells")
        cursor.execute("SELECT resourcemap_rebuild_provider_cells()")
        # What autovacuum does to a table after this many inserts in production (the bench
        # server may run without it): statistics, hint bits and the visibility map, so that
        # reads neither dirty every page they touch nor miss index-only scans.
        cursor.execute("VACUUM (ANALYZE)")
    from resourcemap.models import DataVersion

    DataVersion.bump()
    seconds = (info["seconds"] or 0.0) + time.perf_counter() - start
    _remember_profile({"profile": profile, "count": existing + made, "seconds": round(seconds, 1)})
    return existing + made, seconds


def _reference_districts():
    from resourcemap.models import Area

    return Area.objects.filter(level=Area.Level.DISTRICT).exclude(code__startswith="town")


def app(client: Client, path: str):
    def once():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.content

    return once


def hours_floor(weekday: int, before: int, at: str, kinds: tuple[str, ...]) -> str:
    """Raw SQL for "open at ``at`` on ``weekday`` (the day before being ``before``) or reachable
    after hours through a capability of ``kinds``", for weekly periods only."""
    after = ", ".join(f"'{kind}'" for kind in kinds)
    return (
        "p.status = 'active' AND ((NOT p.hours_unknown AND EXISTS (SELECT 1 FROM resourcemap_openingperiod o "  # noqa: S608 - constants of this file
        f"WHERE o.provider_id = p.id AND ((o.weekday = {weekday} AND ((o.opens = '00:00' AND o.closes = '00:00') "
        f"OR (o.opens <= '{at}' AND ('{at}' < o.closes OR o.closes < o.opens)))) "
        f"OR (o.weekday = {before} AND o.closes < o.opens AND '{at}' < o.closes)))) "
        "OR EXISTS (SELECT 1 FROM resourcemap_providercapability pc JOIN resourcemap_capability c "
        f"ON c.id = pc.capability_id WHERE pc.provider_id = p.id AND c.after_hours IN ({after})))"
    )


def floor_for(sql: str, params=(), query: str = "", view: bool = False):
    build = _common.view_floor if view else _common.compact_floor
    return lambda: build(connection, sql, params, query)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--profile", choices=PROFILES, default="national",
        help="national: every synthetic town a municipality of its own (default); one-city: every "
        "provider in the reference municipality's districts and addresses (worst case for its filters)",
    )
    parser.add_argument("--load-only", action="store_true", help="fill the database, time nothing")
    parser.add_argument(
        "--front-only", action="store_true", help="time only the front page rendered without the page cache"
    )
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("bench/national.py needs DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    _common.collect_static()
    from resourcemap.models import DataVersion, Municipality, Provider
    from resourcemap.reference import load_reference

    if not Municipality.objects.exists():
        load_reference()
    total, seconds = load(args.count, args.profile)
    n = Provider.objects.published().count()
    loaded = f"COPY load {seconds:.1f} s" if seconds is not None else "load time not recorded"
    tag = f"[national {args.profile}] {n:,} public of {total:,} providers ({loaded})"
    in_town = Provider.objects.published().filter(area__in=_reference_districts()).count()
    print(f"{tag}: {in_town:,} of them in the reference municipality's districts", flush=True)
    if args.load_only:
        return
    client = Client()
    runs = args.runs
    if args.front_only:
        with time_machine.travel(NOW, tick=False):
            front_page(client, tag, runs)
        return
    from resourcemap.models import Area, Capability, ProviderType

    nursing = ProviderType.objects.get(code="nursing").pk
    h24 = Capability.objects.get(code="h24").pk
    region = Area.objects.get(code="setagaya")
    districts = list(Area.objects.filter(parent=region).values_list("pk", flat=True))
    yoga = folding.fold("用賀")

    with time_machine.travel(NOW, tick=False):
        def compare(label, path, sql, params, query, view=False):
            body = app(client, path)()
            if "clusters" in orjson.loads(body):
                print(f"{tag}: {label} answered with grid cells (more than the point limit); no floor", flush=True)
                return
            floor_body = floor_for(sql, params, query, view)()
            _common.same_document(body, floor_body, label)
            app_ms, floor_ms = _common.alternate(app(client, path), floor_for(sql, params, query, view), runs)
            ratio = app_ms / floor_ms
            # CPU time of this process per request (the machine may be loaded: wall time waits too).
            fetch, build = app(client, path), floor_for(sql, params, query, view)
            cpu = [0.0, 0.0]
            for _ in range(runs):
                for slot, run_once in enumerate((fetch, build)):
                    start = time.process_time()
                    run_once()
                    cpu[slot] += time.process_time() - start
            print(
                f"{tag}: {label} {app_ms:.1f} ms, floor {floor_ms:.1f} ms ({ratio:.2f}x), "
                f"CPU {cpu[0] / runs * 1000:.2f} ms, floor {cpu[1] / runs * 1000:.2f} ms, "
                f"{orjson.loads(body)['count']:,} results, {len(body) / 1024:.0f} KiB ({len(body):,} bytes)",
                flush=True,
            )

        compare(
            "filtered API type+cap+region", "/api/providers.json?type=nursing&cap=h24&region=setagaya",
            _common.compact_floor_sql(
                "p.provider_type_id = %s AND p.area_id = ANY(%s) AND EXISTS (SELECT 1 FROM "
                "resourcemap_providercapability pc WHERE pc.provider_id = p.id AND pc.capability_id = %s)"
            ),
            (nursing, districts, h24), "type=nursing&cap=h24&region=setagaya",
        )
        compare(
            "keyword q=用賀 (API)", "/api/providers.json?q=用賀",
            _common.compact_floor_sql(_common.KEYWORD_FLOOR_PG), (yoga,), "q=%E7%94%A8%E8%B3%80",
        )
        # Hours searches. The synthetic data has no dated exceptions, so the floors need only
        # the weekly periods: open by a period of the day, or one of the day before running past
        # midnight, or reachable through an after-hours capability (24時間対応 at any time, also
        # 夜間・休日対応 at night and on Sundays/holidays). Tuesday 10:00 is "open now".
        for label, path, where, query in (
            ("keyword + open now", "q=用賀&open=now", (1, 0, "10:00", ("always",)), "q=%E7%94%A8%E8%B3%80&open=now"),
            ("keyword + weekday/time (Sun 21:00)", "q=用賀&day=6&time=21:00", (6, 5, "21:00", ("always", "night")),
             "q=%E7%94%A8%E8%B3%80&day=6&time=21%3A00"),
            ("keyword + weekday/time (Mon 03:00)", "q=用賀&day=0&time=03:00", (0, 6, "03:00", ("always", "night")),
             "q=%E7%94%A8%E8%B3%80&day=0&time=03%3A00"),
        ):
            compare(
                label, f"/api/providers.json?{path}",
                _common.compact_floor_sql(_common.KEYWORD_FLOOR_PG + " AND " + hours_floor(*where)), (yoga,), query,
            )
        compare(
            "type + open now (no keyword)", "/api/providers.json?type=nursing&open=now",
            _common.compact_floor_sql("p.provider_type_id = %s AND " + hours_floor(1, 0, "10:00", ("always",))),
            (nursing,), "type=nursing&open=now",
        )
        west, south, east, north = (float(v) for v in CITY_BBOX.split(","))
        compare(
            "map viewport (city-sized bbox, zoom 13)", f"/api/providers.json?bbox={CITY_BBOX}&zoom=13",
            _common.view_floor_sql("p.latitude BETWEEN %s AND %s AND p.longitude BETWEEN %s AND %s"),
            (south, north, west, east), "", view=True,
        )
        # Zoomed out over Japan: grid counts instead of points. Floors: the same document from
        # the stored cells in raw SQL, and from the provider table (what counting live costs).
        from resourcemap.api import VIEW_HEADER
        from resourcemap.search import grid

        west, south, east, north = (float(v) for v in JAPAN_BBOX.split(","))
        for zoom in (5, 8):
            path = f"/api/providers.json?bbox={JAPAN_BBOX}&zoom={zoom}"
            body = app(client, path)()
            data = orjson.loads(body)
            y0, y1, x0, x1 = grid.cell_range((south, west, north, east), zoom)
            size = grid.cell_size(zoom)

            def cells_doc(sql, params):
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    cells = [[round(float(lat / n), 6), round(float(lng / n), 6), n] for n, lat, lng in cursor.fetchall()]
                cells.sort(key=lambda c: (-c[2], c[0], c[1]))
                return orjson.dumps({
                    "count": sum(c[2] for c in cells), "query": "",
                    "columns": list(VIEW_HEADER), "providers": [], "clusters": cells,
                })

            stored_sql = (
                "SELECT SUM(n), SUM(sum_lat), SUM(sum_lng) FROM resourcemap_providercell WHERE zoom = %s "
                "AND cy BETWEEN %s AND %s AND cx BETWEEN %s AND %s GROUP BY cy, cx HAVING SUM(n) > 0"
            )
            live_sql = (
                "SELECT COUNT(*), SUM(latitude), SUM(longitude) FROM (SELECT latitude, longitude, "
                "floor(latitude::float8 / %s) AS cy, floor(longitude::float8 / %s) AS cx FROM resourcemap_provider "
                "WHERE status IN ('active', 'suspended') AND latitude IS NOT NULL) AS p "
                "WHERE cy BETWEEN %s AND %s AND cx BETWEEN %s AND %s GROUP BY cy, cx"
            )
            stored_params, live_params = (zoom, y0, y1, x0, x1), (size, size, y0, y1, x0, x1)
            stored = functools.partial(cells_doc, stored_sql, stored_params)
            live = functools.partial(cells_doc, live_sql, live_params)
            _common.same_document(body, stored(), f"zoom {zoom} (stored cells)")
            _common.same_document(body, live(), f"zoom {zoom} (counted live)")
            ms, floor_ms = _common.alternate(app(client, path), stored, runs)
            live_ms = _common.timed(live, max(3, runs // 2))
            print(
                f"{tag}: map zoomed out over Japan (zoom {zoom}) {ms:.1f} ms, floor {floor_ms:.1f} ms "
                f"({ms / floor_ms:.2f}x; counting the providers live instead: {live_ms:.0f} ms), "
                f"{data['count']:,} results as {len(data['clusters']):,} grid cells, {len(body) / 1024:.0f} KiB",
                flush=True,
            )
        full = app(client, "/api/providers.json")
        ms_full, floor_full = _common.alternate(full, floor_for(_common.compact_floor_sql("")), max(3, runs // 2))
        print(f"{tag}: full map JSON without a view (API users) {_common.fmt_ratio(ms_full, floor_full)}", flush=True)

        # A write through the write path, then the keyword search (no index to rebuild).
        from resourcemap import providers
        from resourcemap.models import ProviderChange

        municipality = Municipality.current()
        target = next(
            p for p in Provider.objects.published().filter(
                latitude__range=(municipality.min_lat, municipality.max_lat),
                longitude__range=(municipality.min_lng, municipality.max_lng),
            ).order_by("pk").iterator()
            if municipality.contains(p.latitude, p.longitude)
        )

        def write_then_search():
            providers.provider_update(
                provider=target, changes={"notes": f"bench {time.perf_counter()}"},
                actor_kind=ProviderChange.Actor.SYSTEM, source="bench",
            )
            app(client, "/api/providers.json?q=用賀")()

        write_ms = _common.timed(write_then_search, max(3, runs // 2))
        print(f"{tag}: write through the write path + next keyword request {write_ms:.1f} ms", flush=True)

        def aggregate():
            from django.db.models import Count, Max

            Provider.objects.aggregate(n=Count("id"), latest=Max("updated_at"))

        version_ms, aggregate_ms = _common.alternate(DataVersion.current, aggregate, runs)
        print(
            f"{tag}: data version read {version_ms:.2f} ms (the COUNT/MAX(updated_at) it replaced: "
            f"{aggregate_ms:.1f} ms)",
            flush=True,
        )
        etag = client.get("/api/providers.json?type=nursing", HTTP_ACCEPT_ENCODING="gzip")["ETag"]
        not_modified = lambda: client.get(  # noqa: E731
            "/api/providers.json?type=nursing", HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING="gzip"
        )
        assert not_modified().status_code == 304
        print(f"{tag}: 304 for the browser's weak ETag {_common.timed(not_modified, runs):.1f} ms", flush=True)

        from django.conf import settings

        settings.PAGE_CACHE_SECONDS = 0  # the list itself, not the page cache

        def page_floor():
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM resourcemap_provider WHERE status IN ('active', 'suspended')")
                cursor.fetchone()
                cursor.execute(
                    "SELECT id FROM resourcemap_provider WHERE status IN ('active', 'suspended') "
                    "ORDER BY kana, id LIMIT 50"
                )
                cursor.fetchall()

        list_ms, list_floor = _common.alternate(app(client, "/"), page_floor, runs)
        print(
            f"{tag}: unfiltered list page 1 (HTML, page cache off; counts kept per data version) {list_ms:.1f} ms "
            f"(SQL floor: COUNT + first 50 ids {list_floor:.1f} ms)",
            flush=True,
        )

        def write_then_list():
            DataVersion.bump()  # what any write does: the counts are made again
            app(client, "/")()

        print(
            f"{tag}: unfiltered list page 1 right after a write (counts made again) "
            f"{_common.timed(write_then_list, max(3, runs // 2)):.1f} ms",
            flush=True,
        )
        front_page(client, tag, runs)
        settings.PAGE_CACHE_SECONDS = 60
        cached_ms = _common.timed(app(client, "/"), runs)
        print(f"{tag}: front page from the page cache {cached_ms:.1f} ms", flush=True)


def front_page(client: Client, tag: str, runs: int) -> None:
    """The front page rendered without the page cache: ms, bytes and <option>s, with the
    地域/地区 form as configured (AREA_SELECT_MAX) and, above the threshold, with every area
    listed as the form did before."""
    from django.conf import settings

    from resourcemap.models import Area

    areas = Area.objects.count()
    configured = settings.AREA_SELECT_MAX
    cache_seconds = settings.PAGE_CACHE_SECONDS
    settings.PAGE_CACHE_SECONDS = 0
    limits = [configured] + ([areas] if areas > configured else [])
    try:
        for limit in limits:
            settings.AREA_SELECT_MAX = limit
            body = app(client, "/")()
            form = "one text field" if areas > limit else "two lists"
            ms = _common.timed(app(client, "/"), runs)
            print(
                f"{tag}: front page rendered without the page cache, {areas:,} areas as {form} "
                f"(AREA_SELECT_MAX={limit}) {ms:.1f} ms, {len(body) / 1024:.1f} KiB, "
                f"{body.count(b'<option'):,} options",
                flush=True,
            )
    finally:
        settings.AREA_SELECT_MAX = configured
        settings.PAGE_CACHE_SECONDS = cache_seconds


if __name__ == "__main__":
    main()
