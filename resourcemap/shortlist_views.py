"""Shared shortlists: the phone list of chosen providers, which a shortlist's link and QR open.

``/shortlist/?ids=3,1,2&from=<search>`` lists exactly those public providers through the one
search (``search.run``), numbered as on the printed sheet, with the link to copy or share, a QR
code of that link, a button to the A4 print editor and a way back to the search the shortlist
was made in.

``from`` (the originating search) is only ever read as a map search (``search.origin_query``,
the same rule as the provider page's way back), so it can never send a visitor to another site
or page (no open redirect), whatever it holds.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import links, printing, search
from .views import _annotate_hours, _directions_url

# Not part of "the search" a shortlist came from.
ORIGIN_DROP = ("ids", "page")


def origin_query(value: str | None) -> str:
    """The search a shortlist came from (``search.origin_query`` without its ids and page)."""
    return search.origin_query(value, drop=ORIGIN_DROP)


def origin_conditions(origin: str) -> list[str]:
    """The conditions of the originating search, as the list shows them (without the order)."""
    if not origin:
        return []
    cleaned, _ignored = search.clean(QueryDict(origin))
    sort_prefix = _("並び順: %(sort)s") % {"sort": ""}
    return [c for c in search.conditions(cleaned) if not c.startswith(sort_prefix)]


def back_url(origin: str) -> str:
    """The map page showing the originating search (or the plain map)."""
    return reverse("map") + (f"?{origin}" if origin else "")


def shortlist_query(ids: list[int], origin: str) -> str:
    """``ids=3,1,2`` (commas kept readable) and the originating search."""
    pairs = [("ids", ",".join(str(pk) for pk in ids))]
    if origin:
        pairs.append(("from", origin))
    return urlencode(pairs, safe=",")


def shortlist_url(ids: list[int], origin: str) -> str:
    """Absolute URL of the phone list of ``ids`` on the public site (``SITE_URL``)."""
    return links.absolute_url(reverse("shortlist") + "?" + shortlist_query(ids, origin))


@require_GET
def shortlist(request):
    origin = origin_query(request.GET.get("from"))
    asked = [v for v in request.GET.getlist("ids") if v.strip()]
    params = QueryDict(mutable=True)
    params.setlist("ids", asked)
    # No ids (or only malformed ones) is an empty list, never "every provider".
    result = search.run(params, with_conditions=False) if asked else None
    ids = list(result.params.get("ids", [])) if result else []
    providers = result.providers if result and ids else []
    now = timezone.localtime().replace(tzinfo=None)
    for number, provider in enumerate(providers, start=1):
        provider.number = number
        _annotate_hours(provider, now, None)
        provider.directions_url = _directions_url(provider)
    ids = [p.pk for p in providers]
    query = shortlist_query(ids, origin)
    # Each provider page leads back here (list=), with the search the shortlist came from.
    detail_query = urlencode([("list", ",".join(str(pk) for pk in ids)), *([("from", origin)] if origin else [])], safe=",")
    share_url = shortlist_url(ids, origin)
    context = {
        "providers": providers,
        "count": len(providers),
        "ignored": list(result.ignored) if result else [],
        "origin": origin,
        "origin_conditions": origin_conditions(origin),
        "back_url": back_url(origin),
        "print_url": reverse("print_preview") + "?" + query,
        "detail_query": detail_query,
        "share_url": share_url,
        "qr": printing.qr_svg_fluid(share_url) if providers else "",
    }
    return render(request, "resourcemap/shortlist.html", context)
