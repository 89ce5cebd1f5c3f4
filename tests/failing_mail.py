"""An e-mail backend whose server is down (EMAIL_BACKEND in tests of mail failures)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class DownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPConnectError(421, "mail server unavailable")
