"""Benchmark: the provider API against the raw SQL + JSON floor.

Usage: ``DEBUG=1 .venv/bin/python bench/api.py [--count N] [--runs R]`` with ``DATABASE_URL`` set
to a scratch database (it is migrated and filled; existing providers are kept unless
``--count`` asks for more, in which case synthetic ones are added).

Synthetic providers are written with ``bulk_create`` (not the write path, which records history
one provider at a time) and are marked ``is_demo``; use a scratch database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

KATA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def prepare_database() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from resourcemap.models import Municipality
    from resourcemap.reference import load_reference

    if not Municipality.objects.exists():
        load_reference()


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
    return made


def floor_once() -> tuple[float, int]:
    """Raw SQL for the same rows + orjson encoding: the fastest this could be."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.latitude, p.longitude, t.code, p.name, p.name_en, p.address "
            "FROM resourcemap_provider p JOIN resourcemap_providertype t ON t.id = p.provider_type_id "
            "WHERE p.status IN ('active', 'suspended') ORDER BY p.kana, p.id"
        )
        rows = cursor.fetchall()
    body = orjson.dumps(
        {
            "providers": [
                [r[0], float(r[1]) if r[1] is not None else None, float(r[2]) if r[2] is not None else None, r[3], r[4], r[6], None]
                for r in rows
            ]
        }
    )
    return time.perf_counter() - start, len(body)


def geojson_floor_once() -> tuple[float, int]:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.name, p.name_en, p.kana, t.code, p.status, p.postal_code, p.address, "
            "p.building, p.latitude, p.longitude, a.code, p.phone, p.fax, p.website, p.email, "
            "p.notes, p.notes_en, p.hours_unknown, p.hours_note, p.last_confirmed_on, "
            "p.last_confirmed_source FROM resourcemap_provider p "
            "JOIN resourcemap_providertype t ON t.id = p.provider_type_id "
            "LEFT JOIN resourcemap_area a ON a.id = p.area_id "
            "WHERE p.status IN ('active', 'suspended') ORDER BY p.kana, p.id"
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT pc.provider_id, c.code, c.name, pc.count, pc.note FROM resourcemap_providercapability pc "
            "JOIN resourcemap_capability c ON c.id = pc.capability_id "
            "JOIN resourcemap_provider p ON p.id = pc.provider_id WHERE p.status IN ('active', 'suspended')"
        )
        caps: dict = {}
        for pid, code, name, count, note in cursor.fetchall():
            caps.setdefault(pid, []).append({"code": code, "name": name, "count": count, "note": note})
        cursor.execute(
            "SELECT o.provider_id, o.weekday, o.opens, o.closes FROM resourcemap_openingperiod o "
            "JOIN resourcemap_provider p ON p.id = o.provider_id WHERE p.status IN ('active', 'suspended')"
        )
        hours: dict = {}
        for pid, weekday, opens, closes in cursor.fetchall():
            hours.setdefault(pid, []).append(f"{weekday} {str(opens)[:5]}-{str(closes)[:5]}")
    features = [
        {
            "type": "Feature", "id": r[0],
            "geometry": {"type": "Point", "coordinates": [float(r[10]), float(r[9])]} if r[9] is not None else None,
            "properties": {
                "id": r[0], "name": r[1], "name_en": r[2], "kana": r[3], "type": r[4], "status": r[5],
                "postal_code": r[6], "address": r[7], "building": r[8], "area": r[11], "phone": r[12],
                "fax": r[13], "website": r[14], "email": r[15], "notes": r[16], "notes_en": r[17],
                "hours_unknown": r[18], "hours_note": r[19], "last_confirmed_on": str(r[20]),
                "last_confirmed_source": r[21], "capabilities": caps.get(r[0], []),
                "hours": "; ".join(hours.get(r[0], [])),
            },
        }
        for r in rows
    ]
    body = orjson.dumps({"type": "FeatureCollection", "features": features})
    return time.perf_counter() - start, len(body)


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (caches, connections)
    return statistics.median(fn() for _ in range(runs)) * 1000


def bench(runs: int) -> dict:
    client = Client()

    def api(path):
        def once():
            start = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.status_code
            return elapsed
        return once

    from resourcemap.models import Provider

    return {
        "providers": Provider.objects.published().count(),
        "json_ms": median_ms(api("/api/providers.json"), runs),
        "json_floor_ms": median_ms(lambda: floor_once()[0], runs),
        "geojson_ms": median_ms(api("/api/providers.geojson"), runs),
        "geojson_floor_ms": median_ms(lambda: geojson_floor_once()[0], runs),
        "json_filtered_ms": median_ms(api("/api/providers.json?type=nursing&cap=h24&region=setagaya"), runs),
        "json_open_now_ms": median_ms(api("/api/providers.json?open=now&q=%E3%82%BB%E3%82%BF"), runs),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=0, help="fill up to N providers first")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    prepare_database()
    if args.count:
        synthesize(args.count)
    vendor = connection.vendor
    figures = bench(args.runs)
    print(
        f"[api] {vendor}: {figures['providers']} providers | "
        f".json {figures['json_ms']:.1f} ms (floor {figures['json_floor_ms']:.1f} ms, "
        f"{figures['json_ms'] / figures['json_floor_ms']:.2f}x) | "
        f".geojson {figures['geojson_ms']:.1f} ms (floor {figures['geojson_floor_ms']:.1f} ms, "
        f"{figures['geojson_ms'] / figures['geojson_floor_ms']:.2f}x) | "
        f"filtered {figures['json_filtered_ms']:.1f} ms | open-now+keyword {figures['json_open_now_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
