"""Survey letters: one A4 page per provider, rendered in chunks and merged.

Each chunk of letters is one WeasyPrint document written to a temporary file; pypdf then
appends the chunk files into one PDF. Memory stays bounded by the chunk size, not by the
number of providers (3,000 letters are routine).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfWriter

from resourcemap import printing
from resourcemap.models import Municipality

from . import services
from .models import Invitation, LetterJob, SurveyRound

CHUNK_SIZE = 100
LETTER_DIR = Path(settings.MEDIA_ROOT) / "private" / "survey_letters"


def letter_context(invitation: Invitation) -> dict:
    url = services.invitation_url(invitation)
    return {
        "provider": invitation.provider,
        "url": url,
        "code": services.invitation_code(invitation),
        "qr": printing.qr_data_uri(url, scale=4),
    }


def render_chunk(survey_round: SurveyRound, invitations: list[Invitation]) -> bytes:
    html = render_to_string("surveys/letter.html", {
        "survey_round": survey_round,
        "letters": [letter_context(inv) for inv in invitations],
        "municipality": Municipality.current(),
        "start_url": services.start_url(),
        "today": timezone.localdate(),
    })
    return printing.html_to_pdf(html)


def render_letters(
    survey_round: SurveyRound,
    invitation_ids: Iterable[int],
    out: Path,
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the letters PDF to ``out``; returns the number of pages."""
    ids = list(invitation_ids)
    total = len(ids)
    done = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="letters-") as tmp:
        parts = []
        for start in range(0, total, chunk_size):
            chunk_ids = ids[start : start + chunk_size]
            by_id = {
                inv.pk: inv
                for inv in Invitation.objects.filter(pk__in=chunk_ids).select_related("provider")
            }
            chunk = [by_id[pk] for pk in chunk_ids if pk in by_id]
            part = Path(tmp) / f"part-{start:06d}.pdf"
            part.write_bytes(render_chunk(survey_round, chunk))
            parts.append(part)
            Invitation.objects.filter(pk__in=chunk_ids).update(letter_printed_at=timezone.now())
            done += len(chunk)
            if progress:
                progress(done, total)
        writer = PdfWriter()
        for part in parts:
            writer.append(str(part))
        tmp_out = out.with_suffix(".tmp")
        with open(tmp_out, "wb") as handle:
            writer.write(handle)
        tmp_out.replace(out)
    return done


def ordered_ids(survey_round: SurveyRound, *, only_unanswered: bool = False) -> list[int]:
    """Invitations in mailing order (postal code, then kana) for the round."""
    qs = survey_round.invitations.filter(revoked_at__isnull=True)
    if only_unanswered:
        qs = qs.filter(response__isnull=True)
    return list(qs.order_by("provider__postal_code", "provider__kana", "pk").values_list("pk", flat=True))


def run_job(job: LetterJob, *, progress: Callable[[int, int], None] | None = None) -> LetterJob:
    ids = ordered_ids(job.survey_round, only_unanswered=job.only_unanswered)
    job.total = len(ids)
    job.done = 0
    job.status = LetterJob.Status.RUNNING
    job.save(update_fields=["total", "done", "status"])

    def report(done: int, total: int) -> None:
        LetterJob.objects.filter(pk=job.pk).update(done=done)
        if progress:
            progress(done, total)

    out = LETTER_DIR / f"round{job.survey_round_id}-job{job.pk}.pdf"
    try:
        render_letters(job.survey_round, ids, out, progress=report)
    except Exception as error:
        job.status = LetterJob.Status.FAILED
        job.error = repr(error)[:2000]
        job.save(update_fields=["status", "error"])
        raise
    job.refresh_from_db()
    job.status = LetterJob.Status.DONE
    job.file_path = str(out)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "file_path", "finished_at"])
    return job


def start_job_in_background(job: LetterJob) -> None:
    """Run ``manage.py survey_letters --job`` detached, so the admin page can show progress."""
    subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "survey_letters", "--job", str(job.pk)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        cwd=str(settings.BASE_DIR),
    )
