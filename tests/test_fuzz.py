"""Hostile query strings never give a server error.

Every public GET endpoint (enumerated from the URLconf, so a new endpoint is covered without
editing this file) and every admin change list (logged-in staff) is driven with generated query
strings: calendar edges, ids beyond 64 bits, NaN/infinity, NUL bytes, lone surrogates, invalid
UTF-8, odd unicode, very long values and random keys. Any 5xx (or exception) fails.

The run is bounded and deterministic: a fixed number of examples per endpoint and
``derandomize=True`` (the same examples on every run, also in CI). ``FUZZ_EXAMPLES=N`` raises the
number for a longer local run. The figures (requests, endpoints, 5xx) are printed at the end of
the pytest run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from urllib.parse import parse_qsl, quote

import pytest
from django.contrib import admin
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import LocalePrefixPattern, RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcemap import search
from resourcemap.models import Flyer, Provider
from tests.factories import make_provider

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# PDF rendering costs about a second per request: fewer examples there.
SLOW_EXAMPLES = max(3, EXAMPLES // 5)

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Figures for the end-of-run summary (tests/conftest.py prints them).
FIGURES = {"requests": 0, "endpoints": set(), "5xx": 0}

# ---------------------------------------------------------------------------------------------
# Endpoints from the URLconf

# Not public GET pages: the back office (fuzzed below as change lists) and the language switch
# (POST only).
SKIP_PREFIXES = ("admin/", "i18n/")
CONVERTER_RE = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _routes(patterns, prefix: str = "") -> list[str]:
    out: list[str] = []
    for entry in patterns:
        pattern = entry.pattern
        if isinstance(pattern, LocalePrefixPattern):
            parts = ["", "en/"]  # default language without prefix, English with /en/
        elif isinstance(pattern, RoutePattern):
            parts = [str(pattern)]
        else:  # a regex pattern: not used by this project's public URLs
            continue
        for part in parts:
            route = prefix + part
            if route.startswith(SKIP_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                out.extend(_routes(entry.url_patterns, route))
            elif isinstance(entry, URLPattern):
                out.append(route)
    return sorted(set(out))


ROUTES = _routes(get_resolver().url_patterns)


def _is_slow(route: str) -> bool:
    return "pdf" in route


# Values for path parameters, by converter; "{pk}" / "{slug}" are replaced by real objects.
PATH_VALUES = {
    "id": ["{pk}", "{hidden_pk}", "0", "1", str(2**63 - 1), str(2**63), "99999999999999999999"],
    "int": ["{pk}", "0", str(2**63), "99999999999999999999"],
    "slug": ["{slug}", "no-such-flyer", "a" * 300],
    "str": ["x", "0" * 80, "%00", "%E2%80%AE", "..%2F..", "a" * 500],
    "path": ["x"],
}


def _fill(route: str, choice: dict[str, str], objects: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        value = choice[match.group("name")]
        return value.format(**objects)

    return "/" + CONVERTER_RE.sub(replace, route)


def _path_strategy(route: str):
    params = [(m.group("name"), m.group("conv") or "str") for m in CONVERTER_RE.finditer(route)]
    if not params:
        return st.just({})
    return st.fixed_dictionaries(
        {name: st.sampled_from(PATH_VALUES.get(conv, ["x"])) for name, conv in params}
    )


# ---------------------------------------------------------------------------------------------
# Hostile query strings

KEYS = sorted(
    search.KNOWN_KEYS
    | {"title", "note", "cols", "orient", "map", "hours", "opts", "near", "from", "paper",
       "lang", "format", "callback", "token", "code", "next"}
)
HOSTILE = [
    "", " ", "9999-12-31", "0001-01-01", "0000-00-00", "2100-12-31", "1899-12-31", "1900-01-01",
    "2026-02-29", "2024-02-29", "10000-01-01", "-0001-01-01", "2026-W01", "2026-13-01",
    "24:00", "23:59", "00:00", "99:99", "-1:00", "7", "-1", "0", "8", "holiday", "now", "at",
    "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "1e-320", "-0", "+5", " 5 ", "0x10", "1_000",
    "١٢", "²", "Ⅻ", str(2**63 - 1), str(2**63), str(-(2**63) - 1), "99999999999999999999",
    "9" * 5000, "1," * 600, "1,-1,0,abc,99999999999999999999",
    "\x00", "a\x00b", "\x00" * 10, "\ud800", "a\udfffb", "\ufeff", "\u202e", "\u200b", "\x7f",
    "\r\n", "\t", "ｶﾞｷﾞ", "𠀋", "🏥", "e\u0301", "İ", "ß", "%", "%%", "%zz", "'", '"',
    "<script>alert(1)</script>", "../../etc/passwd", "a" * 3000, "distance", "kana", "area",
    "yoga", "tamagawa", "nursing", "h24", "clinic", "35.6", "139.6", "90.0000001", "-180.5",
    "1e2", "20000", "100", "2026-12-01", "12:30",
]
_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=()) | st.sampled_from("\x00\ud800"),
    max_size=40,
)
# The worst values, tried with every key of the admin provider list (see the matrix test).
NASTY = [
    "\x00", "a\x00b", "\ud800", str(2**63), "99999999999999999999", "-1", "0", "9999-12-31",
    "0001-01-01", "nan", "1e309", "9" * 5000, "a" * 3000, "'", "%", "2026-13-45", "\u202e",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(NASTY),
    _text,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.times().map(lambda t: t.strftime("%H:%M")),
)


def _enc(text: str) -> str:
    # Lone surrogates become invalid UTF-8 bytes on the wire, as a hostile client can send.
    return quote(text, safe="", errors="surrogatepass")


RAW_PARTS = st.sampled_from(["%FF%FE", "%C0%80", "%ED%A0%80", "=%00", "&&", "=", "%", "a=1=2"])


@st.composite
def query_strings(draw, keys=KEYS):
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys), _text)
    pairs = draw(st.lists(st.tuples(key, VALUES), min_size=1, max_size=5))
    parts = [f"{_enc(k)}={_enc(v)}" for k, v in pairs]
    if draw(st.booleans()):
        parts.append(draw(RAW_PARTS))
    return "&".join(parts)


def _check(client, url: str) -> None:
    response = client.get(url)
    FIGURES["requests"] += 1
    if response.status_code >= 500:
        FIGURES["5xx"] += 1
    assert response.status_code < 500, f"{response.status_code} for GET {url}"


# ---------------------------------------------------------------------------------------------
# Data and settings


@pytest.fixture
def fuzz_data(db, settings, tmp_path):
    settings.GEOCODER = "resourcemap.geocoding.FakeGeocoder"  # no outside requests
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # unreachable: vector maps
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    settings.MEDIA_ROOT = tmp_path / "media"
    shown = make_provider(
        name="訪問看護ステーション用賀", type_code="nursing", capabilities={"h24": None},
        periods=[(d, dt.time(9), dt.time(18)) for d in range(7)] + [(7, dt.time(22), dt.time(6))],
        exceptions=[{"start_date": dt.date(2026, 12, 29), "end_date": dt.date(2027, 1, 3),
                     "closed": True, "note": "年末年始"}],
    )
    make_provider(name="夜間診療所", periods=[(4, dt.time(20), dt.time(2))])
    hidden = make_provider(name="非公開", status=Provider.Status.CLOSED)
    flyer = Flyer.objects.create(title="用賀", slug="yoga", target_query="district=yoga")
    return {"pk": str(shown.pk), "hidden_pk": str(hidden.pk), "slug": flyer.slug}


def test_every_public_route_is_fuzzed():
    """The URLconf walk finds the public pages (so a broken walk cannot pass silently)."""
    for expected in ("", "en/", "api/providers.json", "print/pdf/", "providers/<id:pk>/sheet/",
                     "flyer/<slug:slug>/qr.png", "survey/", "opendata/providers.csv"):
        assert expected in ROUTES
    assert not [r for r in ROUTES if r.startswith("admin/")]


# ---------------------------------------------------------------------------------------------
# The property: no 5xx


def _public_test(route: str):
    @settings(parent=FUZZ, max_examples=SLOW_EXAMPLES if _is_slow(route) else EXAMPLES)
    @given(path_choice=_path_strategy(route), qs=query_strings())
    def run(client, objects, path_choice, qs):
        _check(client, f"{_fill(route, path_choice, objects)}?{qs}")

    return run


@pytest.mark.parametrize("route", ROUTES)
def test_public_get_endpoint_never_answers_5xx(client, fuzz_data, route):
    FIGURES["endpoints"].add("/" + route)
    _public_test(route)(client, fuzz_data)


def _changelist_urls() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    )


def _filter_keys(page: str) -> list[str]:
    """Query keys of the change list's own filter, sort and search links."""
    keys = {"q", "o", "p", "e", "all", "_changelist_filters", "_to_field", "_popup"}
    for query in re.findall(r'href="\?([^"]*)"', page):
        keys.update(k for k, _v in parse_qsl(query.replace("&amp;", "&")))
    return sorted(keys)


@pytest.fixture
def admin_client_data(fuzz_data, staff_client):
    return staff_client


def test_admin_provider_list_never_answers_5xx(admin_client_data):
    client = admin_client_data
    url = reverse("admin:resourcemap_provider_changelist")
    page = client.get(url)
    assert page.status_code == 200
    keys = _filter_keys(page.content.decode())
    assert "district" in keys  # the filters were found in the page
    FIGURES["endpoints"].add(url)

    @settings(parent=FUZZ, max_examples=4 * EXAMPLES)
    @given(qs=query_strings(keys))
    def run(qs):
        _check(client, f"{url}?{qs}")

    run()


def test_admin_provider_list_every_filter_with_the_worst_values(admin_client_data):
    """Each filter, sort and search key of the list with each of the worst values."""
    client = admin_client_data
    url = reverse("admin:resourcemap_provider_changelist")
    keys = _filter_keys(client.get(url).content.decode())
    for key in keys:
        for value in NASTY:
            _check(client, f"{url}?{_enc(key)}={_enc(value)}")


@given(
    params=st.dictionaries(
        st.one_of(st.sampled_from(sorted(search.KNOWN_KEYS)), _text),
        st.one_of(VALUES, st.lists(VALUES, max_size=3)),
        max_size=8,
    )
)
@settings(parent=FUZZ, max_examples=10 * EXAMPLES)
def test_search_never_raises_on_any_parameters(fuzz_data, params):
    """The one search directly (every output calls it), with many more examples than HTTP."""
    result = search.run(params)
    assert all(isinstance(pk, int) for pk in list(result.ids))  # reads the ids
    # The canonical query string of any search is itself a clean search (a copied URL works).
    again, ignored = search.clean(QueryDict(result.querystring))
    assert ignored == []
    assert search.querystring(again) == result.querystring


@pytest.mark.parametrize("url", _changelist_urls())
def test_admin_change_lists_never_answer_5xx(fuzz_data, admin_client, url):
    client = admin_client  # a superuser sees every list
    page = client.get(url)
    assert page.status_code == 200
    keys = _filter_keys(page.content.decode())
    FIGURES["endpoints"].add(url)
    for object_id in ("0", str(2**63), "99999999999999999999", "%00", "-1", "abc"):
        for view in ("change/", "history/", "delete/"):
            _check(client, f"{url}{object_id}/{view}")

    @settings(parent=FUZZ, max_examples=SLOW_EXAMPLES)
    @given(qs=query_strings(keys))
    def run(qs):
        _check(client, f"{url}?{qs}")

    run()
