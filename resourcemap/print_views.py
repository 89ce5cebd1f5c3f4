"""Paper: A4 print preview and PDF of a search or shortlist, provider sheets, the QR flyer.

Every document has one template and one stylesheet (``static/css/print.css``); the preview page
is that HTML as the browser prints it, and the PDF is the same HTML rendered by WeasyPrint.
Providers always come from ``search.run`` (the one search).
"""

from __future__ import annotations

import base64
import datetime as dt
import re

from django.conf import settings
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from . import hours as hours_mod
from . import links, printing, ratelimits, search, staticmap
from .language import english
from .models import Area, Capability, Flyer, Municipality, Provider, Weekday
from .pdfguard import MapLimited, pdf_view, static_map
from .shortlist_views import back_url as origin_back_url
from .shortlist_views import origin_conditions, origin_query, shortlist_query, shortlist_url
from .templatetags.portal import distance

MAX_PROVIDERS = int(getattr(settings, "PRINT_MAX_PROVIDERS", 300))
MAX_COLUMNS = 10
DEFAULT_COLUMNS = 6
MAX_TITLE = 60
MAX_NOTE = 300
# Parameters of the sheet itself; everything else belongs to the search.
PRINT_KEYS = ("title", "note", "cols", "orient", "map", "hours", "opts", "from")
MAP_SIZE = {"portrait": (1400, 860), "landscape": (1800, 700)}
# A map on a page of its own after the table fills that page.
MAP_SIZE_LAST = {"portrait": (1400, 1720), "landscape": (1800, 1040)}
MAP_PLACES = ("first", "last")
# Width of the printed table (A4 minus the page margins of print.css), and the least width
# of the name column: a name must never break one character per line.
TABLE_WIDTH_MM = {"portrait": 184.0, "landscape": 271.0}
NAME_MIN_MM = {"portrait": 40.0, "landscape": 60.0}
# Left and right padding plus one border of a table cell (print.css): a CSS width is the
# content box, so the column is that much wider than its width.
CELL_EDGES_MM = {"": 2 * 1.0 + 0.25, "no": 2 * 0.3 + 0.25, "cap": 2 * 0.3 + 0.25}


# ------------------------------------------------------------------------------------------
# Helpers


def _split_params(query: QueryDict) -> tuple[QueryDict, QueryDict]:
    """(search parameters, sheet options) from one query string."""
    search_params = query.copy()
    options = QueryDict(mutable=True)
    for key in PRINT_KEYS:
        if key in search_params:
            options.setlist(key, search_params.getlist(key))
            del search_params[key]
    return search_params, options


def _clean_text(value: str, limit: int) -> str:
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value or "")
    return value.strip()[:limit]


def _default_title(query: QueryDict) -> str:
    return _("選んだ事業所の一覧") if _ids_asked(query) else _("在宅療養資源の一覧")


def _ids_asked(query: QueryDict) -> bool:
    return any(v.strip() for v in query.getlist("ids"))


def _own_title(value: str, default: str) -> str:
    """The sheet's own title as printed, or "" for none: a run of spaces is one space (the
    first of the run, so a full-width space stays), and a blank or default title is no title."""
    title = re.sub(r"\s+", lambda m: m.group(0)[0], _clean_text(value, 4 * MAX_TITLE))[:MAX_TITLE].strip()
    return "" if title == default else title


def sheet_cache_query(request) -> QueryDict | None:
    """What names a cached sheet PDF (``pdfguard.pdf_view``): the query with its title as
    printed; None (never kept) for a title of its own."""
    query = request.GET.copy()
    if "title" in query:
        if _own_title(query.get("title", ""), _default_title(query)):
            return None
        del query["title"]
    return query


def _flag(options: QueryDict, key: str, default: bool) -> bool:
    """Checkbox semantics: once the options form was sent (``opts``), absence means off."""
    if key in options:
        return options.get(key, "").strip().lower() in ("1", "on", "true", "yes")
    return False if "opts" in options else default


def _map_place(options: QueryDict) -> str:
    """Where the overview map goes: "first" (above the table), "last" (a page of its own
    after it) or "" (left out). ``map=1`` is "first"; after the options form, absence is off."""
    value = options.get("map", "").strip().lower()
    if value in MAP_PLACES:
        return value
    return "first" if _flag(options, "map", True) else ""


def table_layout(orient: str, caps: int, *, hours: bool, distance: bool) -> dict:
    """Column widths (mm) of the printed table. The other columns give way to the name down to
    their own floors; if that is not enough the phone numbers move under the address."""
    wide = orient == "landscape"
    widths = {
        "no": 6.5,
        "address": 50.0 if wide else 31.0,
        "phone": 28.0 if wide else 25.5,
        "cap": 9.0 if wide else 7.5,
        "hours": (62.0 if wide else 38.0) if hours else 0.0,
        "distance": 11.0 if distance else 0.0,
    }
    widths_first = dict(widths)
    floors = {"cap": 6.0, "hours": 30.0 if hours else 0.0, "address": 27.0}
    minimum = NAME_MIN_MM[orient]

    def name_width() -> float:
        used = sum(v for k, v in widths.items() if k != "cap") + caps * widths["cap"]
        return TABLE_WIDTH_MM[orient] - used

    for key, floor in floors.items():
        short = minimum - name_width()
        if short <= 0:
            break
        share = short / caps if key == "cap" and caps else short
        widths[key] = max(floor, widths[key] - share)
    merge_phone = name_width() < minimum
    if merge_phone:
        # The phone numbers go under the address; what the name does not need goes back to
        # the hours and the address, up to their first widths.
        widths["phone"] = 0.0
        for key in ("address", "hours", "cap"):
            count = caps if key == "cap" else 1
            if count:
                spare = (name_width() - minimum) / count
                widths[key] += max(0.0, min(spare, widths_first[key] - widths[key]))
    widths["name"] = name_width()
    return {"widths": widths, "merge_phone": merge_phone}


def _layout_css(layout: dict) -> str:
    """The column widths as rules for the sheet's nonced <style> (no style attributes: CSP)."""
    widths = layout["widths"]
    return " ".join(
        f".list .col-{key} {{ width: {widths[key] - CELL_EDGES_MM.get(key, CELL_EDGES_MM['']):.2f}mm; }}"
        for key in ("no", "name", "address", "phone", "cap", "hours", "distance")
        if widths[key]
    )


def _local_date(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value else None


def _url(name: str, *args, fallback: str) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _area_labels() -> list[staticmap.Label]:
    return [
        staticmap.Label(
            float(a.center_lat), float(a.center_lng), a.display_name, a.level == Area.Level.REGION
        )
        for a in Area.objects.all()
    ]


def _municipality_frame(municipality: Municipality | None):
    if municipality is None:
        return None, []
    bounds = (
        float(municipality.min_lat), float(municipality.max_lat),
        float(municipality.min_lng), float(municipality.max_lng),
    )
    return bounds, municipality.boundary or []


def overview_map(request, rows: list[dict], *, size: tuple[int, int], municipality) -> dict | None:
    """Static map whose numbered markers match the table numbers."""
    markers = [
        staticmap.Marker(
            float(row["provider"].latitude), float(row["provider"].longitude),
            str(row["number"]), row["provider"].provider_type.color,
        )
        for row in rows
        if row["provider"].latitude is not None
    ]
    bounds, outline = _municipality_frame(municipality)
    rendered = static_map(
        request, markers=markers, width=size[0], height=size[1], labels=_area_labels(), outline=outline,
        default_bounds=bounds, marker_radius=17 if len(markers) < 100 else 13,
    )
    return {
        "src": _png_data_uri(rendered.png),
        "source": rendered.source,
        "attribution": rendered.attribution,
        "missing": len(rows) - len(markers),
    }


def hours_lines(provider) -> list[str]:
    """The week's hours, one line per distinct set of hours with all its days
    ("月〜水・金 09:00-12:30, 15:00-18:00"), so that the table row stays low."""
    if provider.hours_unknown:
        return [_("不明")]
    in_english = english()
    rows = hours_mod.week_summary(provider.opening_periods.all(), english=in_english)
    if not rows:
        return [_("（登録なし）")]
    days: dict[str, list[str]] = {}
    for label, spans in rows:
        days.setdefault(spans, []).append(label.replace("〜", "–") if in_english else label)
    joiner = ", " if in_english else "・"
    return [f"{joiner.join(labels)} {spans}" for spans, labels in days.items()]


def _pdf_response(html: str, filename: str) -> HttpResponse:
    pdf = printing.html_to_pdf(
        html, stylesheets=(printing.PRINT_CSS,), url_fetcher=printing.safe_url_fetcher
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def css_string(value: str) -> str:
    """A CSS string literal; safe inside a <style> element."""
    escaped = []
    for char in str(value):
        if char in '\\"<>&' or ord(char) < 0x20:
            escaped.append(f"\\{ord(char):x} ")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _common(request, *, pdf: bool) -> dict:
    municipality = Municipality.current()
    now = timezone.localtime()
    site_url = links.absolute_url(_url("map", fallback="/"))
    if municipality:
        contact = " ".join(
            part for part in (municipality.contact_department, municipality.contact_phone) if part
        )
        footer = _("出典: %(title)s %(url)s ／ 問い合わせ: %(name)s %(contact)s") % {
            "title": municipality.display_map_title, "url": site_url,
            "name": municipality.display_name, "contact": contact,
        }
    else:
        footer = _("出典: 在宅療養資源マップ %(url)s") % {"url": site_url}
    return {
        "pdf": pdf,
        "municipality": municipality,
        "printed_on": now.date(),
        "site_url": site_url,
        "footer_css": mark_safe(css_string(footer)),  # noqa: S308 - escaped by css_string
        "page_label_css": mark_safe(css_string(_("ページ"))),  # noqa: S308
    }


# ------------------------------------------------------------------------------------------
# Print sheet of a search or shortlist


def _columns(options: QueryDict, cleaned: dict, providers: list) -> tuple[list[Capability], list[str]]:
    """Capability columns: the user's choice, else the searched capabilities plus the ones
    that apply to the listed types, up to DEFAULT_COLUMNS."""
    all_caps = list(Capability.objects.prefetch_related("provider_types"))
    by_code = {c.code: c for c in all_caps}
    messages: list[str] = []
    if "cols" in options or "opts" in options:
        codes = search.split_list(options.getlist("cols"))
        chosen = []
        for code in codes:
            if code in by_code and by_code[code] not in chosen:
                chosen.append(by_code[code])
            elif code not in by_code:
                messages.append(_("表の列「%(code)s」は見つからないため、無視しました。") % {"code": code[:40]})
        if len(chosen) > MAX_COLUMNS:
            messages.append(_("表の列は%(n)d個までです。") % {"n": MAX_COLUMNS})
            chosen = chosen[:MAX_COLUMNS]
        return sorted(chosen, key=lambda c: (c.sort_order, c.code)), messages
    chosen = [by_code[code] for code in cleaned.get("cap", []) if code in by_code]
    type_ids = {p.provider_type_id for p in providers}
    for capability in all_caps:
        if len(chosen) >= DEFAULT_COLUMNS:
            break
        if capability in chosen:
            continue
        if any(t.pk in type_ids for t in capability.provider_types.all()):
            chosen.append(capability)
    return sorted(chosen, key=lambda c: (c.sort_order, c.code)), messages


def _set_column_headers(columns: list[Capability]) -> None:
    """The short heading of each capability column (``print_header``): the reference data's
    short name; on English pages a Japanese short name is replaced by a letter (A, B, …),
    which the legend under the table explains with the English name."""
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for capability in columns:
        header = capability.short_name or capability.display_name
        if english() and not header.isascii():
            header = next(letters)
        capability.print_header = header


def _sheet_context(request, *, pdf: bool) -> tuple[dict, str]:
    """Context and template name for the search/shortlist sheet."""
    search_params, options = _split_params(request.GET)
    common = _common(request, pdf=pdf)
    result = search.run(search_params)
    cleaned = result.params
    # A shortlist whose ids were all malformed must not silently turn into "everything".
    ids_asked = _ids_asked(search_params)
    empty_shortlist = ids_asked and not cleaned.get("ids")
    if result.count > MAX_PROVIDERS and not empty_shortlist:
        return {
            **common,
            "count": result.count,
            "max": MAX_PROVIDERS,
            "conditions": result.conditions,
            "back_url": _url("map", fallback="/") + (f"?{result.querystring}" if result.querystring else ""),
        }, "print/too_many.html"

    providers = [] if empty_shortlist else result.providers
    shortlist = ids_asked
    ignored = list(result.ignored)

    orient = options.get("orient", "portrait")
    if orient not in MAP_SIZE:
        ignored.append(_("用紙の向き「%(value)s」が分からないため、縦にしました。") % {"value": orient[:20]})
        orient = "portrait"
    map_place = _map_place(options)
    show_hours = _flag(options, "hours", True)
    columns, column_messages = _columns(options, cleaned, providers)
    ignored.extend(column_messages)
    _set_column_headers(columns)
    show_distance = any(p.distance_m is not None for p in providers)
    layout = table_layout(orient, len(columns), hours=show_hours, distance=show_distance)

    default_title = _default_title(search_params)
    title = _own_title(options.get("title", ""), default_title) or default_title
    # The memo (e.g. a family's name) only ever travels in a POST body, never in a URL that a
    # log or browser history would keep; a note= in the query string is dropped.
    note = _clean_text(request.POST.get("note", ""), MAX_NOTE) if request.method == "POST" else ""

    column_ids = [c.pk for c in columns]
    rows = []
    for number, provider in enumerate(providers, start=1):
        have = {pc.capability_id: pc for pc in provider.provider_capabilities.all()}
        rows.append({
            "number": number,
            "provider": provider,
            "caps": [have.get(pk) for pk in column_ids],
            "hours": hours_lines(provider) if show_hours else [],
            "distance": provider.distance_m,
            "distance_label": distance(provider.distance_m),
        })
    as_of = Provider.objects.data_as_of([p.pk for p in providers]) if providers else None

    querystring = result.querystring
    # The search a shortlist was made in (cleaned; only ever this site's map search).
    origin = origin_query(options.get("from")) if shortlist else ""
    if shortlist:
        # The online twin of a shortlist is its phone list, which can be shared and printed.
        online_url = shortlist_url([p.pk for p in providers], origin)
    else:
        online_url = links.absolute_url(
            _url("map", fallback="/") + (f"?{querystring}" if querystring else "")
        )

    map_data = None
    if map_place and rows:
        size = (MAP_SIZE_LAST if map_place == "last" else MAP_SIZE)[orient]
        map_data = overview_map(request, rows, size=size, municipality=common["municipality"])

    option_query = QueryDict(mutable=True)
    option_query.update(QueryDict(querystring))
    for key in PRINT_KEYS:
        if key in options and key not in ("note", "from"):
            option_query.setlist(key, options.getlist(key))
    if origin:
        option_query["from"] = origin
    pdf_url = reverse("print_pdf") + "?" + option_query.urlencode()

    context = {
        **common,
        "title": title,
        "note": note,
        "orient": orient,
        "map_place": map_place,
        "merge_phone": layout["merge_phone"],
        "layout_css": mark_safe(_layout_css(layout)),  # noqa: S308 - numbers only
        "show_hours": show_hours,
        "columns": columns,
        "all_capabilities": Capability.objects.all(),
        "rows": rows,
        "count": len(rows),
        "conditions": result.conditions,
        "ignored": ignored,
        "shortlist": shortlist,
        "as_of": as_of,
        "online_url": online_url,
        "qr": printing.qr_svg_fluid(online_url),
        "map": map_data,
        "search_form": search.display_form(cleaned),
        "pdf_url": pdf_url,
        "back_url": origin_back_url(origin) if shortlist else (
            _url("map", fallback="/") + (f"?{querystring}" if querystring else "")
        ),
        "origin": origin,
        "origin_conditions": origin_conditions(origin),
        "list_url": (
            reverse("shortlist") + "?" + shortlist_query([p.pk for p in providers], origin)
            if shortlist else ""
        ),
        "show_distance": show_distance,
    }
    return context, "print/sheet.html"


@require_GET
def print_preview(request):
    try:
        context, template = _sheet_context(request, pdf=False)
    except MapLimited:
        return ratelimits.too_many(request)
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@pdf_view(cache_query=sheet_cache_query)
def print_pdf(request):
    context, template = _sheet_context(request, pdf=True)
    if template != "print/sheet.html":
        return render(request, template, context)
    html = render_to_string(template, context, request=request)
    return _pdf_response(html, f"resourcemap-{context['printed_on']:%Y%m%d}.pdf")


# ------------------------------------------------------------------------------------------
# Provider sheet


def _provider_context(request, pk: int, *, pdf: bool) -> dict:
    result = search.run({}, ids=[pk], with_conditions=False)
    if not result.providers:
        raise Http404
    provider = result.providers[0]
    common = _common(request, pdf=pdf)
    periods = list(provider.opening_periods.all())
    hours_rows = []
    for weekday in Weekday:
        spans = [hours_mod.fmt_period(hours_mod.as_period(p)) for p in periods if p.weekday == weekday]
        hours_rows.append({"label": weekday.label, "spans": spans})
    today = common["printed_on"]
    exceptions = [e for e in provider.hours_exceptions.all() if e.end_date >= today][:8]
    page_url = links.absolute_url(
        _url("provider_detail", provider.pk, fallback=f"/providers/{provider.pk}/")
    )
    map_data = None
    if provider.latitude is not None:
        rendered = static_map(
            request,
            markers=[staticmap.Marker(float(provider.latitude), float(provider.longitude),
                              provider.provider_type.short_name[:1], provider.provider_type.color)],
            width=900, height=640, labels=_area_labels(), marker_radius=26,
            min_span=0.012 if staticmap.tiles_likely() else 0.03,
            outline=(common["municipality"].boundary if common["municipality"] else []),
        )
        map_data = {"src": _png_data_uri(rendered.png), "attribution": rendered.attribution,
                    "source": rendered.source}
    return {
        **common,
        "provider": provider,
        "capabilities": list(provider.provider_capabilities.all()),
        "hours_rows": hours_rows,
        "exceptions": exceptions,
        "page_url": page_url,
        "qr": printing.qr_svg_fluid(page_url),
        "map": map_data,
        "as_of": _local_date(provider.updated_at),
        "pdf_url": reverse("provider_sheet_pdf", args=[provider.pk]),
        "back_url": _url("provider_detail", provider.pk, fallback="/"),
        "orient": "portrait",
    }


@require_GET
def provider_sheet(request, pk: int):
    try:
        context = _provider_context(request, pk, pdf=False)
    except MapLimited:
        return ratelimits.too_many(request)
    return render(request, "print/provider_sheet.html", context)


@require_GET
@pdf_view
def provider_sheet_pdf(request, pk: int):
    context = _provider_context(request, pk, pdf=True)
    html = render_to_string("print/provider_sheet.html", context, request=request)
    return _pdf_response(html, f"provider-{pk}.pdf")


# ------------------------------------------------------------------------------------------
# QR flyer


def _flyer_target(flyer: Flyer | None) -> str:
    path = _url("map", fallback="/")
    if flyer is not None and flyer.target_query:
        path += "?" + flyer.target_query
    return links.absolute_url(path)


def _get_flyer(slug: str | None) -> Flyer | None:
    if slug is None:
        return None
    return get_object_or_404(Flyer, slug=slug, is_active=True)


def _flyer_context(request, slug: str | None, *, pdf: bool) -> dict:
    flyer = _get_flyer(slug)
    common = _common(request, pdf=pdf)
    municipality = common["municipality"]
    map_title = municipality.display_map_title if municipality else _("在宅療養資源マップ")
    target = _flyer_target(flyer)
    conditions = []
    if flyer is not None and flyer.target_query:
        conditions = search.run(QueryDict(flyer.target_query)).conditions
        conditions = [c for c in conditions if not c.startswith(_("並び順"))]
    body = (flyer.body if flyer and flyer.body else "").strip()
    args = [slug] if slug else []
    return {
        **common,
        "flyer": flyer,
        "title": flyer.title if flyer else map_title,
        "map_title": map_title,
        "body_paragraphs": [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()],
        "conditions": conditions,
        "target_url": target,
        "qr": printing.qr_svg_fluid(target, border=2),
        "pdf_url": reverse("flyer_pdf", args=args),
        "qr_svg_url": reverse("flyer_qr_svg", args=args),
        "qr_png_url": reverse("flyer_qr_png", args=args),
        "orient": "portrait",
    }


@require_GET
def flyer(request, slug: str | None = None):
    return render(request, "print/flyer.html", _flyer_context(request, slug, pdf=False))


@require_GET
@pdf_view
def flyer_pdf(request, slug: str | None = None):
    context = _flyer_context(request, slug, pdf=True)
    html = render_to_string("print/flyer.html", context, request=request)
    return _pdf_response(html, f"flyer-{slug or 'map'}.pdf")


def _flyer_qr_download(slug: str | None, content: bytes | str, extension: str, content_type: str):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="qr-{slug or "map"}.{extension}"'
    return response


@require_GET
def flyer_qr_svg(request, slug: str | None = None):
    target = _flyer_target(_get_flyer(slug))
    return _flyer_qr_download(slug, printing.qr_svg(target, scale=10), "svg", "image/svg+xml")


@require_GET
def flyer_qr_png(request, slug: str | None = None):
    target = _flyer_target(_get_flyer(slug))
    return _flyer_qr_download(slug, printing.qr_png(target, scale=12), "png", "image/png")
