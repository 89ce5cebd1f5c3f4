"""Load reference data (municipality, areas, types, capabilities) and staff groups.

Idempotent: rows are matched by code and updated, so a second run changes nothing and a
municipality can edit its copy of ``fixtures/reference.json`` and load it again.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Avg, Max, Min

from . import gazetteer
from .models import (
    Area,
    Capability,
    DataVersion,
    DistrictTown,
    KeyIndicator,
    Municipality,
    Provider,
    ProviderType,
)

DEFAULT_REFERENCE = Path(settings.BASE_DIR) / "fixtures" / "reference.json"

STAFF_APPS = ("resourcemap", "surveys", "jobs")


def generic_types_and_capabilities() -> dict[str, list[dict]]:
    """The provider types and capabilities of the default reference file in words any
    municipality uses (Setagaya's あんしんすこやかセンター is a 地域包括支援センター elsewhere)."""
    default = json.loads(DEFAULT_REFERENCE.read_text(encoding="utf-8"))
    types = []
    for row in default["provider_types"]:
        row = dict(row)
        if row["code"] == "houkatsu":
            row["name"], row["name_en"] = "地域包括支援センター", "Community comprehensive support center"
            row["import_names"] = "介護予防支援;介護予防支援事業所"
        types.append(row)
    return {"provider_types": types, "capabilities": default["capabilities"]}


@transaction.atomic
def load_reference(path: Path = DEFAULT_REFERENCE) -> dict[str, int]:
    """Load a reference file. A minimal file needs only ``municipality`` and ``areas``: the
    types and capabilities are then the generic ones, map centre and bounds are derived."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "provider_types" not in data or "capabilities" not in data:
        data = {**generic_types_and_capabilities(), **data}
    muni = dict(data["municipality"])
    if any(muni.get(key) in (None, "") for key in GEOMETRY_KEYS):
        # A minimal file: map centre and bounds come from the imported providers later.
        muni.update({k: v for k, v in JAPAN_GEOMETRY.items() if muni.get(k) in (None, "")})
        muni["geometry_derived"] = True
        muni.setdefault("zoom", 12)
    else:
        muni.setdefault("geometry_derived", False)
    previous = Municipality.objects.filter(code=muni["code"]).first()
    Municipality.objects.update_or_create(code=muni["code"], defaults=muni)
    municipality = Municipality.objects.get(code=muni["code"])

    town_rows = list((data.get("district_towns") or {}).get("rows") or [])
    for row in sorted(data["areas"], key=lambda r: r["level"] != "region"):
        row = dict(row)
        parent = row.pop("parent", None)
        row["parent"] = Area.objects.get(code=parent) if parent else None
        # Towns may be listed with the district itself in a minimal file.
        town_rows.extend({"town": t, "chome": "", "district": row["code"]} for t in row.pop("towns", []))
        if row.get("center_lat") in (None, "") or row.get("center_lng") in (None, ""):
            row["center_lat"], row["center_lng"] = municipality.center_lat, municipality.center_lng
            row["center_derived"] = True
        else:
            row.setdefault("center_derived", False)
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
    towns = town_rows
    areas = {a.code: a for a in Area.objects.filter(level=Area.Level.DISTRICT)}
    for row in towns:
        DistrictTown.objects.update_or_create(
            town=row["town"], chome=row.get("chome", ""), defaults={"district": areas[row["district"]]}
        )

    # Stations and 町丁目 for "near a place" (optional): {"gazetteer": "gazetteer/<code>.csv"},
    # relative to the reference file; by default that file when it exists.
    gazetteer_rows = 0
    gazetteer_file = data.get("gazetteer")
    gazetteer_path = (
        Path(path).parent / gazetteer_file if gazetteer_file else gazetteer.default_file(municipality, Path(path).parent / "gazetteer")
    )
    if gazetteer_file and not gazetteer_path.exists():
        raise FileNotFoundError(f"gazetteer file {gazetteer_path} (named in {path}) does not exist")
    if gazetteer_path.exists():
        gazetteer_rows = gazetteer.load(gazetteer_path, municipality)

    derive_geometry()
    ensure_staff_groups(municipality, previous_title=previous.staff_title if previous else None)
    DataVersion.bump()  # names in cached pages and API answers may have changed
    return {
        "areas": len(data["areas"]),
        "provider_types": len(data["provider_types"]),
        "capabilities": len(data["capabilities"]),
        "key_indicators": len(data.get("key_indicators", [])),
        "district_towns": len(towns),
        "gazetteer": gazetteer_rows,
    }


GEOMETRY_KEYS = ("center_lat", "center_lng", "min_lat", "max_lat", "min_lng", "max_lng")
# Placeholder for a minimal reference file until providers with coordinates are imported.
JAPAN_GEOMETRY = {
    "center_lat": "36.200000", "center_lng": "138.250000",
    "min_lat": "20.000000", "max_lat": "46.000000", "min_lng": "122.000000", "max_lng": "154.000000",
}
BOUNDS_MARGIN = Decimal("0.02")  # about 2 km around the outermost provider


def derive_geometry() -> bool:
    """Map centre/bounds and district centres marked as derived, from the providers' positions.

    Returns True when something was recomputed. Values given in the reference file are never
    changed."""
    changed = False
    located = Provider.objects.exclude(latitude=None).exclude(status=Provider.Status.CLOSED)
    for municipality in Municipality.objects.filter(geometry_derived=True):
        stats = located.aggregate(
            lat=Avg("latitude"), lng=Avg("longitude"), min_lat=Min("latitude"), max_lat=Max("latitude"),
            min_lng=Min("longitude"), max_lng=Max("longitude"),
        )
        if stats["lat"] is None:
            continue
        q = Decimal("0.000001")
        municipality.center_lat, municipality.center_lng = Decimal(stats["lat"]).quantize(q), Decimal(stats["lng"]).quantize(q)
        municipality.min_lat = (stats["min_lat"] - BOUNDS_MARGIN).quantize(q)
        municipality.max_lat = (stats["max_lat"] + BOUNDS_MARGIN).quantize(q)
        municipality.min_lng = (stats["min_lng"] - BOUNDS_MARGIN).quantize(q)
        municipality.max_lng = (stats["max_lng"] + BOUNDS_MARGIN).quantize(q)
        municipality.save()
        changed = True
    for area in Area.objects.filter(center_derived=True):
        filter_key = "area__parent" if area.level == Area.Level.REGION else "area"
        stats = located.filter(**{filter_key: area}).aggregate(lat=Avg("latitude"), lng=Avg("longitude"))
        if stats["lat"] is None:
            continue
        q = Decimal("0.000001")
        area.center_lat, area.center_lng = Decimal(stats["lat"]).quantize(q), Decimal(stats["lng"]).quantize(q)
        area.save(update_fields=["center_lat", "center_lng"])
        changed = True
    return changed


def staff_group_names(municipality: Municipality | None = None) -> tuple[str, str]:
    """(editor group, viewer group), named after the municipality's staff title (reference
    data): 区職員（編集） / 区職員（閲覧） in Setagaya, 市職員（編集） / 市職員（閲覧） in a city."""
    if municipality is None:
        municipality = Municipality.current()
    return _group_names(municipality.staff_title if municipality else "")


def _group_names(title: str) -> tuple[str, str]:
    title = title or "職員"
    return f"{title}（編集）", f"{title}（閲覧）"


def editor_group_name() -> str:
    return staff_group_names()[0]


def viewer_group_name() -> str:
    return staff_group_names()[1]


def ensure_staff_groups(municipality: Municipality | None = None, previous_title: str | None = None) -> None:
    """The editor group may add/change/view and see the survey contact of providers; the
    viewer group may only view, without the survey contact. Nobody may delete. When the staff
    title changed (``previous_title``), the groups are renamed, so their members stay in them."""
    names = staff_group_names(municipality)
    if previous_title is not None:
        for old, new in zip(_group_names(previous_title), names, strict=True):
            if old != new and not Group.objects.filter(name=new).exists():
                Group.objects.filter(name=old).update(name=new)
    perms = Permission.objects.filter(content_type__app_label__in=STAFF_APPS)
    private = Provider.PRIVATE_CONTACT_PERMISSION.split(".", 1)[1]
    editor, _created = Group.objects.get_or_create(name=names[0])
    editor.permissions.set(
        [p for p in perms
         if p.codename.split("_", 1)[0] in {"add", "change", "view"} or p.codename == private]
    )
    viewer, _created = Group.objects.get_or_create(name=names[1])
    viewer.permissions.set([p for p in perms if p.codename.startswith("view_")])
