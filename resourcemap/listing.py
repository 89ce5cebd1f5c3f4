"""The list of results on the map page: one page of providers read in bulk and drawn once.

Every distinct search draws 50 of these items, so they are built here rather than by the
template engine, which spends ~0.3 ms per item on tags, lookups and includes: four queries
of plain rows (providers, weekly hours, dated exceptions, capabilities; types, areas and
capabilities come from the per-data-version reference cache), today's key and holidays
looked up once per day, and every text that is the same for all items (labels, badges,
icons, the link's ``from=``) made once per page. The markup is the same as the template's
was, item for item; ``templates/resourcemap/map.html`` places it inside the ``<ol>``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import hours as hours_mod
from .language import english
from .models import HoursException, OpeningPeriod, Provider, ProviderCapability
from .search.params import _reference
from .templatetags.portal import (
    distance,
    is_stale,
    jdatetime,
    join_list_filter,
    reach_badge,
    stale_text,
    type_icon,
)

_PROVIDER_COLUMNS = (
    "id", "name", "name_en", "provider_type_id", "area_id", "status", "address", "building",
    "phone", "fax", "latitude", "hours_unknown", "last_confirmed_on",
)


class _Exception(NamedTuple):
    """A dated exception with the fields the hours rules read."""

    start_date: dt.date
    end_date: dt.date
    closed: bool
    opens: dt.time | None
    closes: dt.time | None


@dataclass
class Item:
    """One provider of the list, with what the page shows of it."""

    pk: int
    name: str
    name_en: str
    provider_type: object
    area: object
    status: str
    full_address: str
    phone: str
    fax: str
    latitude: object
    hours_unknown: bool
    last_confirmed_on: dt.date | None
    distance_m: float | None = None
    capabilities: list = field(default_factory=list)
    today_hours: list[str] = field(default_factory=list)
    reach: hours_mod.Reach | None = None
    reach_asked: hours_mod.Reach | None = None

    @property
    def display_name(self) -> str:
        return self.name_en if english() and self.name_en else self.name


def load_items(
    ids: Sequence[int], distances: Mapping[int, float] | None, *, now: dt.datetime, asked: dt.datetime | None
) -> list[Item]:
    """The providers of ``ids`` (in that order, public or not as the search found them) with
    their capabilities, today's hours and how they can be reached ``now`` (and at ``asked``)."""
    ids = list(ids)
    if not ids:
        return []
    distances = distances or {}
    types, caps, areas = _reference()
    types_by_id = {t.pk: t for t in types.values()}
    areas_by_id = {a.pk: a for a in areas.values()}
    in_order = [(c.pk, c) for c in caps.values()]
    periods: dict[int, list] = defaultdict(list)
    for provider_id, weekday, opens, closes in OpeningPeriod.objects.filter(provider_id__in=ids).values_list(
        "provider_id", "weekday", "opens", "closes"
    ):
        periods[provider_id].append(hours_mod.Period(weekday, opens, closes))
    exceptions: dict[int, list] = defaultdict(list)
    for provider_id, *values in HoursException.objects.filter(provider_id__in=ids).values_list(
        "provider_id", "start_date", "end_date", "closed", "opens", "closes"
    ):
        exceptions[provider_id].append(_Exception(*values))
    offered: dict[int, set[int]] = defaultdict(set)
    for provider_id, capability_id in ProviderCapability.objects.filter(provider_id__in=ids).values_list(
        "provider_id", "capability_id"
    ):
        offered[provider_id].add(capability_id)
    found = {}
    for row in Provider.objects.filter(pk__in=ids).values_list(*_PROVIDER_COLUMNS):
        (pk, name, name_en, type_id, area_id, status, address, building, phone, fax, latitude,
         hours_unknown, confirmed) = row
        found[pk] = Item(
            pk=pk, name=name, name_en=name_en, provider_type=types_by_id.get(type_id),
            area=areas_by_id.get(area_id), status=status, full_address=f"{address} {building}".strip(),
            phone=phone, fax=fax, latitude=latitude, hours_unknown=hours_unknown,
            last_confirmed_on=confirmed,
            # In the order of the reference data (sort order, code), as the template listed them.
            capabilities=[c for cid, c in in_order if cid in offered[pk]] if pk in offered else [],
        )
    items = []
    today = now.date()
    for pk in ids:
        item = found.get(pk)
        if item is None:
            continue
        item.distance_m = distances.get(pk)
        spans, dated = periods.get(pk, []), exceptions.get(pk, [])
        item.today_hours = hours_mod.day_spans_text(today, spans, dated)
        after = [c.after_hours for c in item.capabilities if c.after_hours]
        item.reach = _reach(item, now, spans, dated, after)
        item.reach_asked = _reach(item, asked, spans, dated, after) if asked else None
        items.append(item)
    return items


def _reach(item: Item, when: dt.datetime, periods, exceptions, after_hours) -> hours_mod.Reach:
    if item.status != Provider.Status.ACTIVE:
        return hours_mod.Reach(hours_mod.REACH_SUSPENDED)
    return hours_mod.reach_at(when, periods, exceptions, item.hours_unknown, after_hours)


class _Page:
    """What every item of one page shares: labels, icons, badges, the link's ``from=``."""

    def __init__(self, querystring: str, asked: dt.datetime | None, today: dt.date):
        self.japanese = get_language() == "ja"
        self.detail_prefix = reverse("provider_detail", args=[0])[:-2]
        self.from_part = f"?from={escape(quote(querystring))}" if querystring else ""
        self.dot = conditional_escape(_("・"))
        self.about = conditional_escape(_("約"))
        self.today_label = conditional_escape(_("今日"))
        self.unknown = conditional_escape(_("営業時間不明"))
        self.closed_today = conditional_escape(_("休み"))
        self.phone = conditional_escape(_("電話"))
        self.can_do = conditional_escape(_("できること"))
        self.show_on_map = conditional_escape(_("地図で見る"))
        self.asked = (
            _("指定の日時（%(when)s）") % {"when": conditional_escape(jdatetime(asked))} if asked else ""
        )
        self.today = today
        self._icons: dict = {}
        self._badges: dict = {}
        self._names: dict = {}
        self._status: dict = {}
        self._stale: dict = {}
        self._hours: dict = {}

    def icon(self, provider_type) -> str:
        key = getattr(provider_type, "pk", None)
        if key not in self._icons:
            self._icons[key] = type_icon(provider_type, 24)
        return self._icons[key]

    def badge(self, reach) -> str:
        if reach not in self._badges:
            self._badges[reach] = reach_badge(reach)
        return self._badges[reach]

    def name(self, thing) -> str:
        """The escaped display name of a type, area or capability (the same for the page)."""
        key = (type(thing), thing.pk)
        if key not in self._names:
            self._names[key] = conditional_escape(thing.display_name)
        return self._names[key]

    def stale(self, confirmed_on: dt.date) -> str:
        if confirmed_on not in self._stale:
            self._stale[confirmed_on] = stale_text(confirmed_on, "stale result__stale")
        return self._stale[confirmed_on]

    def hours(self, spans: list[str]) -> str:
        """Today's periods as the page shows them (many providers share the same hours)."""
        key = tuple(spans)
        if key not in self._hours:
            self._hours[key] = join_list_filter(spans)
        return self._hours[key]

    def status(self, status: str) -> str:
        if status not in self._status:
            self._status[status] = conditional_escape(Provider.Status(status).label)
        return self._status[status]


INDENT = "\n                  "


def render_items(items: Sequence[Item], *, querystring: str, asked: dt.datetime | None, today: dt.date) -> SafeString:
    """The ``<li>`` of every item, with the whitespace the page's template had around them."""
    page = _Page(querystring, asked, today)
    out = []
    for item in items:
        pk = item.pk
        name = conditional_escape(item.display_name)
        lang_ja = "" if page.japanese else ' lang="ja"'
        name_lang = ' lang="ja"' if not page.japanese and not item.name_en else ""
        kind = page.name(item.provider_type) if item.provider_type is not None else ""
        if item.area is not None:
            kind += f" {page.dot} {page.name(item.area)}"
        if item.distance_m is not None:
            kind += f" {page.dot} {page.about}{conditional_escape(distance(item.distance_m))}"
        if item.status == Provider.Status.SUSPENDED:
            kind += f' <span class="badge badge--closed">{page.status(item.status)}</span>'
        if item.hours_unknown:
            today_text = page.unknown
        elif item.today_hours:
            today_text = page.hours(item.today_hours)
        else:
            today_text = page.closed_today
        lines = [
            f'\n                <li class="result" id="result-{pk}" data-id="{pk}" data-provider-id="{pk}">',
            f'<h3 class="result__name">{page.icon(item.provider_type)} <a href="{page.detail_prefix}{pk}/'
            f'{page.from_part}"{name_lang}>{name}</a></h3>',
            f'<p class="result__type">{kind}</p>',
            page.stale(item.last_confirmed_on) if is_stale(item, page.today) else "",
            f'<p class="result__address"{lang_ja}>{conditional_escape(item.full_address)}</p>',
            f'<p class="result__hours">{page.badge(item.reach)} <span class="result__today">'
            f"{page.today_label}: {today_text}</span></p>",
            f'<p class="result__asked">{page.asked}: {page.badge(item.reach_asked)}</p>' if item.reach_asked else "",
        ]
        if item.phone:
            phone = conditional_escape(item.phone)
            fax = f' ／ <span class="nowrap">FAX {conditional_escape(item.fax)}</span>' if item.fax else ""
            lines.append(f'<p class="result__phone">{page.phone} <a href="tel:{phone}">{phone}</a>{fax}</p>')
        else:
            lines.append("")
        if item.capabilities:
            tags = "".join(f"<li>{page.name(c)}</li>" for c in item.capabilities)
            lines.append(f'<ul class="tags" aria-label="{page.can_do}">{tags}</ul>')
        else:
            lines.append("")
        if item.latitude is not None:
            lines.append(
                f'<button type="button" class="button button--small js-only" data-show-marker="{pk}">'
                f'{page.show_on_map}<span class="visually-hidden">: {name}</span></button>'
            )
        else:
            lines.append("")
        out.append(INDENT.join(lines) + "\n                </li>\n              ")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
