"""Writing one provider: create, update, confirm (validated, one transaction, history recorded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import hours as hours_mod
from ..models import (
    DataVersion,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
)
from .conflicts import NO_CONFLICT_FIELDS, ProviderConflict, _base_values, _conflict, changes_since
from .snapshot import (
    CAPABILITIES_KEY,
    EXCEPTIONS_KEY,
    HOURS_KEY,
    CapabilityInput,
    _diff,
    _exceptions_plain,
    capabilities_text,
    field_value,
    provider_snapshot,
)
from .validation import (
    _normalise_capabilities,
    _normalise_exceptions,
    _normalise_periods,
    _resolve_fk,
)


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
