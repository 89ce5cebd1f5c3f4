from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from resourcemap import gazetteer
from resourcemap.models import Municipality


class Command(BaseCommand):
    help = (
        "Load the stations and 町丁目 of one municipality for place search (replaces its rows). "
        "load_reference does this too from gazetteer/<code>.csv beside the reference file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?", help="CSV (default fixtures/gazetteer/<code>.csv)")
        parser.add_argument("--municipality", help="municipality code (default: the site's municipality)")

    def handle(self, *args, **options):
        code = options["municipality"]
        municipality = Municipality.objects.filter(code=code).first() if code else Municipality.current()
        if municipality is None:
            raise CommandError("No such municipality: run load_reference first (or give --municipality).")
        path = options["file"] or gazetteer.default_file(municipality)
        try:
            count = gazetteer.load(path, municipality)
        except (OSError, gazetteer.GazetteerFileError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{count} places loaded for {municipality} from {path}."))
