"""The one write path for providers.

Admin edits, imports and survey approvals all call these functions. Each one validates the
whole result (fields, capabilities, hours), writes inside one transaction and records a
``ProviderChange`` with the old and new value of every field that changed. Nothing is saved
when anything is invalid.

No lost update: ``provider_update`` locks the provider's row (``SELECT … FOR UPDATE``; on
SQLite the whole database is locked by the immediate transaction) before it reads the record,
so the history row and the provider row are written from the same state. Every recorded change
raises ``Provider.version`` by one and stores that version on its ``ProviderChange``. A caller
that showed a record to someone (the admin form, the survey review page, an import preview)
passes ``base_version``: fields whose value equals what that person saw are left as they are
now (someone else's change made meanwhile is kept), the fields they changed are applied, and a
field that both changed to different values raises :class:`ProviderConflict` and saves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import hours as hours_mod
from ..models import (
    Area,
    Capability,
    DataVersion,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderType,
)

CAPABILITIES_KEY = "capabilities"
HOURS_KEY = "opening_periods"
EXCEPTIONS_KEY = "hours_exceptions"

CapabilityInput = Mapping[str, Mapping[str, Any] | None]


# ---------------------------------------------------------------------------------------------
# Plain representations, used for history, import/export round trips and survey snapshots.


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.000001")))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, ProviderType | Area):
        return value.code
    return value


def field_value(provider: Provider, name: str) -> Any:
    if name in ("provider_type", "area"):
        related = getattr(provider, name, None) if getattr(provider, f"{name}_id") else None
        return related.code if related else None
    return _plain(getattr(provider, name))


def capabilities_text(items: Iterable[tuple[str, int | None, str]]) -> str:
    """``h24; mitori:12; psychiatry(夜間は要相談)`` – sorted by code, stable for diffs."""
    parts = []
    for code, count, note in sorted(items):
        part = code
        if count is not None:
            part += f":{count}"
        if note:
            part += f"({note})"
        parts.append(part)
    return "; ".join(parts)


def current_capabilities(provider: Provider) -> dict[str, dict[str, Any]]:
    if provider.pk is None:
        return {}
    return {
        pc.capability.code: {"count": pc.count, "note": pc.note}
        for pc in provider.provider_capabilities.select_related("capability")
    }


def current_periods(provider: Provider) -> list[hours_mod.Period]:
    if provider.pk is None:
        return []
    return [
        hours_mod.Period(p.weekday, p.opens, p.closes)
        for p in provider.opening_periods.order_by("weekday", "opens")
    ]


def current_exceptions(provider: Provider) -> list[dict[str, Any]]:
    if provider.pk is None:
        return []
    return [_exception_dict(e) for e in provider.hours_exceptions.order_by("start_date")]


def _exception_dict(e: HoursException) -> dict[str, Any]:
    return {
        "start_date": e.start_date,
        "end_date": e.end_date,
        "closed": e.closed,
        "opens": e.opens,
        "closes": e.closes,
        "note": e.note,
    }


def exceptions_text(items: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for e in sorted(items, key=lambda e: (e["start_date"], e["end_date"])):
        span = e["start_date"].isoformat()
        if e["end_date"] != e["start_date"]:
            span += f"..{e['end_date'].isoformat()}"
        if e.get("closed", True):
            what = "休"
        else:
            what = f"{hours_mod.fmt_time(e['opens'])}-{hours_mod.fmt_time(e['closes'])}"
        part = f"{span} {what}"
        if e.get("note"):
            part += f"({e['note']})"
        parts.append(part)
    return "; ".join(parts)


def provider_snapshot(provider: Provider) -> dict[str, Any]:
    """Every tracked value as plain JSON-able data (used for history and survey snapshots)."""
    data = {name: field_value(provider, name) for name in Provider.TRACKED_FIELDS}
    data[CAPABILITIES_KEY] = capabilities_text(
        (code, v["count"], v["note"]) for code, v in current_capabilities(provider).items()
    )
    data[HOURS_KEY] = hours_mod.format_periods(current_periods(provider))
    data[EXCEPTIONS_KEY] = exceptions_text(current_exceptions(provider))
    return data


def display_value(name: str, value: Any, names: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A plain (history/snapshot) value as staff read it: labels and names instead of codes."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    if name == "status":
        try:
            return str(Provider.Status(value).label)
        except ValueError:
            return str(value)
    if name in ("provider_type", "area"):
        if names is None or name not in names:
            model = ProviderType if name == "provider_type" else Area
            found = model.objects.filter(code=value).values_list("name", flat=True).first()
            return found or str(value)
        return names[name].get(value, str(value))
    return str(value)


# ---------------------------------------------------------------------------------------------
# Versions and conflicts

# Bookkeeping that the latest write sets, whoever else touched it meanwhile.
NO_CONFLICT_FIELDS = frozenset({"last_confirmed_on", "last_confirmed_source"})


@dataclass(frozen=True)
class Conflict:
    field: str
    label: str
    theirs: str  # the value saved meanwhile, as shown to staff
    yours: str
    who: str
    when: str


class ProviderConflict(ValidationError):
    """The record changed after the caller's ``base_version`` in a field the caller changed too.

    A ``ValidationError`` keyed by field, so every caller that lists write-path errors shows
    it; ``conflicts`` has the details and ``current_version`` the version to base a retry on.
    """

    def __init__(self, conflicts: list[Conflict], *, current_version: int, stale: bool = False):
        self.conflicts = conflicts
        self.current_version = current_version
        if stale or not conflicts:
            super().__init__({NON_FIELD_ERRORS: [_(
                "この事業所は、あなたが画面を開いた後に変更されました。開き直して、もう一度入力してください。"
            )]})
        else:
            super().__init__({
                c.field: [_(
                    "あなたが画面を開いた後に%(who)sが「%(theirs)s」に変えました（%(when)s）。"
                    "あなたの入力「%(yours)s」は保存していません。"
                ) % {"who": c.who, "theirs": c.theirs, "when": c.when, "yours": c.yours}]
                for c in conflicts
            })

    def lines(self) -> list[str]:
        """One line per conflicting field, with its label (for a message at the top of a page)."""
        return [f"{c.label}: {m}" for c in self.conflicts for m in self.message_dict[c.field]] or list(
            self.messages
        )


def _who(change: ProviderChange) -> str:
    if change.user_id:
        user = change.user
        return user.get_full_name() or user.get_username()
    return str(change.get_actor_kind_display())


def changes_since(provider: Provider, base_version: int) -> list[ProviderChange] | None:
    """The recorded changes after ``base_version`` (newest first), or None if any is missing."""
    if base_version > provider.version or base_version < 1:
        return None
    rows = list(
        ProviderChange.objects.filter(provider=provider, version__gt=base_version)
        .select_related("user")
        .order_by("-version")
    )
    if [r.version for r in rows] != list(range(provider.version, base_version, -1)):
        return None
    return rows


def _base_values(rows: list[ProviderChange]) -> dict[str, Any]:
    """{field: value at the base version} for the fields the rows changed (newest first)."""
    base: dict[str, Any] = {}
    for row in rows:
        for name, (old, _new) in row.changes.items():
            base[name] = old
    return base


# ---------------------------------------------------------------------------------------------
# Validation helpers


def capability_catalogue(codes: Iterable[str] | None = None) -> dict[str, tuple[Capability, set[int]]]:
    """{code: (capability, ids of the provider types it applies to)} in two queries."""
    qs = Capability.objects.prefetch_related("provider_types")
    if codes is not None:
        qs = qs.filter(code__in=list(codes))
    return {c.code: (c, {t.pk for t in c.provider_types.all()}) for c in qs}


def _normalise_capabilities(
    provider: Provider,
    capabilities: CapabilityInput,
    catalogue: Mapping[str, tuple[Capability, set[int]]] | None = None,
) -> dict[Capability, dict[str, Any]]:
    if catalogue is None:
        catalogue = capability_catalogue(capabilities)
    errors = []
    result: dict[Capability, dict[str, Any]] = {}
    for code, value in capabilities.items():
        value = value or {}
        entry = catalogue.get(code)
        if entry is None:
            errors.append(_("「%(code)s」という対応項目はありません。") % {"code": code})
            continue
        capability, allowed = entry
        if provider.provider_type_id not in allowed:
            errors.append(
                _("「%(cap)s」は「%(type)s」には設定できません。")
                % {"cap": capability.name, "type": provider.provider_type.name}
            )
            continue
        count = value.get("count")
        if count in ("", None):
            count = None
        else:
            try:
                count = int(count)
            except (TypeError, ValueError):
                errors.append(_("「%(cap)s」の件数は数字で入力してください。") % {"cap": capability.name})
                continue
            if count < 0:
                errors.append(_("「%(cap)s」の件数は0以上にしてください。") % {"cap": capability.name})
                continue
            if not capability.has_count:
                errors.append(_("「%(cap)s」には件数を入力できません。") % {"cap": capability.name})
                continue
        result[capability] = {"count": count, "note": (value.get("note") or "").strip()}
    if errors:
        raise ValidationError({CAPABILITIES_KEY: errors})
    return result


def _normalise_periods(periods: Iterable) -> list[hours_mod.Period]:
    normalised = [hours_mod._as_period(p) for p in periods]
    errors = hours_mod.validate_periods(normalised)
    if errors:
        raise ValidationError({HOURS_KEY: errors})
    return normalised


def _normalise_exceptions(exceptions: Iterable[Mapping[str, Any]]) -> list[HoursException]:
    """Validated, unsaved exceptions; the provider is attached when they are written.

    ``HoursException.clean()`` enforces the date-order rule of its check constraint, so no
    constraint query is made per exception; the database still enforces it on insert.
    """
    result = []
    errors = []
    for data in exceptions:
        exc = HoursException(
            start_date=data["start_date"],
            end_date=data.get("end_date") or data["start_date"],
            closed=data.get("closed", True),
            opens=data.get("opens"),
            closes=data.get("closes"),
            note=data.get("note", ""),
        )
        try:
            exc.clean_fields(exclude=["provider"])
            exc.clean()
        except ValidationError as error:
            errors.extend(f"{exc.start_date}: {m}" for m in error.messages)
        result.append(exc)
    if errors:
        raise ValidationError({EXCEPTIONS_KEY: errors})
    return result


def _resolve_fk(name: str, value: Any):
    if value is None or value == "":
        return None
    model = {"provider_type": ProviderType, "area": Area}[name]
    if isinstance(value, model):
        return value
    try:
        if isinstance(value, int):
            return model.objects.get(pk=value)
        return model.objects.get(code=value)
    except model.DoesNotExist as error:
        raise ValidationError({name: _("「%(value)s」は登録されていません。") % {"value": value}}) from error


# ---------------------------------------------------------------------------------------------
# Writes


def _apply_fields(provider: Provider, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(Provider.TRACKED_FIELDS)
    if unknown:
        raise ValueError(f"Not provider fields: {sorted(unknown)}")
    for name, value in changes.items():
        if name in ("provider_type", "area"):
            setattr(provider, name, _resolve_fk(name, value))
        elif value is None and name not in ("latitude", "longitude", "last_confirmed_on"):
            setattr(provider, name, False if name in ("hours_unknown", "is_demo") else "")
        else:
            setattr(provider, name, value)


def _write_related(provider, capabilities, periods, exceptions) -> None:
    if capabilities is not None:
        provider.provider_capabilities.all().delete()
        ProviderCapability.objects.bulk_create(
            ProviderCapability(provider=provider, capability=cap, count=v["count"], note=v["note"])
            for cap, v in capabilities.items()
        )
    if periods is not None:
        provider.opening_periods.all().delete()
        OpeningPeriod.objects.bulk_create(
            OpeningPeriod(provider=provider, weekday=p.weekday, opens=p.opens, closes=p.closes)
            for p in periods
        )
    if exceptions is not None:
        provider.hours_exceptions.all().delete()
        for exc in exceptions:
            exc.provider = provider
        HoursException.objects.bulk_create(exceptions)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def _exceptions_plain(exceptions: Iterable[HoursException]) -> str:
    return exceptions_text(_exception_dict(e) for e in exceptions)


def _related_text(key: str, value) -> str:
    if key == CAPABILITIES_KEY:
        return capabilities_text((cap.code, v["count"], v["note"]) for cap, v in value.items())
    if key == HOURS_KEY:
        return hours_mod.format_periods(value)
    return _exceptions_plain(value)


def _save(
    *,
    provider: Provider,
    changes: Mapping[str, Any],
    capabilities: CapabilityInput | None,
    periods: Iterable | None,
    exceptions: Iterable[Mapping[str, Any]] | None,
    actor_kind: str,
    user,
    source: str,
    creating: bool,
    base_version: int | None = None,
) -> ProviderChange | None:
    before = {} if creating else provider_snapshot(provider)
    # What the caller saw: the record now, with the changes recorded after base_version undone.
    meanwhile_rows: list[ProviderChange] = []
    base = dict(before)
    if base_version is not None and not creating and base_version != provider.version:
        rows = changes_since(provider, base_version)
        if rows is None:
            raise ProviderConflict([], current_version=provider.version, stale=True)
        meanwhile_rows = rows
        base.update(_base_values(rows))
    meanwhile = {name for name in base if base[name] != before.get(name)}
    kept = {name: getattr(provider, name) for name in changes if name in meanwhile}
    _apply_fields(provider, changes)
    wanted: dict[str, Any] = {}  # field -> the caller's value, for fields changed meanwhile
    for name, value in kept.items():
        mine = field_value(provider, name)
        if mine == base[name]:
            setattr(provider, name, value)  # not changed by the caller: keep the newer value
        else:
            wanted[name] = mine
    errors: dict[str, list[str]] = {}
    try:
        provider.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    normalised = {CAPABILITIES_KEY: None, HOURS_KEY: None, EXCEPTIONS_KEY: None}
    if provider.provider_type_id:
        for key, given, normalise in (
            (CAPABILITIES_KEY, capabilities, lambda v: _normalise_capabilities(provider, v)),
            (HOURS_KEY, periods, _normalise_periods),
            (EXCEPTIONS_KEY, exceptions, _normalise_exceptions),
        ):
            if given is None:
                continue
            try:
                normalised[key] = normalise(given)
            except ValidationError as error:
                errors.update(error.message_dict)
                continue
            if key in meanwhile:
                mine = _related_text(key, normalised[key])
                if mine == base[key]:
                    normalised[key] = None
                else:
                    wanted[key] = mine
    if errors:
        raise ValidationError(errors)
    conflicts = [
        name for name, mine in wanted.items() if mine != before.get(name) and name not in NO_CONFLICT_FIELDS
    ]
    if conflicts:
        raise ProviderConflict(
            [_conflict(name, before.get(name), wanted[name], meanwhile_rows) for name in conflicts],
            current_version=provider.version,
        )

    with transaction.atomic():
        provider.save()
        _write_related(provider, normalised[CAPABILITIES_KEY], normalised[HOURS_KEY], normalised[EXCEPTIONS_KEY])
        DataVersion.bump()
        after = provider_snapshot(provider)
        diff = _diff(before, after)
        if not diff and not creating:
            return None
        if not creating:
            provider.version += 1
            provider.save(update_fields=["version"])
        return ProviderChange.objects.create(
            provider=provider,
            actor_kind=actor_kind,
            user=user if getattr(user, "is_authenticated", False) else None,
            action=ProviderChange.Action.CREATE if creating else ProviderChange.Action.UPDATE,
            source=source[:300],
            changes=diff,
            version=provider.version,
        )


def _conflict(name: str, theirs: Any, mine: Any, rows: list[ProviderChange]) -> Conflict:
    last = next((r for r in rows if name in r.changes), rows[0])
    return Conflict(
        field=name,
        label=_row_field_label(name),
        theirs=display_value(name, theirs),
        yours=display_value(name, mine),
        who=_who(last),
        when=timezone.localtime(last.changed_at).strftime("%Y-%m-%d %H:%M"),
    )


def provider_create(
    *,
    data: Mapping[str, Any],
    capabilities: CapabilityInput | None = None,
    periods: Iterable | None = None,
    exceptions: Iterable[Mapping[str, Any]] | None = None,
    actor_kind: str,
    user=None,
    source: str = "",
) -> Provider:
    """Create a provider with its capabilities and hours; raises ValidationError, saves nothing."""
    provider = Provider()
    _save(
        provider=provider,
        changes=data,
        capabilities=capabilities if capabilities is not None else {},
        periods=periods if periods is not None else [],
        exceptions=exceptions if exceptions is not None else [],
        actor_kind=actor_kind,
        user=user,
        source=source,
        creating=True,
    )
    return provider


def provider_update(
    *,
    provider: Provider,
    changes: Mapping[str, Any],
    capabilities: CapabilityInput | None = None,
    periods: Iterable | None = None,
    exceptions: Iterable[Mapping[str, Any]] | None = None,
    actor_kind: str,
    user=None,
    source: str = "",
    base_version: int | None = None,
) -> ProviderChange | None:
    """Apply changes; ``None`` for capabilities/periods/exceptions leaves them as they are.

    Returns the recorded change, or None when nothing changed. Raises ValidationError (keyed by
    field, or ``capabilities`` / ``opening_periods`` / ``hours_exceptions``) and saves nothing
    when the result would be invalid.

    ``base_version`` is the ``Provider.version`` the caller's values are based on (what a form
    or preview showed). Given values equal to that version's are then not applied, so changes
    saved meanwhile by others stay; a field changed both meanwhile and by the caller (to a
    different value) raises :class:`ProviderConflict`. Without it the given values are applied
    as they are. Either way the row is locked from the read to the commit.
    """
    with transaction.atomic():
        fresh = (
            Provider.objects.select_for_update(of=("self",))
            .select_related("provider_type", "area")
            .get(pk=provider.pk)
        )
        change = _save(
            provider=fresh,
            changes=changes,
            capabilities=capabilities,
            periods=periods,
            exceptions=exceptions,
            actor_kind=actor_kind,
            user=user,
            source=source,
            creating=False,
            base_version=base_version,
        )
    provider.refresh_from_db()
    return change


def provider_confirm(
    *, provider: Provider, actor_kind: str, user=None, source: str, on: dt.date | None = None
) -> ProviderChange:
    """Record that the record was checked and is right ("変更なし"), setting last-confirmed."""
    on = on or timezone.localdate()
    with transaction.atomic():
        change = provider_update(
            provider=provider,
            changes={"last_confirmed_on": on, "last_confirmed_source": source[:200]},
            actor_kind=actor_kind,
            user=user,
            source=source,
        )
        if change is None:
            change = ProviderChange.objects.create(
                provider=provider,
                actor_kind=actor_kind,
                user=user if getattr(user, "is_authenticated", False) else None,
                action=ProviderChange.Action.CONFIRM,
                source=source[:300],
                changes={},
            )
        else:
            change.action = ProviderChange.Action.CONFIRM
            change.save(update_fields=["action"])
    return change


# ---------------------------------------------------------------------------------------------
# Bulk creation (demo data, large imports)


def _row_field_label(field: str) -> str:
    if field == CAPABILITIES_KEY:
        return _("対応できること")
    if field == HOURS_KEY:
        return _("営業時間")
    if field == EXCEPTIONS_KEY:
        return _("臨時の休み・営業時間")
    if field == NON_FIELD_ERRORS:
        return ""
    try:
        return str(Provider._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        return field


def _row_messages(index: int, provider: Provider, errors: Mapping[str, list[str]]) -> list[str]:
    messages = []
    for field, field_errors in errors.items():
        label = _row_field_label(field)
        for message in field_errors:
            messages.append(
                _("%(row)s行目（%(name)s）%(field)s: %(message)s")
                % {
                    "row": index,
                    "name": provider.name or "-",
                    "field": f" {label}" if label else "",
                    "message": message,
                }
            )
    return messages


def providers_bulk_create(
    *,
    rows: Iterable[Mapping[str, Any]],
    actor_kind: str,
    user=None,
    source: str = "",
) -> list[Provider]:
    """Create many providers in one transaction, validated like :func:`provider_create`.

    Each row is a mapping with ``data`` (the fields, as for ``provider_create``; types and
    areas by code) and optional ``capabilities``, ``periods`` and ``exceptions``. Every row is
    checked first (``full_clean``, capabilities applicable to the type, hours, 医療機関コード and
    介護保険事業所番号 unique in the database and within the rows); if any row is bad, a
    ValidationError lists each problem with its 1-based row number and nothing is saved. The
    rows' problems are also on ``error.row_errors`` as ``{row number: {field: [messages]}}``.

    Lookups are batched (a few queries per call, plus one per row for the municipality check
    in ``Provider.clean``), so thousands of rows take seconds. Each provider gets a
    ``ProviderChange`` (action create) with the same content ``provider_create`` would record.
    """
    types = {t.code: t for t in ProviderType.objects.all()}
    types_by_pk = {t.pk: t for t in types.values()}
    areas = {a.code: a for a in Area.objects.all()}
    areas_by_pk = {a.pk: a for a in areas.values()}
    catalogue = capability_catalogue()

    prepared: list[tuple[Provider, dict, list, list]] = []
    row_errors: dict[int, dict[str, list[str]]] = {}
    messages: list[str] = []
    for index, row in enumerate(rows, 1):
        data = dict(row.get("data") or {})
        errors: dict[str, list[str]] = {}
        for name, by_code, by_pk in (("provider_type", types, types_by_pk), ("area", areas, areas_by_pk)):
            value = data.get(name)
            if value is None or value == "" or isinstance(value, ProviderType | Area):
                continue
            found = by_pk.get(value) if isinstance(value, int) else by_code.get(str(value))
            if found is None:
                errors[name] = [_("「%(value)s」は登録されていません。") % {"value": value}]
                data[name] = None
            else:
                data[name] = found
        provider = Provider()
        _apply_fields(provider, data)
        if provider.provider_type_id is None and "provider_type" not in errors:
            errors["provider_type"] = [Provider._meta.get_field("provider_type").error_messages["null"]]
        try:
            # The foreign keys were resolved from the rows loaded above (an area's level is
            # checked in Provider.clean), so skip Django's one-query-per-key existence check.
            provider.full_clean(exclude=["provider_type", "area"], validate_constraints=False)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                errors.setdefault(field, []).extend(field_errors)
        caps: dict = {}
        periods: list = []
        exceptions: list = []
        if provider.provider_type_id:
            try:
                caps = _normalise_capabilities(provider, row.get("capabilities") or {}, catalogue)
            except ValidationError as error:
                errors.update(error.message_dict)
            try:
                periods = _normalise_periods(row.get("periods") or [])
            except ValidationError as error:
                errors.update(error.message_dict)
            try:
                exceptions = _normalise_exceptions(row.get("exceptions") or [])
            except ValidationError as error:
                errors.update(error.message_dict)
        if errors:
            row_errors[index] = errors
            messages.extend(_row_messages(index, provider, errors))
        prepared.append((provider, caps, periods, exceptions))

    _check_bulk_codes(prepared, row_errors, messages)
    if messages:
        error = ValidationError(messages)
        error.row_errors = row_errors
        raise error

    created = [p for p, _caps, _periods, _exc in prepared]
    for provider in created:
        provider.refresh_search_text()  # bulk_create does not call save()
    with transaction.atomic():
        Provider.objects.bulk_create(created, batch_size=500)
        if any(p.pk is None for p in created):  # pragma: no cover - SQLite >= 3.35 and PostgreSQL return ids
            raise RuntimeError("The database did not return ids for bulk-created providers.")
        ProviderCapability.objects.bulk_create(
            (
                ProviderCapability(provider=p, capability=cap, count=v["count"], note=v["note"])
                for p, caps, _periods, _exc in prepared
                for cap, v in caps.items()
            ),
            batch_size=1000,
        )
        OpeningPeriod.objects.bulk_create(
            (
                OpeningPeriod(provider=p, weekday=period.weekday, opens=period.opens, closes=period.closes)
                for p, _caps, periods, _exc in prepared
                for period in periods
            ),
            batch_size=1000,
        )
        for p, _caps, _periods, exceptions in prepared:
            for exc in exceptions:
                exc.provider = p
        HoursException.objects.bulk_create(
            (exc for _p, _caps, _periods, exceptions in prepared for exc in exceptions),
            batch_size=1000,
        )
        actor = user if getattr(user, "is_authenticated", False) else None
        ProviderChange.objects.bulk_create(
            (
                ProviderChange(
                    provider=p,
                    actor_kind=actor_kind,
                    user=actor,
                    action=ProviderChange.Action.CREATE,
                    source=source[:300],
                    changes=_diff({}, _bulk_snapshot(p, caps, periods, exceptions)),
                    version=p.version,
                )
                for p, caps, periods, exceptions in prepared
            ),
            batch_size=500,
        )
        DataVersion.bump()
    return created


def _bulk_snapshot(provider, caps, periods, exceptions) -> dict[str, Any]:
    """What ``provider_snapshot`` returns right after saving, built from the rows in memory."""
    data = {name: field_value(provider, name) for name in Provider.TRACKED_FIELDS}
    data[CAPABILITIES_KEY] = capabilities_text(
        (cap.code, v["count"], v["note"]) for cap, v in caps.items()
    )
    data[HOURS_KEY] = hours_mod.format_periods(periods)
    data[EXCEPTIONS_KEY] = _exceptions_plain(exceptions)
    return data


def _check_bulk_codes(prepared, row_errors, messages) -> None:
    """医療機関コード (unique) and 介護保険事業所番号 (unique per type), in the rows and the database."""
    medical: dict[str, int] = {}
    care: dict[tuple[str, int], int] = {}
    clashes: list[tuple[int, str, str]] = []
    for index, (provider, *_rest) in enumerate(prepared, 1):
        if provider.medical_code:
            if provider.medical_code in medical:
                clashes.append((index, "medical_code", _("この医療機関コードは既に登録されています。")))
            else:
                medical[provider.medical_code] = index
        if provider.care_code and provider.provider_type_id:
            key = (provider.care_code, provider.provider_type_id)
            if key in care:
                clashes.append(
                    (index, "care_code", _("この介護保険事業所番号は同じ種別で既に登録されています。"))
                )
            else:
                care[key] = index
    codes = list(medical)
    for start in range(0, len(codes), 500):
        for code in Provider.objects.filter(medical_code__in=codes[start : start + 500]).values_list(
            "medical_code", flat=True
        ):
            clashes.append((medical[code], "medical_code", _("この医療機関コードは既に登録されています。")))
    care_codes = sorted({code for code, _type in care})
    for start in range(0, len(care_codes), 500):
        for code, type_id in Provider.objects.filter(
            care_code__in=care_codes[start : start + 500]
        ).values_list("care_code", "provider_type_id"):
            if (code, type_id) in care:
                clashes.append(
                    (care[(code, type_id)], "care_code", _("この介護保険事業所番号は同じ種別で既に登録されています。"))
                )
    for index, field, message in sorted(clashes):
        row_errors.setdefault(index, {}).setdefault(field, []).append(message)
        messages.extend(_row_messages(index, prepared[index - 1][0], {field: [message]}))
