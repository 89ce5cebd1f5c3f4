"""resourcemap.printing and resourcemap.staticmap: PDF rendering, QR codes, static maps."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from resourcemap import links, printing, staticmap
from resourcemap.print_views import css_string
from tests.printing_helpers import decode_qr_png, pdf_fonts, pdf_text

TILE_COLOUR = (40, 160, 90)


def _tile_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), TILE_COLOUR).save(buffer, format="PNG")
    return buffer.getvalue()


class _TileServer:
    """A local tile source: every /z/x/y.png is a flat green tile; counts requests."""

    def __init__(self) -> None:
        png = _tile_png()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args):
                pass

        self.requests = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/{{z}}/{{x}}/{{y}}.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tile_server(settings, tmp_path):
    server = _TileServer()
    settings.PRINT_MAP_TILE_URL = server.url
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()
    yield server
    server.close()
    staticmap.reset_offline()


@pytest.fixture
def no_tiles(settings, tmp_path):
    # Port 9 (discard) refuses connections: the tile server "cannot be reached".
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()
    yield
    staticmap.reset_offline()


MARKERS = [
    staticmap.Marker(35.640, 139.650, "1", "#c2185b"),
    staticmap.Marker(35.620, 139.630, "2", "#1f5fa8"),
]


def _pixel(png: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel(xy)


def test_static_map_composes_cached_tiles(tile_server, settings):
    first = staticmap.render(MARKERS, width=600, height=400)
    assert first.source == "tiles"
    assert first.attribution == "国土地理院"
    assert (first.width, first.height) == (600, 400)
    fetched = tile_server.requests
    assert fetched > 0
    cached = list(settings.TILE_CACHE_DIR.rglob("*.png"))
    assert len(cached) == fetched
    # A corner far from markers shows the (softened) tile colour, not the vector background.
    r, g, b = _pixel(first.png, (5, 5))
    assert g > r + 40 and g > b + 40
    # Second render reads the disk cache only.
    tile_server.close()
    second = staticmap.render(MARKERS, width=600, height=400)
    assert second.source == "tiles"
    assert tile_server.requests == fetched


def test_static_map_falls_back_to_vector_when_tiles_unreachable(no_tiles):
    result = staticmap.render(
        MARKERS, width=600, height=400,
        labels=[staticmap.Label(35.63, 139.64, "用賀")],
        outline=[[35.60, 139.60], [35.66, 139.60], [35.66, 139.68], [35.60, 139.68]],
    )
    assert result.source == "vector"
    assert result.attribution == ""
    image = Image.open(io.BytesIO(result.png)).convert("RGB")
    assert image.size == (600, 400)
    # Marker 1 is drawn in its type colour where its coordinates project.
    zoom = staticmap.fit_zoom((35.62, 35.64, 139.63, 139.65), 600, 400, staticmap.MARKER_RADIUS * 3)
    cx, cy = staticmap.to_pixel(35.63, 139.64, zoom)
    x, y = staticmap.to_pixel(35.640, 139.650, zoom)
    colour = image.getpixel((int(x - cx + 300) - 8, int(y - cy + 200)))
    assert colour == (0xC2, 0x18, 0x5B)


def test_overlapping_markers_are_spread_apart():
    points = [(100.0, 100.0)] * 5
    spread = staticmap._spread(points, 30)
    for i, (x1, y1) in enumerate(spread):
        for x2, y2 in spread[i + 1:]:
            assert (x1 - x2) ** 2 + (y1 - y2) ** 2 >= 30**2


def test_fit_zoom_zooms_in_for_small_areas():
    wide = staticmap.fit_zoom((35.59, 35.69, 139.57, 139.70), 1400, 900, 40)
    narrow = staticmap.fit_zoom((35.640, 35.645, 139.650, 139.655), 1400, 900, 40)
    assert narrow > wide
    assert staticmap.MIN_ZOOM <= wide <= staticmap.MAX_ZOOM


def test_qr_png_decodes_to_url(tmp_path):
    url = "https://map.example.jp/?type=nursing&cap=h24"
    path = tmp_path / "qr.png"
    path.write_bytes(printing.qr_png(url))
    assert decode_qr_png(path) == [url]


def test_qr_refuses_relative_urls():
    with pytest.raises(ValueError):
        printing.qr_svg("/print/?ids=1")


def test_fluid_svg_scales_with_css():
    svg = printing.qr_svg_fluid("https://map.example.jp/")
    assert 'viewBox="0 0 ' in svg
    assert 'width="' not in svg.split(">", 1)[0]


def test_absolute_url_uses_site_url(settings):
    settings.SITE_URL = "https://map.example.jp/"
    assert links.absolute_url("/flyer/") == "https://map.example.jp/flyer/"


def test_safe_url_fetcher_refuses_network_and_outside_files():
    with pytest.raises(ValueError):
        printing.safe_url_fetcher("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ValueError):
        printing.safe_url_fetcher("file:///etc/passwd")
    data = printing.safe_url_fetcher("data:text/plain;base64,b2s=")
    assert data is not None


def test_css_string_cannot_break_out_of_style():
    text = css_string('a"b\\c</style><script>\n')
    assert text.startswith('"') and text.endswith('"')
    inner = text[1:-1]
    assert '"' not in inner and "<" not in inner and "\n" not in inner


def test_html_to_pdf_embeds_japanese_font():
    html = (
        '<html lang="ja"><body><p style="font-family: IPAexGothic">在宅療養資源マップ</p></body></html>'
    )
    pdf = printing.html_to_pdf(html, stylesheets=(printing.PRINT_CSS,))
    assert "在宅療養資源マップ" in pdf_text(pdf)
    fonts = pdf_fonts(pdf)
    line = next(line for line in fonts.splitlines() if "IPAex" in line)
    assert " yes " in line  # the "emb" column
