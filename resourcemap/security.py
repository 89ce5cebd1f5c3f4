"""Back office session rules: staff sessions end when the browser closes and after a time without
any request (STAFF_SESSION_IDLE_MINUTES, README "Configuration"); change lists filter only on
fields the staff member may see; request bodies larger than any upload may be are refused
before they are read."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode
from django.utils.translation import gettext as _

# The development login that `make run` prints (manage.py ensure_dev_staff, DEBUG only).
DEV_STAFF_PASSWORD = "admin-pass-1234"  # noqa: S105 - public on purpose; refused without DEBUG
LAST_SEEN_KEY = "staff_last_seen"
# Write the time of the last request at most this often (every request would be a session save).
_TOUCH_EVERY = 30


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            session = request.session
            now = time.time()
            last_seen = session.get(LAST_SEEN_KEY)
            idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
            if isinstance(last_seen, (int, float)) and now - last_seen > idle:
                logout(request)
                messages.warning(
                    request,
                    _("%(minutes)d分以上操作がなかったため、安全のためログアウトしました。もう一度ログインしてください。")
                    % {"minutes": settings.STAFF_SESSION_IDLE_MINUTES},
                )
                login = reverse("admin:login")
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
            if not session.get_expire_at_browser_close():
                session.set_expiry(0)  # a browser-session cookie: gone when the browser closes
            if not isinstance(last_seen, (int, float)) or now - last_seen >= _TOUCH_EVERY:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class GuardedLookupsMixin:
    """For ModelAdmins: URL filters only on fields the staff member may see.

    Django's change list accepts a filter on any field of its model from the URL
    (``?contact_email__startswith=a``), not only the offered ones; whether a row is then
    listed answers yes or no about a value the page never shows, and repeated character by
    character it spells the value. ``private_lookups`` (the survey contact and its copies)
    may be filtered on only with ``Provider.PRIVATE_CONTACT_PERMISSION``, ``secret_lookups``
    (e-mail bodies, which hold survey links) by nobody: the change list answers 400.
    """

    private_lookups: tuple[str, ...] = ()
    secret_lookups: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        field = lookup.split(LOOKUP_SEP, 1)[0]
        if field in self.secret_lookups:
            return False
        if field in self.private_lookups:
            from .models import Provider

            if request is None or not Provider.may_see_private_contact(request.user):
                return False
        return super().lookup_allowed(lookup, value, request)


class ContactFieldsMixin(GuardedLookupsMixin):
    """For ModelAdmins of rows that hold a person's contact (a registration's applicant, a
    correction's reporter): ``contact_fields`` are listed, shown and filtered on only with
    ``Provider.PRIVATE_CONTACT_PERMISSION``, like the survey contact."""

    contact_fields: tuple[str, ...] = ()

    @staticmethod
    def _may_see(request) -> bool:
        from .models import Provider

        return Provider.may_see_private_contact(request.user)

    def _without_contact(self, request, names):
        if self._may_see(request):
            return names
        return tuple(name for name in names if name not in self.contact_fields)

    def get_list_display(self, request):
        return self._without_contact(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._without_contact(request, super().get_fields(request, obj))

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split(LOOKUP_SEP, 1)[0] in self.contact_fields and (request is None or not self._may_see(request)):
            return False
        return super().lookup_allowed(lookup, value, request)


class StaffPasswordBackend(ModelBackend):
    """Django's user/password login, except that with DEBUG off the development password
    (printed by `make run`, written in the README) opens no account: a database first used
    for development keeps that login when it is put in production."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEBUG and password is not None and constant_time_compare(password, DEV_STAFF_PASSWORD):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes: the page for a locked-out back office login (429, in the admin's look)."""
    from django.contrib import admin

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **admin.site.each_context(request),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": minutes,
        "title": _("ログインを一時的に止めています"),
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than the largest upload (``MAX_REQUEST_BYTES``) with 413,
    by its declared length and before anything reads it: an oversized import file is not first
    written to the server's disk and then refused by the form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:
            from . import spreadsheet_limits

            message = _("ファイルが大きすぎます（%(mb)dMBまで）。") % {
                "mb": spreadsheet_limits.MAX_UPLOAD // (1024 * 1024)}
            response = render(request, "413.html", {"message": message}, status=413)
            response["Connection"] = "close"  # the unread body is not kept on the connection
            return response
        return self.get_response(request)
