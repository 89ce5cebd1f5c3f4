"""Stale data is flagged: not confirmed for more than 13 months shows 情報が古い可能性があります
（最終確認 …） on the provider page, in the list and on printed sheets. Frozen clock."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from resourcemap.templatetags.portal import is_stale, months_before
from tests.factories import make_provider
from tests.printing_helpers import pdf_text

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
FLAG = "情報が古い可能性があります（最終確認 2025年9月3日）"


def test_thirteen_months_boundary():
    assert months_before(dt.date(2026, 12, 1), 13) == dt.date(2025, 11, 1)
    assert months_before(dt.date(2026, 3, 31), 13) == dt.date(2025, 2, 28)

    class P:
        last_confirmed_on = dt.date(2025, 11, 1)

    assert not is_stale(P(), today=dt.date(2026, 12, 1))
    P.last_confirmed_on = dt.date(2025, 10, 31)
    assert is_stale(P(), today=dt.date(2026, 12, 1))
    P.last_confirmed_on = None
    assert not is_stale(P(), today=dt.date(2026, 12, 1))


def test_flag_on_page_list_and_print(client):
    old = make_provider(name="古い看護", type_code="nursing", last_confirmed_on=dt.date(2025, 9, 3))
    make_provider(name="新しい看護", type_code="nursing", last_confirmed_on=dt.date(2026, 6, 1))
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/providers/{old.pk}/").content.decode()
        listing = client.get("/", {"type": "nursing"}).content.decode()
        sheet = client.get("/print/", {"type": "nursing"}).content.decode()
        pdf = client.get("/print/pdf/", {"type": "nursing"}).content
        provider_sheet = client.get(f"/providers/{old.pk}/sheet/").content.decode()
        english = client.get(f"/en/providers/{old.pk}/").content.decode()
    assert FLAG in page
    assert listing.count(FLAG) == 1
    assert sheet.count(FLAG) == 1
    assert FLAG in provider_sheet
    text = pdf_text(pdf)
    assert "情報が古い可能性があります" in "".join(text.split())
    assert "may be out of date (last checked 3 September 2025)" in english


def test_english_pages_use_english_area_and_date_forms(client):
    provider = make_provider(name="成城の看護", name_en="Seijo Nursing", type_code="nursing",
                             area_code="seijo", last_confirmed_on=dt.date(2026, 9, 3))
    with time_machine.travel(NOW, tick=False):
        english = client.get(f"/en/providers/{provider.pk}/").content.decode()
        japanese = client.get(f"/providers/{provider.pk}/").content.decode()
        sheet = client.get(f"/en/providers/{provider.pk}/sheet/").content.decode()
    assert "Seijo district (Kinuta area)" in english
    assert "3 September 2026" in english and "2026年9月3日" not in english
    assert "成城地区（砧地域）" in japanese and "2026年9月3日" in japanese
    assert "Seijo district, Kinuta area" in sheet
