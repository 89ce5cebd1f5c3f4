"""Rate limiting on its own: a window per client or per target, counted in the shared table."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from resourcemap.ratelimits import client_ip, hit, too_many

pytestmark = pytest.mark.django_db


def _request(address: str = "192.0.2.1", **meta):
    return RequestFactory().get("/", REMOTE_ADDR=address, **meta)


def _tries(request, group: str, rate: str, n: int, **kwargs) -> list[bool]:
    return [hit(request, group, rate, **kwargs) for _i in range(n)]


def test_the_limit_lets_exactly_its_number_through_per_client():
    assert _tries(_request(), "unit-a", "3/m", 5) == [True, True, True, False, False]
    assert hit(_request("192.0.2.2"), "unit-a", "3/m")  # another client has its own count
    assert hit(_request(), "unit-b", "3/m")  # and every group too


def test_a_target_is_counted_whatever_address_the_tries_come_from():
    results = [hit(_request(f"192.0.2.{i}"), "unit-target", "2/h", target="provider:7") for i in range(4)]
    assert results == [True, True, False, False]
    assert hit(_request("192.0.2.9"), "unit-target", "2/h", target="provider:8")


def test_the_window_ends(time_machine):
    time_machine.move_to("2026-06-01 10:00:05+09:00", tick=False)
    assert _tries(_request(), "unit-window", "2/m", 3) == [True, True, False]
    time_machine.shift(61)
    assert hit(_request(), "unit-window", "2/m")


def test_switching_limits_off_lets_everything_through():
    with override_settings(RATELIMIT_ENABLE=False):
        assert all(_tries(_request(), "unit-off", "1/m", 5))


def test_client_address_is_remote_addr_unless_a_trusted_proxy_forwards():
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.5, 10.0.0.2"}
    assert client_ip(_request("10.0.0.1", **forwarded)) == "10.0.0.1"
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/24"]):
        assert client_ip(_request("10.0.0.1", **forwarded)) == "203.0.113.5"
        assert client_ip(_request("10.0.0.1", HTTP_X_FORWARDED_FOR="junk, 10.0.0.2")) == "10.0.0.2"
    assert client_ip(_request("not-an-address")) == "0.0.0.0"  # noqa: S104 - a bucket name


def test_the_429_page_says_when_to_try_again():
    response = too_many(_request(), retry_after=30)
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert "しばらく" in response.content.decode()
