"""Indexes for searches at national scale: providers with a capability (the search's EXISTS
semi-join), and on PostgreSQL keywords of one or two characters (too short for trigrams) from a
GIN index over the 1- and 2-character pieces of ``Provider.search_text``."""

from django.db import migrations, models

SHORT_GRAMS_FUNCTION = "resourcemap_short_grams"
SHORT_GRAMS_INDEX = "resourcemap_provider_short_grams"


def short_grams_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: LIKE on the folded column
    # Every distinct substring of one and two characters (none across the newline that
    # separates the fields): a 1–2 character keyword occurs in the text exactly when it is one
    # of them. Not inlined by the planner (it has a FROM), so the index expression matches.
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {SHORT_GRAMS_FUNCTION}(t text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
          SELECT coalesce(array_agg(DISTINCT g), '{{}}') FROM (
            SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) AS i
            UNION ALL
            SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i
          ) AS grams WHERE strpos(g, E'\\n') = 0
        $$
        """
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SHORT_GRAMS_INDEX} ON resourcemap_provider "
        f"USING gin ({SHORT_GRAMS_FUNCTION}(search_text))"
    )


def drop_short_grams_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SHORT_GRAMS_INDEX}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {SHORT_GRAMS_FUNCTION}(text)")


class Migration(migrations.Migration):

    dependencies = [
        ("resourcemap", "0014_provider_private_contact_permission"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="providercapability",
            index=models.Index(fields=["capability", "provider"], name="providercap_cap_provider"),
        ),
        migrations.RunPython(short_grams_index, drop_short_grams_index),
    ]
