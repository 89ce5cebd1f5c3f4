"""Keyword search in the database: the folded ``Provider.search_text`` column (filled here for
existing rows), a trigram index on PostgreSQL, and the one-row data version counter."""

import django.utils.timezone
from django.db import migrations, models

from resourcemap import folding

TRGM_INDEX = "resourcemap_provider_search_trgm"


def fill_search_text(apps, schema_editor):
    Provider = apps.get_model("resourcemap", "Provider")
    batch = []
    for provider in Provider.objects.only("pk", *folding.SEARCH_FIELDS).iterator(chunk_size=2000):
        provider.search_text = folding.search_text(
            getattr(provider, name) for name in folding.SEARCH_FIELDS
        )
        batch.append(provider)
        if len(batch) >= 2000:
            Provider.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Provider.objects.bulk_update(batch, ["search_text"])


def create_version(apps, schema_editor):
    DataVersion = apps.get_model("resourcemap", "DataVersion")
    DataVersion.objects.get_or_create(pk=1, defaults={"value": 1})


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: LIKE on the folded column
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON resourcemap_provider "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("resourcemap", "0004_indicators"),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_trigram_index),
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.PositiveBigIntegerField(default=0)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "データの版",
                "verbose_name_plural": "データの版",
            },
        ),
        migrations.RunPython(create_version, migrations.RunPython.noop),
    ]
