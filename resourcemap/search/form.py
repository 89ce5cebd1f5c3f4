"""The search form: every parameter of the search as a field of a ``django.forms.Form``.

The same form reads a query string (:func:`clean`, used by every output) and renders the
filter panel of the map/list page (bound to the cleaned values, so the page shows what was
searched). Nothing here raises on user input: a field whose value cannot be used is dropped
into ``form.errors`` with a message saying so; a field of which only a part is usable (a list
with unknown codes, a keyword that is too long) keeps that part and also gets a message.
``form.ignored`` lists every message, the form's own first, then field by field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from functools import cached_property

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from .. import inputs
from ..language import join_list
from ..models import Area, Weekday
from ..templatetags.portal import distance
from . import areas as typed_areas
from .params import (
    _DATE_RE,
    _TIME_RE,
    KNOWN_KEYS,
    LIST_KEYS,
    MAX_IDS,
    MAX_Q,
    RADIUS_MAX,
    RADIUS_MIN,
    SINGLE_KEYS,
    SORTS,
    _get_lists,
    _reference,
    _valid_date,
    finite_float,
    querystring,
    split_list,
)

# The distances offered in the form (any radius in range is accepted from a URL).
RADII = (500, 1000, 2000, 3000, 5000)


# ---------------------------------------------------------------------------------------------
# Choices, read when the form is rendered (labels in the language of the page)


def _type_choices():
    types, _caps, _areas = _reference()
    return [(code, t.display_name) for code, t in types.items()]


def _cap_choices():
    _types, caps, _areas = _reference()
    return [(code, c.display_name) for code, c in caps.items()]


def _region_choices():
    _types, _caps, areas = _reference()
    regions = [(a.code, a.display_name) for a in areas.values() if a.level == Area.Level.REGION]
    return [("", _("指定しない")), *regions]


def _district_choices():
    _types, _caps, areas = _reference()
    groups: dict[str, tuple[str, list]] = {
        a.code: (a.display_name, []) for a in areas.values() if a.level == Area.Level.REGION
    }
    for area in areas.values():
        if area.level == Area.Level.DISTRICT and area.parent is not None and area.parent.code in groups:
            groups[area.parent.code][1].append((area.code, area.display_name))
    return [("", _("指定しない")), *groups.values()]


def _open_choices():
    return [("", _("指定しない")), ("now", _("いま営業している")), ("at", _("曜日と時刻を選ぶ"))]


def _day_choices():
    weekdays = [(str(i), f"{label}{_('曜日')}") for i, label in Weekday.choices if i < 7]
    return [("", _("今日")), *weekdays, ("holiday", _("祝日"))]


def _radius_choices():
    return [("", _("指定しない")), *((str(r), f"{distance(r)}{_('以内')}") for r in RADII)]


def _sort_choices():
    return [("kana", _("五十音順")), ("distance", _("近い順（場所を選んだとき）")), ("area", _("地域・地区順"))]


# ---------------------------------------------------------------------------------------------
# Fields and widgets


class _WidgetMemo(DjangoTemplates):
    """Draws each widget of the filter panel once per process for the same values, choices and
    language (a search page has ~90 of them: options, checkboxes, radios; each through a template).

    Only widget templates whose context is plain data (text, numbers, flags, lists, dicts) are
    remembered, keyed by all of it: the markup is a function of that and the language alone.
    """

    MAX_ENTRIES = 2000

    def __init__(self):
        super().__init__()
        self._drawn: dict = {}

    def render(self, template_name, context, request=None):
        key = _plain(context) if template_name.startswith("django/forms/widgets/") else None
        if key is None:
            return super().render(template_name, context, request)
        key = (template_name, get_language(), key)
        hit = self._drawn.get(key)
        if hit is None:
            if len(self._drawn) >= self.MAX_ENTRIES:
                self._drawn.clear()
            hit = self._drawn[key] = super().render(template_name, context, request)
        return hit


def _plain(value):
    """A hashable copy of ``value`` made only of plain data, or None if it holds anything else."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return (type(value), value)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            frozen = _plain(item)
            if frozen is None or not isinstance(key, str):
                return None
            items.append((key, frozen))
        return ("dict", tuple(items))
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            frozen = _plain(item)
            if frozen is None:
                return None
            items.append(frozen)
        return ("list", tuple(items))
    return None


_WIDGETS = _WidgetMemo()


class _Given(forms.Field):
    """A parameter as given (the last non-empty value, stripped; "" when absent). The form's
    ``clean_<name>`` decides what is usable, so a bad value never stops the other fields."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def __deepcopy__(self, memo):
        # Every search builds a form: its fields and widgets are never changed per form, so
        # they are shared instead of copied (Django copies them for forms that change them).
        return self

    def to_python(self, value):
        return value if isinstance(value, str) else ""


class _GivenList(_Given):
    """A list parameter: repeated and comma-separated values, without blanks and repeats."""

    hidden_widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return split_list(value if isinstance(value, list) else [])


class _FlagInput(forms.CheckboxInput):
    """A checkbox that sends ``1`` and reads the parameter as given (``0``, ``off`` … included)."""

    def format_value(self, value):
        return "1"

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class SearchForm(forms.Form):
    default_renderer = _WIDGETS
    type = _GivenList(label=gettext_lazy("事業所の種類"), widget=forms.CheckboxSelectMultiple(choices=_type_choices))
    cap = _GivenList(label=gettext_lazy("できること"), widget=forms.CheckboxSelectMultiple(choices=_cap_choices))
    area = _Given(label=pgettext_lazy("search field", "地域・地区"), widget=forms.TextInput(attrs={"id": "f-area", "maxlength": "100"}))
    region = _Given(label=gettext_lazy("地域"), widget=forms.Select(attrs={"id": "f-region"}, choices=_region_choices))
    district = _Given(
        label=gettext_lazy("地区"), widget=forms.Select(attrs={"id": "f-district"}, choices=_district_choices)
    )
    q = _Given(
        label=gettext_lazy("名前・住所のことば"),
        widget=forms.TextInput(
            attrs={"type": "search", "id": "f-q", "maxlength": str(MAX_Q), "autocomplete": "off"}
        ),
    )
    open = _Given(label=gettext_lazy("営業している日時"), widget=forms.RadioSelect(choices=_open_choices))
    day = _Given(label=gettext_lazy("曜日"), widget=forms.Select(attrs={"id": "f-day"}, choices=_day_choices))
    time = _Given(
        label=gettext_lazy("時刻"), widget=forms.TextInput(attrs={"type": "time", "id": "f-time", "step": "60"})
    )
    nightholiday = _Given(label=gettext_lazy("夜間（20時以降）や日曜・祝日も営業・連絡できる"), widget=_FlagInput())
    lat = _Given(widget=forms.HiddenInput())
    lng = _Given(widget=forms.HiddenInput())
    radius = _Given(label=gettext_lazy("距離"), widget=forms.Select(attrs={"id": "f-radius"}, choices=_radius_choices))
    place = _Given(widget=forms.HiddenInput())
    sort = _Given(label=gettext_lazy("並び順"), widget=forms.Select(attrs={"id": "f-sort"}, choices=_sort_choices))
    ids = _GivenList(widget=forms.MultipleHiddenInput())
    page = _Given(widget=forms.HiddenInput())

    def __init__(self, params=None, *, ids: Iterable | None = None):
        """``params``: a QueryDict, a dict of lists or of strings (the cleaned values of a
        search, to render the form as it was searched); ``ids`` replaces the ``ids`` parameter."""
        raw = _get_lists(params)
        data: dict[str, object] = {key: raw.get(key, []) for key in LIST_KEYS}
        for key in SINGLE_KEYS:
            values = [v.strip() for v in raw.get(key, []) if v.strip()]
            data[key] = values[-1] if values else ""
        super().__init__(data, auto_id=False, label_suffix="")
        self._unknown = [key for key in raw if key not in KNOWN_KEYS and any(v.strip() for v in raw[key])]
        self._ids = ids
        self._typed_area: Area | None = None
        self.area_candidates: list[Area] = []
        # A search given by codes (a bookmark, the cleaned values) shows the area's name.
        self._area_from_codes = False
        if not data["area"]:
            area = self._reference[2].get(data["district"] or data["region"])
            if area is not None:
                data["area"] = typed_areas.label(area)
                self._area_from_codes = True

    @cached_property
    def _reference(self):
        return _reference()

    # -- one field at a time ---------------------------------------------------------------------

    def _known(self, name: str, table: Mapping, message: str) -> list[str]:
        """The codes of a list field found in ``table`` (in its order); one message per other."""
        codes = []
        for code in self.cleaned_data[name]:
            if code in table:
                codes.append(code)
            else:
                self.add_error(name, message % {"value": code[:40]})
        return sorted(codes, key=lambda c: (table[c].sort_order, c))

    def _at_most(self, name: str, value, limit: int, message: str):
        """The first ``limit`` characters or items of ``value``; a longer one is cut, with ``message``."""
        if len(value) > limit:
            self.add_error(name, message % {"n": limit})
            return value[:limit]
        return value

    def clean_type(self):
        return self._known("type", self._reference[0], _("種別「%(value)s」は見つからないため、無視しました。"))

    def clean_cap(self):
        return self._known(
            "cap", self._reference[1], _("「対応できること」の「%(value)s」は見つからないため、無視しました。")
        )

    def clean_area(self):
        text = " ".join(self.cleaned_data["area"].split())
        if not text or self._area_from_codes:
            return text
        found = typed_areas.resolve(text)
        if len(found) == 1:
            self._typed_area = found[0]
            return text
        self.area_candidates = found[: typed_areas.CANDIDATES_SHOWN]
        if found:
            shown = join_list(typed_areas.distinct_labels(self.area_candidates))
            more = len(found) - len(self.area_candidates)
            message = (
                _("「%(value)s」という名前の地区・地域がいくつかあります（%(names)s ほか%(more)d件）。区市町村名を付けて入れてください。")
                if more
                else _("「%(value)s」という名前の地区・地域がいくつかあります（%(names)s）。どれかを選んでください。")
            )
            raise ValidationError(message % {"value": text[:40], "names": shown, "more": more})
        raise ValidationError(
            _("「%(value)s」という地区・地域は見つからないため、無視しました。区市町村名と地区名で入れてください。")
            % {"value": text[:40]}
        )

    @property
    def area_typed(self) -> bool:
        """True when the form shows the typed area field instead of the two lists."""
        return typed_areas.typed()

    @property
    def area_links(self) -> list[tuple[str, str]]:
        """For an ambiguous name: (label, query string) of each area it may mean."""
        if not self.area_candidates:
            return []
        params = {k: v for k, v in self.search_params().items() if k not in ("region", "district", "page")}
        names = typed_areas.distinct_labels(self.area_candidates)
        return [
            (name, querystring({**params, a.level: a.code}))
            for name, a in zip(names, self.area_candidates, strict=True)
        ]

    @property
    def area_suggest_url(self) -> str:
        return reverse("api_areas") + f"?lang={get_language() or ''}"

    def _typed(self, level: str) -> str | None:
        """The code a typed name stands for at this level ("" for the other level), or None
        when no name was typed (the code given as such is used)."""
        area = self._typed_area
        if area is None:
            return None
        return area.code if area.level == level else ""

    def clean_region(self):
        typed = self._typed(Area.Level.REGION)
        if typed is not None:
            return typed
        code = self.cleaned_data["region"]
        area = self._reference[2].get(code) if code else None
        if code and (area is None or area.level != Area.Level.REGION):
            raise ValidationError(_("地域「%(value)s」は見つからないため、無視しました。") % {"value": code[:40]})
        return code

    def clean_district(self):
        typed = self._typed(Area.Level.DISTRICT)
        if typed is not None:
            return typed
        code = self.cleaned_data["district"]
        if not code:
            return code
        areas = self._reference[2]
        area = areas.get(code)
        if area is None or area.level != Area.Level.DISTRICT:
            raise ValidationError(_("地区「%(value)s」は見つからないため、無視しました。") % {"value": code[:40]})
        region = self.cleaned_data.get("region")
        if region and area.parent.code != region:
            # The district wins: the region is dropped (the message goes with the region).
            self.add_error(
                "region",
                _("地区「%(district)s」は地域「%(region)s」に含まれないため、地域の条件を外しました。")
                % {"district": area.display_name, "region": areas[region].display_name},
            )
        return code

    def clean_q(self):
        q = self.cleaned_data["q"]
        if q:
            q = " ".join(unicodedata.normalize("NFKC", q).split())
            q = self._at_most("q", q, MAX_Q, _("キーワードが長すぎるため、先頭の%(n)d文字で探しました。"))
        return q

    def clean_open(self):
        value = self.cleaned_data["open"]
        if value and value not in ("now", "at"):
            raise ValidationError(_("営業時間の条件「%(value)s」が分からないため、無視しました。") % {"value": value[:20]})
        return value

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not day or day in {str(i) for i in range(7)} or day == "holiday":
            return day
        if _DATE_RE.match(day):
            if inputs.iso_date(day):
                return day
            if _valid_date(day):
                raise ValidationError(
                    _("日付「%(value)s」は%(min)d年から%(max)d年の間で選んでください。無視しました。")
                    % {"value": day, "min": inputs.DATE_MIN.year, "max": inputs.DATE_MAX.year}
                )
            raise ValidationError(_("日付「%(value)s」が正しくないため、無視しました。") % {"value": day[:20]})
        raise ValidationError(_("曜日・日付「%(value)s」が分からないため、無視しました。") % {"value": day[:20]})

    def clean_time(self):
        time = self.cleaned_data["time"]
        if not time:
            return time
        match = _TIME_RE.match(time)
        if match is None:
            raise ValidationError(
                _("時刻「%(value)s」は「18:30」の形で入れてください。無視しました。") % {"value": time[:20]}
            )
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    def clean_nightholiday(self):
        value = self.cleaned_data["nightholiday"]
        if not value or value in ("0", "off", "false"):
            return ""
        if value in ("1", "on", "true"):
            return "1"
        raise ValidationError(_("「夜間・休日」の値が分からないため、無視しました。"))

    def clean_radius(self):
        radius = self.cleaned_data["radius"]
        if not radius:
            return radius
        value = finite_float(radius)
        if value is None or not (RADIUS_MIN <= value <= RADIUS_MAX):
            raise ValidationError(
                _("半径は%(min)dmから%(max)dmの間で選んでください。無視しました。")
                % {"min": RADIUS_MIN, "max": RADIUS_MAX}
            )
        return str(int(value))

    def clean_sort(self):
        sort = self.cleaned_data["sort"]
        if sort and sort not in SORTS:
            raise ValidationError(_("並び順「%(value)s」が分からないため、五十音順にしました。") % {"value": sort[:20]})
        return sort

    def clean_ids(self):
        values = list(self._ids) if self._ids is not None else self.cleaned_data["ids"]
        if not values:
            return None  # no shortlist (an empty one given as ``ids`` is none either)
        good: list[int] = []
        bad = 0
        for value in values:
            number = inputs.positive_id(value)
            if number is None:
                bad += 1
            elif number not in good:
                good.append(number)
        if bad:
            self.add_error("ids", _("選んだ事業所の番号に正しくないものがあったため、外しました。"))
        return self._at_most("ids", good, MAX_IDS, _("選べる事業所は%(n)d件までです。"))

    def clean_page(self):
        page = self.cleaned_data["page"]
        if not page:
            return 1
        try:
            return max(1, min(int(page), 100_000))
        except ValueError:
            raise ValidationError(
                _("ページ番号「%(value)s」が正しくないため、1ページ目を表示しました。") % {"value": page[:10]}
            ) from None

    # -- fields that depend on each other ------------------------------------------------------
    # Each message goes with the field it drops, so ``ignored`` keeps the order of the form.

    def clean(self):
        data = self.cleaned_data
        for key in self._unknown:
            self.add_error(None, _("「%(key)s」という条件は使えないため、無視しました。") % {"key": key[:40]})

        open_ = data.get("open", "")
        if open_ == "now":
            if data.get("day") or data.get("time"):
                self.add_error("time", _("「いま営業中」を選んだため、曜日と時刻は使いませんでした。"))
                data.pop("day", None)
        elif data.get("day") or data.get("time"):
            data["open"] = "at"
        elif open_ == "at":
            self.add_error("time", _("曜日か時刻を選んでください。営業時間の条件は使いませんでした。"))
            data["open"] = ""

        lat_raw, lng_raw = data.get("lat", ""), data.get("lng", "")
        if lat_raw or lng_raw:
            lat, lng = finite_float(lat_raw), finite_float(lng_raw)
            if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
                self.add_error("lat", _("地図上の位置（緯度・経度）が正しくないため、無視しました。"))
                data.pop("lng", None)
            else:
                data["lat"], data["lng"] = f"{lat:.6f}", f"{lng:.6f}"
        located = bool(data.get("lat"))
        if data.get("radius") and not located:
            self.add_error("radius", _("場所が決まっていないため、半径の条件は使いませんでした。"))
        data["place"] = data.get("place", "")[:100] if located else ""
        if data.get("sort") == "distance" and not located:
            self.add_error("sort", _("場所が決まっていないため、距離順ではなく五十音順にしました。"))
        return data

    # -- results -------------------------------------------------------------------------------

    @property
    def carried(self) -> list[forms.BoundField]:
        """The searched fields but the order and the page, for a form of other options (the
        print sheet's) that sends the search along: ``{{ field.as_hidden }}`` each."""
        skip = ("sort", "page", "area") if self._area_from_codes else ("sort", "page")
        return [self[name] for name in self.fields if name not in skip and self.data.get(name)]

    @property
    def ignored(self) -> list[str]:
        """Every message, the form's own first, then field by field (the order of the form)."""
        errors = self.errors
        return [str(m) for name in (NON_FIELD_ERRORS, *self.fields) for m in errors.get(name, [])]

    def search_params(self) -> dict:
        """The validated parameters, as the rest of the search reads them."""
        if self._errors is None:
            self.full_clean()
        data = self.cleaned_data
        out: dict = {"type": data.get("type", []), "cap": data.get("cap", [])}
        if "area" in self.errors:
            # A name that found no single area: kept to show it again at the field, not searched.
            out["area"] = " ".join(str(self.data.get("area", "")).split())[:100]
        for key in ("region", "district", "q", "day", "time", "open", "nightholiday", "lat", "lng",
                    "radius", "place"):
            if data.get(key):
                out[key] = data[key]
        out["sort"] = data.get("sort") or ("distance" if "lat" in out else "kana")
        if data.get("ids") is not None:
            out["ids"] = data["ids"]
        out["page"] = data.get("page") or 1
        return out


def clean(params, ids: Iterable | None = None) -> tuple[dict, list[str]]:
    """Validated parameters and messages about what was ignored."""
    form = SearchForm(params, ids=ids)
    return form.search_params(), form.ignored


def display_form(cleaned: Mapping) -> SearchForm:
    """The form bound to the values a search used (what the filter panel shows)."""
    return SearchForm(cleaned)
