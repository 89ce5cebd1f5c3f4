"""The e-mail outbox: requests record e-mails, workers send them and retry failures.

``queue_email`` never raises into the caller's request: a saved survey answer or approval
shows its page even when the mail server is down. Each e-mail is sent by its own task; a
failure is recorded on the row and tried again after a growing delay (``EMAIL_RETRY_DELAYS``)
by the worker's sweep, then marked 送信できず for staff to see and resend from the admin.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .compat import task
from .models import OutgoingEmail

log = logging.getLogger(__name__)

# Labels of e-mail kinds for the admin, filled by the apps that send them.
EMAIL_KINDS: dict[str, str] = {}

# Seconds to wait before the 2nd, 3rd, ... try; after the last the e-mail is marked failed.
DEFAULT_RETRY_DELAYS = (60, 300, 1800, 7200)
# A send that started this long ago and never finished (worker killed) is tried again.
SENDING_TIMEOUT = dt.timedelta(minutes=10)


def retry_delays() -> tuple[int, ...]:
    return tuple(getattr(settings, "EMAIL_RETRY_DELAYS", DEFAULT_RETRY_DELAYS))


def queue_email(*, kind: str, to: list[str], subject: str, body: str, dedupe_key: str = "",
                on_sent: str = "", on_sent_args: dict | None = None) -> OutgoingEmail | None:
    """Record an e-mail and put its sending on the queue. Returns None when nothing was
    recorded (no address, already pending, or the database refused: logged, never raised)."""
    to = [addr for addr in to if addr]
    if not to:
        return None
    try:
        with transaction.atomic():
            if dedupe_key and OutgoingEmail.objects.filter(
                dedupe_key=dedupe_key,
                status__in=(OutgoingEmail.Status.PENDING, OutgoingEmail.Status.SENDING),
            ).exists():
                return None
            now = timezone.now()
            email = OutgoingEmail.objects.create(
                kind=kind, to=to, subject=subject[:300], body=body, dedupe_key=dedupe_key,
                on_sent=on_sent, on_sent_args=on_sent_args or {}, next_attempt_at=now,
                queued_at=now,
            )
            send_email.enqueue(email.pk)
    except Exception:  # noqa: BLE001 - the user's saved work must not turn into an error page
        log.exception("could not queue %s e-mail", kind)
        return None
    return email


def resend(email: OutgoingEmail) -> None:
    """Staff action: try a failed (or waiting) e-mail again now."""
    now = timezone.now()
    updated = OutgoingEmail.objects.filter(
        pk=email.pk, status__in=(OutgoingEmail.Status.FAILED, OutgoingEmail.Status.PENDING),
    ).update(status=OutgoingEmail.Status.PENDING, next_attempt_at=now, queued_at=now, attempts=0)
    if updated:
        send_email.enqueue(email.pk)


@task()
def send_email(email_id: int) -> str:
    """Send one outbox e-mail (``jobs.mail.send_email``). Claims the row first, so a duplicate
    task never sends the same e-mail twice."""
    now = timezone.now()
    claimed = OutgoingEmail.objects.filter(
        pk=email_id, status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now,
    ).update(status=OutgoingEmail.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    if not claimed:
        return "skipped"
    email = OutgoingEmail.objects.get(pk=email_id)
    try:
        EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, email.to).send()
    except Exception as error:  # noqa: BLE001 - recorded and retried
        delays = retry_delays()
        failed_for_good = email.attempts > len(delays)
        log.warning("e-mail %s (%s) failed, try %s: %r", email.pk, email.kind, email.attempts, error)
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.FAILED if failed_for_good else OutgoingEmail.Status.PENDING,
            last_error=repr(error)[:2000],
            next_attempt_at=None if failed_for_good
            else timezone.now() + dt.timedelta(seconds=delays[email.attempts - 1]),
        )
        return "failed" if failed_for_good else "retry"
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), last_error="",
    )
    if email.on_sent:
        try:
            import_string(email.on_sent)(email, **email.on_sent_args)
        except Exception:  # noqa: BLE001 - the e-mail went out; the stamp is secondary
            log.exception("after-send hook of e-mail %s failed", email.pk)
    return "sent"


def sweep() -> int:
    """Put due retries on the queue and free sends interrupted by a dead worker.
    Run by every worker every few seconds; returns the number of e-mails queued."""
    now = timezone.now()
    OutgoingEmail.objects.filter(
        status=OutgoingEmail.Status.SENDING, next_attempt_at__lt=now - SENDING_TIMEOUT,
    ).update(status=OutgoingEmail.Status.PENDING, next_attempt_at=now)
    due = list(
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=F("next_attempt_at")))
        .values_list("pk", flat=True)[:500]
    )
    for pk in due:
        with transaction.atomic():
            OutgoingEmail.objects.filter(pk=pk).update(queued_at=now)
            send_email.enqueue(pk)
    return len(due)
