"""Content-Security-Policy and Permissions-Policy on every kind of page."""

import pytest
from django.test import Client

from tests.factories import make_provider

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


@pytest.mark.parametrize("path", ["/", "/en/", "/opendata/", "/survey/", "/admin/login/", "/print/"])
def test_strict_policy(reference, path):
    response = Client().get(path)
    assert response.status_code == 200, path
    csp = _directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive] and "'unsafe-eval'" not in csp[directive]
    assert csp["connect-src"] == ["'self'"], "the geocoder is called by the server only"
    assert "https://cyberjapandata.gsi.go.jp" in csp["img-src"]  # the configured tile host
    assert "msearch.gsi.go.jp" not in response["Content-Security-Policy"]
    body = response.content.decode()
    assert "<script>" not in body, "no inline script without a nonce"
    assert ' style="' not in body, "no style attributes"


def test_inline_style_of_print_pages_carries_the_nonce(reference):
    provider = make_provider()
    response = Client().get(f"/providers/{provider.pk}/sheet/")
    assert response.status_code == 200
    csp = _directives(response)
    nonce = [v for v in csp["style-src"] if v.startswith("'nonce-")][0][7:-1]
    body = response.content.decode()
    assert body.count("<style") == body.count(f'<style nonce="{nonce}"')
    assert ' style="' not in body


def test_geolocation_only_on_the_map_page(reference):
    assert "geolocation=(self)" in Client().get("/").headers["Permissions-Policy"]
    assert "geolocation=(self)" in Client().get("/").headers["Permissions-Policy"]  # cached copy
    for path in ("/opendata/", "/survey/", "/admin/login/"):
        policy = Client().get(path).headers["Permissions-Policy"]
        assert "geolocation=()" in policy and "camera=()" in policy, path
