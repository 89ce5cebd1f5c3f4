"""Survey rate limits: per client behind trusted proxies, per target, atomic under parallel tries,
and the rightful provider still gets in by the link."""

import threading

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from resourcemap.ratelimits import CounterCache, client_ip
from surveys import ratelimit
from tests.factories import make_provider

WRONG_LINK = "/survey/t/AAAAAAAAAAAAAAAAAAAAAAAAAA/"
WRONG_CODE = {"code": "ABCD-EFGH-JKMN"}


def _rates(**changes):
    from django.conf import settings

    return override_settings(RATELIMITS={**settings.RATELIMITS, **changes})


def test_code_guesses_are_limited_per_client_and_the_page_points_to_the_link(client, issue):
    invitation, token, code = issue(make_provider(name="正しいクリニック"))
    limit = ratelimit.limit_of("survey_code")
    for _i in range(limit):
        assert client.post(reverse("surveys:start"), WRONG_CODE).status_code == 404
    blocked = client.post(reverse("surveys:start"), {"code": code})
    assert blocked.status_code == 429, "a right code over the limit is refused too"
    assert 1 <= int(blocked["Retry-After"]) <= 60  # what is left of the one-minute window
    text = blocked.content.decode()
    assert "しばらく待って" in text and "1分ほど待ってから" in text
    assert "QRコード" in text and "メールのリンク" in text
    # ... and the link of the letter still opens the form.
    opened = client.get(f"/survey/t/{token}/")
    assert opened.status_code in (302, 303)
    assert "正しいクリニック" in client.get(opened["Location"]).content.decode()
    # Another address is not affected.
    other = Client(REMOTE_ADDR="192.0.2.50")
    assert other.post(reverse("surveys:start"), {"code": code}).status_code in (302, 303)


def test_wrong_links_are_limited_but_the_right_link_always_opens(client, issue):
    _invitation, token, _code = issue(make_provider())
    for _i in range(ratelimit.limit_of("survey_link")):
        assert client.get(WRONG_LINK).status_code == 404
    assert client.get(WRONG_LINK).status_code == 429
    assert client.get(f"/survey/t/{token}/").status_code in (302, 303)


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_one_guesser_does_not_lock_out_the_others(issue):
    _invitation, _token, code = issue(make_provider())
    guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    for _i in range(ratelimit.limit_of("survey_code")):
        guesser.post(reverse("surveys:start"), WRONG_CODE)
    assert guesser.post(reverse("surveys:start"), WRONG_CODE).status_code == 429
    # Making up another forwarded address in front does not give the guesser a new bucket.
    spoof = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.9")
    assert spoof.post(reverse("surveys:start"), WRONG_CODE).status_code == 429
    # The provider behind the same proxy gets in with the right code.
    provider = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert provider.post(reverse("surveys:start"), {"code": code}).status_code in (302, 303)


def test_forwarded_header_from_an_untrusted_address_is_ignored(issue):
    issue(make_provider())
    for i in range(ratelimit.limit_of("survey_code")):
        Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").post(
            reverse("surveys:start"), WRONG_CODE
        )
    fresh_claim = Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert fresh_claim.post(reverse("surveys:start"), WRONG_CODE).status_code == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.9", "", [], "198.51.100.9"),
        ("198.51.100.9", "192.0.2.1", [], "198.51.100.9"),
        ("10.0.0.2", "192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.2", "192.0.2.1, 10.0.0.3", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.2", "6.6.6.6, 192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.2", "", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "not-an-address", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "192.0.2.1:4711", ["10.0.0.2"], "192.0.2.1"),
        ("10.0.0.2", "[2001:db8::1]:443", ["10.0.0.2"], "2001:db8::1"),
        ("::1", "2001:db8::5", ["::1"], "2001:db8::5"),
        ("", "192.0.2.1", ["10.0.0.0/8"], "0.0.0.0"),  # noqa: S104
        ("10.0.0.2", ",,, ,\x00", ["10.0.0.0/8"], "10.0.0.2"),
    ],
)
def test_client_address(remote, forwarded, trusted, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXIES=trusted):
        assert client_ip(request) == expected


def test_one_target_cannot_be_guessed_from_many_addresses(issue):
    """Access codes from many addresses together meet the all-codes limit."""
    _invitation, token, code = issue(make_provider())
    with _rates(survey_code_all="15/h"):
        answers = [
            Client(REMOTE_ADDR=f"192.0.2.{i}").post(reverse("surveys:start"), WRONG_CODE).status_code
            for i in range(20)
        ]
        assert answers == [404] * 15 + [429] * 5
        # The provider's own link is not a code: it still opens.
        assert Client(REMOTE_ADDR="192.0.2.99").get(f"/survey/t/{token}/").status_code in (302, 303)


def test_the_hour_long_all_codes_limit_says_so_in_its_header_and_words(issue):
    """Over the all-codes limit (per hour) the page does not promise a minute."""
    issue(make_provider())
    with _rates(survey_code_all="3/h"):
        for i in range(3):
            assert Client(REMOTE_ADDR=f"192.0.2.{i}").post(reverse("surveys:start"), WRONG_CODE).status_code == 404
        blocked = Client(REMOTE_ADDR="192.0.2.200").post(reverse("surveys:start"), WRONG_CODE)
    assert blocked.status_code == 429
    seconds = int(blocked["Retry-After"])
    assert 1 <= seconds <= 3600
    text = blocked.content.decode()
    assert "1分ほど" not in text or seconds <= 60
    minutes = -(-seconds // 60)
    expected = f"{minutes}分ほど待ってから" if minutes < 60 else "1時間ほど待ってから"
    assert expected in text
    from django.utils import translation

    with translation.override("en"):
        from resourcemap.ratelimits import wait_text

        assert wait_text(seconds).startswith("about ") and ("hour" in wait_text(seconds)) == (minutes >= 60)


@pytest.mark.parametrize(("seconds", "text"), [(1, "1分ほど"), (60, "1分ほど"), (61, "2分ほど"),
                                               (1200, "20分ほど"), (3540, "59分ほど"), (3541, "1時間ほど"),
                                               (3600, "1時間ほど"), (86400, "24時間ほど")])
def test_wait_words(seconds, text):
    from resourcemap.ratelimits import wait_text

    assert wait_text(seconds) == text


def test_wrong_links_from_many_addresses_meet_the_all_links_limit(issue):
    """Right links are never counted; wrong ones from many addresses are, together."""
    _invitation, token, _code = issue(make_provider(name="リンクの医院"))
    with _rates(survey_link_all="12/h"):
        for i in range(30):  # the rightful provider opening the link often counts for nothing
            assert Client(REMOTE_ADDR=f"198.51.100.{i}").get(f"/survey/t/{token}/").status_code == 303
        answers = [
            Client(REMOTE_ADDR=f"192.0.2.{i}").get(f"/survey/t/{'B' * 26}{i:02d}/").status_code
            for i in range(15)
        ]
        assert answers == [404] * 12 + [429] * 3
        opened = Client(REMOTE_ADDR="192.0.2.99").get(f"/survey/t/{token}/")
        assert opened.status_code == 303


def test_registrations_from_many_addresses_meet_the_all_registrations_limit(reference):
    url = reverse("surveys:register")
    with _rates(survey_register_all="4/d"):
        answers = [Client(REMOTE_ADDR=f"192.0.2.{i}").post(url, {}).status_code for i in range(6)]
    assert answers == [200] * 4 + [429] * 2


def test_corrections_are_limited_per_provider_from_any_address(reference):
    provider = make_provider()
    url = reverse("surveys:correction", args=[provider.pk])
    with _rates(correction_provider="3/d"):
        codes = [
            Client(REMOTE_ADDR=f"192.0.2.{i}").post(url, {"message": ""}).status_code
            for i in range(5)
        ]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_counts_are_shared_by_app_servers(client, issue, monkeypatch):
    """Another app server (its own cache object, the same database table) sees the same count."""
    import django_ratelimit.core

    issue(make_provider())
    for _i in range(ratelimit.limit_of("survey_link")):
        client.get(WRONG_LINK)
    other_server = CounterCache(None, {})
    monkeypatch.setattr(django_ratelimit.core, "caches", {"ratelimit": other_server})
    assert client.get(WRONG_LINK).status_code == 429
    assert Client(REMOTE_ADDR="192.0.2.7").get(WRONG_LINK).status_code == 404


def test_counter_cache_add_and_incr():
    counters = CounterCache(None, {})
    with pytest.raises(ValueError):
        counters.incr("nothing")
    assert counters.add("k", 1, 60) is True
    assert counters.add("k", 1, 60) is False
    assert counters.incr("k") == 2
    assert counters.incr("k", 3) == 5
    assert counters.get("k") == 5
    # An expired window starts again at the new value.
    counters.set("k", 9, timeout=-10)
    assert counters.get("k") is None
    with pytest.raises(ValueError):
        counters.incr("k")
    assert counters.add("k", 1, 60) is True
    assert counters.get("k") == 1
    assert counters.delete("k") is True


@pytest.mark.django_db(transaction=True)
def test_parallel_code_guesses_never_pass_the_limit(survey_round):
    """60 guesses at once from one address: exactly the limit is answered, the rest get 429."""
    from surveys import services

    # On SQLite a file, as in production: in shared-cache memory parallel requests fail with
    # "database table is locked" instead of waiting (resourcemap.settings.sqlite_test_name).
    assert "memory" not in str(connection.settings_dict["NAME"])
    provider = make_provider()
    services.issue_round(survey_round=survey_round)
    assert survey_round.invitations.filter(provider=provider).exists()
    caches["ratelimit"].clear()
    limit = ratelimit.limit_of("survey_code")
    barrier = threading.Barrier(60)
    codes = []
    lock = threading.Lock()

    def guess():
        try:
            barrier.wait()
            status = Client(REMOTE_ADDR="203.0.113.5").post(
                reverse("surveys:start"), WRONG_CODE
            ).status_code
            with lock:
                codes.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(codes) == 60
    assert codes.count(404) == limit, codes
    assert codes.count(429) == 60 - limit
