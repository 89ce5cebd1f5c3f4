"""PDF renders: cached by query, language and data version; limited at once and per client."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from resourcemap import pdfguard, printing
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch, reference):
    """Count real renders (WeasyPrint is slow; a tiny fake PDF is enough here)."""
    calls = []

    def fake(html, **kwargs):
        calls.append(html)
        return b"%PDF-1.7 fake " + str(len(calls)).encode()

    monkeypatch.setattr(printing, "html_to_pdf", fake)
    caches["ratelimit"].clear()
    return calls


def test_a_repeated_pdf_comes_from_the_cache(client, renders):
    make_provider(type_code="dental")
    first = client.get("/print/pdf/?type=dental")
    assert first.status_code == 200 and first["X-PDF-Cache"] == "miss"
    again = client.get("/print/pdf/?type=dental")
    assert again["X-PDF-Cache"] == "hit"
    assert again.content == first.content
    assert again["Content-Disposition"] == first["Content-Disposition"]
    assert len(renders) == 1
    # Parameter order does not matter; another query or language is another PDF.
    assert client.get("/print/pdf/?type=dental").status_code == 200
    client.get("/print/pdf/?type=clinic")
    client.get("/en/print/pdf/?type=dental")
    assert len(renders) == 3


def test_a_data_change_renders_again(client, renders):
    from resourcemap import providers
    from resourcemap.models import ProviderChange

    provider = make_provider(type_code="dental", name="旧名歯科")
    client.get(f"/providers/{provider.pk}/sheet/pdf/")
    providers.provider_update(
        provider=provider, changes={"name": "新名歯科"}, actor_kind=ProviderChange.Actor.STAFF
    )
    client.get(f"/providers/{provider.pk}/sheet/pdf/")
    assert len(renders) == 2
    assert "新名歯科" in renders[1]


def test_too_many_renders_at_once_get_a_busy_page(client, renders, settings):
    settings.PDF_MAX_CONCURRENT = 0
    busy = client.get("/flyer/pdf/")
    assert busy.status_code == 503
    assert busy["Retry-After"] == "30"
    assert "混み合っています" in busy.content.decode()
    assert renders == []


def test_a_render_slot_is_given_back_even_when_rendering_fails(client, renders, monkeypatch, settings):
    settings.PDF_MAX_CONCURRENT = 1

    def broken(html, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(printing, "html_to_pdf", broken)
    with pytest.raises(RuntimeError):
        client.get("/flyer/pdf/")
    assert caches["ratelimit"].get(pdfguard.SLOT_KEY) == 0
    monkeypatch.setattr(printing, "html_to_pdf", lambda html, **kw: b"%PDF ok")
    assert client.get("/flyer/pdf/").status_code == 200


def test_renders_are_rate_limited_per_client(renders, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "print_pdf": "2/m"}
    one = Client(REMOTE_ADDR="192.0.2.1")
    assert one.get("/print/pdf/?type=dental").status_code == 200
    assert one.get("/print/pdf/?type=clinic").status_code == 200
    limited = one.get("/print/pdf/?type=nursing")
    assert limited.status_code == 429
    assert "しばらく待って" in limited.content.decode()
    # Cached PDFs are still served, and other clients are not affected.
    assert one.get("/print/pdf/?type=dental").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.2").get("/print/pdf/?type=nursing").status_code == 200
