"""Data leaving the system as files (第二十八条: every export approved, logged, attributable).

Who may take a file out is decided by services/export_gate.py (the one gate; approvals in
services/export_requests.py); this module only writes the files. The export itself is streamed: rows are read `yield_per` and written by
openpyxl's write-only workbook to a temporary file, which is then sent in chunks and deleted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import IO, Any
from urllib.parse import quote

from flask import g, has_request_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Select
from sqlalchemy.orm import Query
from werkzeug.utils import secure_filename

from extensions import db
from services import export_gate

CHUNK_BYTES = 64 * 1024
YIELD_PER = 1000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ExportColumn = tuple[str, Callable[[Any], Any]]  # (header, value of one row)


def _approved_banner(banner: str | None) -> str | None:
    """The watermark line: the caller's, else that of the approved request being produced
    (services/export_requests.py replays this view). Written while streaming, it spares the
    producer from loading the whole file again to add it; `g.export_rows` tells it the rows."""
    banner = banner if banner is not None else export_gate.banner()
    if banner and export_gate.banner() is not None:
        g.export_bannered, g.export_rows = True, 0
    return banner


def _count_row() -> None:
    if has_request_context() and g.get("export_bannered"):
        g.export_rows += 1
        beat = g.get("export_beat")  # the producing worker's heartbeat (throttled by job_progress)
        if beat is not None:
            beat(g.export_rows)


def content_disposition(filename: str) -> str:
    """An attachment header that keeps a Chinese file name (RFC 6266) with an ASCII fallback."""
    ascii_name = secure_filename(filename) or "export.xlsx"
    return f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"


def _rows(query: Any) -> Iterable[Any]:
    """Stream the rows of a legacy Query or a 2.0 Select, 1,000 at a time."""
    if hasattr(query, "yield_per"):
        return query.yield_per(YIELD_PER)  # type: ignore[no-any-return]
    return db.session.execute(query.execution_options(yield_per=YIELD_PER)).scalars()


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def is_formula_like(value: Any) -> bool:
    """A text a spreadsheet would read as a formula (issue 13, point 13: CSV/DDE injection).

    Real numbers are never text here: an int or float is written as a number. A text that is
    just a signed number ("-5", "+3.2") is data, not a formula, and is left as it is.
    """
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value)


def neutralise_text(value: Any) -> Any:
    """For writers that cannot type a cell (CSV, tablib): a leading apostrophe, the spreadsheet
    convention for "this is text"."""
    return "'" + value if is_formula_like(value) else value


def text_cell(ws: Any, value: str) -> WriteOnlyCell:
    """A write-only cell forced to the string type: Excel shows "=1+1" as text, never evaluates it."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _cell_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):  # a yes/no reads 是/否 in a file as on the screens, never TRUE/FALSE
        return "是" if value else "否"
    if isinstance(value, (int, float, Decimal, date, datetime)):
        return value
    return str(value)


class _FileChunks:
    """Iterates a finished temporary file in chunks. The file's name is removed as soon as it is
    open, so nothing is left on disk whether the download completes, is cut off, or is never read."""

    def __init__(self, path: str, chunk: int = CHUNK_BYTES):
        self.chunk = chunk
        self._fh: IO[bytes] | None = open(path, "rb")  # noqa: SIM115  (closed in close())
        with contextlib.suppress(OSError):
            os.unlink(path)  # POSIX: the open handle still reads it; the space is freed on close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self._fh.read(self.chunk) if self._fh else b""
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:  # the WSGI server calls it when the response ends
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def students_xlsx_stream(query: Any, columns: Sequence[ExportColumn], sheet_title: str = "学生名单") -> Iterator[bytes]:
    """The rows of `query` (already scoped and filtered by the caller) as an XLSX, in chunks.

    The workbook is built before the first chunk is returned, so a database error still turns
    into an error page, not a truncated download.
    """
    return workbook_stream([(sheet_title, columns, query)])


Sheet = tuple[str, Sequence[ExportColumn], Iterable[Any]]  # (title, columns, rows: a Query/Select or any iterable)


def workbook_stream(sheets: Sequence[Sheet], banner: str | None = None) -> Iterator[bytes]:
    """Several sheets in one XLSX, in chunks, built like `students_xlsx_stream` (rows written as
    they are read; a Query or Select is streamed `yield_per`).

    Each sheet opens in Excel readable (issue 14, point 7): bold Chinese headers, the header row
    frozen, and column widths fitted to the header and the typical length of the first rows.
    """
    banner = _approved_banner(banner)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet_title, columns, rows in sheets:
        ws = wb.create_sheet(sheet_title[:31])
        source = iter(_rows(rows) if isinstance(rows, (Query, Select)) else rows)
        sample = [[_cell_value(get(obj)) for _title, get in columns] for obj in islice(source, WIDTH_SAMPLE_ROWS)]
        # A write-only sheet writes its column widths and panes with the first row: set them first.
        for i, width in enumerate(column_widths([str(title) for title, _get in columns], sample), start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A3" if banner else "A2"
        if banner:  # the watermark line of an approved export (第二十八条): before the column headers
            ws.append([text_cell(ws, banner)])
        header = []
        for title, _get in columns:
            cell = text_cell(ws, str(title))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for values in sample:
            ws.append(_xlsx_row(ws, values))
            _count_row()
        for obj in source:
            ws.append(_xlsx_row(ws, [_cell_value(get(obj)) for _title, get in columns]))
            _count_row()
    fd, path = tempfile.mkstemp(prefix="xueji-export-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return _FileChunks(path)


def _xlsx_row(ws: Any, values: Sequence[Any]) -> list[Any]:
    row: list[Any] = []
    for value in values:
        if isinstance(value, (date, datetime)):
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = "yyyy-mm-dd" if not isinstance(value, datetime) else "yyyy-mm-dd hh:mm"
            row.append(cell)
        elif isinstance(value, str):
            row.append(text_cell(ws, value))
        else:
            row.append(value)
    return row


WIDTH_SAMPLE_ROWS = 200  # rows read ahead to size the columns (a write-only sheet cannot be resized later)
MIN_WIDTH, MAX_WIDTH = 6, 60


def display_width(value: Any) -> int:
    """How many Latin character widths a value takes in a cell: a CJK character counts double."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16  # yyyy-mm-dd hh:mm
    if isinstance(value, date):
        return 10
    text = str(value)
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in text.splitlines() or [""])


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """A width per column: the header, or the data's typical length (its 90th percentile, so that one
    long remark does not stretch the column), whichever is wider; with a little margin, capped."""
    widths = []
    for i, header in enumerate(headers):
        lengths = sorted(display_width(r[i]) for r in rows if i < len(r))
        typical = lengths[math.ceil(0.9 * (len(lengths) - 1))] if lengths else 0
        widths.append(min(max(display_width(header), typical) + 2, MAX_WIDTH))
    return [max(w, MIN_WIDTH) for w in widths]


def csv_stream(query: Any, columns: Sequence[ExportColumn], banner: str | None = None) -> Iterator[bytes]:
    """The rows as CSV (UTF-8 with BOM, so that Excel reads the Chinese), built like the XLSX.

    Texts that a spreadsheet would evaluate get a leading apostrophe (`neutralise_text`).
    """
    banner = _approved_banner(banner)
    fd, path = tempfile.mkstemp(prefix="xueji-export-", suffix=".csv")
    os.close(fd)
    try:
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            if banner:
                writer.writerow([neutralise_text(banner)])
            writer.writerow([neutralise_text(str(title)) for title, _get in columns])
            source = _rows(query) if isinstance(query, (Query, Select)) else query
            for obj in source:
                writer.writerow([_csv_value(get(obj)) for _title, get in columns])
                _count_row()
    except BaseException:
        os.unlink(path)
        raise
    return _FileChunks(path)


def _csv_value(value: Any) -> Any:
    value = _cell_value(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_text(value) if isinstance(value, str) else value


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Small CSV in memory (same neutralisation), for tests and short lists."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue().encode("utf-8-sig")
