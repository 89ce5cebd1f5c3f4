"""Writing one provider: create, update, confirm (validated, one transaction, history recorded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import (
    DataVersion,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
    ProviderExternalId,
)
from .snapshot import (
    CAPABILITIES_KEY,
    EXCEPTIONS_KEY,
    HOURS_KEY,
    CapabilityInput,
    _diff,
    field_value,
    plain_value,
    provider_snapshot,
)
from .validation import CheckedWrite, check_write, related_text


def related_rows(provider, capabilities, periods, exceptions) -> tuple[list | None, ...]:
    """The unsaved capability, weekly-hours and dated-exception rows of ``provider`` from
    normalised values (a kind given as None stays None), in the order of ``RELATED_MODELS``."""
    for exc in exceptions or ():
        exc.provider = provider
    return (
        None if capabilities is None else [
            ProviderCapability(provider=provider, capability=cap, count=v["count"], note=v["note"])
            for cap, v in capabilities.items()
        ],
        None if periods is None else [
            OpeningPeriod(provider=provider, weekday=p.weekday, opens=p.opens, closes=p.closes)
            for p in periods
        ],
        None if exceptions is None else list(exceptions),
    )


RELATED_MODELS = (ProviderCapability, OpeningPeriod, HoursException)


def _write_related(provider, capabilities, periods, exceptions) -> None:
    """Replace each kind of related rows that is given (not None)."""
    for model, rows in zip(RELATED_MODELS, related_rows(provider, capabilities, periods, exceptions), strict=True):
        if rows is not None:
            model.objects.filter(provider=provider).delete()
            model.objects.bulk_create(rows)


def _save(
    *, provider: Provider, checked: CheckedWrite, actor_kind: str, user, source: str, creating: bool
) -> ProviderChange | None:
    """Write a provider that passed ``check_write``, its related rows and its history row."""
    normalised = checked.related
    if not creating:
        # The diff is computed here, once, for every caller: related data whose text is as
        # stored is not rewritten, and a save that changes nothing writes nothing.
        expected = {name: field_value(provider, name) for name in Provider.TRACKED_FIELDS}
        for key, value in normalised.items():
            expected[key] = checked.before[key] if value is None else related_text(key, value)
            if value is not None and expected[key] == checked.before[key]:
                normalised[key] = None
        if not _diff(checked.before, expected):
            return None
    with transaction.atomic():
        provider.save()
        _write_related(provider, normalised[CAPABILITIES_KEY], normalised[HOURS_KEY], normalised[EXCEPTIONS_KEY])
        DataVersion.bump()
        after = provider_snapshot(provider)
        diff = _diff(checked.before, after)
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
    checked = check_write(
        provider=provider,
        changes=data,
        capabilities=capabilities if capabilities is not None else {},
        periods=periods if periods is not None else [],
        exceptions=exceptions if exceptions is not None else [],
        creating=True,
    )
    _save(provider=provider, checked=checked, actor_kind=actor_kind, user=user, source=source, creating=True)
    return provider


def _same_as_loaded(provider: Provider, changes: Mapping[str, Any], base_version: int | None) -> bool:
    if base_version is not None and base_version != provider.version:
        return False
    return all(
        name in Provider.TRACKED_FIELDS and plain_value(value) == field_value(provider, name)
        for name, value in changes.items()
    )


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

    Callers pass the values they have, changed or not: what differs is found here. Values all
    equal to the given ``provider`` as loaded (no related data, no older ``base_version``)
    return None at once, without a query (an import of an unchanged file).
    """
    if _same_as_loaded(provider, changes, base_version) and capabilities is None and periods is None \
            and exceptions is None:
        return None
    with transaction.atomic():
        fresh = (
            Provider.objects.select_for_update(of=("self",))
            .select_related("provider_type", "area")
            .get(pk=provider.pk)
        )
        checked = check_write(
            provider=fresh, changes=changes, capabilities=capabilities, periods=periods,
            exceptions=exceptions, creating=False, base_version=base_version,
        )
        change = _save(
            provider=fresh, checked=checked, actor_kind=actor_kind, user=user, source=source,
            creating=False,
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


def provider_external_ids_add(*, ids: Iterable[tuple[int, str, str]]) -> None:
    """Attach public-source ids ``(provider id, scheme, value)`` (e.g. the ナビイ ID); an id
    already attached, to this or another provider, is left as it is."""
    rows = [ProviderExternalId(provider_id=pk, scheme=scheme, value=value) for pk, scheme, value in ids]
    if rows:
        ProviderExternalId.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
