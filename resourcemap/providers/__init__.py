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

The package, by job:

- ``write``: ``provider_create``, ``provider_update``, ``provider_confirm``,
  ``provider_external_ids_add`` (ids of public sources, e.g. the ナビイ ID);
- ``bulk``: ``providers_bulk_create`` (demo data, large imports);
- ``validation``: checking a write before anything is written; ``provider_validate`` (writes nothing);
- ``conflicts``: versions, ``ProviderConflict``, ``changes_since``;
- ``snapshot``: plain representations (history, snapshots, round trips) and how staff read them.
"""

from .bulk import providers_bulk_create
from .conflicts import NO_CONFLICT_FIELDS, Conflict, ProviderConflict, changes_since
from .snapshot import (
    CAPABILITIES_KEY,
    EXCEPTIONS_KEY,
    FIELD_LABELS,
    HOURS_KEY,
    CapabilityInput,
    capabilities_text,
    current_capabilities,
    current_exceptions,
    current_periods,
    display_value,
    field_label,
    field_value,
    plain_value,
    provider_snapshot,
)
from .validation import capability_catalogue, provider_validate
from .write import provider_confirm, provider_create, provider_external_ids_add, provider_update

__all__ = [
    "CAPABILITIES_KEY", "EXCEPTIONS_KEY", "HOURS_KEY", "NO_CONFLICT_FIELDS", "CapabilityInput",
    "Conflict", "FIELD_LABELS", "ProviderConflict", "capabilities_text",
    "capability_catalogue", "changes_since", "current_capabilities", "current_exceptions",
    "current_periods", "display_value", "field_label", "field_value", "plain_value",
    "provider_confirm", "provider_create", "provider_external_ids_add", "provider_snapshot",
    "provider_update", "provider_validate",
    "providers_bulk_create",
]
