"""The error report of a refused file: one line per problem (row, column, message), stored as .xlsx."""

from __future__ import annotations

import io
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from services import exports, uploads
from services.imports.columns import HEADERS, RowError


def error_report_xlsx(errors: Iterable[RowError]) -> bytes:
    """The error report: one line per problem (row, column, message), in row order."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_l("Errors")))
    for letter, width in zip("ABC", (8, 24, 80), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    header = [exports.text_cell(ws, str(title)) for title in (_l("Row"), _l("Column"), _l("Message"))]
    for cell in header:
        cell.font = Font(bold=True)  # as in every other workbook of the system (services/exports.py)
    ws.append(header)
    for e in sorted(errors, key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else -1)):
        ws.append([e.row or None, exports.text_cell(ws, str(e.column)), exports.text_cell(ws, str(e.message))])  # never a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_error_report(sha256: str, limit: int = 500) -> list[RowError]:
    """The first `limit` lines of a stored report, for the job page."""
    path = uploads.path_of(sha256)
    if not path.exists():
        return []
    with path.open("rb") as fh:  # stored without an extension, which openpyxl wants from a file name
        wb = load_workbook(fh, read_only=True, data_only=True)
        try:
            out = []
            for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
                if len(out) >= limit:
                    break
                out.append(RowError(int(row[0] or 0), str(row[1] or ""), str(row[2] or "")))
            return out
        finally:
            wb.close()
