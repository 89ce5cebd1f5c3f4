import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jobs import runner
from surveys import letters
from surveys.models import SurveyRound


class Command(BaseCommand):
    help = "Render the survey letters PDF (one A4 page per provider) with progress."

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, required=True, help="survey round id")
        parser.add_argument("--unanswered", action="store_true", help="only providers that have not answered")
        parser.add_argument("--out", help="write the PDF here (default: a job in the admin download area)")
        parser.add_argument("--queue", action="store_true",
                            help="put the job on the queue for a worker instead of rendering here")
        parser.add_argument("--chunk-size", type=int, default=letters.CHUNK_SIZE)

    def handle(self, *args, **options):
        started = time.monotonic()

        def progress(done, total):
            if options["verbosity"]:
                rate = done / max(time.monotonic() - started, 0.001)
                self.stdout.write(f"\r{done}/{total} ({rate:.0f}/s)", ending="")
                self.stdout.flush()

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
        params = {"round": survey_round.pk, "only_unanswered": options["unanswered"]}
        if options["queue"]:
            job = letters.start_letters(survey_round, only_unanswered=options["unanswered"])
            self.stdout.write(f"queued job {job.pk}; a worker renders it (admin: バックグラウンド処理)")
            return
        job = runner.create(letters.LETTERS_KIND, params=params, scope=letters.round_scope(survey_round.pk))
        job = runner.run_here(job, progress=progress)
        if job.status != job.Status.DONE:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        self.stdout.write(f"\n{job.message} -> job {job.pk} ({job.result_file.name})")
