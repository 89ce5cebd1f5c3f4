"""The import report: one outcome per file line, totals, and the left-out rows as a CSV."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import formats
from .layouts import LAYOUT_LABELS

NEW, UPDATE, UNCHANGED, SKIPPED, NOT_LISTED, ERROR = (
    "new", "update", "unchanged", "skipped", "not_listed", "error"
)
STATUS_LABELS = {
    NEW: gettext_lazy("新規"),
    UPDATE: gettext_lazy("変更"),
    UNCHANGED: gettext_lazy("変更なし"),
    SKIPPED: gettext_lazy("対象外（他の自治体）"),
    NOT_LISTED: gettext_lazy("対象外（このマップにない種類）"),
    ERROR: gettext_lazy("誤り"),
}
LEFT_OUT_REASON_HEADER = "取り込まなかった理由"


@dataclass
class RowOutcome:
    line: int
    status: str
    name: str = ""
    type_name: str = ""
    provider_id: int | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    note: str = ""
    version: int | None = None  # the matched provider's version when this row was read
    likely_id: int | None = None  # a registered provider this row may be (staff decide)
    merged_id: int | None = None  # the provider staff said this row is (``merges``)


@dataclass
class ImportReport:
    layout: str
    file_name: str
    committed: bool
    rows: list[RowOutcome] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    not_listed: Counter = field(default_factory=Counter)  # service name -> rows
    left_out_rows: dict[int, list[str]] = field(default_factory=dict)  # line -> original cells
    leave_out_errors: bool = False
    rows_read: int = 0
    seconds: float = 0.0
    hours_file_name: str = ""

    @property
    def layout_label(self) -> str:
        return str(LAYOUT_LABELS[self.layout])

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def totals(self) -> dict[str, int]:
        totals = {s: self.count(s) for s in (NEW, UPDATE, UNCHANGED, SKIPPED, NOT_LISTED, ERROR)}
        totals["error_lines"] = len(self.error_line_numbers)
        return totals

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.line, col, msg) for r in self.rows for col, msg in r.errors]

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.rows)

    @property
    def error_line_numbers(self) -> list[int]:
        return sorted({r.line for r in self.rows if r.errors})

    @property
    def good_changes(self) -> int:
        """Rows that would be written (new or changed) if the rows with problems are left out."""
        bad = set(self.error_line_numbers)
        return sum(1 for r in self.rows if r.status in (NEW, UPDATE) and r.line not in bad)

    def error_lines(self) -> list[str]:
        return [
            _("%(line)d行目 %(column)s: %(message)s") % {"line": line, "column": col or "-", "message": msg}
            for line, col, msg in self.errors
        ]

    def not_listed_text(self) -> str:
        return "、".join(
            _("%(name)s %(count)d行") % {"name": name, "count": count}
            for name, count in sorted(self.not_listed.items(), key=lambda item: (-item[1], item[0]))
        )

    def summary(self) -> str:
        t = self.totals
        text = _(
            "新規 %(new)d件、変更 %(update)d件、変更なし %(unchanged)d件、"
            "対象外（他の自治体） %(skipped)d件、誤り %(error_lines)d行"
        ) % t
        if self.not_listed:
            text += _("、このマップにない種類のため対象外 %(count)d行（%(list)s）") % {
                "count": t[NOT_LISTED], "list": self.not_listed_text(),
            }
        if self.committed and self.error_line_numbers:
            text += _("。誤りのある%(count)d行は取り込んでいません") % {"count": len(self.error_line_numbers)}
        return text


def left_out_csv(report: ImportReport) -> bytes:
    """The rows with problems as they were in the file, plus a column with the reasons."""
    reasons: dict[int, list[str]] = {}
    for line, column, message in report.errors:
        reasons.setdefault(line, []).append(f"{column}: {message}" if column and column != "-" else message)
    headers = [*report.headers, LEFT_OUT_REASON_HEADER]
    rows = ([*cells, " / ".join(reasons.get(line, []))] for line, cells in sorted(report.left_out_rows.items()))
    return formats.write_csv(headers, rows)
