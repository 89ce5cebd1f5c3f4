"""Import and export of providers for staff (django-import-export).

Columns have Japanese headers. Every row is written through ``resourcemap.providers`` with
``actor_kind="import"``, so imports are validated exactly like admin edits and leave history.

Rows are matched to stored providers by the rule of every import
(``opendata.matching.provider_match``: codes, then name + address of the same type; a row
that may be a stored provider but is not surely it is a problem at its row, never a second
provider).

A missing column leaves that value as it is on update (and empty on create). Export followed
by import changes nothing: every value of a row is given to ``providers.provider_update``,
which compares them with the stored ones and writes nothing for a row without differences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Prefetch
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, instance_loaders, resources
from import_export.results import RowResult

from . import hours as hours_mod
from . import providers
from .models import (
    Area,
    Capability,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderType,
)
from .opendata.matching import ProviderIndex, provider_match

PROGRESS_EVERY = 50  # rows between two progress reports of an import job
YES = ("はい", "有", "あり", "1", "true", "yes", "○", "〇", "y")
NO = ("いいえ", "無", "なし", "0", "false", "no", "×", "n", "")


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "text"


COLUMNS: tuple[Column, ...] = (
    Column("name", "名称"),
    Column("kana", "よみがな"),
    Column("name_en", "名称（英語）"),
    Column("provider_type", "種別", "type"),
    Column("status", "状態", "status"),
    Column("postal_code", "郵便番号"),
    Column("address", "住所"),
    Column("building", "建物名・階"),
    Column("latitude", "緯度", "decimal"),
    Column("longitude", "経度", "decimal"),
    Column("area", "地区", "area"),
    Column("phone", "電話"),
    Column("fax", "FAX"),
    Column("website", "ホームページ"),
    Column("email", "公開メールアドレス"),
    Column("contact_person", "担当者（非公開）"),
    Column("contact_email", "連絡用メール（非公開）"),
    Column("contact_phone", "連絡用電話（非公開）"),
    Column(providers.HOURS_KEY, "営業時間", "hours"),
    Column("hours_unknown", "営業時間不明", "bool"),
    Column("hours_note", "営業時間の補足"),
    Column(providers.EXCEPTIONS_KEY, "臨時の休み・営業時間", "exceptions"),
    Column(providers.CAPABILITIES_KEY, "対応できること", "capabilities"),
    Column("notes", "区民へのお知らせ"),
    Column("notes_en", "区民へのお知らせ（英語）"),
    Column("medical_code", "医療機関コード", "code"),
    Column("care_code", "介護保険事業所番号", "code"),
    Column("corporate_number", "法人番号", "code"),
    Column("corporate_name", "法人の名称"),
    Column("last_confirmed_on", "最終確認日", "date"),
    Column("last_confirmed_source", "確認の方法"),
    Column("is_demo", "デモデータ", "bool"),
)
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS}
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED_HEADERS = ("名称", "種別", "住所")
RELATED_KEYS = (providers.HOURS_KEY, providers.EXCEPTIONS_KEY, providers.CAPABILITIES_KEY)
PRIVATE_HEADERS = tuple(COLUMN_BY_FIELD[f].header for f in Provider.PRIVATE_FIELDS)

_CAP_RE = re.compile(
    r"^(?P<code>[^:：(（]+?)\s*(?:[:：]\s*(?P<count>[^(（]*?))?\s*(?:[(（](?P<note>.*)[)）])?$"
)
# ---------------------------------------------------------------------------------------------
# Text form of capabilities (inverse of providers.capabilities_text); hours and exceptions
# are read by resourcemap.hours


def _split(text: str) -> list[str]:
    """Split on ; (the official separator) but not inside a (note)."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        if ch in ";；" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def parse_capabilities(text: str) -> dict[str, dict[str, Any]]:
    """``h24; mitori:12; psychiatry(夜間は要相談)``; codes or names. Raises ValueError."""
    known = {c.code: c.code for c in Capability.objects.all()}
    known.update({c.name: c.code for c in Capability.objects.all()})
    result: dict[str, dict[str, Any]] = {}
    for part in _split(text or ""):
        match = _CAP_RE.match(part)
        if not match:
            raise ValueError(_("「%(part)s」の書き方が分かりません（例: h24; mitori:12）。") % {"part": part})
        label = match["code"].strip()
        code = known.get(label)
        if code is None:
            raise ValueError(_("対応できること「%(label)s」は登録されていません。") % {"label": label})
        count = (match["count"] or "").strip()
        if count and not count.isdigit():
            raise ValueError(_("「%(label)s」の件数「%(count)s」は数字にしてください。") % {"label": label, "count": count})
        if code in result:
            raise ValueError(_("「%(label)s」が2回書かれています。") % {"label": label})
        result[code] = {"count": int(count) if count else None, "note": (match["note"] or "").strip()}
    return result


def _yes_no(value: bool) -> str:
    return "はい" if value else "いいえ"


# ---------------------------------------------------------------------------------------------


class RowErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def _column_errors(error: ValidationError) -> dict[str, list[str]]:
    """Write-path errors keyed by field -> keyed by the column header staff see."""
    result: dict[str, list[str]] = {}
    if hasattr(error, "error_dict"):
        for key, messages in error.message_dict.items():
            column = COLUMN_BY_FIELD.get(key)
            label = column.header if column else NON_FIELD_ERRORS
            result.setdefault(label, []).extend(messages)
    else:
        result[NON_FIELD_ERRORS] = list(error.messages)
    return result


class ProviderResource(resources.Resource):
    """All provider data in one sheet, Japanese headers; imports through the write path."""

    class Meta:
        # Rows are matched in ``match()``, not by the library's instance loader.
        instance_loader_class = instance_loaders.BaseInstanceLoader

    def __init__(self, *, include_private: bool = True, base_versions=None, seen_versions=None, progress=None,
                 **kwargs):
        super().__init__()
        self.include_private = include_private
        # progress(rows done, rows in the file), every PROGRESS_EVERY rows (an import job's page).
        self.progress = progress
        self._rows_total = 0
        # Preview: {provider id: version} of every matched provider is recorded here.
        self.seen_versions = seen_versions
        # Confirmation: the preview's versions; updates are based on them.
        self.base_versions = base_versions
        self.fields = {
            c.field: fields.Field(attribute=c.field, column_name=c.header)
            for c in COLUMNS
            if include_private or c.field not in Provider.PRIVATE_FIELDS
        }
        self._types: dict[str, ProviderType] | None = None
        self._areas: dict[str, Area] | None = None
        self._header_errors: list[str] = []
        self._index: ProviderIndex | None = None

    @classmethod
    def get_display_name(cls):
        return _("事業所（全項目）")

    def get_export_order(self):
        return tuple(self.fields)

    def get_import_order(self):
        return tuple(self.fields)

    def get_diff_headers(self):
        return [c.header for c in COLUMNS if c.field in self.fields]

    # ---- export -----------------------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        if queryset is None:
            queryset = Provider.objects.all()
        return queryset.select_related("provider_type", "area").prefetch_related(
            Prefetch("provider_capabilities", to_attr="_caps", queryset=_caps_qs()),
            Prefetch("opening_periods", to_attr="_periods", queryset=OpeningPeriod.objects.all()),
            Prefetch("hours_exceptions", to_attr="_exceptions", queryset=HoursException.objects.all()),
        )

    def get_queryset(self):
        return Provider.objects.all()

    def export_resource(self, instance, selected_fields=None, **kwargs):
        values = export_values(instance)
        return [values[f.attribute] for f in self.get_export_fields(selected_fields)]

    # ---- import -----------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        headers = [h.strip() for h in (dataset.headers or [])]
        errors = []
        unknown = [h for h in headers if h and h not in COLUMN_BY_HEADER]
        if unknown:
            errors.append(
                _("見出し「%(names)s」は分かりません。書き出したファイルの見出し（%(example)s など）を使ってください。")
                % {"names": "」「".join(unknown), "example": "、".join(REQUIRED_HEADERS)}
            )
        missing = [h for h in REQUIRED_HEADERS if h not in headers]
        if missing:
            errors.append(_("必要な列「%(names)s」がありません。") % {"names": "」「".join(missing)})
        duplicated = sorted({h for h in headers if h and headers.count(h) > 1})
        if duplicated:
            errors.append(_("見出し「%(names)s」が2回あります。") % {"names": "」「".join(duplicated)})
        if not self.include_private:
            present = [h for h in headers if h in PRIVATE_HEADERS]
            if present:
                errors.append(_("非公開の列は取り込めません: %(names)s") % {"names": "、".join(present)})
        self._header_errors = errors
        self._index = None
        self._rows_total = len(dataset)
        if errors:
            raise ValueError(" ".join(errors))
        dataset.headers = headers

    def import_row(self, row, instance_loader, **kwargs):
        row_result = self.get_row_result_class()()
        number = kwargs.get("row_number") or 0
        line = number + 1  # line 1 is the header
        if self.progress is not None and number % PROGRESS_EVERY == 0:
            self.progress(number, self._rows_total)
        if self._header_errors:
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        try:
            parsed = self.parse_row(row)
            provider = self.match(parsed, line)
            provider, import_type, change = self.write(provider, parsed, kwargs)
            row_result.import_type = import_type
            row_result.add_instance_info(provider)
            row_result.instance = provider
            after = providers.provider_snapshot(provider)
            # The values before this row, from what the write path recorded as changed.
            before = {} if import_type == RowResult.IMPORT_TYPE_NEW else {
                **after, **{k: old for k, (old, _new) in (change.changes if change else {}).items()}
            }
            row_result.diff = self.diff_cells(before, snapshot_values(after, self._names()))
        except RowErrors as error:
            row_result.import_type = RowResult.IMPORT_TYPE_INVALID
            row_result.validation_error = ValidationError(
                {key: [ValidationError(m) for m in msgs] for key, msgs in error.errors.items()}
            )
        except ValidationError as error:
            row_result.import_type = RowResult.IMPORT_TYPE_INVALID
            row_result.validation_error = ValidationError(
                {k: [ValidationError(m) for m in v] for k, v in _column_errors(error).items()}
            )
        return row_result

    def parse_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Row -> {field: python value} for the columns present. Raises RowErrors."""
        errors: dict[str, list[str]] = {}
        data: dict[str, Any] = {}
        for header, raw in row.items():
            column = COLUMN_BY_HEADER.get(header)
            if column is None:
                continue
            text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
            text = text.strip()
            try:
                data[column.field] = self.parse_cell(column, text)
            except ValueError as error:
                errors.setdefault(column.header, []).append(str(error))
        for header in REQUIRED_HEADERS:
            field = COLUMN_BY_HEADER[header].field
            if header not in errors and not data.get(field):
                errors.setdefault(header, []).append(_("%(name)sが空です。") % {"name": header})
        if errors:
            raise RowErrors(errors)
        return data

    def parse_cell(self, column: Column, text: str) -> Any:
        kind = column.kind
        if kind == "text":
            return text
        if kind == "code":
            if text and text.isdigit() and column.field == "care_code" and len(text) == 9:
                return "0" + text  # spreadsheets drop the leading zero
            return text
        if kind == "type":
            types = self._type_lookup()
            if text and text not in types:
                raise ValueError(_("種別「%(value)s」は登録されていません。") % {"value": text})
            return types[text].code if text else None
        if kind == "area":
            if not text:
                return None
            areas = self._area_lookup()
            if text not in areas:
                raise ValueError(_("地区「%(value)s」は登録されていません。") % {"value": text})
            return areas[text].code
        if kind == "status":
            for value, label in Provider.Status.choices:
                if text in (value, str(label)):
                    return value
            if not text:
                return Provider.Status.ACTIVE
            raise ValueError(
                _("状態「%(value)s」が分かりません（%(choices)s）。")
                % {"value": text, "choices": "・".join(str(label) for _v, label in Provider.Status.choices)}
            )
        if kind == "decimal":
            if text in ("", "0"):
                return None
            try:
                return Decimal(text).quantize(Decimal("0.000001"))
            except InvalidOperation as error:
                raise ValueError(_("「%(value)s」は数字ではありません。") % {"value": text}) from error
        if kind == "bool":
            low = text.lower()
            if low in YES:
                return True
            if low in NO:
                return False
            raise ValueError(_("「%(value)s」は「はい」か「いいえ」で書いてください。") % {"value": text})
        if kind == "date":
            return hours_mod.parse_date(text) if text else None
        if kind == "hours":
            return hours_mod.parse_periods(text)
        if kind == "exceptions":
            return hours_mod.parse_exceptions(text)
        if kind == "capabilities":
            return parse_capabilities(text)
        raise AssertionError(kind)

    def _type_lookup(self) -> dict[str, ProviderType]:
        if self._types is None:
            self._types = {}
            for t in ProviderType.objects.all():
                self._types[t.code] = t
                self._types[t.name] = t
        return self._types

    def _area_lookup(self) -> dict[str, Area]:
        if self._areas is None:
            self._areas = {}
            for a in Area.objects.filter(level=Area.Level.DISTRICT):
                self._areas[a.code] = a
                self._areas[a.name] = a
                self._areas[f"{a.name}地区"] = a
        return self._areas

    def match(self, data: Mapping[str, Any], line: int) -> Provider | None:
        """The stored provider a row is (``opendata.matching.provider_match``, the rule of every
        import), None for a new one. Raises RowErrors when staff must decide."""
        if self._index is None:
            self._index = ProviderIndex()
        ptype = self._type_lookup().get(data.get("provider_type") or "")
        found = provider_match(data, type_id=ptype.pk if ptype else None, index=self._index, line=line)
        if found.problem:
            raise RowErrors({COLUMN_BY_FIELD[found.field].header: [found.problem]})
        return found.provider

    def write(self, provider, data, kwargs) -> tuple[Provider, str, ProviderChange | None]:
        """Create, or update with every value of the row: the write path finds what differs."""
        user = kwargs.get("user")
        source = _("一括取込") + (f" {kwargs['file_name']}" if kwargs.get("file_name") else "")
        fields_ = {k: v for k, v in data.items() if k not in RELATED_KEYS}
        related = {
            "capabilities": data.get(providers.CAPABILITIES_KEY),
            "periods": data.get(providers.HOURS_KEY),
            "exceptions": data.get(providers.EXCEPTIONS_KEY),
        }
        if provider is None:
            created = providers.provider_create(
                data=fields_, **related, actor_kind=ProviderChange.Actor.IMPORT, user=user, source=source,
            )
            return created, RowResult.IMPORT_TYPE_NEW, None
        if self.seen_versions is not None:
            self.seen_versions[provider.pk] = provider.version
        base_version = None
        if self.base_versions is not None:
            base_version = self.base_versions.get(provider.pk)
            if base_version is None:
                raise RowErrors({"名称": [_("確認画面の後に登録された事業所と同じです。もう一度ファイルを選んでください。")]})
        change = providers.provider_update(
            provider=provider, changes=fields_, **related, actor_kind=ProviderChange.Actor.IMPORT,
            user=user, source=source, base_version=base_version,
        )
        return provider, (RowResult.IMPORT_TYPE_UPDATE if change else RowResult.IMPORT_TYPE_SKIP), change

    def _names(self) -> dict[str, dict[str, str]]:
        if not hasattr(self, "_name_cache"):
            self._name_cache = {
                "provider_type": dict(ProviderType.objects.values_list("code", "name")),
                "area": dict(Area.objects.values_list("code", "name")),
            }
        return self._name_cache

    def diff_cells(self, before: Mapping[str, Any], after: Mapping[str, str]) -> list[str]:
        cells = []
        before_values = snapshot_values(before, self._names()) if before else {}
        for column in COLUMNS:
            if column.field not in self.fields:
                continue
            new = after.get(column.field, "")
            old = before_values.get(column.field, new) if before else ""
            if before and old != new:
                cells.append(format_html('<del>{}</del> → <ins>{}</ins>', old, new))
            else:
                cells.append(format_html("{}", new))
        return cells


def _caps_qs():
    return ProviderCapability.objects.select_related("capability")


def _caps_text(items) -> str:
    return providers.capabilities_text((pc.capability.code, pc.count, pc.note) for pc in items)


def _display(field: str, value: Any) -> str:
    """A stored value as the text written in the sheet (and compared on import)."""
    kind = COLUMN_BY_FIELD[field].kind if field in COLUMN_BY_FIELD else "text"
    if value is None:
        return ""
    if kind == "bool":
        return _yes_no(bool(value))
    if kind == "status":
        return str(Provider.Status(value).label)
    return str(value)


def export_values(provider: Provider) -> dict[str, str]:
    """One provider as sheet text; uses prefetched relations when present (no N+1)."""
    values: dict[str, str] = {}
    for column in COLUMNS:
        name = column.field
        if name in RELATED_KEYS:
            continue
        if name == "provider_type":
            values[name] = provider.provider_type.name
        elif name == "area":
            values[name] = provider.area.name if provider.area_id else ""
        else:
            values[name] = _display(name, providers.field_value(provider, name))
    caps = getattr(provider, "_caps", None)
    if caps is None:
        caps = provider.provider_capabilities.select_related("capability")
    periods = getattr(provider, "_periods", None)
    if periods is None:
        periods = provider.opening_periods.all()
    exceptions = getattr(provider, "_exceptions", None)
    if exceptions is None:
        exceptions = provider.hours_exceptions.all()
    values[providers.CAPABILITIES_KEY] = _caps_text(caps)
    values[providers.HOURS_KEY] = hours_mod.format_periods(periods)
    values[providers.EXCEPTIONS_KEY] = hours_mod.format_exceptions(exceptions)
    return values


def snapshot_values(snapshot: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """providers.provider_snapshot() -> sheet text (type/area as names)."""
    values = {}
    type_names, area_names = names["provider_type"], names["area"]
    for column in COLUMNS:
        value = snapshot.get(column.field)
        if column.field == "provider_type":
            values[column.field] = type_names.get(value, value or "")
        elif column.field == "area":
            values[column.field] = area_names.get(value, "") if value else ""
        elif column.field in RELATED_KEYS:
            values[column.field] = value or ""
        else:
            values[column.field] = _display(column.field, value)
    return values


class ContactlessProviderResource(ProviderResource):
    """Every provider without the survey contact: the sheet for staff who may not see it."""

    def __init__(self, **kwargs):
        super().__init__(include_private=False)

    @classmethod
    def get_display_name(cls):
        return _("事業所（調査の連絡先を除く）")


class PublicProviderResource(ContactlessProviderResource):
    """The same sheet of published providers only, for sharing outside the ward office."""

    @classmethod
    def get_display_name(cls):
        return _("事業所（非公開の連絡先を除く）")

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).published()


# Labels for the admin pages (lazy: evaluated per request language).
IMPORT_HELP = gettext_lazy(
    "1行目は見出しです。書き出したファイルと同じ見出しを使ってください。"
    "必要な列: 名称・種別・住所。ない列は今の値のままです。"
)
