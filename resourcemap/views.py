"""Public pages: the map/list front page and the provider page. Thin: the search lives in
``resourcemap.search``, hours rules in ``hours.py``."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django_permissions_policy.decorators import permissions_policy_override

from . import gazetteer, geocoding, listing, search
from . import hours as hours_mod
from .language import english
from .models import DataVersion, Municipality, Provider, Weekday
from .templatetags.portal import icon_svg

PAGE_SIZE = 50
# schema.org type per provider type group (a municipality can override per type code).
SCHEMA_ORG_GROUP = {"medical": "MedicalOrganization", "care": "LocalBusiness", "consult": "GovernmentOffice"}
SCHEMA_ORG_TYPE = getattr(
    settings,
    "SCHEMA_ORG_TYPES",
    {"hospital": "Hospital", "clinic": "MedicalClinic", "dental": "Dentist", "pharmacy": "Pharmacy"},
)


def _place_redirect(request):
    """Turn the typed place (``near``) into lat/lng/place in the URL, or a message; a typed
    area name into its code (``search.areas``)."""
    params = request.GET.copy()
    if search.areas.replace_typed(params) and "near" not in params:
        query = params.urlencode()
        return HttpResponseRedirect(request.path + ("?" + query if query else "")), None, None
    if "near" not in params:
        return None, None, None
    near = " ".join(params.pop("near", [""])[-1].split())
    current = params.get("place", "")
    if not near:
        for key in ("lat", "lng", "place", "radius"):
            params.pop(key, None)
        if params.get("sort") == "distance":
            params.pop("sort")
    elif near != current or not params.get("lat"):
        try:
            place = geocoding.lookup(near, request=request)
        except geocoding.GeocodingError as exc:
            return None, str(exc), near
        params["lat"], params["lng"] = f"{place.lat:.6f}", f"{place.lng:.6f}"
        # A postal code says nothing to a reader: name the town it found (〒154-0004 太子堂).
        params["place"] = place.label if gazetteer.is_postal_code(near) and place.label else near
        params.pop("page", None)
    query = params.urlencode()
    return HttpResponseRedirect(request.path + ("?" + query if query else "")), None, near


# The rendered front page is kept per process for a minute, per URL, language and data
# version (so any write shows at once); the CSRF token is put in per request.
CSRF_PLACEHOLDER = "csrf0placeholder0" * 4


def cached_page(view):
    """Serve repeated anonymous GETs of a public page from the page cache.

    The key holds the full path, the language, the data version and the current minute (the
    pages show what is open now). Staff, pending messages and non-200 answers bypass it.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        seconds = settings.PAGE_CACHE_SECONDS
        if (
            not seconds
            or request.method != "GET"
            or request.user.is_authenticated
            or len(messages.get_messages(request))
        ):
            return view(request, *args, **kwargs)
        minute = timezone.localtime().strftime("%Y%m%d%H%M")
        raw = "|".join((request.get_full_path(), get_language() or "", DataVersion.current(), minute))
        key = "page:" + hashlib.sha256(raw.encode()).hexdigest()
        store = caches["pages"]
        hit = store.get(key)
        if hit is None:
            request.csrf_placeholder = True
            response = view(request, *args, **kwargs)
            if response.status_code != 200 or getattr(response, "streaming", False):
                return response
            hit = (response.content, response["Content-Type"])
            if CSRF_PLACEHOLDER.encode() in hit[0]:
                store.set(key, hit, seconds)
        body, content_type = hit
        return HttpResponse(body.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode()), content_type=content_type)

    return wrapper


@permissions_policy_override({"geolocation": ["self"]})  # "現在地から探す"; outside the cache
@cached_page
def map_page(request):
    place_error = None
    near_text = None
    params = request.GET
    if "near" in request.GET or "area" in request.GET:
        redirect, place_error, near_text = _place_redirect(request)
        if redirect is not None:
            return redirect
        params = request.GET.copy()
        params.pop("near", None)
    aware_now = timezone.localtime()
    now = aware_now.replace(tzinfo=None)
    result = search.run(params, now=aware_now)
    paginator = Paginator(result.ids, PAGE_SIZE)
    page = paginator.get_page(result.params.get("page", 1))
    asked = None if result.params.get("open") == "now" else search.asked_moment(result.params, now)
    providers = listing.load_items(page.object_list, result.distances, now=now, asked=asked)
    types = list(search.reference()[0].values())
    form = search.display_form(result.params)
    type_options = {option.data["value"]: option for option in form["type"]}
    municipality = Municipality.current()
    api_url = reverse("api_json") + "?" + "&".join(
        part for part in (result.querystring, "lang=en" if english() else "") if part
    )
    first_url = None
    if municipality:
        bbox = ",".join(
            f"{float(v):.5f}"
            for v in (municipality.min_lng, municipality.min_lat, municipality.max_lng, municipality.max_lat)
        )
        first_url = f"{api_url}{'' if api_url.endswith('?') else '&'}bbox={bbox}&zoom={municipality.zoom}"
    map_config = {
        "tileUrl": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "center": [float(municipality.center_lat), float(municipality.center_lng)]
        if municipality
        else list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]),
        "zoom": municipality.zoom if municipality else settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        # The first map request asks for this area (bbox); later ones for what is shown.
        "bounds": [
            float(municipality.min_lat), float(municipality.min_lng),
            float(municipality.max_lat), float(municipality.max_lng),
        ]
        if municipality
        else None,
        "apiUrl": api_url,
        # The first view's request, also preloaded by the page head so that it runs while the
        # scripts load (map.js asks for exactly this URL first).
        "firstUrl": first_url,
        "detailUrl": reverse("provider_detail", args=[0])[:-2],
        # One provider's whole row (address, phone) for a popup: a view's rows leave them out.
        "rowUrl": reverse("api_json") + ("?lang=en&ids=" if english() else "?ids="),
        "types": {
            t.code: {"name": t.display_name, "svg": icon_svg(t.shape, t.color, t.short_name)}
            for t in types
        },
        "point": {
            "lat": float(result.params["lat"]),
            "lng": float(result.params["lng"]),
            "radius": int(result.params["radius"]) if result.params.get("radius") else None,
        }
        if result.params.get("lat")
        else None,
        "searched": bool(result.querystring),
        "strings": {
            "detail": _("くわしく見る"),
            "phone": _("電話"),
            "hereLabel": _("現在地"),
            "noGeolocation": _("この端末では現在地を使えません。場所を入力してください。"),
            "geolocationFailed": _("現在地が分かりませんでした。場所を入力してください。"),
            "loadFailed": _("地図の目印を読み込めませんでした。一覧をご覧ください。"),
            "markers": _("地図に%(n)s件を表示しています。"),
            "noLocation": _("位置が登録されていないため、地図には出ません。"),
            "cluster": _("近くの%(n)s件。押すと地図を拡大します"),
            "zoomIn": _("地図を拡大"),
            "zoomOut": _("地図を縮小"),
            "closePopup": _("吹き出しを閉じる"),
        },
    }
    context = {
        "result": result,
        "page": page,
        "providers": providers,
        # The provider page's way back (from=) returns to this page of the list.
        "result_items": listing.render_items(
            providers, querystring=result.page_querystring(page.number), asked=asked, today=now.date()
        ),
        "types": types,
        "form": form,
        "type_options": [(t, type_options[t.code]) for t in types if t.code in type_options],
        "capabilities": _capability_choices(result, form),
        "relaxations": search.relaxations(result, now=aware_now) if result.querystring and not result.count else [],
        "asked": asked,
        "place_error": place_error,
        "near_text": near_text if near_text is not None else result.params.get("place", ""),
        "map_config": map_config,
    }
    if getattr(request, "csrf_placeholder", False):
        context["csrf_token"] = CSRF_PLACEHOLDER  # replaced per request by cached_page
    response = render(request, "resourcemap/map.html", context)
    if place_error and getattr(request, "ratelimit_retry_after", None):
        # This visitor's place search is paused (RATELIMIT_GEOCODE): a 429, which the page
        # cache never keeps, so nobody else asking for the same URL gets this message.
        response.status_code = 429
        response["Retry-After"] = str(request.ratelimit_retry_after)
    return response


def _annotate_hours(provider: Provider, now: dt.datetime, asked: dt.datetime | None) -> None:
    """Today's hours and how the provider can be reached now (and at the asked moment)."""
    provider.today_hours = hours_mod.day_spans_text(
        now.date(), provider.opening_periods.all(), list(provider.hours_exceptions.all())
    )
    provider.reach = hours_mod.provider_reach(provider, now)
    provider.reach_asked = hours_mod.provider_reach(provider, asked) if asked else None


def _capability_choices(result: search.SearchResult, form: search.SearchForm) -> list[dict]:
    """Every capability, with its checkbox, its count in the current result and whether it is
    offered: it applies to one of the chosen types (any type when none is chosen), or it is
    chosen."""
    counts = search.capability_counts(result)
    options = {option.data["value"]: option for option in form["cap"]}
    chosen_types = set(result.params.get("type", []))
    chosen = set(result.params.get("cap", []))
    out = []
    applying = search.capability_types()
    for capability in search.reference()[1].values():
        applies = applying.get(capability.code, [])
        offered = capability.code in chosen or not chosen_types or bool(chosen_types & set(applies))
        count = counts.get(capability.code, 0)
        out.append({
            "capability": capability,
            "code": capability.code,
            "option": options.get(capability.code),
            "count": count,
            # The translation is trusted markup around the number (drawn here: ~20 per page).
            "count_text": mark_safe(ngettext(  # noqa: S308
                '%(counter)s<span class="visually-hidden">件</span>',
                '%(counter)s<span class="visually-hidden">件</span>',
                count,
            ) % {"counter": count}),
            "types": " ".join(applies),
            "offered": offered,
        })
    return out


def _hours_rows(provider: Provider, today: dt.date) -> list[dict]:
    periods = list(provider.opening_periods.all())
    labels = dict(Weekday.choices)
    rows = []
    today_key = hours_mod.day_key(today)
    for weekday in range(8):
        spans = [hours_mod.fmt_period(hours_mod.as_period(p)) for p in periods if p.weekday == weekday]
        rows.append(
            {
                "label": labels[weekday],
                "spans": spans,
                "today": weekday == today_key,
            }
        )
    return rows


def _directions_url(provider: Provider) -> str:
    """Google Maps directions to the provider's point (opens the map app on phones)."""
    if provider.latitude is None or provider.longitude is None:
        return ""
    return "https://www.google.com/maps/dir/?" + urlencode(
        {"api": "1", "destination": f"{provider.latitude},{provider.longitude}"}, safe=","
    )


def _json_ld(request, provider: Provider) -> str:
    ptype = provider.provider_type
    data = {
        "@context": "https://schema.org",
        "@type": SCHEMA_ORG_TYPE.get(ptype.code) or SCHEMA_ORG_GROUP.get(ptype.group, "Organization"),
        "name": provider.name,
        "url": request.build_absolute_uri(),
        "address": {
            "@type": "PostalAddress",
            "postalCode": provider.postal_code,
            "streetAddress": provider.full_address,
            "addressCountry": "JP",
        },
    }
    if provider.name_en:
        data["alternateName"] = provider.name_en
    if provider.phone:
        data["telephone"] = provider.phone
    if provider.fax:
        data["faxNumber"] = provider.fax
    if provider.website:
        data["sameAs"] = provider.website
    if provider.latitude is not None:
        data["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": float(provider.latitude),
            "longitude": float(provider.longitude),
        }
    day_names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    specs = []
    for period in provider.opening_periods.all():
        if period.weekday < 7:
            specs.append(
                {
                    "@type": "OpeningHoursSpecification",
                    "dayOfWeek": day_names[period.weekday],
                    "opens": period.opens.strftime("%H:%M"),
                    "closes": "23:59" if period.closes == period.opens else period.closes.strftime("%H:%M"),
                }
            )
    if specs and not provider.hours_unknown:
        data["openingHoursSpecification"] = specs
    # Escape "<" so that a name can never close the script element.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def _listed_ids(value: str) -> list[int]:
    """The ids of the shortlist a provider page was opened from, cleaned as the search's ids."""
    if not value.strip():
        return []
    params = QueryDict(mutable=True)
    params["ids"] = value[:5000]
    cleaned, _ignored = search.clean(params)
    return list(cleaned.get("ids") or [])


def provider_detail(request, pk: int):
    try:
        provider = (
            Provider.objects.published().with_related().with_capabilities().with_hours().get(pk=pk)
        )
    except Provider.DoesNotExist:
        raise Http404 from None
    now = timezone.localtime()
    naive_now = now.replace(tzinfo=None)
    exceptions = list(provider.hours_exceptions.all())
    reach = hours_mod.provider_reach(provider, naive_now)
    upcoming = [e for e in exceptions if e.end_date >= now.date()][:10]
    back_query = search.origin_query(request.GET.get("from"))
    back_url = reverse("map") + (f"?{back_query}" if back_query else "")
    back_label = _("さがした結果にもどる") if back_query else _("地図・一覧にもどる")
    listed = _listed_ids(request.GET.get("list", ""))
    if listed:
        # Opened from a shortlist (list=3,1,2): back to that numbered list and its search.
        from .shortlist_views import origin_query as shortlist_origin
        from .shortlist_views import shortlist_query  # here: shortlist_views imports this module

        back_url = reverse("shortlist") + "?" + shortlist_query(listed, shortlist_origin(request.GET.get("from")))
        back_label = _("選んだ事業所の一覧にもどる")
    context = {
        "provider": provider,
        "reach": reach,
        "now": now,
        "today_is_holiday": hours_mod.is_holiday(now.date()),
        "hours_rows": _hours_rows(provider, now.date()),
        "exceptions": upcoming,
        "provider_capabilities": list(provider.provider_capabilities.all()),
        "json_ld": _json_ld(request, provider),
        "directions_url": _directions_url(provider),
        "back_url": back_url,
        "back_label": back_label,
        "map_config": {
            "tileUrl": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "lat": float(provider.latitude) if provider.latitude is not None else None,
            "lng": float(provider.longitude) if provider.longitude is not None else None,
            "svg": icon_svg(
                provider.provider_type.shape, provider.provider_type.color, provider.provider_type.short_name
            ),
            "name": provider.display_name,
        },
        "notes": provider.notes_en if english() and provider.notes_en else provider.notes,
    }
    return render(request, "resourcemap/provider_detail.html", context)
