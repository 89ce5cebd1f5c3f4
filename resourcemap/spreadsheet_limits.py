"""Caps checked on an uploaded XLSX before any spreadsheet library opens it.

An XLSX file is a ZIP of XML parts. A tiny file can declare one cell at ``XFD1048576`` (openpyxl
then pads about 17 billion empty cells) or a shared-strings part that expands to gigabytes. So
before openpyxl reads anything, ``check_xlsx`` looks at:

- the ZIP directory: number of parts, the declared uncompressed size of each part and of all
  together (Python's zipfile never returns more than the declared size of a part);
- every worksheet part, streamed in small pieces (never held whole): its ``<dimension>``, the
  row and column of every row and cell, and the number of cells;
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

from .formats import MAX_ROWS as _DATA_ROWS

MAX_ROWS = _DATA_ROWS + 1  # the header row and the data rows the importers accept
MAX_COLUMNS = 500
MAX_CELLS = 2_000_000
MAX_PARTS = 1_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # all parts together
MAX_PART = 64 * 1024 * 1024  # one part
MAX_SHARED_STRINGS = MAX_CELLS
_CHUNK = 256 * 1024
_MAX_TAG = 64 * 1024  # an opening tag longer than this is not a spreadsheet

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension|si)\b([^>]*)>")
_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]{0,3})(\d*)["']""")
_DIMENSION = re.compile(rb"""\bref\s*=\s*["']([^"']*)["']""")
_CELL = re.compile(r"([A-Za-z]{1,3})?(\d+)?$")


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


def _stream_tags(handle):
    """Yield (name, attributes) of the opening tags we care about, reading small pieces."""
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
        for match in _TAG.finditer(buffer, 0, cut + 1):
            yield match.group(1), match.group(2)
        buffer = buffer[cut + 1 :]
        if len(buffer) > _MAX_TAG:
            raise _too_big(_("読めない形の表があります"))


def _check_dimension(attributes: bytes) -> None:
    match = _DIMENSION.search(attributes)
    if not match:
        return
    last = match.group(1).decode("ascii", "replace").split(":")[-1]
    cell = _CELL.match(last.replace("$", ""))
    if not cell:
        return
    letters, digits = cell.groups()
    if digits and int(digits) > MAX_ROWS:
        raise _too_big(_("%(n)s行目まで使われています。上限は%(max)s行です") % {"n": digits, "max": MAX_ROWS})
    if letters and _column_number(letters) > MAX_COLUMNS:
        raise _too_big(_("%(col)s列まで使われています。上限は%(max)s列です") % {"col": letters.upper(), "max": MAX_COLUMNS})


def _check_sheet(handle) -> None:
    row = 0
    cells = 0
    in_row = 0
    for name, attributes in _stream_tags(handle):
        if name == b"dimension":
            _check_dimension(attributes)
        elif name == b"row":
            ref = _REF.search(attributes)
            row = int(ref.group(2)) if ref and ref.group(2) else row + 1
            in_row = 0
            if row > MAX_ROWS:
                raise _too_big(_("%(n)s行目まで使われています。上限は%(max)s行です") % {"n": row, "max": MAX_ROWS})
        elif name == b"c":
            cells += 1
            in_row += 1
            ref = _REF.search(attributes)
            column = in_row
            if ref:
                letters, digits = ref.groups()
                if letters:
                    column = _column_number(letters.decode())
                    in_row = column
                if digits and int(digits) > MAX_ROWS:
                    raise _too_big(_("%(n)s行目まで使われています。上限は%(max)s行です") % {"n": int(digits), "max": MAX_ROWS})
            if column > MAX_COLUMNS:
                raise _too_big(_("%(n)s列目まで使われています。上限は%(max)s列です") % {"n": column, "max": MAX_COLUMNS})
            if cells > MAX_CELLS:
                raise _too_big(_("セルが%(max)s個を超えています") % {"max": MAX_CELLS})


def _check_shared_strings(handle) -> None:
    count = 0
    for name, _attributes in _stream_tags(handle):
        if name == b"si":
            count += 1
            if count > MAX_SHARED_STRINGS:
                raise _too_big(_("文字列が%(max)s個を超えています") % {"max": MAX_SHARED_STRINGS})


def check_xlsx(data: bytes) -> None:
    """Raise SpreadsheetTooLarge when the XLSX in ``data`` is over a cap; ValueError-family
    zipfile errors (not a ZIP, damaged) are left to the caller."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise _too_big(_("中の部品が%(max)s個を超えています") % {"max": MAX_PARTS})
        total = sum(part.file_size for part in parts)
        if total > MAX_UNCOMPRESSED or any(part.file_size > MAX_PART for part in parts):
            raise _too_big(_("展開すると%(mb)sMBを超えます") % {"mb": MAX_UNCOMPRESSED // (1024 * 1024)})
        for part in parts:
            name = part.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(part) as handle:
                    _check_sheet(handle)
            elif name.endswith("sharedstrings.xml"):
                with archive.open(part) as handle:
                    _check_shared_strings(handle)
