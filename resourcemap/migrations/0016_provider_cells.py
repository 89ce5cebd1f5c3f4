"""Counts per map grid cell (``ProviderCell``), kept on PostgreSQL by a trigger on the
provider table, so that a zoomed-out map reads cells instead of every provider. SQLite has the
table but counts live (no trigger)."""

import django.db.models.deletion
from django.db import migrations, models

MAX_ZOOM = 10  # ProviderCell.MAX_ZOOM when this migration was written
PUBLIC = "('active', 'suspended')"
# floor(degrees / (112.5 / 2^zoom)): the same float arithmetic as api.py's grid.
CELL = "floor(({value})::float8 / (112.5 / power(2, {zoom})))::int"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION resourcemap_provider_cells() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.latitude IS NOT DISTINCT FROM OLD.latitude
     AND NEW.longitude IS NOT DISTINCT FROM OLD.longitude AND NEW.status = OLD.status
     AND NEW.provider_type_id = OLD.provider_type_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL
     AND OLD.status IN {PUBLIC} THEN
    UPDATE resourcemap_providercell c
       SET n = c.n - 1, sum_lat = c.sum_lat - OLD.latitude, sum_lng = c.sum_lng - OLD.longitude
      FROM generate_series(0, {MAX_ZOOM}) AS z
     WHERE c.zoom = z AND c.provider_type_id = OLD.provider_type_id
       AND c.cy = {CELL.format(value="OLD.latitude", zoom="z")} AND c.cx = {CELL.format(value="OLD.longitude", zoom="z")};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
     AND NEW.status IN {PUBLIC} THEN
    INSERT INTO resourcemap_providercell AS c (zoom, provider_type_id, cy, cx, n, sum_lat, sum_lng)
    SELECT z, NEW.provider_type_id, {CELL.format(value="NEW.latitude", zoom="z")},
           {CELL.format(value="NEW.longitude", zoom="z")}, 1, NEW.latitude, NEW.longitude
      FROM generate_series(0, {MAX_ZOOM}) AS z
    ON CONFLICT (zoom, provider_type_id, cy, cx) DO UPDATE
       SET n = c.n + 1, sum_lat = c.sum_lat + EXCLUDED.sum_lat, sum_lng = c.sum_lng + EXCLUDED.sum_lng;
  END IF;
  RETURN NULL;
END $$;

-- Every cell again from the provider table (after a bulk load with the trigger disabled).
CREATE OR REPLACE FUNCTION resourcemap_rebuild_provider_cells() RETURNS void LANGUAGE sql AS $$
  DELETE FROM resourcemap_providercell;
  INSERT INTO resourcemap_providercell (zoom, provider_type_id, cy, cx, n, sum_lat, sum_lng)
  SELECT z, p.provider_type_id, {CELL.format(value="p.latitude", zoom="z")},
         {CELL.format(value="p.longitude", zoom="z")}, count(*), sum(p.latitude), sum(p.longitude)
    FROM resourcemap_provider p CROSS JOIN generate_series(0, {MAX_ZOOM}) AS z
   WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL AND p.status IN {PUBLIC}
   GROUP BY 1, 2, 3, 4;
$$;
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the map counts live
    schema_editor.execute(FUNCTIONS)
    schema_editor.execute(
        "CREATE TRIGGER resourcemap_provider_cells AFTER INSERT OR UPDATE OR DELETE "
        "ON resourcemap_provider FOR EACH ROW EXECUTE FUNCTION resourcemap_provider_cells()"
    )
    schema_editor.execute("SELECT resourcemap_rebuild_provider_cells()")


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS resourcemap_provider_cells ON resourcemap_provider")
        schema_editor.execute("DROP FUNCTION IF EXISTS resourcemap_provider_cells()")
        schema_editor.execute("DROP FUNCTION IF EXISTS resourcemap_rebuild_provider_cells()")


class Migration(migrations.Migration):

    dependencies = [
        ('resourcemap', '0015_capability_provider_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProviderCell',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('zoom', models.PositiveSmallIntegerField()),
                ('cy', models.IntegerField()),
                ('cx', models.IntegerField()),
                ('n', models.IntegerField(default=0)),
                ('sum_lat', models.DecimalField(decimal_places=6, default=0, max_digits=20)),
                ('sum_lng', models.DecimalField(decimal_places=6, default=0, max_digits=20)),
                ('provider_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='resourcemap.providertype')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('zoom', 'provider_type', 'cy', 'cx'), name='providercell_unique')],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
