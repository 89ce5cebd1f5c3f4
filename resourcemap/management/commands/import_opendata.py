"""Import a public provider list (MHLW / 推奨データセット / 自治体標準): dry run by default."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from resourcemap import formats, opendata


class Command(BaseCommand):
    help = (
        "Import a public open-data CSV (介護サービス情報公表システム, 推奨データセット v1, "
        "自治体標準オープンデータセット). Rows of other municipalities are skipped. Checks every "
        "row and prints errors by line and column; writes only with --commit and only if no row "
        "has an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--commit", action="store_true", help="Save (default: check only).")
        parser.add_argument("--user", help="Staff user name recorded in the change history.")

    def handle(self, *args, path, commit, user, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        actor = None
        if user:
            try:
                actor = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist as error:
                raise CommandError(f"No such user: {user}") from error
        try:
            report = opendata.import_file(file.read_bytes(), file_name=file.name, commit=commit, user=actor)
        except formats.FileFormatError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{report.layout_label}: {report.summary()}")
        if report.has_errors:
            raise CommandError("取り込めません（何も保存していません）:\n" + "\n".join(report.error_lines()))
        if report.committed:
            self.stdout.write("取り込みました。")
        else:
            self.stdout.write("確認のみ（保存していません）。保存するには --commit を付けてください。")
