from pathlib import Path

from django.core.management.base import BaseCommand

from resourcemap.reference import DEFAULT_REFERENCE, load_reference


class Command(BaseCommand):
    help = "Load or refresh reference data (municipality, areas, types, capabilities) and staff groups."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_REFERENCE)

    def handle(self, *args, **options):
        counts = load_reference(options["file"])
        self.stdout.write(
            self.style.SUCCESS(
                "Reference data loaded: {areas} areas, {provider_types} provider types, "
                "{capabilities} capabilities.".format(**counts)
            )
        )
