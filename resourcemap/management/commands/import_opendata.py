"""Import a public provider list (MHLW / 推奨データセット / 自治体標準 / ナビイ): dry run by default."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from resourcemap import formats, opendata
from resourcemap.management.imports import add_import_arguments, existing_file, history_user


class Command(BaseCommand):
    help = (
        "Import a public open-data CSV (介護サービス情報公表システム, 推奨データセット v1, "
        "自治体標準オープンデータセット, 医療情報ネット（ナビイ） facility files). Rows of other "
        "municipalities and services the map does not list are skipped and counted. Checks every "
        "row and prints problems by line and column; writes only with --commit, and only if no "
        "row has a problem unless --leave-out-errors is given (then the good rows are saved and "
        "the others listed, optionally written to --left-out FILE with the reason)."
    )

    def add_arguments(self, parser):
        add_import_arguments(parser)
        parser.add_argument(
            "--leave-out-errors", action="store_true",
            help="Save the good rows and leave out the rows with problems.",
        )
        parser.add_argument("--left-out", help="Write the rows left out (with the reason) to this CSV.")
        parser.add_argument("--hours", help="ナビイ *_speciality_hours CSV for the facility file.")

    def handle(self, *args, path, commit, user, leave_out_errors, left_out, hours, **options):
        file = existing_file(path)
        hours_data = existing_file(hours).read_bytes() if hours else None
        actor = history_user(user)
        try:
            report = opendata.import_file(
                file.read_bytes(), file_name=file.name, commit=commit, user=actor,
                leave_out_errors=leave_out_errors, hours_data=hours_data,
                hours_file_name=Path(hours).name if hours else "",
            )
        except formats.FileFormatError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{report.layout_label}: {report.summary()}")
        self.stdout.write(
            f"rows read {report.rows_read}, {report.seconds:.2f} s"
        )
        if left_out and report.left_out_rows:
            Path(left_out).write_bytes(opendata.left_out_csv(report))
            self.stdout.write(f"left-out rows written to {left_out}")
        if report.has_errors:
            lines = "\n".join(report.error_lines())
            if not leave_out_errors:
                raise CommandError("取り込めません（何も保存していません）:\n" + lines)
            self.stdout.write("取り込まなかった行:\n" + lines)
        if report.committed:
            self.stdout.write("取り込みました。")
        else:
            self.stdout.write("確認のみ（保存していません）。保存するには --commit を付けてください。")
