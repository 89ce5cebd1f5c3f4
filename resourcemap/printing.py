"""HTML -> PDF (WeasyPrint) and QR codes (segno), shared by print sheets, flyers and letters.

Fonts and CSS are parsed once per process and reused between renders.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import os
import re
import sys
import threading
from pathlib import Path

import segno
from django.conf import settings

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "print.css"


@functools.lru_cache(maxsize=1)
def font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@functools.lru_cache(maxsize=8)
def stylesheet(path: str):
    from weasyprint import CSS

    return CSS(filename=path, font_config=font_config())


def html_to_pdf(
    html: str,
    *,
    base_url: str | None = None,
    stylesheets: tuple[str, ...] = (),
    url_fetcher=None,
) -> bytes:
    """Render an HTML document to PDF bytes. ``stylesheets`` are file paths parsed once.

    ``url_fetcher`` (e.g. :func:`safe_url_fetcher`) limits what the document may load.
    """
    from weasyprint import HTML

    extra = {"url_fetcher": url_fetcher} if url_fetcher else {}

    def render() -> bytes:
        document = HTML(string=html, base_url=base_url or str(settings.BASE_DIR), **extra)
        return document.write_pdf(
            stylesheets=[stylesheet(str(p)) for p in stylesheets],
            font_config=font_config(),
        )

    return at_low_priority(render)


def at_low_priority(work):
    """Run ``work()`` in a thread of its own at nice ``PDF_RENDER_NICE`` and return its result.

    Rendering is CPU bound: on a machine whose cores are busy with renders, requests of the
    map and the API (nice 0) are scheduled first. Linux keeps a nice value per thread, so the
    calling thread (a web worker, which cannot lower its nice value again) stays at its own;
    where that is not possible (another OS, ``PDF_RENDER_NICE=0``) ``work`` runs as it is.
    """
    nice = int(getattr(settings, "PDF_RENDER_NICE", 0))
    if nice <= 0 or not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return work()
    outcome: dict = {}

    def run() -> None:
        try:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - raised again in the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="pdf-render", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def safe_url_fetcher(url: str, timeout: int = 10, ssl_context=None, http_headers=None):
    """Only inline ``data:`` resources and files under static/: a printed page never makes
    the server fetch a URL (no request forgery through user-controlled markup)."""
    from weasyprint import default_url_fetcher

    if url.startswith("data:"):
        return default_url_fetcher(url, timeout=timeout)
    if url.startswith("file://"):
        static_root = (Path(settings.BASE_DIR) / "static").resolve()
        target = Path(url.removeprefix("file://")).resolve()
        if target.is_relative_to(static_root) and target.is_file():
            return default_url_fetcher(url, timeout=timeout)
    raise ValueError(f"Refusing to fetch {url[:80]!r} while printing")


def qr(url: str) -> segno.QRCode:
    if not url.startswith(("http://", "https://")):
        raise ValueError("QR codes carry absolute URLs built from SITE_URL")
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, *, scale: int = 4, border: int = 4) -> str:
    """Inline SVG markup of a QR code."""
    buffer = io.BytesIO()
    qr(url).save(buffer, kind="svg", scale=scale, border=border, xmldecl=False, svgns=True,
                 title=url, dark="#000", light="#fff")
    return buffer.getvalue().decode()


def qr_svg_fluid(url: str, *, border: int = 4) -> str:
    """Inline SVG that scales to its CSS box (viewBox instead of a fixed pixel size)."""
    svg = qr_svg(url, scale=1, border=border)
    return re.sub(
        r'width="(\d+)" height="(\d+)"',
        r'viewBox="0 0 \1 \2" preserveAspectRatio="xMidYMid meet" shape-rendering="crispEdges"',
        svg,
        count=1,
    )


def qr_png(url: str, *, scale: int = 10, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    qr(url).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_data_uri(url: str, *, scale: int = 10) -> str:
    """PNG data URI: reliable in both browsers and WeasyPrint."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url, scale=scale)).decode()
