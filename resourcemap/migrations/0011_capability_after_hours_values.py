"""Existing databases get the after-hours kind of their capabilities from the shipped reference
file (24時間対応 → always, 夜間・休日対応 → night), matched by code; ``load_reference`` with a
municipality's own file sets it the same way."""

import json
from pathlib import Path

from django.db import migrations

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference.json"


def set_after_hours(apps, schema_editor):
    Capability = apps.get_model("resourcemap", "Capability")
    try:
        rows = json.loads(REFERENCE.read_text(encoding="utf-8")).get("capabilities", [])
    except (OSError, ValueError):
        return
    for row in rows:
        if row.get("after_hours"):
            Capability.objects.filter(code=row["code"], after_hours="").update(after_hours=row["after_hours"])


class Migration(migrations.Migration):

    dependencies = [
        ("resourcemap", "0010_ratecounter"),
    ]

    operations = [migrations.RunPython(set_after_hours, migrations.RunPython.noop)]
