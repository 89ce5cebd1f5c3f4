"""Import providers from a staff CSV/XLSX file: dry run by default, all-or-nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from resourcemap import formats
from resourcemap.management.imports import add_import_arguments, existing_file, history_user
from resourcemap.resources import ProviderResource


class Command(BaseCommand):
    help = (
        "Import providers (same layout as export_providers). Checks every row and prints errors "
        "with line numbers; writes only with --commit and only if no row has an error."
    )

    def add_arguments(self, parser):
        add_import_arguments(parser)
        parser.add_argument("--format", choices=["csv", "xlsx"], help="Default: from the file name.")

    def handle(self, *args, path, format, commit, user, **options):
        file = existing_file(path)
        fmt = formats.XLSX() if (format or file.suffix.lower().lstrip(".")) == "xlsx" else formats.CSV()
        try:
            dataset = fmt.create_dataset(file.read_bytes())
        except formats.FileFormatError as error:
            raise CommandError(str(error)) from error
        actor = history_user(user)
        result = ProviderResource().import_data(
            dataset, dry_run=not commit, use_transactions=True,
            rollback_on_validation_errors=True, user=actor, file_name=file.name,
        )
        lines = [str(error.error) for error in result.base_errors]
        for number, errors in result.row_errors():
            lines.extend(f"{number + 1}行目: {error.error}" for error in errors)
        for row in result.invalid_rows:
            for column, messages in row.error_dict.items():
                label = "" if column == "__all__" else f"{column}: "
                lines.extend(f"{row.number + 1}行目: {label}{message}" for message in messages)
        if lines:
            raise CommandError("取り込めません（何も保存していません）:\n" + "\n".join(lines))
        totals = result.totals
        summary = f"新規 {totals['new']}件、変更 {totals['update']}件、変更なし {totals['skip']}件"
        if commit:
            self.stdout.write(f"取り込みました: {summary}")
        else:
            self.stdout.write(f"確認のみ（保存していません）: {summary}。保存するには --commit を付けてください。")
