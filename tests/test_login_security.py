"""Back office login: lockout by user and by address, unlock by a staff admin, password length,
staff sessions that end after idle time and when the browser closes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def _try(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_repeated_wrong_passwords_lock_the_user_with_a_clear_message(staff_user, settings):
    client = Client(REMOTE_ADDR="192.0.2.10")
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        page = _try(client, "staff", "wrong-password-123")
        assert page.status_code == 200
        assert "正しいユーザー名とパスワードを入力してください" in page.content.decode() or page.context[
            "form"
        ].errors
    locked = _try(client, "staff", "wrong-password-123")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "ログインを一時的に止めています" in text
    assert f"{settings.AXES_FAILURE_LIMIT}回続いた" in text
    assert "30分ほど待って" in text
    assert "アクセス試行" in text  # how a staff admin unlocks
    assert locked["Retry-After"] == "1800"
    # Now even the right password is refused for this user, also from another address.
    assert _try(Client(REMOTE_ADDR="198.51.100.3"), "staff", "pass-Word-1234").status_code == 429


def test_one_address_trying_many_users_is_locked_too(staff_user, settings):
    client = Client(REMOTE_ADDR="192.0.2.11")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _try(client, f"nobody{i}", "wrong-password-123")
    assert _try(client, "staff", "pass-Word-1234").status_code == 429
    # The staff member at another address still logs in.
    other = _try(Client(REMOTE_ADDR="198.51.100.4"), "staff", "pass-Word-1234")
    assert other.status_code == 302


def test_lockout_ends_after_the_cool_off_time(staff_user, settings):
    with time_machine.travel(START, tick=False) as clock:
        client = Client(REMOTE_ADDR="192.0.2.12")
        for _i in range(settings.AXES_FAILURE_LIMIT):
            _try(client, "staff", "wrong-password-123")
        assert _try(client, "staff", "pass-Word-1234").status_code == 429
        clock.shift(dt.timedelta(minutes=31))
        assert _try(client, "staff", "pass-Word-1234").status_code == 302


def test_a_staff_admin_unlocks_in_the_admin(staff_user, settings):
    from axes.models import AccessAttempt

    client = Client(REMOTE_ADDR="192.0.2.13")
    for _i in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "staff", "wrong-password-123")
    assert _try(client, "staff", "pass-Word-1234").status_code == 429
    admin = User.objects.create_superuser("chief", password="chief-pass-Word-1234")
    boss = Client()
    boss.force_login(admin)
    listing = boss.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "staff" in listing.content.decode()
    attempts = list(AccessAttempt.objects.filter(username="staff").values_list("pk", flat=True))
    assert attempts
    done = boss.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert done.status_code == 302
    assert _try(client, "staff", "pass-Word-1234").status_code == 302


def test_passwords_need_twelve_characters():
    with pytest.raises(ValidationError) as error:
        validate_password("Kx9#mQ2$vL4")  # 11 characters
    assert "12" in " ".join(error.value.messages)
    validate_password("Kx9#mQ2$vL4!")  # 12 characters


def test_staff_session_ends_when_the_browser_closes_and_after_idle_time(staff_user, settings):
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        assert _try(client, "staff", "pass-Word-1234").status_code == 302
        page = client.get("/admin/")
        assert page.status_code == 200
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["max-age"] == "" and cookie["expires"] == "", "a browser-session cookie"
        clock.shift(dt.timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES - 1))
        assert client.get("/admin/").status_code == 200  # still active: the clock restarts
        clock.shift(dt.timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES - 1))
        assert client.get("/admin/").status_code == 200
        clock.shift(dt.timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES + 1))
        gone = client.get("/admin/resourcemap/provider/")
        assert gone.status_code == 302
        assert gone["Location"] == "/admin/login/?next=%2Fadmin%2Fresourcemap%2Fprovider%2F"
        login_page = client.get(gone["Location"])
        assert "操作がなかったため、安全のためログアウトしました" in login_page.content.decode()
        assert client.get("/admin/").status_code == 302


def test_idle_time_is_configurable(staff_user, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 5
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        _try(client, "staff", "pass-Word-1234")
        assert client.get("/admin/").status_code == 200
        clock.shift(dt.timedelta(minutes=6))
        assert client.get("/admin/").status_code == 302


def test_the_printed_development_password_opens_nothing_in_production(settings):
    """`make run` creates admin / admin-pass-1234 and prints it; a database first used that way
    and then put in production keeps that account. With DEBUG off that password is refused
    for every user (a changed password works)."""
    from resourcemap.management.commands.ensure_dev_staff import PASSWORD, USERNAME

    settings.DEBUG = False
    user = User.objects.create_user(USERNAME, password=PASSWORD, is_staff=True, is_superuser=True)
    other = User.objects.create_user("kept-dev-pass", password=PASSWORD, is_staff=True)
    for name in (user.username, other.username):
        page = _try(Client(REMOTE_ADDR="192.0.2.40"), name, PASSWORD)
        assert page.status_code == 200 and "_auth_user_id" not in page.client.session, name
    user.set_password("a-real-Password-2026")
    user.save()
    assert _try(Client(REMOTE_ADDR="192.0.2.41"), USERNAME, "a-real-Password-2026").status_code == 302
    # In development the printed login works as printed.
    settings.DEBUG = True
    assert _try(Client(REMOTE_ADDR="192.0.2.42"), "kept-dev-pass", PASSWORD).status_code == 302
