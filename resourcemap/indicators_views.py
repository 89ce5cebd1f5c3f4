"""Indicator pages: the staff page (/admin/indicators/), its print/PDF, CSV and XLSX exports, and
the short public page with its open-data CSV. Numbers come from ``resourcemap.indicators``."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from . import indicators as ind
from . import printing
from .language import join_list
from .models import Area, Municipality

VIEW_PERMISSION = "resourcemap.view_provider"
EARLIEST = dt.date(2000, 1, 1)
CSV_COLUMNS = (
    "時点", "種別", "できること", "地域", "地区", "件数", "65歳以上人口", "65歳以上1万人あたり",
    "人口の時点", "人口の注記", "種別コード", "できることコード", "地域コード", "地区コード",
)


# ---------------------------------------------------------------------------------------------
# Parameters


def _parse(request, ref: ind.Reference, today: dt.date, *, staff: bool) -> dict:
    """Validated page options; unknown values are dropped with a message (never an error page)."""
    messages: list[str] = []
    get = request.GET
    out: dict = {"region": None, "type": None, "point": None, "messages": messages}
    for key, choices, unknown in (
        ("region", ref.regions, _("地域「%(value)s」は見つからないため、全域を表示しました。")),
        ("type", ref.types, _("種別「%(value)s」は見つからないため、すべての種別を表示しました。")),
    ):
        code = get.get(key, "").strip()
        if code:
            out[key] = next((c for c in choices if c.code == code), None)
            if out[key] is None:
                messages.append(unknown % {"value": code[:40]})
    if not staff:
        return out
    rounds = ind.survey_rounds(today)
    out["rounds"] = rounds
    at, round_id = get.get("at", "").strip(), get.get("round", "").strip()
    if round_id:
        chosen = next((r for r in rounds if str(r.pk) == round_id), None)
        if chosen is None:
            messages.append(_("選んだ調査が見つからないため、比べる時点を標準にしました。"))
        else:
            out["point"] = ind.Point(chosen.closes_on, chosen.name, chosen.pk)
    elif at:
        try:
            day = dt.date.fromisoformat(at[:10])
        except ValueError:
            day = None
        if day is None or not (EARLIEST <= day < today):
            messages.append(
                _("比べる日付「%(value)s」は、%(earliest)sから昨日までの日付を「2025-04-01」の形で入れてください。")
                % {"value": at[:20], "earliest": EARLIEST.isoformat()}
            )
        else:
            out["point"] = ind.Point(day, _("%(date)s 時点") % {"date": day.isoformat()})
    if out["point"] is None:
        out["point"] = ind.default_point(today, rounds)
    return out


class FilterForm(forms.Form):
    """The type and the region of both indicator pages, rendered with the chosen ones selected
    (the choices are the reference data already read for the tables)."""

    type = forms.ChoiceField(
        label=gettext_lazy("種別"), required=False, widget=forms.Select(attrs={"id": "ind-type"})
    )
    region = forms.ChoiceField(
        label=gettext_lazy("地区ごとに見る地域"), required=False, widget=forms.Select(attrs={"id": "ind-region"})
    )

    def __init__(self, ref: ind.Reference, opts: dict):
        chosen = {key: opts[key].code if opts[key] else "" for key in ("type", "region")}
        super().__init__(initial=chosen, auto_id=False, label_suffix="")
        self.fields["type"].choices = [("", _("すべての種別")), *((t.code, t.display_name) for t in ref.types)]
        self.fields["region"].choices = [
            ("", _("全域（地域ごと）")), *((r.code, r.display_name) for r in ref.regions)
        ]


# ---------------------------------------------------------------------------------------------
# Building the tables


def _columns(ref: ind.Reference, region: Area | None) -> list[dict]:
    if region is not None:
        cols = [
            {"key": ("d", d.pk), "area": d, "label": d.display_name, "total": False}
            for d in ref.districts.get(region.pk, [])
        ]
        cols.append({"key": ("r", region.pk), "area": region, "label": _("%(name)s地域 計") % {"name": region.display_name}, "total": True})
        return cols
    cols = [{"key": ("r", r.pk), "area": r, "label": r.display_name, "total": False} for r in ref.regions]
    cols.append({"key": ind.WARD, "area": None, "label": _("全域"), "total": True})
    return cols


def _cell(rolled, previous, pops, type_, cap, col) -> dict:
    key = (type_.pk, cap.pk if cap else ind.ALL, col["key"])
    n = rolled.get(key, 0)
    cell = {
        "n": n,
        "url": ind.search_url(type_.code, cap.code if cap else None, col["area"]),
        "per": None,
    }
    pop = pops.get(col["key"])
    if pop is not None:
        cell["per"] = pop.per_10k(n)
    if previous is not None:
        before = previous.get(key, 0)
        cell["before"] = before
        cell["delta"] = n - before
        cell["delta_text"] = f"({signed(n - before)})"
    return cell


def signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("±0" if n == 0 else f"−{-n}")


def build_table(ref, rolled, previous, pops, columns, only_type=None) -> list[dict]:
    groups = []
    for type_ in ref.types:
        if only_type is not None and type_.pk != only_type.pk:
            continue
        rows = [{"cap": None, "label": _("すべて（%(type)s）") % {"type": type_.display_name}}]
        rows += [{"cap": c, "label": c.display_name} for c in ref.applicable.get(type_.pk, [])]
        for row in rows:
            row["cells"] = [_cell(rolled, previous, pops, type_, row["cap"], col) for col in columns]
        groups.append({"type": type_, "rows": rows})
    return groups


def _key_label(ki) -> str:
    if ki.provider_type_id:
        return _("%(cap)s（%(type)s）") % {"cap": ki.capability.display_name, "type": ki.provider_type.display_name}
    return ki.capability.display_name


def _headline(ref, rolled, previous, point) -> list[dict]:
    out = []
    for ki in ref.key_indicators:
        now = ind.key_count(rolled, ref, ki, ind.WARD)
        before = ind.key_count(previous, ref, ki, ind.WARD) if previous is not None else None
        out.append({
            "label": _key_label(ki), "now": now, "before": before,
            "delta": None if before is None else now - before,
            "delta_text": None if before is None else signed(now - before),
            "url": ind.search_url(ki.provider_type.code if ki.provider_type_id else None, ki.capability.code, None),
        })
    return out


def _gaps(ref, rolled) -> list[dict]:
    """For each key indicator: tiles of every 地区 (grouped by 地域) and the list of scarce ones."""
    out = []
    for ki in ref.key_indicators:
        type_code = ki.provider_type.code if ki.provider_type_id else None
        regions, scarce = [], []
        for region in ref.regions:
            tiles = []
            for district in ref.districts.get(region.pk, []):
                n = ind.key_count(rolled, ref, ki, ("d", district.pk))
                level = "zero" if n == 0 else ("low" if n <= ki.threshold else "ok")
                tile = {"area": district, "n": n, "level": level,
                        "url": ind.search_url(type_code, ki.capability.code, district)}
                tiles.append(tile)
                if n <= ki.threshold:
                    scarce.append(tile)
            regions.append({"region": region, "tiles": tiles})
        out.append({"label": _key_label(ki), "threshold": ki.threshold, "regions": regions, "scarce": scarce})
    return out


def _chart(label: str, series: list[tuple[str, str, int]]) -> dict:
    """A small bar chart as SVG geometry (value printed on every bar: readable in black and white)."""
    width, height, top, bottom = 240, 120, 18, 26
    n = max(len(series), 1)
    slot = width / n
    peak = max([v for _l, _s, v in series] + [1])
    bars = []
    for i, (name, short, value) in enumerate(series):
        h = (height - top - bottom) * value / peak
        bars.append({
            "x": round(i * slot + slot * 0.2, 1), "w": round(slot * 0.6, 1),
            "y": round(height - bottom - h, 1), "h": round(h, 1),
            "cx": round(i * slot + slot / 2, 1), "label": name, "short": short, "value": value,
            "ty": round(height - bottom - h - 4, 1),
            "last": i == len(series) - 1,
        })
    text = join_list(_("%(when)s: %(n)d件") % {"when": name, "n": value} for name, _s, value in series)
    return {"label": label, "bars": bars, "width": width, "height": height,
            "base": height - bottom, "text": text, "label_y": height - bottom + 13}


def _coverage_rows(ref, cov, only_type=None) -> tuple[list[dict], list[dict]]:
    cols = [{"key": ("r", r.pk), "label": r.display_name} for r in ref.regions]
    cols.append({"key": ind.WARD, "label": _("全域")})
    rows = []
    types = [t for t in ref.types if only_type is None or t.pk == only_type.pk]
    for label, type_key in [(t.display_name, t.pk) for t in types] + [(_("すべての種別"), "all")]:
        cells = []
        for col in cols:
            ok, total = cov.get((type_key, col["key"]), (0, 0))
            cells.append({"ok": ok, "total": total, "share": round(100 * ok / total) if total else None})
        rows.append({"label": label, "cells": cells, "all": type_key == "all"})
    return cols, rows


def context(request, *, staff: bool) -> dict:
    today = timezone.localdate()
    ref = ind.load_reference()
    opts = _parse(request, ref, today, staff=staff)
    now_counts = ind.current_counts()
    rolled = ind.rollup(now_counts, ref)
    pops = ind.populations(ref) if staff else {}
    columns = _columns(ref, opts["region"])
    ctx = {
        "today": today, "ref": ref, "opts": opts, "columns": columns, "staff": staff,
        "municipality": Municipality.current(),
        "filter_form": FilterForm(ref, opts),
        "populations": pops, "has_population": bool(pops),
        "demo_population": any(p.is_demo for p in pops.values()),
        "population_notes": sorted({(p.as_of, p.source, p.is_demo) for p in pops.values()}),
    }
    previous = None
    if staff:
        point = opts["point"]
        points = ind.chart_points(today, point, opts.get("rounds", []))
        past = ind.counts_at([p.moment for p in points] + [point.moment])
        previous = ind.rollup(past[point.moment], ref)
        series_rolled = [
            (p.label, p.label[:7] if p.round_id else f"{p.day:%Y-%m}", ind.rollup(past[p.moment], ref))
            for p in points
        ]
        ctx["point"] = point
        ctx["headline"] = _headline(ref, rolled, previous, point)
        charts = []
        for ki in ref.key_indicators:
            series = [(name, short, ind.key_count(r, ref, ki, ind.WARD)) for name, short, r in series_rolled]
            series.append((_("今日"), _("今日"), ind.key_count(rolled, ref, ki, ind.WARD)))
            charts.append(_chart(_key_label(ki), series))
        ctx["charts"] = charts
        ctx["gaps"] = _gaps(ref, rolled)
        cov = ind.coverage(ref, today)
        ctx["coverage_columns"], ctx["coverage_rows"] = _coverage_rows(ref, cov, opts["type"])
        ctx["confirmed_since"] = ind.confirmed_cutoff(today)
    ctx["groups"] = build_table(ref, rolled, previous, pops, columns, opts["type"])
    query = request.GET.copy()
    ctx["querystring"] = query.urlencode()
    for col in columns:
        if col["area"] is not None and col["area"].level == Area.Level.REGION and not col["total"]:
            query["region"] = col["area"].code
            col["drill"] = "?" + query.urlencode()
    query.pop("region", None)
    ctx["ward_url"] = "?" + query.urlencode()
    export = query.copy()
    if staff and "at" not in export and "round" not in export:
        export["at"] = ctx["point"].day.isoformat()
    export.pop("type", None)
    ctx["export_query"] = export.urlencode()
    if staff:
        ctx["population_admin_url"] = reverse("admin:resourcemap_areapopulation_changelist")
    return ctx


# ---------------------------------------------------------------------------------------------
# Tidy rows (CSV / XLSX)


def tidy_rows(ref, moments: list[tuple[dt.date, object]], pops: dict) -> list[list]:
    """One row per count: every type × (all + applicable capabilities) × ward, 地域 and 地区."""
    areas: list[tuple[object, Area | None, Area | None]] = [(ind.WARD, None, None)]
    for region in ref.regions:
        areas.append((("r", region.pk), region, None))
        for district in ref.districts.get(region.pk, []):
            areas.append((("d", district.pk), region, district))
    out = []
    for day, rolled in moments:
        for type_ in ref.types:
            for cap in [None] + ref.applicable.get(type_.pk, []):
                for key, region, district in areas:
                    n = rolled.get((type_.pk, cap.pk if cap else ind.ALL, key), 0)
                    pop = pops.get(key)
                    out.append([
                        day.isoformat(), type_.name, cap.name if cap else "",
                        region.name if region else "", district.name if district else "", n,
                        pop.aged_65_plus if pop else "",
                        pop.per_10k(n) if pop and pop.per_10k(n) is not None else "",
                        pop.as_of.isoformat() if pop else "",
                        _("架空の値（デモ）") if pop and pop.is_demo else "",
                        type_.code, cap.code if cap else "",
                        region.code if region else "", district.code if district else "",
                    ])
    return out


def _export_moments(request, ref, today, *, staff: bool) -> tuple[list, dict]:
    rolled = ind.rollup(ind.current_counts(), ref)
    moments = [(today, rolled)]
    pops = ind.populations(ref)
    if staff:
        opts = _parse(request, ref, today, staff=True)
        if "at" in request.GET or "round" in request.GET:
            point = opts["point"]
            past = ind.counts_at([point.moment])[point.moment]
            moments.append((point.day, ind.rollup(past, ref)))
    return moments, pops


def csv_bytes(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("件数"))
    sheet.append(list(CSV_COLUMNS))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _download(body: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------
# Staff views


def _staff_only(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return admin.site.admin_view(require_GET(wrapped))


def _admin_page(request):
    ctx = context(request, staff=True)
    ctx.update(admin.site.each_context(request))
    ctx["title"] = _("評価指標（事業所の数）")
    return render(request, "admin/resourcemap/indicators.html", ctx)


def _print_context(request, *, pdf: bool) -> dict:
    ctx = context(request, staff=True)
    footer = _("%(title)s 評価指標 %(date)s") % {
        "title": ctx["municipality"].map_title if ctx["municipality"] else "", "date": ctx["today"].isoformat()
    }
    ctx.update({"pdf": pdf, "orient": "landscape", "footer_css": mark_safe(_css_string(footer))})  # noqa: S308
    return ctx


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _admin_print(request):
    return render(request, "print/indicators.html", _print_context(request, pdf=False))


def _admin_pdf(request):
    ctx = _print_context(request, pdf=True)
    html = render_to_string("print/indicators.html", ctx, request=request)
    body = printing.html_to_pdf(
        html, stylesheets=(printing.PRINT_CSS, printing.PRINT_CSS.parent / "indicators.css"),
        url_fetcher=printing.safe_url_fetcher,
    )
    return _download(body, "application/pdf", f"indicators-{ctx['today']:%Y%m%d}.pdf")


def _admin_csv(request):
    today = timezone.localdate()
    ref = ind.load_reference()
    moments, pops = _export_moments(request, ref, today, staff=True)
    return _download(csv_bytes(tidy_rows(ref, moments, pops)), "text/csv; charset=utf-8",
                     f"indicators-{today:%Y%m%d}.csv")


def _admin_xlsx(request):
    today = timezone.localdate()
    ref = ind.load_reference()
    moments, pops = _export_moments(request, ref, today, staff=True)
    return _download(
        xlsx_bytes(tidy_rows(ref, moments, pops)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"indicators-{today:%Y%m%d}.xlsx",
    )


admin_page = _staff_only(_admin_page)
admin_print = _staff_only(_admin_print)
admin_pdf = _staff_only(_admin_pdf)
admin_csv = _staff_only(_admin_csv)
admin_xlsx = _staff_only(_admin_xlsx)

admin_urlpatterns = [
    path("admin/indicators/", admin_page, name="admin_indicators"),
    path("admin/indicators/print/", admin_print, name="admin_indicators_print"),
    path("admin/indicators/pdf/", admin_pdf, name="admin_indicators_pdf"),
    path("admin/indicators/indicators.csv", admin_csv, name="admin_indicators_csv"),
    path("admin/indicators/indicators.xlsx", admin_xlsx, name="admin_indicators_xlsx"),
]


# ---------------------------------------------------------------------------------------------
# Public


@require_GET
def public_page(request):
    ctx = context(request, staff=False)
    ctx["csv_url"] = reverse("opendata_indicators_csv")
    return render(request, "resourcemap/indicators.html", ctx)


@require_GET
def public_csv(request):
    today = timezone.localdate()
    ref = ind.load_reference()
    moments, pops = _export_moments(request, ref, today, staff=False)
    response = _download(csv_bytes(tidy_rows(ref, moments, pops)), "text/csv; charset=utf-8",
                         f"indicators-{today:%Y%m%d}.csv")
    municipality = Municipality.current()
    response["X-Data-License"] = municipality.data_license if municipality else ""
    response["X-Data-As-Of"] = today.isoformat()
    response["Cache-Control"] = "public, max-age=300"
    return response
