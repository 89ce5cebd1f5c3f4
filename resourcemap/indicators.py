"""Planning indicators (評価指標): provider counts by type × capability × area, now and in the past.

* Current counts come from the one search's SQL part (``search.base_queryset``): the same
  providers the public map shows, grouped by type, capability and 地区 in ONE query.
* Past counts ("as of" a date or a survey round) start from today's rows and undo, newest
  first, every recorded change (``ProviderChange``) of type, 地区, status or capabilities made
  after that moment; providers created after it are left out. A single pass over the history
  serves several moments (for the small charts).
* Regions and the ward total are sums of 地区 counts (each provider has one 地区); the ward total
  also counts providers without a 地区, exactly like the search without an area filter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import search
from .models import (
    Area,
    AreaPopulation,
    Capability,
    KeyIndicator,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderType,
)

HISTORY_KEYS = ("provider_type", "area", "status", "capabilities")
ALL = None  # capability key meaning "all providers of this type"
WARD = None  # area key meaning "the whole ward"
PER = 10_000

# ---------------------------------------------------------------------------------------------
# Reference data (a constant number of queries)


@dataclass
class Reference:
    types: list[ProviderType]
    caps: dict[int, Capability]
    applicable: dict[int, list[Capability]]  # type id -> capabilities in display order
    regions: list[Area]
    districts: dict[int, list[Area]]  # region id -> districts
    area_by_id: dict[int, Area]
    key_indicators: list[KeyIndicator] = field(default_factory=list)

    @property
    def all_districts(self) -> list[Area]:
        return [d for r in self.regions for d in self.districts.get(r.pk, [])]

    def region_of(self, area_id: int | None) -> int | None:
        area = self.area_by_id.get(area_id) if area_id else None
        if area is None:
            return None
        return area.parent_id if area.level == Area.Level.DISTRICT else area.pk


def load_reference() -> Reference:
    types = list(ProviderType.objects.order_by("sort_order", "code"))
    caps = {c.pk: c for c in Capability.objects.order_by("sort_order", "code")}
    through = Capability.provider_types.through.objects.values_list("providertype_id", "capability_id")
    applicable: dict[int, list[Capability]] = defaultdict(list)
    for type_id, cap_id in through:
        applicable[type_id].append(caps[cap_id])
    for items in applicable.values():
        items.sort(key=lambda c: (c.sort_order, c.code))
    areas = list(Area.objects.order_by("sort_order", "code"))
    regions = [a for a in areas if a.level == Area.Level.REGION]
    districts: dict[int, list[Area]] = defaultdict(list)
    for area in areas:
        if area.level == Area.Level.DISTRICT:
            districts[area.parent_id].append(area)
    key_indicators = list(KeyIndicator.objects.select_related("capability", "provider_type"))
    return Reference(
        types=types, caps=caps, applicable=dict(applicable), regions=regions,
        districts=dict(districts), area_by_id={a.pk: a for a in areas},
        key_indicators=key_indicators,
    )


# ---------------------------------------------------------------------------------------------
# Counts: Counter keyed by (type id, capability id | ALL, 地区 id | None)


def current_counts() -> Counter:
    """Published providers by (type, capability or ALL, 地区) in one SQL query (a UNION)."""
    base = search.base_queryset({}).order_by()
    by_type = base.values_list("provider_type_id", "area_id").annotate(
        cap=Value(None, output_field=IntegerField()), n=Count("id")
    ).order_by()
    by_cap = (
        ProviderCapability.objects.filter(provider_id__in=base.values("id"))
        .values_list("provider__provider_type_id", "provider__area_id")
        .annotate(cap=Value(0, output_field=IntegerField()), n=Count("id"))
        .values_list("provider__provider_type_id", "provider__area_id", "capability_id", "n")
        .order_by()
    )
    counts: Counter = Counter()
    for type_id, area_id, cap_id, n in by_type.union(by_cap, all=True):
        counts[(type_id, cap_id, area_id)] += n
    return counts


def moment_for(day: dt.date) -> dt.datetime:
    """The end of a local day (the start of the next one), as an aware datetime."""
    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return timezone.make_aware(next_day, timezone.get_current_timezone())


_CODE_RE = re.compile(r"\s*([a-z0-9_]+)")


def _parse_capabilities(text: str | None, cap_ids: dict[str, int]) -> set[int]:
    """Capability ids from the history text ``h24; mitori:12; psychiatry(note)``."""
    found: set[int] = set()
    for part in (text or "").split(";"):
        match = _CODE_RE.match(part)
        if match and match.group(1) in cap_ids:
            found.add(cap_ids[match.group(1)])
    return found


def counts_at(moments: list[dt.datetime]) -> dict[dt.datetime, Counter]:
    """Published counts as they were at each moment, from today's rows and the change history.

    Starts from today's counts and walks back through the relevant events after the earliest
    moment (changes of type, 地区, status or capabilities, and creations), newest first: each
    event takes the provider's contribution out, restores its earlier state and puts it back.
    A constant number of queries whatever the number of moments or providers.
    """
    if not moments:
        return {}
    ordered = sorted(set(moments), reverse=True)
    earliest = ordered[-1]
    type_ids = dict(ProviderType.objects.values_list("code", "id"))
    area_ids = dict(Area.objects.values_list("code", "id"))
    cap_ids = dict(Capability.objects.values_list("code", "id"))
    public = {str(s) for s in Provider.PUBLIC_STATUSES}
    # state: [type id, 地区 id, status, capability ids, exists]
    states: dict[int, list] = {
        pk: [type_id, area_id, status, set(), True]
        for pk, type_id, area_id, status in Provider.objects.order_by().values_list(
            "id", "provider_type_id", "area_id", "status"
        )
    }
    for provider_id, cap_id in ProviderCapability.objects.order_by().values_list(
        "provider_id", "capability_id"
    ):
        states[provider_id][3].add(cap_id)

    def bucket(field: str) -> Case:
        """Index of the newest moment an event is at or after (no datetimes read back)."""
        return Case(
            *(When(**{f"{field}__gte": m}, then=Value(i)) for i, m in enumerate(ordered)),
            output_field=IntegerField(),
        )

    # (bucket, 0 = change | 1 = creation, order, provider, type, 地区, status, capabilities)
    events: list[tuple] = [
        (b, 0, n, pk, *(diff.get(k) for k in HISTORY_KEYS))
        for n, (pk, b, diff) in enumerate(
            ProviderChange.objects.filter(changed_at__gte=earliest)
            .exclude(action=ProviderChange.Action.CREATE)
            .filter(changes__has_any_keys=list(HISTORY_KEYS))
            .annotate(bucket=bucket("changed_at"))
            .order_by("-changed_at", "-pk")
            .values_list("provider_id", "bucket", "changes")
        )
    ]
    events += [
        (b, 1, 0, pk, None, None, None, None)
        for pk, b in Provider.objects.filter(created_at__gte=earliest)
        .annotate(bucket=bucket("created_at"))
        .order_by()
        .values_list("id", "bucket")
    ]
    # Per moment: changes newest first, then creations (a provider's oldest event).
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    parsed: dict[str, set[int]] = {}

    counts: Counter = Counter()

    def contribute(state, sign: int) -> None:
        type_id, area_id, status, caps, exists = state
        if not exists or type_id is None or status not in public:
            return
        counts[(type_id, ALL, area_id)] += sign
        for cap_id in caps:
            counts[(type_id, cap_id, area_id)] += sign

    for state in states.values():
        contribute(state, 1)
    results: dict[dt.datetime, Counter] = {}
    index = 0
    for number, moment in enumerate(ordered):
        while index < len(events) and events[index][0] == number:
            _b, is_creation, _n, pk, ptype, area, status, caps = events[index]
            index += 1
            state = states.get(pk)
            if state is None:
                continue
            contribute(state, -1)
            if is_creation:
                state[4] = False
            else:
                if ptype:
                    state[0] = type_ids.get(ptype[0])
                if area:
                    state[1] = area_ids.get(area[0]) if area[0] else None
                if status:
                    state[2] = status[0]
                if caps:
                    text = caps[0] or ""
                    if text not in parsed:
                        parsed[text] = _parse_capabilities(text, cap_ids)
                    state[3] = set(parsed[text])
            contribute(state, 1)
        results[moment] = +counts
    return results


def rollup(counts: Counter, ref: Reference) -> Counter:
    """Add region keys (region id) and ward keys (WARD) to a 地区-level counter."""
    out: Counter = Counter()
    for (type_id, cap_id, area_id), n in counts.items():
        out[(type_id, cap_id, ("d", area_id))] += n
        region_id = ref.region_of(area_id)
        if region_id is not None:
            out[(type_id, cap_id, ("r", region_id))] += n
        out[(type_id, cap_id, WARD)] += n
    return out


def key_count(rolled: Counter, ref: Reference, ki: KeyIndicator, area_key) -> int:
    """Count of a key indicator (one type, or every type) in an area key."""
    if ki.provider_type_id:
        return rolled.get((ki.provider_type_id, ki.capability_id, area_key), 0)
    return sum(rolled.get((t.pk, ki.capability_id, area_key), 0) for t in ref.types)


# ---------------------------------------------------------------------------------------------
# Populations


@dataclass
class Population:
    total: int
    aged_65_plus: int
    as_of: dt.date
    source: str
    is_demo: bool

    def per_10k(self, n: int) -> float | None:
        if not self.aged_65_plus:
            return None
        return round(n * PER / self.aged_65_plus, 1)


def _sum(parts: list[Population]) -> Population:
    return Population(
        total=sum(p.total for p in parts),
        aged_65_plus=sum(p.aged_65_plus for p in parts),
        as_of=min(p.as_of for p in parts),
        source="、".join(sorted({p.source for p in parts})),
        is_demo=any(p.is_demo for p in parts),
    )


def populations(ref: Reference) -> dict:
    """{("d", id) | ("r", id) | WARD: Population}; a region without its own figure is the sum of
    its 地区 when every one has a figure, the ward the sum of its regions likewise."""
    rows = {
        p.area_id: Population(p.total, p.aged_65_plus, p.as_of, p.source, p.is_demo)
        for p in AreaPopulation.objects.all()
    }
    out: dict = {}
    region_pops = []
    for region in ref.regions:
        for district in ref.districts.get(region.pk, []):
            if district.pk in rows:
                out[("d", district.pk)] = rows[district.pk]
        pop = rows.get(region.pk)
        if pop is None:
            parts = [rows.get(d.pk) for d in ref.districts.get(region.pk, [])]
            if parts and all(parts):
                pop = _sum(parts)
        if pop is not None:
            out[("r", region.pk)] = pop
        region_pops.append(pop)
    if region_pops and all(region_pops):
        out[WARD] = _sum(region_pops)
    return out


# ---------------------------------------------------------------------------------------------
# Links to the public search that reproduces a number


def search_url(type_code: str | None, cap_code: str | None, area: Area | None) -> str:
    params: list[tuple[str, str]] = []
    if type_code:
        params.append(("type", type_code))
    if cap_code:
        params.append(("cap", cap_code))
    if area is not None:
        params.append(("district" if area.level == Area.Level.DISTRICT else "region", area.code))
    query = urlencode(params)
    return reverse("map") + (f"?{query}" if query else "")


def search_params(type_code: str | None, cap_code: str | None, area: Area | None) -> dict:
    params: dict[str, list[str]] = {}
    if type_code:
        params["type"] = [type_code]
    if cap_code:
        params["cap"] = [cap_code]
    if area is not None:
        params["district" if area.level == Area.Level.DISTRICT else "region"] = [area.code]
    return params


# ---------------------------------------------------------------------------------------------
# Comparison points


@dataclass
class Point:
    """A moment to compare with: a chosen date or a survey round."""

    day: dt.date
    label: str
    round_id: int | None = None

    @property
    def moment(self) -> dt.datetime:
        return moment_for(self.day)


def survey_rounds(today: dt.date) -> list:
    from surveys.models import SurveyRound

    return list(SurveyRound.objects.filter(closes_on__lt=today).order_by("-closes_on", "-pk")[:10])


def default_point(today: dt.date, rounds: list) -> Point:
    if rounds:
        r = rounds[0]
        return Point(r.closes_on, r.name, r.pk)
    day = _years_before(today, 1)
    return Point(day, _("%(date)s 時点") % {"date": day.isoformat()})


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def chart_points(today: dt.date, point: Point | None, rounds: list) -> list[Point]:
    """Up to six moments for the small charts: survey rounds, the comparison, two yearly steps, today."""
    points: dict[dt.date, Point] = {}
    for years in (2, 1):
        day = _years_before(today, years)
        points[day] = Point(day, day.isoformat())
    for r in rounds[:3]:
        points[r.closes_on] = Point(r.closes_on, r.name, r.pk)
    if point is not None:
        points[point.day] = point
    past = sorted((p for d, p in points.items() if d < today), key=lambda p: p.day)[-5:]
    return past


# ---------------------------------------------------------------------------------------------
# Survey coverage


def confirmed_cutoff(today: dt.date) -> dt.date:
    """Confirmed "in the last 12 months": on or after the same day a year ago."""
    return _years_before(today, 1)


def coverage(ref: Reference, today: dt.date) -> dict:
    """{(type id | "all", ("r", region id) | WARD): [confirmed, total]} for published providers, one query."""
    cutoff = confirmed_cutoff(today)
    rows = (
        search.base_queryset({})
        .order_by()
        .values_list("provider_type_id", "area__parent_id")
        .annotate(n=Count("id"), ok=Count("id", filter=Q(last_confirmed_on__gte=cutoff)))
    )
    out: dict = defaultdict(lambda: [0, 0])
    for type_id, region_id, n, ok in rows:
        keys = [(type_id, WARD), ("all", WARD)]
        if region_id is not None:
            keys += [(type_id, ("r", region_id)), ("all", ("r", region_id))]
        for key in keys:
            out[key][0] += ok
            out[key][1] += n
    return dict(out)


# ---------------------------------------------------------------------------------------------
# Demo populations


DEMO_SOURCE = "架空の人口（デモ用）"


def load_demo_populations(seed: int = 2026) -> int:
    """Fictional populations for every 地区 that has none (marked ``is_demo``); returns how many."""
    import random

    rng = random.Random(seed)
    existing = set(AreaPopulation.objects.values_list("area_id", flat=True))
    rows = []
    for district in Area.objects.filter(level=Area.Level.DISTRICT).order_by("sort_order", "code"):
        total = rng.randrange(18_000, 52_000, 10)
        aged = int(total * rng.uniform(0.17, 0.24))
        if district.pk not in existing:
            rows.append(AreaPopulation(
                area=district, total=total, aged_65_plus=aged, as_of=dt.date(2026, 1, 1),
                source=DEMO_SOURCE, is_demo=True,
            ))
    AreaPopulation.objects.bulk_create(rows)
    return len(rows)
