"""How provider changes read for staff: field labels and ``{field: [old, new]}`` as a short list.

Shared by the back office (history inlines, the change list of ``ProviderChange``) and the
import previews (``admin_views``). Depends only on the models and the write path's value
formatting, so any admin module may import it without importing another admin module.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

from . import providers
from .models import Area, ProviderType
from .providers import FIELD_LABELS, field_label  # noqa: F401  (the labels staff read)


def code_names(fields=("provider_type", "area")) -> dict[str, dict[str, str]]:
    """Names for the coded fields among ``fields`` (type and area codes → their names)."""
    names: dict[str, dict[str, str]] = {}
    if "provider_type" in fields:
        names["provider_type"] = dict(ProviderType.objects.values_list("code", "name"))
    if "area" in fields:
        names["area"] = dict(Area.objects.values_list("code", "name"))
    return names


def change_cell(name: str, value, names: dict) -> str:
    """One old or new value as staff read it (labels and names instead of codes)."""
    return providers.display_value(name, value, names)


def render_changes(changes):
    """{field: [old, new]} as a short list with readable labels and names instead of codes."""
    if not changes:
        return "—"
    names = code_names(changes)
    rows = format_html_join(
        "",
        '<li><strong>{}</strong>: <del class="rm-old">{}</del> → <ins class="rm-new">{}</ins></li>',
        (
            (field_label(name), change_cell(name, old, names), change_cell(name, new, names))
            for name, (old, new) in changes.items()
            if old not in (None, "", False) or new not in (None, "", False)
        ),
    )
    return format_html('<ul class="rm-changes">{}</ul>', rows)
