"""E-mail to providers (invitations, reminders, receipts, review results) and to staff.

Nothing here talks to the mail server: each e-mail is written to the outbox
(``jobs.mail.queue_email``) and a worker sends it, retrying failures. A request that saved
an answer or an approval therefore never fails because the mail server does. Bulk sends for
a whole round are jobs (``survey_emails``) with progress in the admin.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import runner
from jobs.mail import EMAIL_KINDS, queue_email
from resourcemap.models import Municipality

from . import selectors, services
from .models import Invitation, Response, SurveyRound

log = logging.getLogger(__name__)

EMAILS_KIND = "survey_emails"
EMAIL_KINDS.update({
    "invitation": gettext_lazy("調査の案内"),
    "reminder": gettext_lazy("催促"),
    "receipt": gettext_lazy("受付の控え"),
    "review_result": gettext_lazy("確認の結果"),
    "staff_notice": gettext_lazy("職員への通知"),
})


def provider_address(provider) -> str:
    """Where survey mail goes: the private contact e-mail, else the public one."""
    return provider.contact_email or provider.email


def _context(invitation: Invitation) -> dict:
    return {
        "invitation": invitation,
        "provider": invitation.provider,
        "survey_round": invitation.survey_round,
        "url": services.invitation_url(invitation),
        "code": services.invitation_code(invitation),
        "start_url": services.start_url(),
        "municipality": Municipality.current(),
    }


def stamp_invitation(email, *, invitation: int, field: str) -> None:
    """After-send hook: the invitation records when its e-mail actually went out."""
    if field in ("emailed_at", "reminded_at"):
        Invitation.objects.filter(pk=invitation).update(**{field: timezone.now()})


def _send_invitations(invitations, *, template: str, subject: str, stamp: str,
                      progress=None) -> tuple[int, int]:
    """Queue one e-mail per usable invitation with an address; returns (queued, skipped)."""
    sent = skipped = 0
    invitations = invitations.select_related("survey_round", "provider")
    total = invitations.count() if progress else 0
    for i, invitation in enumerate(invitations.iterator(chunk_size=200), start=1):
        to = provider_address(invitation.provider)
        if not to or not invitation.is_usable:
            skipped += 1
        else:
            body = render_to_string(template, _context(invitation))
            email = queue_email(
                kind="invitation" if stamp == "emailed_at" else "reminder", to=[to], subject=subject % {"round": invitation.survey_round.name},
                body=body, dedupe_key=f"invitation:{invitation.pk}:{stamp}",
                on_sent="surveys.emails.stamp_invitation",
                on_sent_args={"invitation": invitation.pk, "field": stamp},
            )
            if email is None:
                skipped += 1
            else:
                sent += 1
        if progress and (i % 50 == 0 or i == total):
            progress(i, total)
    return sent, skipped


def send_invitations(invitations, progress=None) -> tuple[int, int]:
    return _send_invitations(
        invitations, template="surveys/email/invitation.txt",
        subject=_("【ご協力のお願い】%(round)s"), stamp="emailed_at", progress=progress,
    )


def send_reminders(invitations, progress=None) -> tuple[int, int]:
    """Reminders go only to providers that have not answered."""
    return _send_invitations(
        selectors.unanswered(invitations), template="surveys/email/reminder.txt",
        subject=_("【再送】%(round)s へのご回答のお願い"), stamp="reminded_at", progress=progress,
    )


def start_round_emails(survey_round: SurveyRound, *, which: str, user=None,
                       invitation_ids: list[int] | None = None):
    """Queue a job that writes the round's invitation (or reminder) e-mails to the outbox."""
    params = {"round": survey_round.pk, "which": which}
    if invitation_ids is not None:
        params["ids"] = list(invitation_ids)
    return runner.start(EMAILS_KIND, params=params, scope=f"surveyround:{survey_round.pk}", user=user)


@runner.register_kind(EMAILS_KIND, label=gettext_lazy("案内・催促メール"),
                      permission="surveys.change_invitation")
def round_emails_job(job, progress) -> str:
    survey_round = SurveyRound.objects.get(pk=job.params["round"])
    invitations = selectors.live_invitations(survey_round)
    if "ids" in job.params:
        invitations = invitations.filter(pk__in=job.params["ids"])
    if job.params.get("which") == "reminders":
        sent, skipped = send_reminders(invitations, progress=progress)
    else:
        if "ids" not in job.params:
            invitations = invitations.filter(emailed_at__isnull=True)
        sent, skipped = send_invitations(invitations, progress=progress)
    return _("%(sent)s 件を送信待ちにしました、メールなし等 %(skipped)s 件。") % {
        "sent": sent, "skipped": skipped}


def _send_to_respondent(response: Response, *, kind: str, template: str, subject: str, **extra) -> bool:
    """One e-mail about a response to whoever answered (else the provider); False: no address."""
    to = response.respondent_email or provider_address(response.provider)
    if not to:
        return False
    body = render_to_string(template, {
        "response": response,
        "provider": response.provider,
        "survey_round": response.survey_round,
        "municipality": Municipality.current(),
        **extra,
    })
    return queue_email(
        kind=kind, to=[to], body=body, subject=subject % {"round": response.survey_round.name},
    ) is not None


def send_receipt(response: Response) -> bool:
    return _send_to_respondent(
        response, kind="receipt", template="surveys/email/receipt.txt",
        subject=_("【受付】%(round)s へのご回答を受け付けました"), rows=services.changed_rows(response),
    )


def send_review_result(response: Response) -> bool:
    return _send_to_respondent(
        response, kind="review_result", template="surveys/email/review_result.txt",
        subject=_("%(round)s のご回答について"),
    )


def notify_staff_registration(provider) -> None:
    queue_email(
        kind="staff_notice", to=[addr for _name, addr in settings.ADMINS],
        subject=settings.EMAIL_SUBJECT_PREFIX + _("新規登録の申込: %(name)s") % {"name": provider.name},
        body=_("管理画面の「新規登録の申込」で内容を確認してください。"),
    )
