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
    assert pdfguard.renders_running() == 0
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


def test_a_slot_outlived_by_its_render_is_not_given_back_twice(reference, settings, time_machine):
    """A render older than PDF_SLOT_SECONDS (or of a killed process) loses its slot to a new
    one; when the old render ends it must not free the new render's slot."""
    settings.PDF_MAX_CONCURRENT = 1
    settings.PDF_SLOT_SECONDS = 60
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    old = pdfguard._acquire_slot()
    assert old is not None
    assert pdfguard._acquire_slot() is None, "one render at a time"
    time_machine.shift(61)
    new = pdfguard._acquire_slot()
    assert new is not None, "a slot frees itself after PDF_SLOT_SECONDS"
    pdfguard._release_slot(old)
    assert pdfguard.renders_running() == 1
    assert pdfguard._acquire_slot() is None, "still one render at a time"
    pdfguard._release_slot(new)
    assert pdfguard._acquire_slot() is not None


def test_slots_are_counted_on_all_servers_together(reference, settings):
    """Two app servers (their own cache objects, one table) share PDF_MAX_CONCURRENT."""
    from resourcemap.ratelimits import CounterCache

    settings.PDF_MAX_CONCURRENT = 2
    taken = [pdfguard._acquire_slot(), pdfguard._acquire_slot()]
    assert None not in taken
    other_server = CounterCache(None, {})
    assert all(other_server.get(key) == token for key, token in taken)
    assert pdfguard._acquire_slot() is None


def test_renders_run_at_a_lower_cpu_priority_than_the_web_worker(settings):
    """WeasyPrint runs in a thread at PDF_RENDER_NICE; the calling worker keeps its priority."""
    import os
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are a Linux feature")
    settings.PDF_RENDER_NICE = 7
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = []

    def fetcher(url, **kwargs):  # WeasyPrint calls it while rendering
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return printing.safe_url_fetcher(url, **kwargs)

    pdf = printing.html_to_pdf(
        '<html><head><link rel="stylesheet" href="static/css/print.css"></head>'
        "<body><p>在宅</p></body></html>", url_fetcher=fetcher,
    )
    assert pdf.startswith(b"%PDF")
    assert seen and all(value == min(own + 7, 19) for value in seen), seen
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_a_render_error_reaches_the_caller(settings):
    settings.PDF_RENDER_NICE = 5

    def broken():
        raise ValueError("bad page")

    with pytest.raises(ValueError, match="bad page"):
        printing.at_low_priority(broken)
    assert printing.at_low_priority(lambda: b"%PDF") == b"%PDF"


def test_titles_that_print_alike_are_one_cached_pdf(client, renders):
    make_provider(type_code="dental")
    assert client.get("/print/pdf/?type=dental")["X-PDF-Cache"] == "miss"
    for title in ["", "   ", " 在宅療養資源の一覧 ", "在宅療養資源の一覧"]:
        response = client.get("/print/pdf/", {"type": "dental", "title": title})
        assert response["X-PDF-Cache"] == "hit", title
    assert len(renders) == 1
    # Printed as typed, runs of spaces as one (a full-width one stays full-width).
    client.get("/print/pdf/", {"type": "dental", "title": "  山田様\u3000\u3000ご家族用  "})
    assert '<h1 class="sheet-title">山田様\u3000ご家族用</h1>' in renders[-1]


def test_a_sheet_with_its_own_title_is_never_kept_and_counts_for_its_client(renders, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "print_pdf": "3/m"}
    make_provider(type_code="dental")
    one = Client(REMOTE_ADDR="192.0.2.1")
    assert one.get("/print/pdf/?type=dental")["X-PDF-Cache"] == "miss"
    kept = len(list(caches["pdfs"]._list_cache_files()))
    for title in ("一", "二"):
        response = one.get("/print/pdf/", {"type": "dental", "title": title})
        assert response.status_code == 200 and response["X-PDF-Cache"] == "off"
    assert len(list(caches["pdfs"]._list_cache_files())) == kept
    # The client's renders are spent; its cached sheet is still served, other clients print.
    assert one.get("/print/pdf/", {"type": "dental", "title": "一"}).status_code == 429
    assert one.get("/print/pdf/?type=dental")["X-PDF-Cache"] == "hit"
    other = Client(REMOTE_ADDR="192.0.2.2").get("/print/pdf/", {"type": "dental", "title": "一"})
    assert other.status_code == 200 and len(renders) == 4
