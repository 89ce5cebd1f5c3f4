"""Planning indicators: counts match the public search, history-based past counts, exports, access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcemap import indicators as ind
from resourcemap import indicators_views, providers, search
from resourcemap.models import (
    Area,
    AreaPopulation,
    Capability,
    KeyIndicator,
    Provider,
    ProviderChange,
    ProviderType,
)
from resourcemap.reference import viewer_group_name
from tests.factories import make_provider
from tests.printing_helpers import pdf_text

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=TOKYO)


def at(y, m, d):
    return time_machine.travel(dt.datetime(y, m, d, 12, 0, tzinfo=TOKYO), tick=False)


def _mixed_providers():
    """A small ward: several types, capabilities, areas and statuses (closed/pending are hidden)."""
    plan = [
        ("nursing", "yoga", {"h24": {}, "mitori": {}}, "active"),
        ("nursing", "yoga", {"h24": {}}, "suspended"),
        ("nursing", "seijo", {"h24": {}, "psychiatry": {}}, "active"),
        ("nursing", "ikejiri", {}, "active"),
        ("nursing", "seijo", {"h24": {}}, "closed"),
        ("nursing", "umegaoka", {"h24": {}}, "pending"),
        ("clinic", "yoga", {"home_visit": {}, "h24": {}}, "active"),
        ("clinic", "okusawa", {"home_visit": {}}, "active"),
        ("clinic", "karasuyama_d", {"home_visit": {}, "mitori": {}}, "active"),
        ("clinic", None, {"home_visit": {}}, "active"),
        ("pharmacy", "kyodo", {"home_pharmacy": {}}, "active"),
        ("pharmacy", "kyodo", {"home_pharmacy": {}, "h24": {}}, "closed"),
        ("dental", "taishido", {"home_dental": {}}, "active"),
    ]
    made = []
    for type_code, area, caps, status in plan:
        fields = {"status": status}
        if area is None:
            fields.update(area=None)
            made.append(make_provider(type_code=type_code, capabilities=caps, **fields))
        else:
            made.append(make_provider(type_code=type_code, area_code=area, capabilities=caps, **fields))
    return made


@pytest.fixture
def ward(reference):
    return _mixed_providers()


# ---------------------------------------------------------------------------------------------
# Counts = the public search


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_counts_equal_public_search_for_same_filters(ward, data):
    ref = ind.load_reference()
    rolled = ind.rollup(ind.current_counts(), ref)
    ptype = data.draw(st.sampled_from(ref.types), label="type")
    cap = data.draw(st.one_of(st.none(), st.sampled_from(ref.applicable.get(ptype.pk, [None]))), label="cap")
    areas = [None] + ref.regions + ref.all_districts
    area = data.draw(st.sampled_from(areas), label="area")
    if area is None:
        key = ind.WARD
    else:
        key = ("r" if area.level == Area.Level.REGION else "d", area.pk)
    expected = search.run(
        ind.search_params(ptype.code, cap.code if cap else None, area), with_conditions=False
    ).count
    assert rolled.get((ptype.pk, cap.pk if cap else ind.ALL, key), 0) == expected
    # ... and the link on that number opens exactly that search.
    url = ind.search_url(ptype.code, cap.code if cap else None, area)
    assert url.startswith("/?type=" + ptype.code)


def test_known_counts_and_ward_total_includes_providers_without_area(ward):
    ref = ind.load_reference()
    rolled = ind.rollup(ind.current_counts(), ref)
    nursing = ProviderType.objects.get(code="nursing")
    clinic = ProviderType.objects.get(code="clinic")
    h24 = Capability.objects.get(code="h24")
    home_visit = Capability.objects.get(code="home_visit")
    tamagawa = Area.objects.get(code="tamagawa")
    # closed and pending are not on the map; suspended is.
    assert rolled[(nursing.pk, h24.pk, ind.WARD)] == 3
    assert rolled[(nursing.pk, h24.pk, ("r", tamagawa.pk))] == 2
    assert rolled[(nursing.pk, ind.ALL, ind.WARD)] == 4
    assert rolled[(clinic.pk, home_visit.pk, ind.WARD)] == 4  # one without a 地区
    regions = sum(rolled.get((clinic.pk, home_visit.pk, ("r", r.pk)), 0) for r in ref.regions)
    assert regions == 3


def test_one_query_per_table_whatever_the_size(ward):
    with CaptureQueriesContext(connection) as small:
        ind.current_counts()
    make_provider(type_code="home_help", area_code="kitami", capabilities={"dementia": {}})
    make_provider(type_code="houkatsu", area_code="todoroki", capabilities={"acp": {}})
    with CaptureQueriesContext(connection) as bigger:
        ind.current_counts()
    assert len(small.captured_queries) == len(bigger.captured_queries) == 1
    ref = ind.load_reference()
    with CaptureQueriesContext(connection) as cov:
        ind.coverage(ref, dt.date(2026, 3, 10))
    assert len(cov.captured_queries) == 1


def test_staff_page_query_count_does_not_grow_with_data(staff_client, ward):
    url = reverse("admin_indicators")
    staff_client.get(url)  # warm session/permission caches
    with CaptureQueriesContext(connection) as first:
        assert staff_client.get(url).status_code == 200
    for code in ("kitami", "todoroki", "daizawa"):
        make_provider(type_code="nursing", area_code=code, capabilities={"h24": {}})
    with CaptureQueriesContext(connection) as second:
        staff_client.get(url)
    assert len(first.captured_queries) == len(second.captured_queries)
    assert len(first.captured_queries) < 30


# ---------------------------------------------------------------------------------------------
# As-of counts from the history


def _dated_story():
    with at(2025, 1, 10):
        a = make_provider(type_code="nursing", area_code="yoga", capabilities={"h24": {}})
        b = make_provider(type_code="nursing", area_code="yoga", capabilities={})
    with at(2025, 6, 1):
        providers.provider_update(
            provider=b, changes={}, capabilities={"h24": {}}, actor_kind="staff", source="test"
        )
    with at(2025, 9, 1):
        providers.provider_update(provider=a, changes={"status": "closed"}, actor_kind="staff", source="test")
    with at(2025, 10, 1):
        c = make_provider(type_code="nursing", area_code="seijo", capabilities={"h24": {}})
    with at(2026, 2, 1):
        providers.provider_update(provider=c, changes={"area": "ikejiri"}, actor_kind="staff", source="test")
        providers.provider_update(
            provider=b, changes={"provider_type": "kantaki"}, capabilities={}, actor_kind="staff",
            source="test",
        )
    return a, b, c


def test_as_of_counts_after_a_sequence_of_dated_changes(reference):
    _dated_story()
    nursing = ProviderType.objects.get(code="nursing").pk
    h24 = Capability.objects.get(code="h24").pk
    areas = {a.code: a.pk for a in Area.objects.all()}
    ref = ind.load_reference()
    days = [dt.date(2025, 1, 9), dt.date(2025, 3, 1), dt.date(2025, 7, 1), dt.date(2025, 9, 15),
            dt.date(2025, 10, 15), dt.date(2026, 3, 1)]
    with time_machine.travel(NOW, tick=False):
        past = ind.counts_at([ind.moment_for(d) for d in days])
    got = {d: ind.rollup(past[ind.moment_for(d)], ref) for d in days}

    def n(day, area=ind.WARD, cap=h24):
        return got[day].get((nursing, cap, area), 0)

    assert n(dt.date(2025, 1, 9)) == 0
    assert n(dt.date(2025, 3, 1)) == 1 and n(dt.date(2025, 3, 1), cap=ind.ALL) == 2
    assert n(dt.date(2025, 7, 1)) == 2
    assert n(dt.date(2025, 9, 15)) == 1  # A closed
    assert n(dt.date(2025, 10, 15)) == 2
    assert n(dt.date(2025, 10, 15), ("r", areas["kinuta"])) == 1
    assert n(dt.date(2026, 3, 1), ("r", areas["kinuta"])) == 0  # C moved
    assert n(dt.date(2026, 3, 1), ("r", areas["setagaya"])) == 1
    assert n(dt.date(2026, 3, 1)) == 1  # B became another type
    # Today's reconstruction is exactly the live count.
    with time_machine.travel(NOW, tick=False):
        now = ind.moment_for(dt.date(2026, 3, 10))
        assert ind.counts_at([now])[now] == ind.current_counts()


def test_as_of_reads_a_constant_number_of_queries(reference):
    _dated_story()
    moments = [ind.moment_for(dt.date(2025, m, 1)) for m in range(1, 13)]
    with CaptureQueriesContext(connection) as queries:
        ind.counts_at(moments)
    assert len(queries.captured_queries) <= 7


def test_staff_page_shows_difference_since_a_survey_round(staff_client, reference):
    from surveys.models import SurveyRound

    _dated_story()
    SurveyRound.objects.create(name="令和7年度調査", opens_on=dt.date(2025, 5, 1), closes_on=dt.date(2025, 7, 1))
    with time_machine.travel(NOW, tick=False):
        page = staff_client.get(reverse("admin_indicators")).content.decode()
        by_date = staff_client.get(reverse("admin_indicators"), {"at": "2025-03-01"}).content.decode()
    # Default comparison: the last closed survey round.
    assert "24時間対応（訪問看護ステーション）</strong>:\n        2 → <a" in page
    assert "令和7年度調査から −1" in page
    assert "2025-03-01 時点から ±0" in by_date
    assert "<svg" in page and "件数の推移" in page and "令和7年度調査: 2件" in page


def test_bad_comparison_dates_are_explained_not_500(staff_client, ward):
    for value in ("2999-01-01", "yesterday", "1800-01-01", "2025-02-30"):
        response = staff_client.get(reverse("admin_indicators"), {"at": value, "region": "<x>", "type": "zz"})
        assert response.status_code == 200
        assert "比べる日付" in response.content.decode()
    response = staff_client.get(reverse("admin_indicators"), {"round": "999999"})
    assert "選んだ調査が見つからない" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Page content: drill-down, population, gaps, coverage


def test_drill_down_to_districts_and_links_reproduce_the_search(staff_client, ward):
    response = staff_client.get(reverse("admin_indicators"), {"region": "tamagawa", "type": "nursing"})
    html = response.content.decode()
    assert "玉川地域の地区ごとの事業所の数" in html
    assert '<th scope="col">用賀</th>' in html
    assert 'href="/?type=nursing&amp;cap=h24&amp;district=yoga">2</a>' in html
    assert 'href="/?type=nursing&amp;cap=h24&amp;region=tamagawa">2</a>' in html
    assert "<caption" in html and 'scope="row"' in html


def test_population_per_10000_aged_65_and_demo_marking(staff_client, ward):
    tamagawa = Area.objects.get(code="tamagawa")
    AreaPopulation.objects.create(
        area=tamagawa, total=200_000, aged_65_plus=40_000, as_of=dt.date(2026, 1, 1),
        source="住民基本台帳", is_demo=True,
    )
    html = staff_client.get(reverse("admin_indicators"), {"type": "nursing"}).content.decode()
    # 2 stations with h24 in 玉川 / 40,000 people aged 65+ × 10,000 = 0.5
    assert "0.5" in html
    assert "架空の値（デモ）" in html and "住民基本台帳" in html and "2026-01-01" in html


def test_population_validation_in_admin(staff_client, reference):
    area = Area.objects.get(code="yoga")
    response = staff_client.post(
        reverse("admin:resourcemap_areapopulation_add"),
        {"area": area.pk, "total": "100", "aged_65_plus": "500", "as_of": "2026-01-01", "source": "x"},
    )
    assert response.status_code == 200
    assert "65歳以上の人口は、人口（総数）以下" in response.content.decode()
    assert not AreaPopulation.objects.exists()


def test_gaps_list_and_tiles_follow_key_indicators_data(staff_client, ward):
    html = staff_client.get(reverse("admin_indicators")).content.decode()
    assert "少ない地区" in html
    assert "ind-tile--zero" in html and "ind-tile--low" in html
    # 訪問服薬指導: only 経堂 has one (the closed one is not counted) -> listed with 1件
    assert 'href="/?cap=home_pharmacy&amp;district=kyodo">経堂</a> 1件' in html
    KeyIndicator.objects.all().delete()
    html = staff_client.get(reverse("admin_indicators")).content.decode()
    assert "ind-tile--zero" not in html


def test_survey_coverage_uses_the_last_12_months(staff_client, reference):
    with time_machine.travel(NOW, tick=False):
        make_provider(type_code="pharmacy", area_code="kyodo", last_confirmed_on=dt.date(2025, 3, 10))
        make_provider(type_code="pharmacy", area_code="kyodo", last_confirmed_on=dt.date(2025, 3, 9))
        make_provider(type_code="pharmacy", area_code="yoga")
        ref = ind.load_reference()
        cov = ind.coverage(ref, dt.date(2026, 3, 10))
        html = staff_client.get(reverse("admin_indicators"), {"type": "pharmacy"}).content.decode()
    pharmacy = ProviderType.objects.get(code="pharmacy").pk
    setagaya = Area.objects.get(code="setagaya").pk
    assert cov[(pharmacy, ("r", setagaya))] == [1, 2]
    assert cov[(pharmacy, ind.WARD)] == [1, 3]
    assert "2025-03-10 以降" in html and "50%" in html and "33%" in html


# ---------------------------------------------------------------------------------------------
# Exports


def test_csv_is_tidy_with_bom_and_same_numbers(staff_client, ward):
    response = staff_client.get(reverse("admin_indicators_csv"), {"at": "2025-01-01"})
    assert response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:8] == ["時点", "種別", "できること", "地域", "地区", "件数", "65歳以上人口", "65歳以上1万人あたり"]
    data = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    today = [r for r in data if r["時点"] != "2025-01-01"]
    ward_row = [r for r in today if r["種別コード"] == "nursing" and r["できることコード"] == "h24" and not r["地域"]]
    assert len(ward_row) == 1 and ward_row[0]["件数"] == "3" and ward_row[0]["地区"] == ""
    region_row = [r for r in today if r["できることコード"] == "h24" and r["種別コード"] == "nursing"
                  and r["地域コード"] == "tamagawa" and not r["地区"]]
    assert region_row[0]["件数"] == "2"
    district_row = [r for r in today if r["できることコード"] == "h24" and r["種別コード"] == "nursing"
                    and r["地区コード"] == "yoga"]
    assert district_row[0]["件数"] == "2" and district_row[0]["地域"] == "玉川"
    past = [r for r in data if r["時点"] == "2025-01-01"]
    assert past and all(r["件数"] == "0" for r in past)  # nothing existed yet


def test_xlsx_has_the_same_rows(staff_client, ward):
    from openpyxl import load_workbook

    csv_rows = list(csv.reader(io.StringIO(
        staff_client.get(reverse("admin_indicators_csv")).content.decode("utf-8-sig")
    )))
    response = staff_client.get(reverse("admin_indicators_xlsx"))
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    xlsx_rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert xlsx_rows == csv_rows


def test_pdf_uses_the_print_template(staff_client, ward):
    preview = staff_client.get(reverse("admin_indicators_print"))
    assert preview.status_code == 200
    assert "印刷プレビュー" in preview.content.decode()
    response = staff_client.get(reverse("admin_indicators_pdf"))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "評価指標" in text
    assert "訪問看護ステーション" in text
    assert "24時間対応" in text
    assert "調査で確認できた割合" in text


# ---------------------------------------------------------------------------------------------
# Permission


def test_anonymous_and_non_staff_get_no_staff_page(client, reference):
    urls = [reverse(n) for n in ("admin_indicators", "admin_indicators_csv", "admin_indicators_xlsx",
                                 "admin_indicators_print", "admin_indicators_pdf")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(User.objects.create_user("resident", password="pass-Word-1234"))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Staff without the view permission: refused.
    client.force_login(User.objects.create_user("bare", password="pass-Word-1234", is_staff=True))
    assert client.get(urls[0]).status_code == 403


def test_viewer_group_may_read(client, ward):
    user = User.objects.create_user("viewer", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(user)
    assert client.get(reverse("admin_indicators")).status_code == 200


# ---------------------------------------------------------------------------------------------
# Public page and open data


def test_public_page_and_csv(client, ward):
    opendata = client.get(reverse("opendata")).content.decode()
    assert reverse("indicators") in opendata
    html = client.get(reverse("indicators")).content.decode()
    assert "地域ごとの事業所の数" in html
    assert 'href="/?type=nursing&amp;cap=h24&amp;region=tamagawa">2</a>' in html
    assert "架空" not in html and "少ない地区" not in html  # staff-only parts stay in the back office
    response = client.get(reverse("opendata_indicators_csv"))
    assert response.content.startswith(b"\xef\xbb\xbf")
    header = response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:6] == ["時点", "種別", "できること", "地域", "地区", "件数"]
    english = client.get("/en/indicators/").content.decode()
    assert "Number of providers by region" in english


def test_history_parser_reads_codes_with_counts_and_notes():
    ids = {"h24": 1, "mitori": 2, "psychiatry": 3}
    assert ind._parse_capabilities("h24; mitori:12; psychiatry(夜間は要相談)", ids) == {1, 2, 3}
    assert ind._parse_capabilities("", ids) == set()
    assert ind._parse_capabilities(None, ids) == set()


def test_tidy_rows_helper_counts_every_combination(ward):
    ref = ind.load_reference()
    rolled = ind.rollup(ind.current_counts(), ref)
    rows = indicators_views.tidy_rows(ref, [(dt.date(2026, 3, 10), rolled)], {})
    combos = sum(1 + len(ref.applicable.get(t.pk, [])) for t in ref.types)
    areas = 1 + len(ref.regions) + len(ref.all_districts)
    assert len(rows) == combos * areas
    assert Provider.objects.count() == len(ward)
    assert ProviderChange.objects.count() >= len(ward)


def test_admin_home_links_to_the_indicators(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin_indicators") in html
    assert "区職員メニュー" in html  # the normal admin home is still there
