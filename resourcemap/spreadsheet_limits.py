"""Caps checked on an uploaded XLSX before any spreadsheet library opens it.

An XLSX file is a ZIP of XML parts. A tiny file can declare one cell at ``XFD1048576`` (openpyxl
then pads about 17 billion empty cells) or a shared-strings part that expands to gigabytes. So
before openpyxl reads anything, ``check_xlsx`` looks at:

- the ZIP directory: number of parts, the declared uncompressed size of each part and of all
  together (Python's zipfile never returns more than the declared size of a part);
- every worksheet part, streamed in small pieces (never held whole): its ``<dimension>``, the
  row numbers, the columns and rows named by cells, and the number of cells;
- the shared strings part: its size and number of strings.

Over any cap the file is refused with a message saying what to do. Every XLSX reader of the
project (``resourcemap.formats.read_xlsx``, used by the staff import and the public-data import)
calls this first. The caps are generous for real provider lists (a few thousand rows).
"""

from __future__ import annotations

import io
import re
import zipfile

from django.utils.translation import gettext as _

MAX_DATA_ROWS = 50_000  # data rows one import accepts (``formats.MAX_ROWS``)
MAX_ROWS = MAX_DATA_ROWS + 1  # the header row and the data rows the importers accept
MAX_COLUMNS = 500
MAX_UPLOAD = 30 * 1024 * 1024  # bytes of one uploaded import file (both import pages)
MAX_CELLS = 2_000_000
MAX_PARTS = 1_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # all parts together
MAX_PART = 64 * 1024 * 1024  # one part
MAX_SHARED_STRINGS = 500_000
MAX_SHARED_STRINGS_PART = 16 * 1024 * 1024
_CHUNK = 256 * 1024
_MAX_TAG = 64 * 1024  # an opening tag longer than this is not a spreadsheet

# Only rare things go through Python one by one (rows, cells in column AA or later, row numbers
# of six digits); cells and shared strings are counted with bytes.count, so a sheet of a million
# cells is scanned in well under a second.
_ROW = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?row\b[^>]*?\br\s*=\s*["'](\d+)["']""")
_WIDE_OR_DEEP_CELL = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\br\s*=\s*["']([A-Za-z]{2,}|[A-Za-z]?(?=\d{6}))(\d*)["']"""
)
_DIMENSION = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_CELL = re.compile(r"([A-Za-z]{1,3})?(\d+)?$")
_PREFIXED_SI = re.compile(rb"<[A-Za-z_][\w.-]*:si[\s>]")


class SpreadsheetTooLarge(ValueError):
    """The file is over a cap; the message is for the person who uploaded it."""


def _column_number(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number


def _too_big(detail: str) -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(
        _("このxlsxファイルは大きすぎて読めません（%(detail)s）。必要な行と列だけを残すか、CSVで保存し直してください。")
        % {"detail": detail}
    )


def _chunks(handle):
    """Pieces of the part that end after a ">" (a tag is never cut), read 256 KB at a time."""
    buffer = b""
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        buffer += chunk
        cut = buffer.rfind(b">")
        if cut < 0:
            if len(buffer) > _MAX_TAG:
                raise _too_big(_("読めない形の表があります"))
            continue
        yield buffer[: cut + 1]
        buffer = buffer[cut + 1 :]
        if len(buffer) > _MAX_TAG:
            raise _too_big(_("読めない形の表があります"))


def _rows_over(number: int) -> SpreadsheetTooLarge:
    return _too_big(_("%(n)s行目まで使われています。上限は%(max)s行です") % {"n": number, "max": MAX_ROWS})


def _columns_over(number: int) -> SpreadsheetTooLarge:
    return _too_big(_("%(n)s列目まで使われています。上限は%(max)s列です") % {"n": number, "max": MAX_COLUMNS})


def _check_dimension(text: bytes) -> None:
    match = _DIMENSION.search(text)
    if not match:
        return
    last = match.group(1).decode("ascii", "replace").split(":")[-1]
    cell = _CELL.match(last.replace("$", ""))
    if not cell:
        return
    letters, digits = cell.groups()
    if digits and int(digits) > MAX_ROWS:
        raise _rows_over(int(digits))
    if letters and _column_number(letters) > MAX_COLUMNS:
        raise _columns_over(_column_number(letters))


def _check_sheet(handle) -> None:
    cells = 0
    first = True
    for text in _chunks(handle):
        if first:
            _check_dimension(text)  # <dimension> comes before the sheet data
            first = False
        cells += text.count(b"<c ") + text.count(b"<c>") + text.count(b":c ") + text.count(b":c>")
        if cells > MAX_CELLS:
            raise _too_big(_("セルが%(max)s個を超えています") % {"max": MAX_CELLS})
        for match in _ROW.finditer(text):
            if int(match.group(1)) > MAX_ROWS:
                raise _rows_over(int(match.group(1)))
        for match in _WIDE_OR_DEEP_CELL.finditer(text):
            letters, digits = match.groups()
            if letters and _column_number(letters.decode()) > MAX_COLUMNS:
                raise _columns_over(_column_number(letters.decode()))
            if digits and int(digits) > MAX_ROWS:
                raise _rows_over(int(digits))


def _check_shared_strings(handle) -> None:
    count = 0
    for text in _chunks(handle):
        count += text.count(b"<si>") + text.count(b"<si ")
        if b":si" in text:  # a namespace prefix (rare): count its opening tags too
            count += len(_PREFIXED_SI.findall(text))
        if count > MAX_SHARED_STRINGS:
            raise _too_big(_("文字列が%(max)s個を超えています") % {"max": MAX_SHARED_STRINGS})


def _is_shared_strings(part) -> bool:
    return part.filename.lower().endswith("sharedstrings.xml")


def check_xlsx(data: bytes) -> None:
    """Raise SpreadsheetTooLarge when the XLSX in ``data`` is over a cap; ValueError-family
    zipfile errors (not a ZIP, damaged) are left to the caller."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise _too_big(_("中の部品が%(max)s個を超えています") % {"max": MAX_PARTS})
        total = sum(part.file_size for part in parts)
        if total > MAX_UNCOMPRESSED or any(
            part.file_size > (MAX_SHARED_STRINGS_PART if _is_shared_strings(part) else MAX_PART)
            for part in parts
        ):
            raise _too_big(_("展開すると%(mb)sMBを超えます") % {"mb": MAX_UNCOMPRESSED // (1024 * 1024)})
        for part in parts:
            name = part.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(part) as handle:
                    _check_sheet(handle)
            elif _is_shared_strings(part):
                with archive.open(part) as handle:
                    _check_shared_strings(handle)
