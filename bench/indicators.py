"""Benchmark of the planning indicators: 5,000 providers with three years of change history.

Figures (median of ``--repeat`` runs):

- ``current``: today's counts by type × capability × 地区 (one SQL query);
- ``as_of_1``: the counts as of one date three years ago, rebuilt from the history (the worst
  case: every change is undone);
- ``as_of_6``: six moments at once, as the staff page needs for its comparison and charts;
- ``floor``: only fetching the rows the as-of computation reads (providers, capabilities and
  changes), without any Python work — the least any history-based method must pay.

Budget: ``as_of_6`` under 1 s on SQLite and PostgreSQL.

Uses its own throw-away database: a temporary SQLite file, or, when DATABASE_URL points to
PostgreSQL (``make bench-postgres``), a scratch database named ``<name>_indicators`` beside it.

    .venv/bin/python bench/indicators.py [--count 5000] [--repeat 5]
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

BUDGET_S = 1.0


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        name = parts.path.lstrip("/") + "_indicators"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(parts._replace(path="/" + name))
    return f"sqlite:///{_common.scratch_dir('bench-indicators-')}/bench.sqlite3"


os.environ["DATABASE_URL"] = _database_url()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from resourcemap import indicators as ind  # noqa: E402
from resourcemap.models import (  # noqa: E402
    Area,
    Capability,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderType,
)
from resourcemap.providers import capabilities_text  # noqa: E402
from resourcemap.reference import load_reference  # noqa: E402


class _explicit_times:
    """Let bulk_create keep the given created_at / changed_at (they are auto_now_add)."""

    fields = [Provider._meta.get_field("created_at"), ProviderChange._meta.get_field("changed_at")]

    def __enter__(self):
        for f in self.fields:
            f.auto_now_add = False

    def __exit__(self, *exc):
        for f in self.fields:
            f.auto_now_add = True


def prepare(count: int, seed: int = 11) -> None:
    call_command("migrate", verbosity=0)
    load_reference()
    rng = random.Random(seed)
    types = list(ProviderType.objects.all())
    districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
    caps_by_type = {t.pk: list(Capability.objects.filter(provider_types=t)) for t in types}
    now = timezone.now()
    start = now - dt.timedelta(days=3 * 365)
    providers, states, histories = [], [], []
    for i in range(count):
        ptype = rng.choice(types)
        area = rng.choice(districts)
        pool = caps_by_type[ptype.pk]
        caps = set(c.code for c in rng.sample(pool, k=min(len(pool), rng.randint(0, 4))))
        status = "active"
        created = start + dt.timedelta(days=rng.uniform(0, 200 if rng.random() < 0.8 else 1000))
        events = []
        for year in range(3):  # yearly survey confirmation
            when = start + dt.timedelta(days=365 * year + rng.uniform(120, 200))
            if when > created:
                events.append((when, {"last_confirmed_on": [None, when.date().isoformat()]}))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            when = created + (now - created) * rng.random()
            kind = rng.random()
            if kind < 0.6 and pool:
                new = set(caps) ^ {rng.choice(pool).code}
                events.append((when, {"capabilities": [caps, new]}))
                caps = new
            elif kind < 0.8:
                new_status = rng.choice(("active", "suspended", "closed"))
                events.append((when, {"status": [status, new_status]}))
                status = new_status
            else:
                new_area = rng.choice(districts)
                events.append((when, {"area": [area.code, new_area.code]}))
                area = new_area
        providers.append(Provider(
            name=f"ベンチ{i}", kana=f"ベンチ{i}", provider_type=ptype, address="東京都世田谷区",
            area=area, status=status, is_demo=True, created_at=created,
            latitude=Decimal(str(area.center_lat)), longitude=Decimal(str(area.center_lng)),
        ))
        states.append(caps)
        histories.append((created, sorted(events, key=lambda e: e[0])))
    caps_by_code = {c.code: c for c in Capability.objects.all()}
    with _explicit_times():
        made = Provider.objects.bulk_create(providers, batch_size=1000)
        ProviderCapability.objects.bulk_create(
            (ProviderCapability(provider=p, capability=caps_by_code[code])
             for p, caps in zip(made, states, strict=True) for code in caps),
            batch_size=2000,
        )
        changes = []
        for p, (created, events) in zip(made, histories, strict=True):
            changes.append(ProviderChange(provider=p, changed_at=created, actor_kind="system",
                                          action="create", changes={"name": [None, p.name]}))
            for when, diff in events:
                if "capabilities" in diff:
                    old, new = diff["capabilities"]
                    diff = {"capabilities": [capabilities_text((c, None, "") for c in old),
                                             capabilities_text((c, None, "") for c in new)]}
                changes.append(ProviderChange(provider=p, changed_at=when, actor_kind="survey",
                                              action="update", changes=diff))
        ProviderChange.objects.bulk_create(changes, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def median_s(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def floor_once() -> None:
    list(Provider.objects.order_by().values_list("id", "provider_type_id", "area_id", "status", "created_at"))
    list(ProviderCapability.objects.order_by().values_list("provider_id", "capability_id"))
    list(ProviderChange.objects.order_by().values_list("provider_id", "changed_at", "changes"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    prepare(args.count)
    prepared = time.perf_counter() - started
    today = timezone.localdate()
    oldest = ind.moment_for(today - dt.timedelta(days=3 * 365 - 1))
    six = [ind.moment_for(today - dt.timedelta(days=d)) for d in (1000, 730, 500, 365, 180, 30)]
    figures = {
        "current": median_s(ind.current_counts, args.repeat),
        "as_of_1": median_s(lambda: ind.counts_at([oldest]), args.repeat),
        "as_of_6": median_s(lambda: ind.counts_at(six), args.repeat),
        "floor": median_s(floor_once, args.repeat),
    }
    n_changes = ProviderChange.objects.count()
    verdict = "OK" if figures["as_of_6"] < BUDGET_S else "OVER BUDGET"
    print(
        f"indicators [{connection.vendor}] {Provider.objects.count()} providers, {n_changes} changes "
        f"over 3 years (prepared in {prepared:.1f} s): current {figures['current'] * 1000:.0f} ms | "
        f"as of 1 date {figures['as_of_1'] * 1000:.0f} ms | as of 6 dates {figures['as_of_6'] * 1000:.0f} ms "
        f"(floor: fetching the rows {figures['floor'] * 1000:.0f} ms; budget {BUDGET_S * 1000:.0f} ms) {verdict}"
    )
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
