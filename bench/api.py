"""Benchmark: the provider API against raw SQL + orjson floors that build the same document.

Usage: ``.venv/bin/python bench/api.py [--count N] [--runs R]`` with ``DATABASE_URL`` set to a
scratch database (it is migrated and filled up to ``--count`` providers, 5,000 by default;
existing providers are kept). Production settings (DEBUG off). Each floor's document is checked
to equal the app's (parsed) and the two are timed alternately; every line gives the count.

Synthetic providers are written with ``bulk_create`` (not the write path, which records history
one provider at a time) and are marked ``is_demo``; use a scratch database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from decimal import Decimal
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

from resourcemap import folding  # noqa: E402

KATA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def prepare_database() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    _common.collect_static()
    from resourcemap.models import Municipality
    from resourcemap.reference import load_reference

    if not Municipality.objects.exists():
        load_reference()


def filled(count: int) -> int:
    """The scratch database migrated and filled up to ``count``; how many providers are public."""
    from resourcemap.models import Provider

    prepare_database()
    synthesize(count)
    return Provider.objects.published().count()


def synthesize(count: int, seed: int = 7) -> int:
    """Add synthetic published providers until there are ``count``; returns how many exist."""
    from resourcemap.models import (
        Area,
        Capability,
        OpeningPeriod,
        Provider,
        ProviderCapability,
        ProviderType,
    )

    existing = Provider.objects.count()
    if existing >= count:
        return existing
    rng = random.Random(seed + existing)
    types = list(ProviderType.objects.all())
    districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
    caps_by_type = {t.pk: list(Capability.objects.filter(provider_types=t)) for t in types}
    batch = 2000
    made = existing
    while made < count:
        n = min(batch, count - made)
        objs = []
        for i in range(n):
            ptype = rng.choice(types)
            area = rng.choice(districts)
            kana = "".join(rng.choice(KATA) for _ in range(rng.randint(3, 7)))
            objs.append(
                Provider(
                    name=f"{kana}{ptype.name}{made + i}",
                    kana=kana,
                    provider_type=ptype,
                    postal_code="154-0001",
                    address=f"東京都世田谷区{area.name}{rng.randint(1, 6)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                    latitude=Decimal(f"{float(area.center_lat) + rng.uniform(-0.006, 0.006):.6f}"),
                    longitude=Decimal(f"{float(area.center_lng) + rng.uniform(-0.007, 0.007):.6f}"),
                    area=area,
                    phone=f"03-{rng.randint(3000, 6999)}-{rng.randint(0, 9999):04d}",
                    is_demo=True,
                    last_confirmed_on=dt.date(2025, 6, 1),
                )
            )
        for obj in objs:
            obj.refresh_search_text()  # bulk_create does not call save()
        created = Provider.objects.bulk_create(objs)
        if created[0].pk is None:  # backends that do not return ids
            created = list(Provider.objects.order_by("-pk")[: len(objs)])
        caps, periods = [], []
        for provider in created:
            pool = caps_by_type[provider.provider_type_id]
            for cap in rng.sample(pool, k=min(len(pool), rng.randint(0, 4))):
                caps.append(
                    ProviderCapability(
                        provider=provider, capability=cap,
                        count=rng.randint(0, 40) if cap.has_count else None,
                    )
                )
            style = rng.random()
            if style < 0.1:
                periods += [OpeningPeriod(provider=provider, weekday=d, opens=dt.time(0), closes=dt.time(0)) for d in range(8)]
            else:
                for d in range(5 if style < 0.6 else 6):
                    periods.append(OpeningPeriod(provider=provider, weekday=d, opens=dt.time(9), closes=dt.time(12, 30)))
                    periods.append(OpeningPeriod(provider=provider, weekday=d, opens=dt.time(14), closes=dt.time(18)))
        ProviderCapability.objects.bulk_create(caps)
        OpeningPeriod.objects.bulk_create(periods)
        made += n
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load in production
    return made


NOW = "2026-12-01 10:00:00 +09:00"  # a Tuesday, not a holiday


def bench(runs: int) -> list[str]:
    from resourcemap.models import Area, Capability, Provider, ProviderType

    client = Client()
    n = Provider.objects.published().count()
    tag = f"[api] {connection.vendor}: {n:,} providers"
    lines = []

    def app(path):
        def once():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response.content
        return once

    def compare(label, path, where, params, query):
        sql = _common.compact_floor_sql(where)

        def floor():
            return _common.compact_floor(connection, sql, params, query)

        body = app(path)()
        _common.same_document(body, floor(), label)
        app_ms, floor_ms = _common.alternate(app(path), floor, runs)
        lines.append(
            f"{tag} | {label} {_common.fmt_ratio(app_ms, floor_ms)}, "
            f"{orjson.loads(body)['count']:,} results, {len(body) / 1024:.0f} KiB"
        )

    nursing = ProviderType.objects.get(code="nursing").pk
    h24 = Capability.objects.get(code="h24").pk
    districts = list(Area.objects.filter(parent__code="setagaya").values_list("pk", flat=True))
    in_districts = "p.area_id IN (" + ", ".join("%s" for _ in districts) + ")"
    yoga = folding.fold("用賀")
    # The fastest raw form of the keyword on each database (the GIN index of short pieces on
    # PostgreSQL: two characters have no trigram).
    if connection.vendor == "postgresql":
        keyword, keyword_param = _common.KEYWORD_FLOOR_PG, yoga
    else:
        keyword, keyword_param = "p.search_text LIKE %s", f"%{yoga}%"
    with time_machine.travel(NOW, tick=False):
        compare(".json (everything)", "/api/providers.json", "", (), "")
        compare(
            ".json type+cap+region", "/api/providers.json?type=nursing&cap=h24&region=setagaya",
            f"p.provider_type_id = %s AND {in_districts} AND EXISTS (SELECT 1 FROM "  # noqa: S608 - placeholders only
            "resourcemap_providercapability pc WHERE pc.provider_id = p.id AND pc.capability_id = %s)",
            (nursing, *districts, h24), "type=nursing&cap=h24&region=setagaya",
        )
        compare(
            ".json keyword", "/api/providers.json?q=%E7%94%A8%E8%B3%80",
            keyword, (keyword_param,), "q=%E7%94%A8%E8%B3%80",
        )
        compare(
            ".json keyword + open now", "/api/providers.json?open=now&q=%E7%94%A8%E8%B3%80",
            keyword + " AND NOT p.hours_unknown AND (EXISTS (SELECT 1 FROM "  # noqa: S608 - constant fragments
            "resourcemap_openingperiod o WHERE o.provider_id = p.id AND o.weekday = 1 AND "
            "((o.opens <= '10:00:00' AND '10:00:00' < o.closes) OR (o.opens = '00:00:00' AND o.closes = '00:00:00'))) "
            "OR (p.status = 'active' AND EXISTS (SELECT 1 FROM resourcemap_providercapability pc "
            "JOIN resourcemap_capability c ON c.id = pc.capability_id WHERE pc.provider_id = p.id "
            "AND c.after_hours = 'always')))",
            (keyword_param,), "q=%E7%94%A8%E8%B3%80&open=now",
        )
        geojson_ms = _common.timed(app("/api/providers.geojson"), runs)
        lines.append(f"{tag} | .geojson (everything) {geojson_ms:.1f} ms (no raw floor for this document)")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="fill up to N providers first")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    prepare_database()
    if args.count:
        synthesize(args.count)
    for line in bench(args.runs):
        print(line, flush=True)


if __name__ == "__main__":
    main()
