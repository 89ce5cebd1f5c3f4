"""Load reference data (municipality, areas, types, capabilities) and staff groups.

Idempotent: rows are matched by code and updated, so a second run changes nothing and a
municipality can edit its copy of ``fixtures/reference.json`` and load it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import (
    Area,
    Capability,
    DataVersion,
    DistrictTown,
    KeyIndicator,
    Municipality,
    ProviderType,
)

DEFAULT_REFERENCE = Path(settings.BASE_DIR) / "fixtures" / "reference.json"

EDITOR_GROUP = "区職員（編集）"
VIEWER_GROUP = "区職員（閲覧）"
STAFF_APPS = ("resourcemap", "surveys", "jobs")


@transaction.atomic
def load_reference(path: Path = DEFAULT_REFERENCE) -> dict[str, int]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    muni = data["municipality"]
    Municipality.objects.update_or_create(code=muni["code"], defaults=muni)

    for row in sorted(data["areas"], key=lambda r: r["level"] != "region"):
        row = dict(row)
        parent = row.pop("parent")
        row["parent"] = Area.objects.get(code=parent) if parent else None
        Area.objects.update_or_create(code=row.pop("code"), defaults=row)

    for row in data["provider_types"]:
        row = dict(row)
        ProviderType.objects.update_or_create(code=row.pop("code"), defaults=row)

    types = {t.code: t for t in ProviderType.objects.all()}
    for row in data["capabilities"]:
        row = dict(row)
        applies = row.pop("provider_types")
        capability, _created = Capability.objects.update_or_create(code=row.pop("code"), defaults=row)
        capability.provider_types.set([types[code] for code in applies])

    caps = {c.code: c for c in Capability.objects.all()}
    for row in data.get("key_indicators", []):
        row = dict(row)
        type_code = row.pop("provider_type", None)
        KeyIndicator.objects.update_or_create(
            capability=caps[row.pop("capability")],
            provider_type=types[type_code] if type_code else None,
            defaults=row,
        )

    # 町丁目 -> 地区 (optional): {"source": "...", "rows": [{"town", "chome", "district"}]}.
    towns = (data.get("district_towns") or {}).get("rows") or []
    areas = {a.code: a for a in Area.objects.filter(level=Area.Level.DISTRICT)}
    for row in towns:
        DistrictTown.objects.update_or_create(
            town=row["town"], chome=row.get("chome", ""), defaults={"district": areas[row["district"]]}
        )

    ensure_staff_groups()
    DataVersion.bump()  # names in cached pages and API answers may have changed
    return {
        "areas": len(data["areas"]),
        "provider_types": len(data["provider_types"]),
        "capabilities": len(data["capabilities"]),
        "key_indicators": len(data.get("key_indicators", [])),
        "district_towns": len(towns),
    }


def ensure_staff_groups() -> None:
    """区職員（編集） may add/change/view; 区職員（閲覧） may only view. Nobody may delete."""
    perms = Permission.objects.filter(content_type__app_label__in=STAFF_APPS)
    editor, _created = Group.objects.get_or_create(name=EDITOR_GROUP)
    editor.permissions.set(
        [p for p in perms if p.codename.split("_", 1)[0] in {"add", "change", "view"}]
    )
    viewer, _created = Group.objects.get_or_create(name=VIEWER_GROUP)
    viewer.permissions.set([p for p in perms if p.codename.startswith("view_")])
