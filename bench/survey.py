"""Benchmark of the yearly survey at ward scale: 3,000 providers.

- Letters: the ``survey_letters`` command for every invitation (one A4 page each), in a child
  process; wall time and the child's peak memory (max RSS).
- Staff pages with 3,000 responses: the review queue (first page, filtered), one review page,
  the round dashboard and the non-respondent CSV; median page time.

Runs against a throw-away SQLite database unless DATABASE_URL is set (use a scratch database:
it is migrated and filled with fictional providers written by ``bulk_create``).

    .venv/bin/python bench/survey.py [--count 3000] [--repeat 5] [--skip-letters]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _common  # noqa: E402

_TMP = _common.scratch_dir("bench-survey-")  # removed at exit: nothing left behind
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("MEDIA_ROOT", f"{_TMP}/media")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from resourcemap import providers as provider_service  # noqa: E402
from resourcemap.models import Area, Provider, ProviderType  # noqa: E402
from resourcemap.reference import load_reference  # noqa: E402
from surveys import services  # noqa: E402
from surveys.models import Response, SurveyRound  # noqa: E402

KATA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def prepare(count: int) -> SurveyRound:
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    load_reference()
    rng = random.Random(42)
    types = list(ProviderType.objects.all())
    districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
    have = Provider.objects.count()
    Provider.objects.bulk_create(
        [
            Provider(
                name=f"ベンチ事業所{i}",
                kana="".join(rng.choice(KATA) for _ in range(8)),
                provider_type=rng.choice(types),
                postal_code=f"15{rng.randint(4, 8)}-{rng.randint(0, 9999):04d}",
                address=f"東京都世田谷区用賀{rng.randint(1, 4)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                building="ベンチビル3階" if i % 3 == 0 else "",
                latitude=Decimal(f"{35.62 + rng.random() * 0.04:.6f}"),
                longitude=Decimal(f"{139.60 + rng.random() * 0.06:.6f}"),
                area=rng.choice(districts),
                phone=f"03-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}",
                contact_person="担当 太郎" if i % 2 else "",
                contact_email=f"office{i}@example.jp" if i % 4 else "",
                is_demo=True,
            )
            for i in range(have, count)
        ],
        batch_size=500,
    )
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="令和8年度 在宅療養資源調査（ベンチ）", opens_on=today - dt.timedelta(days=10),
        closes_on=today + dt.timedelta(days=30),
    )
    survey_round.provider_types.set(types)
    services.issue_round(survey_round=survey_round)
    return survey_round


def fill_responses(survey_round: SurveyRound) -> int:
    """One response per invitation: most 'no change', every third a phone/FAX change."""
    responses = []
    for n, invitation in enumerate(survey_round.invitations.select_related("provider")):
        snapshot = provider_service.provider_snapshot(invitation.provider) if n % 3 == 0 else {}
        update = n % 3 == 0
        responses.append(Response(
            invitation=invitation, survey_round=survey_round, provider=invitation.provider,
            kind=Response.Kind.UPDATE if update else Response.Kind.NO_CHANGE,
            proposed={"phone": "03-0000-0000", "fax": "03-0000-0001"} if update else {},
            snapshot=snapshot,
            status=[Response.Status.NEW, Response.Status.IN_REVIEW, Response.Status.APPROVED][n % 3],
        ))
    Response.objects.bulk_create(responses, batch_size=500)
    return len(responses)


def time_letters(survey_round: SurveyRound) -> tuple[float, float, int]:
    out = Path(_TMP) / "letters.pdf"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "survey_letters", "--round", str(survey_round.pk),
         "--out", str(out), "--verbosity", "0"],
        check=True, env=os.environ.copy(),
    )
    elapsed = time.monotonic() - started
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    from pypdf import PdfReader

    pages = len(PdfReader(str(out)).pages)
    return elapsed, peak_mb, pages


def time_pages(survey_round: SurveyRound, repeat: int) -> dict[str, float]:
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    some = Response.objects.filter(survey_round=survey_round, kind=Response.Kind.UPDATE).first()
    urls = {
        "review queue (100 per page)": "/admin/surveys/response/",
        "review queue, filtered new + round": f"/admin/surveys/response/?status__exact=new&survey_round__id__exact={survey_round.pk}",
        "one review page (diff)": f"/admin/surveys/response/{some.pk}/change/",
        "round dashboard": f"/admin/surveys/surveyround/{survey_round.pk}/dashboard/",
        "non-respondent CSV": f"/admin/surveys/surveyround/{survey_round.pk}/nonrespondents.csv",
    }
    results = {}
    for label, url in urls.items():
        times = []
        for _i in range(repeat):
            started = time.monotonic()
            response = client.get(url)
            times.append(time.monotonic() - started)
            assert response.status_code == 200, (url, response.status_code)
        results[label] = statistics.median(times) * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-letters", action="store_true")
    args = parser.parse_args()
    print(f"database: {os.environ['DATABASE_URL']}")
    started = time.monotonic()
    survey_round = prepare(args.count)
    invitations = survey_round.invitations.count()
    tag = f"[survey] {Provider.objects.count():,} providers, {invitations:,} invitations"
    print(f"{tag}: prepared in {time.monotonic() - started:.1f}s")
    if not args.skip_letters:
        elapsed, peak_mb, pages = time_letters(survey_round)
        print(f"{tag}: letters {pages:,} pages in {elapsed:.1f}s ({pages / elapsed:.0f} pages/s), "
              f"peak memory {peak_mb:.0f} MB")
    n = fill_responses(survey_round)
    print(f"{tag}: responses {n:,}")
    for label, ms in time_pages(survey_round, args.repeat).items():
        print(f"{tag}: {label} {ms:.0f} ms (median of {args.repeat})")


if __name__ == "__main__":
    main()
