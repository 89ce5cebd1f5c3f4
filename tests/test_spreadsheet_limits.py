"""XLSX bombs are refused before openpyxl reads them; the admin import has an upload limit."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from resourcemap import formats, spreadsheet_limits
from resourcemap.models import Provider

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _book() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["名称", "住所"])
    book.active.append(["テスト医院", "東京都世田谷区用賀1-1-1"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _replace(parts: dict[str, bytes], data: bytes | None = None) -> bytes:
    """The workbook with some parts replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data or _book())) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, parts.pop(item.filename, src.read(item.filename)))
        for name, content in parts.items():
            dst.writestr(name, content)
    return out.getvalue()


def _sheet(body: str, dimension: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0"?><worksheet {NS}>{dim}<sheetData>{body}</sheetData></worksheet>'.encode()


def far_cell_bomb() -> bytes:
    """One cell at XFD1048576: openpyxl would pad about 17 billion empty cells."""
    return _replace({
        "xl/worksheets/sheet1.xml": _sheet(
            '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
            dimension="A1:XFD1048576",
        )
    })


def shared_strings_bomb(count: int = spreadsheet_limits.MAX_SHARED_STRINGS + 1) -> bytes:
    strings = b"<si><t>a</t></si>" * count
    return _replace({
        "xl/sharedStrings.xml": b'<?xml version="1.0"?><sst ' + NS.encode() + b">" + strings + b"</sst>"
    })


def _refused(data: bytes, *words: str) -> str:
    with pytest.raises(formats.FileFormatError) as caught:
        formats.read_xlsx(data)
    message = str(caught.value)
    assert "大きすぎて読めません" in message
    for word in words:
        assert word in message
    return message


def test_a_normal_workbook_still_reads():
    dataset = formats.read_xlsx(_book())
    assert dataset.headers == ["名称", "住所"]
    assert dataset[0][0] == "テスト医院"


def test_far_cell_bomb_is_refused_by_its_dimension():
    data = far_cell_bomb()
    assert len(data) < 6000
    _refused(data, "1048576行目", "CSVで保存し直して")


def test_far_cell_without_dimension_is_refused_by_its_cells():
    _refused(_replace({"xl/worksheets/sheet1.xml": _sheet('<row><c r="XFD1"><v>1</v></c></row>')}), "列")
    _refused(_replace({"xl/worksheets/sheet1.xml": _sheet('<row r="60000"/>')}), "60000行目")


def test_cells_without_addresses_are_read_only_up_to_the_column_cap():
    cells = "<c t=\"inlineStr\"><is><t>x</t></is></c>" * (spreadsheet_limits.MAX_COLUMNS + 100)
    dataset = formats.read_xlsx(_replace({"xl/worksheets/sheet1.xml": _sheet(f"<row>{cells}</row>")}))
    assert len(dataset.headers) <= spreadsheet_limits.MAX_COLUMNS


def test_a_deep_cell_inside_a_low_row_is_refused():
    _refused(_replace({"xl/worksheets/sheet1.xml": _sheet('<row r="1"><c r="A1048576"><v>1</v></c></row>')}), "1048576行目")


def test_too_many_cells_in_total(monkeypatch):
    monkeypatch.setattr(spreadsheet_limits, "MAX_CELLS", 100)
    rows = "".join(f'<row r="{i}">' + "<c><v>1</v></c>" * 5 + "</row>" for i in range(1, 30))
    _refused(_replace({"xl/worksheets/sheet1.xml": _sheet(rows)}), "セル")


def test_shared_strings_bomb_is_refused():
    data = shared_strings_bomb()
    assert len(data) < 2_000_000
    _refused(data, "文字列")


def test_huge_decompressed_part_is_refused_from_the_zip_directory():
    zeros = b" " * (spreadsheet_limits.MAX_PART + 1)
    data = _replace({"xl/media/blank.bin": zeros})
    assert len(data) < 1_000_000
    _refused(data, "展開すると")


def test_damaged_zip_is_a_clear_error():
    with pytest.raises(formats.FileFormatError, match="開けません"):
        formats.read_xlsx(b"PK\x03\x04 not really a zip")


@pytest.mark.django_db
def test_admin_import_shows_the_refusal_at_the_file_field(staff_client):
    from tests.test_import_export import XLSX_INDEX, page_text, upload

    response = upload(staff_client, far_cell_bomb(), name="bomb.xlsx", fmt=XLSX_INDEX)
    assert response.status_code == 200
    assert "大きすぎて読めません" in page_text(response)
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_admin_import_has_an_upload_size_limit(staff_client, monkeypatch):
    from resourcemap import spreadsheet_limits
    from tests.test_import_export import CSV_INDEX, IMPORT_URL, page_text

    monkeypatch.setattr(spreadsheet_limits, "MAX_UPLOAD", 1000)
    response = staff_client.post(
        reverse(IMPORT_URL),
        {"format": CSV_INDEX, "resource": "0",
         "import_file": SimpleUploadedFile("big.csv", b"a,b\r\n" + b"1,2\r\n" * 400)},
    )
    assert response.status_code == 200
    assert "ファイルが大きすぎます（0MBまで）" in page_text(response) or "ファイルが大きすぎます" in page_text(response)
    assert not Provider.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["admin:resourcemap_provider_import", "surveys:start"])
def test_a_body_larger_than_any_upload_is_refused_before_it_is_read(staff_client, url, settings):
    """By its declared length, before the form (or the CSRF check) reads the body into files."""
    from tests.test_import_export import CSV_INDEX, page_text

    settings.MAX_REQUEST_BYTES = 50_000
    big = b"a,b\r\n" + b"1,2\r\n" * 20_000  # 100 kB
    response = staff_client.post(
        reverse(url),
        {"format": CSV_INDEX, "resource": "0", "import_file": SimpleUploadedFile("big.csv", big)},
    )
    assert response.status_code == 413
    text = page_text(response)
    assert "送られたデータが大きすぎます" in text and "ファイルが大きすぎます（30MBまで）" in text
    assert not Provider.objects.exists()
    # A file within the limit is read as usual (preview page).
    small = staff_client.post(reverse("admin:resourcemap_provider_import"), {
        "format": CSV_INDEX, "resource": "0",
        "import_file": SimpleUploadedFile("small.csv", b"a,b\r\n1,2\r\n")})
    assert small.status_code == 200
