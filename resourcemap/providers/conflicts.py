"""Versions and conflicts: what changed after the version a caller saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Provider, ProviderChange
from .snapshot import display_value, field_label

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


def _conflict(name: str, theirs: Any, mine: Any, rows: list[ProviderChange]) -> Conflict:
    last = next((r for r in rows if name in r.changes), rows[0])
    return Conflict(
        field=name,
        label=field_label(name),
        theirs=display_value(name, theirs),
        yours=display_value(name, mine),
        who=_who(last),
        when=timezone.localtime(last.changed_at).strftime("%Y-%m-%d %H:%M"),
    )
