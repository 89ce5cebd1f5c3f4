import datetime as dt
import os

import pytest
import time_machine
from django.core.management import call_command

from tests.factories import ensure_reference

# Every test runs on a moving clock (tick=True) that starts at the same instant, so nothing
# depends on when the suite is run. `make test` runs SQLite under one clock and PostgreSQL under
# the other (TEST_CLOCK, see README "Tests and the clock"); a test that needs a particular
# moment travels there itself (time_machine).
TEST_CLOCKS = {
    # 00:05 JST is 15:05 UTC the day before (a holiday, 勤労感謝の日): the local and UTC dates differ.
    "midnight": "2026-11-24T00:05:00+09:00",
    # Late evening on a weekday: "night" opening, 30 minutes before the date changes.
    "evening": "2026-12-01T23:30:00+09:00",
}


def clock_start() -> dt.datetime | None:
    """The instant each test starts at: TEST_CLOCK=midnight (default), evening, an ISO
    datetime with offset, or "real" for the machine's clock."""
    name = os.environ.get("TEST_CLOCK", "midnight").strip() or "midnight"
    if name == "real":
        return None
    start = dt.datetime.fromisoformat(TEST_CLOCKS.get(name, name))
    if start.tzinfo is None:
        raise ValueError(f"TEST_CLOCK needs a UTC offset: {name}")
    return start.astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def _test_clock():
    start = clock_start()
    if start is None:
        yield
        return
    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Reference data (areas, types, capabilities) and the cache table, once per session."""
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)
        ensure_reference()


@pytest.fixture
def reference(db):
    """Reference data present (also after a transactional test flushed the database)."""
    ensure_reference()


@pytest.fixture
def staff_user(db):
    from django.contrib.auth.models import Group, User

    from resourcemap.reference import editor_group_name

    ensure_reference()
    user = User.objects.create_user("staff", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=editor_group_name()))
    return user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(reference):
    """A client logged in as view-only staff (区職員（閲覧）: no survey contact)."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from resourcemap.reference import viewer_group_name

    user = User.objects.create_user("viewer", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    """Generated files (letters, exports) go to a per-test storage directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _japanese_by_default():
    """Each test starts in the default language: a request to /en/ must not leak into the next."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_page_cache():
    """Rendered pages, reference data and search counts are cached per process: each test
    starts without them."""
    from django.core.cache import caches

    from resourcemap import search
    from resourcemap.search import result

    caches["pages"].clear()
    search._reference_cache.clear()
    result._counts.clear()
    yield
    caches["pages"].clear()
    search._reference_cache.clear()
    result._counts.clear()


def pytest_terminal_summary(terminalreporter):
    """Figures of the hostile-input run (tests/test_fuzz.py), when it ran."""
    import sys

    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is None or not fuzz.FIGURES["requests"]:
        return
    figures = fuzz.FIGURES
    terminalreporter.write_line(
        f"hostile input: {figures['requests']} requests over {len(figures['endpoints'])} "
        f"endpoints, {figures['5xx']} answered 5xx"
    )


@pytest.fixture(autouse=True)
def _empty_pdf_cache():
    """Rendered PDFs are cached on disk by data version: every test starts without them."""
    from django.core.cache import caches

    caches["pdfs"].clear()
    yield
