import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys import letters
from surveys.models import LetterJob, SurveyRound


class Command(BaseCommand):
    help = "Render the survey letters PDF (one A4 page per provider) with progress."

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, help="survey round id")
        parser.add_argument("--job", type=int, help="letter job id (started from the admin)")
        parser.add_argument("--unanswered", action="store_true", help="only providers that have not answered")
        parser.add_argument("--out", help="output PDF path (default: the admin download area)")
        parser.add_argument("--chunk-size", type=int, default=letters.CHUNK_SIZE)

    def handle(self, *args, **options):
        started = time.monotonic()

        def progress(done, total):
            if options["verbosity"]:
                rate = done / max(time.monotonic() - started, 0.001)
                self.stdout.write(f"\r{done}/{total} ({rate:.0f}/s)", ending="")
                self.stdout.flush()

        if options["job"]:
            job = LetterJob.objects.filter(pk=options["job"]).select_related("survey_round").first()
            if job is None:
                raise CommandError(f"No letter job {options['job']}")
            job = letters.run_job(job, progress=progress)
            self.stdout.write(f"\n{job.total} letters -> {job.file_path}")
            return
        if not options["round"]:
            raise CommandError("Give --round ID or --job ID")
        survey_round = SurveyRound.objects.filter(pk=options["round"]).first()
        if survey_round is None:
            raise CommandError(f"No survey round {options['round']}")
        if options["out"]:
            ids = letters.ordered_ids(survey_round, only_unanswered=options["unanswered"])
            out = Path(options["out"])
            count = letters.render_letters(
                survey_round, ids, out, chunk_size=options["chunk_size"], progress=progress
            )
            self.stdout.write(f"\n{count} letters -> {out} in {time.monotonic() - started:.1f}s")
            return
        job = LetterJob.objects.create(survey_round=survey_round, only_unanswered=options["unanswered"])
        job = letters.run_job(job, progress=progress)
        self.stdout.write(f"\n{job.total} letters -> {job.file_path}")
        sys.stdout.flush()
