"""``manage.py prune_jobs``: delete finished jobs with their files and old e-mails now.

Workers do this by themselves every few hours (``jobs.retention``); this is for doing it by
hand or from a timer on a machine without workers.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jobs import retention


def _days(value: str) -> int:
    days = int(value)
    if days < 0:
        raise ValueError(value)
    return days


class Command(BaseCommand):
    help = ("Delete finished jobs (and their files) older than JOB_RETENTION_DAYS and sent or "
            "failed e-mails older than EMAIL_RETENTION_DAYS.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=_days, default=None,
                            help="keep finished jobs and their files this many days (default: JOB_RETENTION_DAYS)")
        parser.add_argument("--email-days", type=_days, default=None,
                            help="keep sent and failed e-mails this many days (default: EMAIL_RETENTION_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    def handle(self, *args, days, email_days, dry_run, **options):
        done = retention.prune(job_days=days, email_days=email_days, dry_run=dry_run)
        self.stdout.write(("would delete: " if dry_run else "deleted: ") + str(done))
        if done.errors:
            raise CommandError("could not delete: " + "; ".join(done.errors[:10]))
