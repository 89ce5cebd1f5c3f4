"""The README's production layout with N = 2 app servers and M = 2 workers: two gunicorn
servers (different ports) behind a reverse proxy (``TRUSTED_PROXIES=127.0.0.1``; every request
carries the ``X-Forwarded-For`` the proxy adds) and two ``manage.py worker`` processes, on one
PostgreSQL, sharing the file storage. A letters job started on server A is done by a worker;
the worker running it is stopped in the middle (a systemd restart) and the other worker
finishes it; the file is downloadable from server B. Rate limits are per visitor behind the
proxy and shared by the servers, per client and for all access codes together, and the
rightful provider's link still opens on either server."""

import datetime as dt
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs.models import Job
from resourcemap.models import ProviderType
from resourcemap.reference import editor_group_name
from surveys import services
from surveys.models import SurveyRound
from tests.factories import make_provider

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="the shared-server layout is a PostgreSQL deployment"),
    pytest.mark.django_db(transaction=True),
]


CODE_ALL_LIMIT = 15
WORKERS = ("worker-1", "worker-2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One staff member's browser: the same cookies go to both servers (same host)."""

    def __init__(self, address: str = "192.0.2.10"):
        self.address = address  # the visitor's address, as the proxy forwards it
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, url, data=None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
                url, data=body, headers={"X-Forwarded-For": self.address})
            with self.opener.open(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post_form(self, url, data):
        self.request(url)  # the page sets the CSRF cookie
        return self.request(url, {**data, "csrfmiddlewaretoken": self.csrf()})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _wait_http(url, proc, log):
    for _ in range(150):
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {Path(log).read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - http://127.0.0.1 only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server did not start: {Path(log).read_text()[-2000:]}")


def _wait(predicate, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def layout(tmp_path, reference):
    """Start server A, server B and one worker with production settings on the test database."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in {"ALLOW_DEV_SECRET"}}
    env.update(
        DEBUG="0", TESTING="1", TASKS_IMMEDIATE="0", DATABASE_URL=url, CONN_MAX_AGE="0",
        SECRET_KEY="multi-server-test-" + "s" * 40, MEDIA_ROOT=str(tmp_path / "shared-media"),
        ALLOWED_HOSTS="127.0.0.1", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        TRUSTED_PROXIES="127.0.0.1", RATELIMIT_SURVEY_CODE="10/m",
        RATELIMIT_SURVEY_CODE_ALL=f"{CODE_ALL_LIMIT}/h",
    )
    procs: dict[str, subprocess.Popen] = {}
    logs = {}

    def start(name, args):
        logs[name] = tmp_path / f"{name}.log"
        procs[name] = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=open(logs[name], "w"), stderr=subprocess.STDOUT,
        )
        return procs[name]

    ports = {}
    for name in ("a", "b"):
        ports[name] = _free_port()
        start(name, [str(ROOT / ".venv/bin/gunicorn"), "resourcemap.wsgi", "--bind",
                     f"127.0.0.1:{ports[name]}", "--workers", "2"])
    for name in WORKERS:  # as resourcemap-worker@1 and @2 (README "Workers")
        start(name, [sys.executable, "manage.py", "worker", "--interval", "0.2", "--worker-id", name])
    for name in ("a", "b"):
        _wait_http(f"http://127.0.0.1:{ports[name]}/admin/login/", procs[name], logs[name])

    def stop(name):
        proc = procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    yield {"a": f"http://127.0.0.1:{ports['a']}", "b": f"http://127.0.0.1:{ports['b']}",
           "stop": stop, "procs": procs, "logs": logs}
    for name in list(procs):
        stop(name)


def _staff_browser(base, django_user_model):
    user = django_user_model.objects.create_user("multi", password="pass-Word-1234-long", is_staff=True)
    user.groups.add(Group.objects.get(name=editor_group_name()))
    browser = Browser()
    status, headers, _body = browser.post_form(
        f"{base}/admin/login/", {"username": "multi", "password": "pass-Word-1234-long", "next": "/admin/"})
    assert status == 302, status
    return browser


def test_letters_job_started_on_a_is_downloadable_from_b_and_survives_a_worker_restart(
    layout, django_user_model, tmp_path,
):
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="複数サーバーの調査", opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=30))
    survey_round.provider_types.set(ProviderType.objects.all())
    for i in range(220):
        make_provider(name=f"複数サーバー医院{i:03d}")
    services.issue_round(survey_round=survey_round)
    browser = _staff_browser(layout["a"], django_user_model)

    letters_path = f"/admin/surveys/surveyround/{survey_round.pk}/letters/"
    status, headers, _ = browser.post_form(layout["a"] + letters_path, {})
    assert status == 302
    job = Job.objects.get(kind="survey_letters")

    # Stop the worker running it in the middle (a systemd restart): the job goes back on the
    # queue and the other worker finishes it.
    _wait(lambda: Job.objects.filter(pk=job.pk, done__gt=0).exists(), what="first chunk")
    running = DBTaskResult.objects.get(id=job.task_id).worker_ids[-1]
    assert running in WORKERS
    layout["stop"](running)
    assert layout["procs"][running].returncode == 0
    other = next(name for name in WORKERS if name != running)
    _wait(lambda: Job.objects.filter(pk=job.pk, status__in=["done", "failed"]).exists(),
          what="letters job")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, (job.error, layout["logs"][running].read_text()[-2000:])
    assert job.attempts == 2 and (job.done, job.total) == (220, 220)
    assert DBTaskResult.objects.get(id=job.task_id).worker_ids[-1] == other

    # Server B lists the job and serves its file from the shared storage.
    status, _h, page = browser.request(layout["b"] + letters_path)
    assert status == 200
    download = f"/admin/jobs/job/{job.pk}/download/"
    assert download in page.decode()
    status, headers, body = browser.request(layout["b"] + download)
    assert status == 200 and body.startswith(b"%PDF")
    assert "attachment" in headers.get("Content-Disposition", "")
    out = tmp_path / "letters.pdf"
    out.write_bytes(body)
    pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+220$", pages, re.M)
    # Not reachable without login, from either server.
    for base in (layout["a"], layout["b"]):
        status, headers, _ = Browser().request(base + download)
        assert status == 302 and "/admin/login/" in headers["Location"]


def _guess(browser, base) -> int:
    status, _h, _b = browser.post_form(base + "/survey/", {"code": "ABCD-EFGH-JKMN"})
    return status


def test_rate_limits_behind_the_proxy_are_shared_by_the_servers(layout, reference):
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="制限の調査", opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=30))
    survey_round.provider_types.set(ProviderType.objects.all())
    provider = make_provider(name="正しい医院")
    services.issue_round(survey_round=survey_round)
    token = services.invitation_token(survey_round.invitations.get(provider=provider))

    # One guesser, seen by its own forwarded address: limited on A, and so on B.
    guesser = Browser("198.51.100.9")
    statuses = [_guess(guesser, layout["a"]) for _ in range(11)]
    assert statuses == [404] * 10 + [429], statuses
    assert _guess(Browser("198.51.100.9"), layout["b"]) == 429
    # Another visitor behind the same proxy is not locked out.
    assert _guess(Browser("198.51.100.77"), layout["b"]) == 404
    # Many addresses over both servers meet the limit for all access codes together (13 tries
    # so far): one invitation cannot be guessed from many addresses either.
    spread = [_guess(Browser(f"203.0.113.{i}"), layout["ab"[i % 2]]) for i in range(4)]
    assert spread == [404] * (CODE_ALL_LIMIT - 13) + [429] * (4 - (CODE_ALL_LIMIT - 13)), spread
    # The rightful provider still gets in by the letter's link, on either server.
    for base in (layout["a"], layout["b"]):
        status, headers, _b = Browser("203.0.113.200").request(f"{base}/survey/t/{token}/")
        assert status == 303 and headers["Location"].endswith("/survey/form/")
