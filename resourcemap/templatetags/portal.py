"""Template helpers for the public portal: type icons, hours, distances, query strings."""

from __future__ import annotations

import calendar

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..language import join_list

register = template.Library()


@register.filter(name="join_list")
def join_list_filter(items) -> str:
    """``{{ spans|join_list }}``: 09:00-12:00、14:00-18:00 (English: 09:00-12:00, 14:00-18:00).

    Each item moves to the next line whole (a phone breaks between the periods, not inside
    14:30-18:00, unless one period is wider than the line)."""
    # The separator is the translator's text; each item is escaped by format_html.
    return mark_safe(join_list(format_html('<span class="period">{}</span>', item) for item in items or []))  # noqa: S308

# Geometry of each marker shape in a 28×28 box. Shapes come from ProviderType.shape (data),
# so a new type only picks one of these; the letter inside is ProviderType.short_name.
SHAPES = {
    "circle": '<circle cx="14" cy="14" r="12.5"/>',
    "square": '<rect x="2" y="2" width="24" height="24" rx="2"/>',
    "triangle": '<polygon points="14,1 27,26 1,26"/>',
    "diamond": '<polygon points="14,0.5 27.5,14 14,27.5 0.5,14"/>',
    "pentagon": '<polygon points="14,1 27,10.5 22,26.5 6,26.5 1,10.5"/>',
    "hexagon": '<polygon points="7.5,2 20.5,2 27,14 20.5,26 7.5,26 1,14"/>',
    "star": (
        '<polygon points="14,0.5 17.4,5.6 23.3,4.7 22.4,10.6 27.5,14 22.4,17.4 23.3,23.3 '
        '17.4,22.4 14,27.5 10.6,22.4 4.7,23.3 5.6,17.4 0.5,14 5.6,10.6 4.7,4.7 10.6,5.6"/>'
    ),
    "cross": '<polygon points="8.5,1 19.5,1 19.5,8.5 27,8.5 27,19.5 19.5,19.5 19.5,27 8.5,27 8.5,19.5 1,19.5 1,8.5 8.5,8.5"/>',
    "heart": '<path d="M14 26.5C6 20.5 1 15.5 1 9.3 1 4.8 4.4 1.5 8.4 1.5c2.5 0 4.4 1.2 5.6 3.1 1.2-1.9 3.1-3.1 5.6-3.1 4 0 7.4 3.3 7.4 7.8 0 6.2-5 11.2-13 17.2z"/>',
    "shield": '<path d="M14 1 26.5 5v8.5c0 6.8-5 11.6-12.5 13.5C6.5 25.1 1.5 20.3 1.5 13.5V5z"/>',
    "house": '<polygon points="14,1 27.5,12.5 24,12.5 24,27 4,27 4,12.5 0.5,12.5"/>',
}
# Where the letter sits vertically for shapes whose visual centre is not the box centre.
TEXT_Y = {"triangle": 22, "house": 23, "heart": 16.5, "pentagon": 19.5}


def icon_svg(shape: str, color: str, letter: str, size: int = 28) -> str:
    """Inline SVG: the type's shape in its colour with a white outline and its letter."""
    geometry = SHAPES.get(shape, SHAPES["circle"])
    font = 11 if len(letter) > 1 else 13
    y = TEXT_Y.get(shape, 18.5)
    return (
        f'<svg class="type-icon" width="{size}" height="{size}" viewBox="-1 -1 30 30" '
        f'aria-hidden="true" focusable="false">'
        f'<g fill="{color}" stroke="#fff" stroke-width="1.5">{geometry}</g>'
        f'<text x="14" y="{y}" text-anchor="middle" font-size="{font}" font-weight="700" '
        f'fill="#fff" font-family="sans-serif">{_escape(letter)}</text></svg>'
    )


def _escape(text: str) -> str:
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@register.simple_tag
def type_icon(provider_type, size: int = 28):
    if provider_type is None:
        return ""
    return mark_safe(  # noqa: S308 - built from escaped reference data
        icon_svg(provider_type.shape, _escape(provider_type.color), provider_type.short_name, size)
    )


@register.filter
def distance(metres) -> str:
    if metres is None:
        return ""
    metres = float(metres)
    if metres < 1000:
        return _("%(m)d m") % {"m": round(metres / 10) * 10}
    return _("%(km).1f km") % {"km": metres / 1000}


@register.simple_tag
def page_url(result, page: int) -> str:
    query = result.page_querystring(int(page))
    return "?" + query if query else "?"


@register.filter
def in_list(value, items) -> bool:
    return value in (items or [])


@register.simple_tag
def status_badge(status: str):
    labels = {"open": _("営業中"), "closed": _("営業時間外"), "unknown": _("営業時間不明")}
    return format_html('<span class="badge badge--{}">{}</span>', status, labels.get(status, ""))


@register.simple_tag
def reach_badge(reach):
    """How a provider can be reached at a moment: 営業中 18:00まで / 24時間連絡可 / 時間外は電話で."""
    if reach is None:
        return ""
    if reach.state == "open":
        text = _("営業中 %(time)sまで") % {"time": reach.closes} if reach.closes else _("営業中")
        css = "open"
    elif reach.state == "always":
        text, css = _("24時間連絡可"), "oncall"
    elif reach.state == "night":
        text, css = _("時間外は電話で"), "oncall"
    elif reach.state == "closed":
        text, css = _("営業時間外"), "closed"
    elif reach.state == "suspended":
        text, css = _("休止中"), "closed"
    else:
        text, css = _("営業時間不明"), "unknown"
    return format_html('<span class="badge badge--{}">{}</span>', css, text)


STALE_AFTER_MONTHS = 13


def months_before(day, months: int):
    """The same day ``months`` earlier (the month's last day when it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def is_stale(provider, today=None) -> bool:
    """Not confirmed for more than 13 months (unknown confirmation dates are not flagged)."""
    confirmed = getattr(provider, "last_confirmed_on", None)
    if confirmed is None:
        return False
    return confirmed < months_before(today or timezone.localdate(), STALE_AFTER_MONTHS)


@register.simple_tag
def stale_notice(provider, css: str = "stale"):
    """情報が古い可能性があります（最終確認 2025年9月3日） for data not confirmed for 13 months."""
    if not is_stale(provider):
        return ""
    return stale_text(provider.last_confirmed_on, css)


def stale_text(confirmed_on, css: str):
    """The notice of :func:`stale_notice` for a provider last confirmed on ``confirmed_on``."""
    date = date_format(confirmed_on, _("Y年n月j日"))
    return format_html(
        '<p class="{}">{}</p>', css,
        _("情報が古い可能性があります（最終確認 %(date)s）") % {"date": date},
    )


@register.filter
def jdate(value) -> str:
    """A date in the page's language: 2025年9月3日 on Japanese pages, 3 September 2025 in English."""
    if not value:
        return ""
    return date_format(value, _("Y年n月j日"))


@register.filter
def jdatetime(value) -> str:
    """A day and time in the page's language: 12月3日 18:00, or 3 December, 18:00 in English."""
    if not value:
        return ""
    return date_format(value, _("n月j日 H:i"))
