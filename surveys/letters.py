"""Survey letters: one A4 page per provider, rendered in chunks and merged.

The text all letters share is rendered once; each chunk of letters renders only the
providers' own items (address, QR code, link, access code) and pypdf stamps the shared page
underneath, writing the chunk to a temporary file. The chunk files are then appended into
one PDF. Memory stays bounded by the chunk size, not by the
number of providers (3,000 letters are routine).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
)

from jobs import runner
from jobs.models import Job
from resourcemap import printing
from resourcemap.models import Municipality

from . import selectors, services
from .models import Invitation, SurveyRound

CHUNK_SIZE = 100


def letter_context(invitation: Invitation) -> dict:
    url = services.invitation_url(invitation)
    return {
        "provider": invitation.provider,
        "url": url,
        "code": services.invitation_code(invitation),
        # One pixel per module, drawn without smoothing (image-rendering: pixelated): small
        # and fast to encode, sharp at any print resolution.
        "qr": printing.qr_data_uri(url, scale=1),
    }


def _render(survey_round: SurveyRound, letters: list[dict], part: str) -> bytes:
    html = render_to_string("surveys/letter.html", {
        "survey_round": survey_round,
        "letters": letters,
        "part": part,
        "municipality": Municipality.current(),
        "start_url": services.start_url(),
        "today": timezone.localdate(),
    })
    return printing.html_to_pdf(html)


def render_chunk(survey_round: SurveyRound, invitations: list[Invitation]) -> bytes:
    """Complete letters in one document (small selections, previews)."""
    return _render(survey_round, [letter_context(inv) for inv in invitations], "")


def render_background(survey_round: SurveyRound) -> bytes:
    """The text every letter shares, rendered once per run."""
    return _render(survey_round, [{}], "static")


def render_variable(survey_round: SurveyRound, invitations: list[Invitation]) -> bytes:
    """Only each provider's own items (address, QR code, link, code), one page each."""
    return _render(survey_round, [letter_context(inv) for inv in invitations], "variable")


BACKGROUND_NAME = NameObject("/SurveyLetterBackground")


def _stamp(writer: PdfWriter, page) -> IndirectObject:
    """The background page as a Form XObject in ``writer``: stored once, drawn on every page
    (instead of copying and re-parsing its content stream for each letter)."""
    form = DecodedStreamObject()
    form.set_data(page.get_contents().get_data())
    form.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(v) for v in page.mediabox]),
        NameObject("/Resources"): page["/Resources"].get_object().clone(writer),
    })
    return writer._add_object(form)  # noqa: SLF001 - pypdf has no public name for this


def _underlay(writer: PdfWriter, page, stamp: IndirectObject) -> None:
    resources = page["/Resources"].get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        xobjects = DictionaryObject()
        resources[NameObject("/XObject")] = xobjects
    xobjects.get_object()[BACKGROUND_NAME] = stamp
    draw = DecodedStreamObject()
    draw.set_data(b"q " + BACKGROUND_NAME.encode() + b" Do Q\n")
    raw = page.raw_get("/Contents")
    existing = raw.get_object()
    items = list(existing) if isinstance(existing, ArrayObject) else [raw]
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(draw), *items])  # noqa: SLF001


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
        background = PdfReader(io.BytesIO(render_background(survey_round))).pages[0]
        parts = []
        for start in range(0, total, chunk_size):
            chunk_ids = ids[start : start + chunk_size]
            by_id = {
                inv.pk: inv
                for inv in Invitation.objects.filter(pk__in=chunk_ids).select_related("provider")
            }
            chunk = [by_id[pk] for pk in chunk_ids if pk in by_id]
            part = Path(tmp) / f"part-{start:06d}.pdf"
            # Layout is the slow part of rendering: each page here holds only a handful of
            # boxes, and the shared text is drawn underneath from the one background page.
            variable = PdfReader(io.BytesIO(render_variable(survey_round, chunk)))
            chunk_writer = PdfWriter()
            stamp = _stamp(chunk_writer, background)
            for page in variable.pages:
                _underlay(chunk_writer, chunk_writer.add_page(page), stamp)
            with open(part, "wb") as handle:
                chunk_writer.write(handle)
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
    qs = selectors.live_invitations(survey_round)
    if only_unanswered:
        qs = selectors.unanswered(qs)
    return list(qs.order_by("provider__postal_code", "provider__kana", "pk").values_list("pk", flat=True))


LETTERS_KIND = "survey_letters"
# Letters show each provider's secret link and access code: staff who may change invitations
# (区職員（編集）) may make and download them; view-only staff may not.
LETTERS_PERMISSION = "surveys.change_invitation"


def round_scope(survey_round_id: int) -> str:
    return f"surveyround:{survey_round_id}"


def start_letters(survey_round: SurveyRound, *, user=None, only_unanswered: bool = False,
                  invitation_ids: list[int] | None = None) -> Job:
    """Queue a letters job for the whole round (or the chosen invitations)."""
    params = {"round": survey_round.pk, "only_unanswered": only_unanswered}
    if invitation_ids is not None:
        params["ids"] = list(invitation_ids)
    return runner.start(LETTERS_KIND, params=params, scope=round_scope(survey_round.pk), user=user)


@runner.register_kind(LETTERS_KIND, label=_("案内状PDF"), permission=LETTERS_PERMISSION)
def letters_job(job: Job, progress: Callable[[int, int], None]) -> str:
    survey_round = SurveyRound.objects.get(pk=job.params["round"])
    if "ids" in job.params:
        wanted = set(job.params["ids"])
        ids = [pk for pk in ordered_ids(survey_round) if pk in wanted]
    else:
        ids = ordered_ids(survey_round, only_unanswered=job.params.get("only_unanswered", False))
    progress(0, len(ids))
    with tempfile.TemporaryDirectory(prefix="letters-") as tmp:
        out = Path(tmp) / "letters.pdf"
        count = render_letters(survey_round, ids, out, progress=progress)
        runner.save_result(job, f"letters-round{survey_round.pk}-{job.pk}.pdf", out)
    return ngettext("%(n)s 枚", "%(n)s 枚", count) % {"n": count}
