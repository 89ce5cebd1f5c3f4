"""Staff spreadsheet files as a spreadsheet program sees them: cells, encodings, formulas."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from resourcemap import formats

HOSTILE = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]


def test_csv_is_utf8_bom_crlf_and_formulas_are_quoted_then_read_back_unchanged():
    data = formats.write_csv(["名称", "メモ"], [["あおば診療所", value] for value in HOSTILE] + [["x", None]])
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+1+1" in text and "'-2" in text and "'@SUM" in text
    dataset = formats.read_csv(data)
    assert dataset.headers == ["名称", "メモ"]
    # Read back, each cell is what was written (the quote is gone; the text is stripped).
    assert [row[1] for row in dataset] == [v.strip() for v in HOSTILE] + [""]


def test_a_quote_that_protects_no_formula_is_kept():
    assert formats.unescape_formula("'quoted") == "'quoted"
    assert formats.unescape_formula("'=1") == "=1"
    assert formats.escape_formula("plain") == "plain" and formats.escape_formula(5) == 5


def test_xlsx_cells_are_text_and_formulas_never_run():
    data = formats.write_xlsx(["名称", "メモ"], [["あおば", value] for value in HOSTILE], title="x" * 40)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.title == "x" * 31
    cells = [sheet.cell(row=r, column=2) for r in range(2, 2 + len(HOSTILE))]
    assert all(cell.data_type == "s" for cell in cells)
    assert [c.value for c in cells][:4] == ["'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)"]
    # (XML stores a carriage return as a line feed, so the last one is left out here.)
    assert [row[1] for row in formats.read_xlsx(data)][:5] == [v.strip() for v in HOSTILE][:5]


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (True, "はい"), (False, "いいえ"), (3.0, "3"), (0.1, "0.1"),
    (dt.datetime(2026, 4, 1), "2026-04-01"), (dt.datetime(2026, 4, 1, 9, 30), "2026-04-01 09:30:00"),
    (dt.date(2026, 4, 1), "2026-04-01"), ("  間に 空白  ", "間に 空白"),
])
def test_cell_text(value, text):
    assert formats.cell_text(value) == text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "utf-16"])
def test_csv_encodings(encoding):
    data = "名称,住所\r\nあおば診療所,東京都世田谷区用賀1-1-1\r\n".encode(encoding)
    assert list(formats.read_csv(data)) == [("あおば診療所", "東京都世田谷区用賀1-1-1")]


@pytest.mark.parametrize(("data", "message"), [
    (b"PK\x03\x04rest", "ZIP"),
    (b"\xd0\xcf\x11\xe0rest", "xls"),
    (b"", "空"),
    (b"\r\n\r\n", "空"),
    ("名称\r\nあ,い\r\n".encode(), "見出しより多くの列"),
])
def test_unreadable_csv_says_why(data, message):
    with pytest.raises(formats.FileFormatError, match=message):
        formats.read_csv(data)


def test_blank_lines_and_empty_trailing_columns_are_dropped():
    dataset = formats.read_csv("名称,,\r\n,,\r\nあおば,,\r\n".encode())
    assert dataset.headers == ["名称"] and list(dataset) == [("あおば",)]


def test_too_many_rows_are_refused():
    rows = "\r\n".join("x" for _i in range(formats.MAX_ROWS + 1))
    with pytest.raises(formats.FileFormatError, match=str(formats.MAX_ROWS)):
        formats.read_csv(("名称\r\n" + rows).encode())


def test_a_csv_given_as_xlsx_is_refused():
    with pytest.raises(formats.FileFormatError, match="xlsx ではありません"):
        formats.read_xlsx(b"name,address\r\n")
