"""The printed table: one readable row per provider, ≥ 12 rows a page after the first, and the
overview map first, last or left out (checked in the PDF WeasyPrint renders)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest

from resourcemap import print_views, staticmap
from tests.factories import make_provider
from tests.printing_helpers import pdf_pages, pdf_text

ALL_COLUMNS = ["h24", "mitori", "psychiatry", "pediatric", "home_visit", "oushin", "palliative",
               "home_dental", "oral_care", "dysphagia"]
KANJI = "桜梅桃松竹藤菊椿楓柳杉桐萩葵蓮菖蘭梨柿栗"
SPLIT_SESSIONS = (
    [(d, dt.time(9), dt.time(12, 30)) for d in range(6)]
    + [(d, dt.time(15), dt.time(18, 30)) for d in (0, 1, 2, 4)]
)


@pytest.fixture(autouse=True)
def offline_maps(settings, tmp_path):
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()


def _clinics(n: int) -> list:
    """Clinics as they really look: long names and addresses, morning and afternoon sessions
    (Thursday and Saturday mornings only), a FAX, and half not confirmed for over a year."""
    today = dt.date(2026, 11, 1)
    out = []
    for i in range(n):
        word = KANJI[i % len(KANJI)] + KANJI[(i * 7 + 3) % len(KANJI)]
        out.append(make_provider(
            name=f"医療法人社団{word}会 {word}在宅クリニック{i:02d}",
            kana=f"イリョウホウジン{i:03d}",
            address=f"東京都世田谷区三軒茶屋{i % 4 + 1}-{i + 1}-{i % 9 + 1} {word}メディカルビル{i % 5 + 2}階",
            fax=f"03-5555-{i:04d}",
            periods=SPLIT_SESSIONS,
            capabilities={"home_visit": {}, "oushin": {}, "mitori": {"count": i}},
            last_confirmed_on=today - dt.timedelta(days=500 if i % 2 else 30),
        ))
    return out


def _rows_per_page(pdf: bytes, names: list[str]) -> list[int]:
    pages = pdf_text(pdf).split("\f")[: pdf_pages(pdf)]
    counts = []
    for text in pages:
        numbers = re.findall(r"^\s*(\d+)\s+医療法人社団", text, re.M)
        counts.append(len(numbers))
    return counts


@pytest.mark.django_db
@pytest.mark.parametrize("options", [
    "",  # what the list's print button gives: 6 columns, hours, map first
    "&opts=1&hours=1&map=first&" + "&".join(f"cols={c}" for c in ALL_COLUMNS),  # every column
])
def test_at_least_twelve_rows_per_portrait_page_after_the_first_and_names_stay_whole(client, options):
    clinics = _clinics(40)
    pdf = client.get(f"/print/pdf/?type=clinic{options}").content
    counts = _rows_per_page(pdf, [c.name for c in clinics])
    assert sum(counts) == 40, counts
    # Every page after the first, but the last (what is left over), holds 12 rows or more.
    assert all(count >= 12 for count in counts[1:-1]), counts
    # A name is never broken one character per line: its first dozen characters share a line.
    text = pdf_text(pdf)
    lines = text.splitlines()
    for clinic in clinics:
        assert any(clinic.name[:12] in line for line in lines), clinic.name
    assert "情報が古い可能性があります" in text
    # The week's hours read as one line per set of hours, with all its days.
    html = client.get(f"/print/?type=clinic{options}").content.decode()
    assert html.count('<span class="hours-line">月〜水・金 09:00-12:30, 15:00-18:30</span>'
                      '<span class="hours-line">木・土 09:00-12:30</span>') == 40
    print(f"rows per page {options[:30]!r}: {counts}")


def _rightmost_word_pt(pdf: bytes) -> float:
    """The right edge (points) of the rightmost word on any page (pdftotext -bbox)."""
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    return max(float(x) for x in re.findall(r'<word [^>]*xMax="([\d.]+)"', html))


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["", "/en"])
@pytest.mark.parametrize("orient", ["portrait", "landscape"])
def test_the_table_stays_inside_the_page_margins(client, lang, orient):
    for clinic in _clinics(14):
        clinic.name_en = f"Medical Corporation Home Care Clinic No. {clinic.pk}"
        clinic.save(update_fields=["name_en"])
    columns = "&".join(f"cols={c}" for c in ALL_COLUMNS)
    pdf = client.get(f"{lang}/print/pdf/?type=clinic&opts=1&hours=1&orient={orient}&{columns}").content
    page_width = 595.28 if orient == "portrait" else 841.89
    right_margin = 13 / 25.4 * 72
    assert _rightmost_word_pt(pdf) <= page_width - right_margin + 0.5
    html = client.get(f"{lang}/print/?type=clinic&opts=1&hours=1&orient={orient}&{columns}").content.decode()
    headers = re.findall(r'<th class="col-cap" scope="col" title="[^"]*">([^<]+)</th>', html)
    assert len(headers) == len(ALL_COLUMNS)
    if lang:
        # English pages: ASCII short names as they are, letters for Japanese ones, explained below.
        assert all(h.isascii() for h in headers), headers
        assert "<dt>A</dt><dd>End-of-life care at home</dd>" in html.replace("\n", "")


@pytest.mark.django_db
def test_map_first_last_or_left_out(client):
    _clinics(30)
    first = client.get("/print/pdf/?type=clinic").content
    pages = pdf_text(first).split("\f")
    assert "地図の番号は下の表の番号です" in pages[0]

    html = client.get("/print/?type=clinic&opts=1&map=last&hours=1").content.decode()
    pdf_url = re.search(r'<form id="pdf-form" method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "map=last" in pdf_url
    assert 'name="map" value="last" checked' in html
    last = client.post(pdf_url).content
    count = pdf_pages(last)
    last_pages = pdf_text(last).split("\f")[:count]
    assert "地図の番号" not in "".join(last_pages[:-1])
    assert "地図の番号は表の番号です" in last_pages[-1]
    assert not re.search(r"^\s*\d+\s+医療法人社団", last_pages[-1], re.M)  # a page of its own

    left_out = client.get("/print/pdf/?type=clinic&opts=1&map=0&hours=1").content
    assert "地図の番号" not in pdf_text(left_out)
    assert pdf_pages(left_out) < count
    html = client.get("/print/?type=clinic&opts=1&hours=1").content.decode()
    assert 'class="overview-map' not in html and 'name="map" value="0" checked' in html


@pytest.mark.parametrize("orient", ["portrait", "landscape"])
def test_table_layout_always_leaves_the_name_room(orient):
    for caps in range(print_views.MAX_COLUMNS + 1):
        for hours in (True, False):
            for distance in (True, False):
                layout = print_views.table_layout(orient, caps, hours=hours, distance=distance)
                widths = layout["widths"]
                assert widths["name"] >= print_views.NAME_MIN_MM[orient], (caps, hours, distance)
                used = sum(v for k, v in widths.items() if k != "cap") + caps * widths["cap"]
                assert used == pytest.approx(print_views.TABLE_WIDTH_MM[orient])
                assert widths["cap"] >= 6.0
    # With few columns nothing is squeezed and the phone keeps its own column.
    assert not print_views.table_layout("portrait", 6, hours=True, distance=False)["merge_phone"]
