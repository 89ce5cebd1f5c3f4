"""Write all providers to CSV (UTF-8 with BOM) or XLSX, in the staff import layout."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from resourcemap import formats
from resourcemap.resources import ProviderResource, PublicProviderResource


class Command(BaseCommand):
    help = "Export providers (Japanese headers; re-importable with import_providers)."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", default="-", help="File path, or - for stdout.")
        parser.add_argument("--format", choices=["csv", "xlsx"], help="Default: from the file name, else csv.")
        parser.add_argument(
            "--public", action="store_true",
            help="Leave out private contact fields and non-public providers.",
        )

    def handle(self, *args, output, format, public, **options):
        fmt_name = format or ("xlsx" if output.lower().endswith(".xlsx") else "csv")
        if fmt_name == "xlsx" and output == "-":
            raise CommandError("XLSX needs --output FILE.xlsx")
        fmt = formats.XLSX() if fmt_name == "xlsx" else formats.CSV()
        resource = PublicProviderResource() if public else ProviderResource()
        dataset = resource.export()
        data = fmt.export_data(dataset)
        if output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            Path(output).write_bytes(data)
            self.stderr.write(f"{len(dataset)} providers -> {output}")
