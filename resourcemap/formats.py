"""Spreadsheet files for staff: safe CSV/XLSX reading and writing.

- CSV is read by trying UTF-8 (with or without BOM), then CP932 (Shift_JIS), then UTF-16, and
  an XLSX/ZIP or old Excel file renamed to ``.csv`` is refused with a clear message.
- CSV is written as UTF-8 with BOM and CRLF line ends, so Excel opens Japanese text correctly.
- Cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are
  written with a leading single quote and the quote is removed again on import. The
  library's own escape option only drops a leading ``=`` and changes the data, so it is not
  used.
- XLSX is parsed by openpyxl, which must use defusedxml (entity expansion attacks).

The public open-data layouts (DATA-FORMATS.md) are read and written by ``resourcemap.opendata``,
which writes its CSV through ``write_csv`` here; so does the survey's non-respondent list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

import openpyxl
import openpyxl.xml
import tablib
from django.utils.translation import gettext as _
from import_export.formats import base_formats
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from . import spreadsheet_limits

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODINGS = ("utf-8-sig", "cp932", "utf-16")
MAX_ROWS = spreadsheet_limits.MAX_DATA_ROWS


class FileFormatError(ValueError):
    """A file that cannot be read; the message is shown to staff as is."""


def escape_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_formula(value):
    if isinstance(value, str) and value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def cell_text(value) -> str:
    """A cell as text: XLSX gives numbers and dates, CSV gives strings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(Decimal(str(value)))
    return unescape_formula(str(value)).strip()


def decode_csv(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        raise FileFormatError(
            _("このファイルはCSVではなく、Excel（xlsx）またはZIPのファイルです。形式で「xlsx」を選ぶか、CSVで保存し直してください。")
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileFormatError(
            _("古いExcel形式（xls）のファイルは読めません。xlsx か CSV で保存し直してください。")
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # UTF-16 text without BOM decodes as UTF-8 full of NUL characters: not the right guess.
        if "\x00" in text:
            continue
        return text
    raise FileFormatError(
        _("文字コードが分かりません。UTF-8 または Shift_JIS（CP932）のCSVで保存し直してください。")
    )


def dataset_from_rows(rows: Iterable[Sequence]) -> tablib.Dataset:
    """Header row + data rows -> Dataset of stripped text; blank lines are dropped."""
    rows = iter(rows)
    headers = None
    for row in rows:
        cells = [cell_text(c) for c in row]
        if any(cells):
            headers = cells
            break
    if headers is None:
        raise FileFormatError(_("ファイルが空です。1行目に見出しの行が必要です。"))
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)
    dataset = tablib.Dataset(headers=headers)
    for line, row in enumerate(rows, start=2):
        cells = [cell_text(c) for c in row]
        if not any(cells):
            continue
        if len(cells) > width:
            if any(cells[width:]):
                raise FileFormatError(
                    _("%(line)d行目: 見出しより多くの列に値があります（見出し %(width)d 列）。")
                    % {"line": line, "width": width}
                )
            cells = cells[:width]
        cells += [""] * (width - len(cells))
        dataset.append(cells)
        if len(dataset) > MAX_ROWS:
            raise FileFormatError(_("一度に取り込めるのは %(n)d 行までです。") % {"n": MAX_ROWS})
    return dataset


def read_csv(data: bytes) -> tablib.Dataset:
    text = decode_csv(data)
    try:
        return dataset_from_rows(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise FileFormatError(_("CSVの形が正しくありません（%(error)s）。") % {"error": error}) from error


def read_xlsx(data: bytes) -> tablib.Dataset:
    if not openpyxl.xml.DEFUSEDXML:
        # openpyxl falls back to the standard XML parser without defusedxml (or when
        # OPENPYXL_DEFUSEDXML=False); do not parse untrusted files then.
        raise FileFormatError(_("安全なXML読込み（defusedxml）が使えないため、xlsx は読めません。"))
    if not data.startswith(b"PK"):
        raise FileFormatError(_("このファイルは xlsx ではありません。形式で「csv」を選んでください。"))
    try:
        spreadsheet_limits.check_xlsx(data)  # sizes and cell counts, before openpyxl reads
    except spreadsheet_limits.SpreadsheetTooLarge as error:
        raise FileFormatError(str(error)) from error
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise FileFormatError(_("xlsx ファイルを開けません。Excelで保存し直してください。")) from error
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise FileFormatError(_("xlsx ファイルを開けません。Excelで保存し直してください。")) from error
    except Exception as error:  # defusedxml raises its own errors for hostile XML
        raise FileFormatError(_("xlsx ファイルの中身を読めません。")) from error
    try:
        sheet = book.worksheets[0]
        # Bounded as well: never more rows or columns than the caps checked above.
        return dataset_from_rows(
            sheet.iter_rows(
                values_only=True,
                max_row=spreadsheet_limits.MAX_ROWS,
                max_col=spreadsheet_limits.MAX_COLUMNS,
            )
        )
    except FileFormatError:
        raise
    except Exception as error:
        raise FileFormatError(_("xlsx ファイルの中身を読めません。")) from error
    finally:
        book.close()


def write_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if c is None else escape_formula(str(c)) for c in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], title: str = "data") -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(headers))
    for row in rows:
        cells = []
        for c in row:
            if c is None:
                c = ""
            if not isinstance(c, str):
                c = str(c)
            cells.append(escape_formula(ILLEGAL_CHARACTERS_RE.sub("\ufffd", c)))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# django-import-export formats (used by the admin's import and export pages)


class CSV(base_formats.CSV):
    """CSV with encoding detection on import and UTF-8-BOM, formula-safe export."""

    def get_title(self):
        return "csv"

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        return read_csv(in_stream)

    def export_data(self, dataset, **kwargs):
        return write_csv(dataset.headers or [], dataset)

    def get_content_type(self):
        return "text/csv; charset=utf-8"


class XLSX(base_formats.XLSX):
    """XLSX read through defusedxml; every text cell written as text, formula-safe."""

    def get_title(self):
        return "xlsx"

    def create_dataset(self, in_stream, **kwargs):
        return read_xlsx(in_stream)

    def export_data(self, dataset, **kwargs):
        return write_xlsx(dataset.headers or [], dataset, title=dataset.title or "data")


STAFF_FORMATS = [CSV, XLSX]
