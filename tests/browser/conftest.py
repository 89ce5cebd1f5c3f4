"""Shared fixtures for browser tests: Debian chromium through Playwright, no network.

``browser_page`` opens a page whose map tiles and geocoder requests are answered locally, and
collects console errors and page errors in ``page.console_errors`` (tests assert it is empty).
Every test using it fails when the page reports a Content-Security-Policy violation (the
``securitypolicyviolation`` event, or Chromium's "Refused to …" console message).
Use it together with ``live_server`` and ``transactional_db``; call
``tests.factories.ensure_reference()`` first because the database is flushed between tests.
"""

from __future__ import annotations

import json
import os
import struct
import zlib

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
TILE_PATTERNS = ("https://cyberjapandata.gsi.go.jp/**", "https://*.tile.openstreetmap.org/**")
GEOCODER_PATTERN = "https://msearch.gsi.go.jp/**"
# Answered by the local geocoder stub: text -> (lat, lng).
GEOCODER_STUB = {"用賀駅": (35.626427, 139.633999)}


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber} (${document.location.pathname})`
  );
});
"""


def _blank_png(size: int = 256, rgb=(238, 240, 236)) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


BLANK_TILE = _blank_png()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _geocoder_stub(route):
    from urllib.parse import parse_qs, urlparse

    text = parse_qs(urlparse(route.request.url).query).get("q", [""])[0]
    hits = [
        {"geometry": {"coordinates": [lng, lat], "type": "Point"}, "properties": {"title": name}}
        for name, (lat, lng) in GEOCODER_STUB.items()
        if name in text
    ]
    route.fulfill(status=200, content_type="application/json", body=json.dumps(hits))


@pytest.fixture
def browser_context_args():
    """Override in a test module to change viewport, locale, geolocation …"""
    return {"viewport": {"width": 1280, "height": 900}, "locale": "ja-JP"}


@pytest.fixture
def browser_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    for pattern in TILE_PATTERNS:
        context.route(pattern, lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE))
    context.route(GEOCODER_PATTERN, _geocoder_stub)
    violations = []
    context.expose_binding("__reportCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.console_errors = []
    page.csp_violations = violations

    def on_console(msg):
        if msg.type == "error":
            page.console_errors.append(msg.text)
        if "Content Security Policy" in msg.text or msg.text.startswith("Refused to"):
            violations.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.set_default_timeout(10_000)
    yield page
    try:
        page.wait_for_timeout(50)  # let a last violation event arrive
    except Exception:  # noqa: BLE001, S110 - the page may be gone already
        pass
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
