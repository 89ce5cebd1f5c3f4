import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict

from resourcemap import search
from resourcemap.models import Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = [(d, dt.time(9), dt.time(18)) for d in range(5)]


def names(result):
    return [p.name for p in result.providers]


def run(query: str, **kwargs):
    return search.run(QueryDict(query), **kwargs)


def test_type_filter_and_published_only():
    make_provider(name="看護A", type_code="nursing")
    make_provider(name="薬局B", type_code="pharmacy")
    make_provider(name="閉鎖看護", type_code="nursing", status=Provider.Status.CLOSED)
    make_provider(name="申請中看護", type_code="nursing", status=Provider.Status.PENDING)
    make_provider(name="休止看護", type_code="nursing", status=Provider.Status.SUSPENDED)
    result = run("type=nursing")
    assert sorted(names(result)) == ["休止看護", "看護A"]
    assert result.count == 2
    assert "種別: 訪問看護ステーション" in result.conditions
    both = run("type=nursing&type=pharmacy")
    assert sorted(names(both)) == ["休止看護", "看護A", "薬局B"]


def test_capabilities_must_all_match():
    make_provider(name="両方", type_code="nursing", capabilities={"h24": None, "mitori": {"count": 3}})
    make_provider(name="24hだけ", type_code="nursing", capabilities={"h24": None})
    make_provider(name="なし", type_code="nursing")
    assert names(run("cap=h24&cap=mitori")) == ["両方"]
    assert sorted(names(run("cap=h24"))) == ["24hだけ", "両方"]


def test_region_and_district():
    make_provider(name="用賀の", area_code="yoga")
    make_provider(name="奥沢の", area_code="okusawa")
    make_provider(name="池尻の", area_code="ikejiri")
    assert sorted(names(run("region=tamagawa"))) == ["奥沢の", "用賀の"]
    assert names(run("district=yoga")) == ["用賀の"]
    # A district outside the chosen region wins and the user is told.
    result = run("region=setagaya&district=yoga")
    assert names(result) == ["用賀の"]
    assert any("含まれない" in m for m in result.ignored)
    # A district code given as region is not silently used.
    result = run("region=yoga")
    assert result.count == 3
    assert any("地域「yoga」" in m for m in result.ignored)


def test_region_moved_with_its_districts_is_searched_anew():
    """The region's area ids are kept with the reference data: a district moved to another
    region (a reference change moves the data version) is searched under its new region."""
    from resourcemap.models import Area, DataVersion

    make_provider(name="用賀の", area_code="yoga")
    make_provider(name="池尻の", area_code="ikejiri")
    assert names(run("region=setagaya")) == ["池尻の"]
    new_region = Area.objects.create(
        code="town1", name="新しい", level=Area.Level.REGION, center_lat="35.6", center_lng="139.6", sort_order=900
    )
    Area.objects.filter(code="yoga").update(parent=new_region)
    DataVersion.bump()
    assert names(run("region=town1")) == ["用賀の"]
    assert names(run("region=tamagawa")) == []
    assert names(run("region=setagaya")) == ["池尻の"]


@pytest.mark.parametrize("query", ["ｻｸﾗ", "さくら", "サクラ", "ｻｸﾗ 用賀", "  さくら  "])
def test_keyword_is_kana_and_width_folded(query):
    make_provider(name="さくら訪問看護", kana="サクラホウモンカンゴ", address="東京都世田谷区用賀1-1-1")
    make_provider(name="ひまわり薬局", kana="ヒマワリヤッキョク", address="東京都世田谷区奥沢1-1-1")
    assert names(search.run({"q": query})) == ["さくら訪問看護"]


def test_keyword_matches_kana_and_address_and_full_width_digits():
    make_provider(name="桜医院", kana="サクライイン", address="東京都世田谷区用賀4-10-1")
    make_provider(name="梅医院", kana="ウメイイン", address="東京都世田谷区奥沢2-3-4")
    assert names(search.run({"q": "さくらいいん"})) == ["桜医院"]
    for query in ("用賀４－１０", "用賀4−10", "用賀４‐１０"):
        assert names(search.run({"q": query})) == ["桜医院"]
    assert names(search.run({"q": "ウメ いいん"})) == ["梅医院"]  # every word must match


def test_keyword_index_refreshes_after_a_change():
    provider = make_provider(name="旧名クリニック", kana="キュウメイ")
    assert search.run({"q": "新名"}).count == 0
    from resourcemap import providers
    from resourcemap.models import ProviderChange

    providers.provider_update(
        provider=provider, changes={"name": "新名クリニック"},
        actor_kind=ProviderChange.Actor.SYSTEM, source="test",
    )
    assert names(search.run({"q": "新名"})) == ["新名クリニック"]


def test_keyword_is_matched_in_the_database_column_kept_by_the_write_path():
    from resourcemap import providers
    from resourcemap.models import ProviderChange

    provider = make_provider(name="ｻｸﾗ 医院", kana="サクライイン", address="東京都世田谷区用賀４－１", building="ビル２Ｆ")
    stored = Provider.objects.get(pk=provider.pk).search_text
    assert stored.split("\n") == ["さくら医院", "さくらいいん", "東京都世田谷区用賀4-1", "びる2f", ""]
    providers.provider_update(
        provider=provider, changes={"name_en": "Sakura Clinic"},
        actor_kind=ProviderChange.Actor.SYSTEM, source="test",
    )
    assert Provider.objects.get(pk=provider.pk).search_text.endswith("\nsakuraclinic")
    # The search filters in SQL: the keyword is part of the queryset, not a Python index.
    result = search.run({"q": "SAKURA"})
    assert names(result) == ["ｻｸﾗ 医院"]
    assert "search_text" in str(result.queryset.query)
    assert not hasattr(search, "folded_index")


def test_keyword_does_not_treat_like_wildcards_as_wildcards():
    make_provider(name="さくら医院")
    make_provider(name="100%ケア")
    assert names(search.run({"q": "%"})) == ["100%ケア"]
    assert search.run({"q": "_"}).count == 0
    assert search.run({"q": "さ%ら"}).count == 0


def test_keyword_a_term_never_spans_two_fields():
    make_provider(name="用賀クリニック", kana="ヨウガクリニック", address="東京都世田谷区奥沢1-1")
    # "…クリニック" + newline + "東京…" must not match "くりにっく東京".
    assert search.run({"q": "くりにっく東京"}).count == 0


def test_bulk_write_path_fills_the_search_column():
    from resourcemap import providers
    from resourcemap.models import Area, ProviderChange

    area = Area.objects.get(code="yoga")
    rows = [
        {
            "data": {
                "name": f"バルク{i}", "kana": f"バルク{i}", "provider_type": "clinic",
                "address": "東京都世田谷区用賀1-1-1", "area": "yoga",
                "latitude": area.center_lat, "longitude": area.center_lng,
            }
        }
        for i in range(3)
    ]
    providers.providers_bulk_create(rows=rows, actor_kind=ProviderChange.Actor.SYSTEM, source="test")
    assert search.run({"q": "ばるく"}).count == 3
    assert search.run({"q": "ﾊﾞﾙｸ1"}).count == 1


def test_migration_fills_the_search_column_of_existing_rows():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("resourcemap.migrations.0005_provider_search_text_dataversion")
    provider = make_provider(name="既存クリニック")
    Provider.objects.filter(pk=provider.pk).update(search_text="")
    assert search.run({"q": "既存"}).count == 0
    migration.fill_search_text(apps, None)
    assert names(search.run({"q": "既存"})) == ["既存クリニック"]


def test_postgresql_has_a_trigram_index_on_the_search_column():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("trigram index is PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'resourcemap_provider' "
            "AND indexname = 'resourcemap_provider_search_trgm'"
        )
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition


def test_keywords_of_one_and_two_characters_match_like_longer_ones():
    make_provider(name="森の診療所", kana="モリノシンリョウジョ", address="東京都世田谷区上馬1-1-1")
    make_provider(name="林クリニック", kana="ハヤシクリニック", address="東京都世田谷区下馬2-2-2")
    make_provider(name="ｻｸﾗ薬局", kana="サクラヤッキョク", type_code="pharmacy", address="東京都世田谷区桜3-3-3")
    assert sorted(names(run("q=森"))) == ["森の診療所"]
    assert sorted(names(run("q=上馬"))) == ["森の診療所"]
    assert sorted(names(run("q=馬"))) == ["林クリニック", "森の診療所"]
    # Folded like the stored text: katakana (full or half width) matches its hiragana.
    assert names(run("q=サク")) == ["ｻｸﾗ薬局"]
    assert names(run("q=ｻｸ")) == ["ｻｸﾗ薬局"]
    # Short and long terms together, each must occur.
    assert names(run("q=馬 はやし")) == ["林クリニック"]
    assert names(run("q=馬 さくら")) == []
    # Never across two fields: the name ends in 局, the reading starts with さ.
    assert names(run("q=局さ")) == []
    assert names(run("q=局")) == ["ｻｸﾗ薬局"]


def _plan(queryset) -> str:
    """PostgreSQL's plan for a queryset with sequential scans priced out (tiny test tables)."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # no walk along another index
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute("SET LOCAL enable_indexscan = on")
    return plan


def test_postgresql_answers_short_keywords_and_capabilities_from_indexes():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the short-keyword index is PostgreSQL only")
    make_provider(name="用賀の看護", type_code="nursing", capabilities={"h24": None})
    make_provider(name="上馬の薬局", type_code="pharmacy")
    from django.db.models import F, Value

    from resourcemap.search.query import ShortGramsContain

    cleaned, _ignored = search.clean({"q": "用賀"})
    assert "resourcemap_short_grams(" in str(search.base_queryset(cleaned).query)
    # The search's expression is the index's (the planner would not use it otherwise).
    grams = Provider.objects.filter(ShortGramsContain(F("search_text"), Value("用賀"))).order_by()
    assert "resourcemap_provider_short_grams" in _plan(grams)
    cleaned, _ignored = search.clean({"cap": "h24"})
    plan = _plan(search.base_queryset(cleaned))
    # a semi-join answered from an index of the capability rows (which one is the planner's
    # choice on a table this small; at scale the (capability, provider) one)
    assert "Seq Scan on resourcemap_providercapability" not in plan, plan
    assert "providercap_cap_provider" in plan or "providercapability_unique" in plan, plan
    assert names(search.run({"q": "用賀", "cap": "h24"})) == ["用賀の看護"]


# --- opening hours on a frozen clock ---------------------------------------------------------

@pytest.fixture
def hours_providers():
    make_provider(name="分割", periods=[(d, dt.time(9), dt.time(12)) for d in range(6)]
                  + [(d, dt.time(14), dt.time(18)) for d in range(5)])
    make_provider(name="夜間", periods=[(d, dt.time(20), dt.time(6)) for d in range(7)])
    make_provider(name="終日", periods=[(d, dt.time(0), dt.time(0)) for d in range(8)])
    make_provider(name="不明", periods=[], hours_unknown=True)
    make_provider(name="祝日も", periods=WEEKDAYS + [(7, dt.time(10), dt.time(16))])
    make_provider(
        name="臨時休業", periods=WEEKDAYS,
        exceptions=[{"start_date": dt.date(2025, 11, 4), "end_date": dt.date(2025, 11, 4), "closed": True}],
    )


def open_now(at: dt.datetime) -> list[str]:
    with time_machine.travel(at.replace(tzinfo=TOKYO), tick=False):
        return sorted(names(search.run({"open": "now"})))


def test_open_now_split_hours(hours_providers):
    # Tuesday 2025-11-11 (no holiday)
    assert open_now(dt.datetime(2025, 11, 11, 10, 0)) == ["分割", "祝日も", "終日", "臨時休業"]
    assert open_now(dt.datetime(2025, 11, 11, 13, 0)) == ["祝日も", "終日", "臨時休業"]
    assert open_now(dt.datetime(2025, 11, 11, 18, 0)) == ["終日"]


def test_open_now_overnight_spills_into_next_morning(hours_providers):
    assert open_now(dt.datetime(2025, 11, 11, 23, 0)) == ["夜間", "終日"]
    assert open_now(dt.datetime(2025, 11, 12, 5, 59)) == ["夜間", "終日"]
    assert open_now(dt.datetime(2025, 11, 12, 6, 0)) == ["終日"]


def test_open_now_on_a_public_holiday(hours_providers):
    # 2025-11-03 (Mon) is 文化の日: weekday hours do not apply, 祝日 periods do.
    result = open_now(dt.datetime(2025, 11, 3, 11, 0))
    assert result == ["祝日も", "終日"]
    # Overnight period on Sunday night spills into the holiday morning.
    assert "夜間" in open_now(dt.datetime(2025, 11, 3, 3, 0))


def test_open_now_dated_exception_and_unknown(hours_providers):
    result = open_now(dt.datetime(2025, 11, 4, 10, 0))
    assert "臨時休業" not in result
    assert "不明" not in result


def test_open_at_a_weekday_and_time(hours_providers):
    sunday_evening = sorted(names(search.run({"day": "6", "time": "19:00"})))
    assert sunday_evening == ["終日"]
    sunday_night = sorted(names(search.run({"day": "6", "time": "21:00"})))
    assert sunday_night == ["夜間", "終日"]
    saturday_any = sorted(names(search.run({"day": "5"})))
    assert saturday_any == ["分割", "夜間", "終日"]
    holiday = sorted(names(search.run({"day": "holiday", "time": "11:00"})))
    assert holiday == ["祝日も", "終日"]
    dated = sorted(names(search.run({"day": "2025-11-03", "time": "11:00"})))
    assert dated == ["祝日も", "終日"]
    result = search.run({"day": "6", "time": "19:00"})
    assert "日曜日 19:00 に営業" in result.conditions


def test_night_or_holiday(hours_providers):
    assert sorted(names(search.run({"nightholiday": "1"}))) == ["夜間", "祝日も", "終日"]


# --- location -------------------------------------------------------------------------------

def test_near_point_radius_and_distance_sort():
    from decimal import Decimal

    make_provider(name="近い", kana="チカイ", latitude=Decimal("35.626500"), longitude=Decimal("139.633500"))
    make_provider(name="中くらい", kana="ナカクライ", latitude=Decimal("35.632000"), longitude=Decimal("139.640000"))
    make_provider(name="遠い", kana="アトオイ", area_code="ikejiri", latitude=Decimal("35.650500"), longitude=Decimal("139.684500"))
    result = search.run({"lat": "35.6265", "lng": "139.6335", "radius": "1500"})
    assert names(result) == ["近い", "中くらい"]
    assert result.providers[0].distance_m < 5
    assert 700 < result.providers[1].distance_m < 1000
    assert result.params["sort"] == "distance"
    everything = search.run({"lat": "35.6265", "lng": "139.6335", "sort": "distance"})
    assert names(everything) == ["近い", "中くらい", "遠い"]
    assert names(search.run({"lat": "35.6265", "lng": "139.6335", "sort": "kana"})) == ["遠い", "近い", "中くらい"]


def test_sort_by_area():
    make_provider(name="A", kana="ア", area_code="karasuyama_d")
    make_provider(name="B", kana="イ", area_code="ikejiri")
    assert names(search.run({"sort": "area"})) == ["B", "A"]
    assert names(search.run({})) == ["A", "B"]


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "query, fragment",
    [
        ("type=nope", "種別「nope」"),
        ("cap=nope", "「nope」"),
        ("district=nope", "地区「nope」"),
        ("open=sometimes", "営業時間の条件"),
        ("day=8", "曜日・日付"),
        ("day=2025-02-30", "日付"),
        ("time=25:00", "時刻"),
        ("lat=abc&lng=1", "緯度・経度"),
        ("lat=nan&lng=nan", "緯度・経度"),
        ("lat=35.6&lng=139.6&radius=-5", "半径"),
        ("radius=500", "半径"),
        ("sort=distance", "距離順"),
        ("sort=price", "並び順"),
        ("page=abc", "ページ"),
        ("utm_source=x", "「utm_source」"),
    ],
)
def test_bad_parameters_are_ignored_and_reported(query, fragment):
    make_provider(name="ある")
    result = run(query)
    assert names(result) == ["ある"]
    assert any(fragment in message for message in result.ignored), result.ignored


def test_empty_values_are_not_reported():
    make_provider(name="ある")
    result = run("type=&cap=&region=&district=&q=&open=&day=&time=&lat=&lng=&radius=&sort=")
    assert result.ignored == []
    assert result.count == 1


def test_shortlist_drops_unknown_and_hidden_ids():
    a = make_provider(name="A", kana="ア")
    b = make_provider(name="B", kana="イ")
    hidden = make_provider(name="C", status=Provider.Status.CLOSED)
    result = search.run({}, ids=[b.pk, a.pk, hidden.pk, 999999])
    assert result.ids == [a.pk, b.pk]
    assert any("2件" in m for m in result.ignored)
    assert result.querystring == f"ids={b.pk}%2C{a.pk}"
    assert search.run(QueryDict(result.querystring)).ids == [a.pk, b.pk]


def test_querystring_reproduces_the_search():
    make_provider(name="看護", type_code="nursing", capabilities={"h24": None})
    result = run("cap=h24&type=nursing&district=yoga&q=%EF%BD%B6&page=2&sort=kana")
    assert result.querystring == "type=nursing&cap=h24&district=yoga&q=%E3%82%AB"
    again = run(result.querystring)
    assert again.ids == result.ids
    assert again.querystring == result.querystring


def test_run_ids_and_query_count(django_assert_max_num_queries):
    for i in range(20):
        make_provider(name=f"看護{i}", type_code="nursing", capabilities={"h24": None})
    with django_assert_max_num_queries(12):
        ids = search.run_ids({"type": "nursing", "cap": "h24", "open": "now", "q": "看護"})
    assert isinstance(ids, list)
    result = search.run({"type": "nursing"})
    with django_assert_max_num_queries(8):
        providers = result.providers
        for p in providers:
            _ = (p.provider_type.name, p.area.parent.name, list(p.provider_capabilities.all()),
                 list(p.opening_periods.all()))
    assert len(providers) == 20


def test_fold():
    assert search.fold("ｻｸﾗ") == search.fold("サクラ") == search.fold("さくら") == "さくら"
    assert search.fold("ＡＢＣ　１２３") == "abc123"


def test_shortlist_with_only_malformed_ids_selects_nothing():
    from tests.factories import make_provider

    make_provider()
    result = search.run({"ids": "abc,-3"})
    assert result.ids == []
    assert result.ignored
