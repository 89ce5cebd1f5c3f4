"""E-mail to providers (invitations, reminders, receipts, review results) and to staff."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import get_connection, mail_admins, send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from resourcemap.models import Municipality

from . import services
from .models import Invitation, Response

log = logging.getLogger(__name__)


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


def _send_invitations(invitations, *, template: str, subject: str, stamp: str) -> tuple[int, int]:
    sent = skipped = 0
    connection = get_connection()
    for invitation in invitations.select_related("survey_round", "provider"):
        to = provider_address(invitation.provider)
        if not to or not invitation.is_usable:
            skipped += 1
            continue
        body = render_to_string(template, _context(invitation))
        send_mail(
            subject % {"round": invitation.survey_round.name}, body,
            settings.DEFAULT_FROM_EMAIL, [to], connection=connection,
        )
        Invitation.objects.filter(pk=invitation.pk).update(**{stamp: timezone.now()})
        sent += 1
    return sent, skipped


def send_invitations(invitations) -> tuple[int, int]:
    return _send_invitations(
        invitations, template="surveys/email/invitation.txt",
        subject=_("【ご協力のお願い】%(round)s"), stamp="emailed_at",
    )


def send_reminders(invitations) -> tuple[int, int]:
    """Reminders go only to providers that have not answered."""
    return _send_invitations(
        invitations.filter(response__isnull=True), template="surveys/email/reminder.txt",
        subject=_("【再送】%(round)s へのご回答のお願い"), stamp="reminded_at",
    )


def send_receipt(response: Response) -> bool:
    to = response.respondent_email or provider_address(response.provider)
    if not to:
        return False
    body = render_to_string("surveys/email/receipt.txt", {
        "response": response,
        "provider": response.provider,
        "survey_round": response.survey_round,
        "rows": services.changed_rows(response),
        "municipality": Municipality.current(),
    })
    send_mail(
        _("【受付】%(round)s へのご回答を受け付けました") % {"round": response.survey_round.name},
        body, settings.DEFAULT_FROM_EMAIL, [to],
    )
    return True


def send_review_result(response: Response) -> bool:
    to = response.respondent_email or provider_address(response.provider)
    if not to:
        return False
    body = render_to_string("surveys/email/review_result.txt", {
        "response": response,
        "provider": response.provider,
        "survey_round": response.survey_round,
        "municipality": Municipality.current(),
    })
    send_mail(
        _("%(round)s のご回答について") % {"round": response.survey_round.name},
        body, settings.DEFAULT_FROM_EMAIL, [to],
    )
    return True


def notify_staff_registration(provider) -> None:
    try:
        mail_admins(
            _("新規登録の申込: %(name)s") % {"name": provider.name},
            _("管理画面の「新規登録の申込」で内容を確認してください。"),
        )
    except Exception:  # noqa: BLE001 - notifying staff must not fail the provider's request
        log.exception("could not notify staff of a registration")
