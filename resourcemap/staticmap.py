"""Server-side static maps for paper: tiles composed with Pillow, numbered markers on top.

Tiles come from ``settings.PRINT_MAP_TILE_URL`` (default: the web map's ``MAP_TILE_URL``;
{z}/{x}/{y}) and are cached on disk in
``settings.TILE_CACHE_DIR``, so a sheet printed twice fetches nothing the second time. When a
tile cannot be fetched (no network, server down) the whole map falls back to a clean vector
drawing: the municipality outline, 地区 labels and the same numbered markers. A printed map
must never come out half-tiled.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

TILE_SIZE = 256
MIN_ZOOM, MAX_ZOOM = 10, 17
FETCH_TIMEOUT = 4.0
# After a failed fetch, skip the network for this long: a sheet with 300 markers must not wait
# for 30 timeouts.
OFFLINE_BACKOFF = 60.0
MARKER_RADIUS = 15
USER_AGENT = "resourcemap-print/1.0 (static map for printed sheets)"

_offline_until = 0.0
_lock = threading.Lock()


@dataclass(frozen=True)
class Marker:
    lat: float
    lng: float
    label: str
    color: str = "#1f5fa8"


@dataclass(frozen=True)
class Label:
    lat: float
    lng: float
    text: str
    strong: bool = False


@dataclass
class StaticMap:
    png: bytes
    width: int
    height: int
    source: str  # "tiles" or "vector"
    attribution: str


# ------------------------------------------------------------------------------------------
# Web Mercator


def to_pixel(lat: float, lng: float, zoom: int) -> tuple[float, float]:
    """Global pixel coordinates at ``zoom`` (256-pixel tiles)."""
    scale = TILE_SIZE * (2**zoom)
    lat = max(min(lat, 85.05112878), -85.05112878)
    x = (lng + 180.0) / 360.0 * scale
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale
    return x, y


def fit_zoom(
    bounds: tuple[float, float, float, float], width: int, height: int, padding: int
) -> int:
    """Largest zoom at which ``bounds`` (min_lat, max_lat, min_lng, max_lng) fits the image."""
    min_lat, max_lat, min_lng, max_lng = bounds
    for zoom in range(MAX_ZOOM, MIN_ZOOM - 1, -1):
        x1, y1 = to_pixel(max_lat, min_lng, zoom)
        x2, y2 = to_pixel(min_lat, max_lng, zoom)
        if x2 - x1 <= width - 2 * padding and y2 - y1 <= height - 2 * padding:
            return zoom
    return MIN_ZOOM


# ------------------------------------------------------------------------------------------
# Fonts and colours


@functools.lru_cache(maxsize=1)
def _font_path() -> str | None:
    candidates = [
        "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    ]
    for candidate in candidates:
        if Path(candidate).exists():
            return candidate
    try:
        found = subprocess.run(
            ["fc-match", "IPAexGothic", "--format=%{file}"],  # noqa: S607
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found or None


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    path = _font_path()
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _rgb(color: str) -> tuple[int, int, int]:
    if re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    return (31, 95, 168)


def plain_attribution() -> str:
    text = re.sub(r"<[^>]+>", "", settings.MAP_TILE_ATTRIBUTION or "").strip()
    return text


# ------------------------------------------------------------------------------------------
# Tiles


def tile_template() -> str:
    return getattr(settings, "PRINT_MAP_TILE_URL", "") or settings.MAP_TILE_URL or ""


def _tile_url(z: int, x: int, y: int) -> str:
    return tile_template().format(z=z, x=x, y=y, s="a")


def _cache_path(z: int, x: int, y: int) -> Path:
    # The tile source is part of the key so that changing the tile URL never mixes styles.
    source = re.sub(r"[^A-Za-z0-9]+", "_", tile_template().split("{", 1)[0])[-80:]
    return Path(settings.TILE_CACHE_DIR) / source / str(z) / str(x) / f"{y}.png"


def fetch_tile(z: int, x: int, y: int) -> Image.Image | None:
    """One tile from the disk cache or the tile server; None when it cannot be had."""
    global _offline_until
    n = 2**z
    if not (0 <= y < n):
        return None
    x %= n
    path = _cache_path(z, x, y)
    if path.exists():
        try:
            return Image.open(path).convert("RGB")
        except OSError:
            path.unlink(missing_ok=True)
    if time.monotonic() < _offline_until:
        return None
    url = _tile_url(z, x, y)
    if not url.startswith(("http://", "https://", "file://")):
        return None
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            data = response.read(2_000_000)
        image = Image.open(io.BytesIO(data))
        image.load()
    except (urllib.error.URLError, OSError, ValueError) as error:
        logger.info("map tile %s unavailable: %s", url, error)
        with _lock:
            _offline_until = time.monotonic() + OFFLINE_BACKOFF
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return image.convert("RGB")


def tiles_likely() -> bool:
    """False right after a failed fetch: callers may then frame a vector map more widely."""
    return bool(tile_template()) and time.monotonic() >= _offline_until


def reset_offline() -> None:
    """Forget a previous fetch failure (tests, or after the network came back)."""
    global _offline_until
    _offline_until = 0.0


# ------------------------------------------------------------------------------------------
# Composition


def _spread(points: list[tuple[float, float]], min_dist: float) -> list[tuple[float, float]]:
    """Move markers that would overlap outwards on a spiral so every number stays readable."""
    placed: list[tuple[float, float]] = []
    for x, y in points:
        px, py = x, y
        step = 0
        while any((px - qx) ** 2 + (py - qy) ** 2 < min_dist**2 for qx, qy in placed):
            step += 1
            angle = step * 2.4  # golden angle: an even sunflower pattern
            radius = min_dist * 0.62 * math.sqrt(step)
            px, py = x + radius * math.cos(angle), y + radius * math.sin(angle)
            if step > 2000:
                break
        placed.append((px, py))
    return placed


def _draw_marker(draw: ImageDraw.ImageDraw, x: float, y: float, label: str, color: str, r: int):
    fill = _rgb(color)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=(255, 255, 255), width=3)
    size = int(r * (1.15 if len(label) <= 2 else 0.85))
    draw.text((x, y + 1), label, fill=(255, 255, 255), font=font(size), anchor="mm")


def _vector_base(
    width: int, height: int, project, labels: Sequence[Label], outline: Sequence[Sequence[float]]
) -> Image.Image:
    image = Image.new("RGB", (width, height), (250, 250, 247))
    draw = ImageDraw.Draw(image)
    # A faint grid tells the eye this is a map, not an empty box.
    for gx in range(0, width, 80):
        draw.line((gx, 0, gx, height), fill=(238, 238, 232))
    for gy in range(0, height, 80):
        draw.line((0, gy, width, gy), fill=(238, 238, 232))
    if len(outline) >= 3:
        polygon = [project(float(lat), float(lng)) for lat, lng in outline]
        draw.polygon(polygon, fill=(255, 255, 255), outline=(120, 120, 120))
        draw.line([*polygon, polygon[0]], fill=(110, 110, 110), width=3)
    for label in labels:
        x, y = project(label.lat, label.lng)
        if -50 <= x <= width + 50 and -20 <= y <= height + 20:
            size = 26 if label.strong else 19
            colour = (90, 90, 90) if label.strong else (140, 140, 140)
            draw.text((x, y), label.text, fill=colour, font=font(size), anchor="mm")
    return image


def render(
    markers: Sequence[Marker],
    *,
    width: int = 1400,
    height: int = 900,
    labels: Sequence[Label] = (),
    outline: Sequence[Sequence[float]] = (),
    default_bounds: tuple[float, float, float, float] | None = None,
    use_tiles: bool = True,
    max_zoom: int = 16,
    marker_radius: int = MARKER_RADIUS,
    min_span: float = 0.006,
) -> StaticMap:
    """PNG of a map showing every marker, numbered with its label.

    ``default_bounds`` (min_lat, max_lat, min_lng, max_lng) frames the map when there are no
    markers (or only one, to keep some surroundings visible).
    """
    pad = marker_radius * 3
    lats = [m.lat for m in markers]
    lngs = [m.lng for m in markers]
    if lats:
        bounds = (min(lats), max(lats), min(lngs), max(lngs))
        # At least ``min_span`` degrees across (~600 m), so one provider still shows its streets.
        if bounds[1] - bounds[0] < min_span:
            mid = (bounds[0] + bounds[1]) / 2
            bounds = (mid - min_span / 2, mid + min_span / 2, bounds[2], bounds[3])
        if bounds[3] - bounds[2] < min_span:
            mid = (bounds[2] + bounds[3]) / 2
            bounds = (bounds[0], bounds[1], mid - min_span / 2, mid + min_span / 2)
    elif default_bounds:
        bounds = default_bounds
    else:
        bounds = (35.60, 35.69, 139.58, 139.69)
    zoom = min(fit_zoom(bounds, width, height, pad), max_zoom)
    cx, cy = to_pixel((bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, zoom)
    left, top = cx - width / 2, cy - height / 2

    def project(lat: float, lng: float) -> tuple[float, float]:
        x, y = to_pixel(lat, lng, zoom)
        return x - left, y - top

    image = None
    source = "vector"
    if use_tiles and tile_template():
        image = _compose_tiles(zoom, left, top, width, height)
        if image is not None:
            source = "tiles"
    if image is None:
        image = _vector_base(width, height, project, labels, outline)

    draw = ImageDraw.Draw(image)
    originals = [project(m.lat, m.lng) for m in markers]
    positions = _spread(originals, marker_radius * 2.1)
    for (ox, oy), (x, y) in zip(originals, positions, strict=True):
        if (ox, oy) != (x, y):
            draw.line((ox, oy, x, y), fill=(60, 60, 60), width=2)
            draw.ellipse((ox - 3, oy - 3, ox + 3, oy + 3), fill=(60, 60, 60))
    # Draw in reverse so that marker 1 ends up on top.
    for marker, (x, y) in reversed(list(zip(markers, positions, strict=True))):
        _draw_marker(draw, x, y, marker.label, marker.color, marker_radius)

    attribution = plain_attribution() if source == "tiles" else ""
    if attribution:
        _draw_caption(draw, width, height, attribution)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return StaticMap(buffer.getvalue(), width, height, source, attribution)


def _draw_caption(draw: ImageDraw.ImageDraw, width: int, height: int, text: str) -> None:
    f = font(18)
    box = draw.textbbox((0, 0), text, font=f)
    w, h = box[2] - box[0], box[3] - box[1]
    draw.rectangle((width - w - 16, height - h - 14, width, height), fill=(255, 255, 255))
    draw.text((width - w - 8, height - h - 9), text, fill=(60, 60, 60), font=f)


def _compose_tiles(zoom: int, left: float, top: float, width: int, height: int) -> Image.Image | None:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    x0, y0 = int(left // TILE_SIZE), int(top // TILE_SIZE)
    x1, y1 = int((left + width) // TILE_SIZE), int((top + height) // TILE_SIZE)
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            tile = fetch_tile(zoom, tx, ty)
            if tile is None:
                return None
            if tile.size != (TILE_SIZE, TILE_SIZE):
                tile = tile.resize((TILE_SIZE, TILE_SIZE))
            image.paste(tile, (int(tx * TILE_SIZE - left), int(ty * TILE_SIZE - top)))
    # Soften the base map so numbered markers stand out on paper.
    return Image.blend(image, Image.new("RGB", image.size, (255, 255, 255)), 0.25)
