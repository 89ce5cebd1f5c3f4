"""``manage.py load_demo``: fictional Setagaya providers for development and demonstrations."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from demo.generator import DEFAULT_COUNT, DEFAULT_SEED, load_demo
from resourcemap.indicators import load_demo_populations
from resourcemap.models import Area, Municipality, Provider, ProviderType


class Command(BaseCommand):
    help = "Load fictional demo providers (deterministic for a seed) through the write path."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing when any provider exists (keeps data between `make run`s).",
        )
        parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="Number of providers.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed.")
        parser.add_argument("--chunk-size", type=int, default=2000, help="Rows per bulk insert.")

    def handle(self, *args, **options):
        count, chunk_size = options["count"], options["chunk_size"]
        if count < 1:
            raise CommandError(_("--count には1以上の数を指定してください。"))
        if chunk_size < 1:
            raise CommandError(_("--chunk-size には1以上の数を指定してください。"))
        if not Municipality.objects.exists() or not Area.objects.filter(level=Area.Level.DISTRICT).exists():
            raise CommandError(
                _("基本データ（地区・種別）がありません。先に manage.py load_reference を実行してください。")
            )
        existing = Provider.objects.count()
        if options["if_empty"] and existing:
            self.stdout.write(
                _("事業所が既に%(count)d件登録されているため、デモデータは読み込みませんでした。")
                % {"count": existing}
            )
            return
        started = time.perf_counter()
        try:
            created = load_demo(count=count, seed=options["seed"], chunk_size=chunk_size)
        except ValidationError as error:
            shown = error.messages[:20]
            more = len(error.messages) - len(shown)
            text = "\n".join(shown) + (f"\n… (+{more})" if more > 0 else "")
            raise CommandError(_("デモデータを登録できませんでした:\n%(errors)s") % {"errors": text}) from error
        elapsed = time.perf_counter() - started
        names = dict(ProviderType.objects.values_list("code", "name"))
        self.stdout.write(
            self.style.SUCCESS(
                _("デモデータ（架空の事業所）を%(count)d件登録しました（%(seconds).1f秒）。")
                % {"count": sum(created.values()), "seconds": elapsed}
            )
        )
        for code in ProviderType.objects.order_by("sort_order", "code").values_list("code", flat=True):
            if created.get(code):
                self.stdout.write(f"  {names[code]}: {created[code]}")
        added = load_demo_populations()
        if added:
            self.stdout.write(_("架空の人口（デモ）を%(count)d地区に登録しました。") % {"count": added})
