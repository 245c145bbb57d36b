"""Data leaving the system as files (第二十八条: every export approved, logged, attributable).

`may_export` is the one gate every export passes. Today everyone who can see a list may export
it; the supervising authority's written approval (the confidentiality issue) goes in here and
nowhere else. The export itself is streamed: rows are read `yield_per` and written by
openpyxl's write-only workbook to a temporary file, which is then sent in chunks and deleted.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Select
from sqlalchemy.orm import Query
from werkzeug.utils import secure_filename

from extensions import db

if TYPE_CHECKING:
    from models.people import User

CHUNK_BYTES = 64 * 1024
YIELD_PER = 1000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ExportColumn = tuple[str, Callable[[Any], Any]]  # (header, value of one row)


def content_disposition(filename: str) -> str:
    """An attachment header that keeps a Chinese file name (RFC 6266) with an ASCII fallback."""
    ascii_name = secure_filename(filename) or "export.xlsx"
    return f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"


def may_export(actor: User | None, what: str) -> bool:
    """May `actor` take `what` ("student", …) out of the system as a file?

    The single place of the 第二十八条 approval gate: today any active, logged-in user may
    export what their scope shows them (the rows are scoped by the caller's query).
    """
    return actor is not None and bool(getattr(actor, "active", False)) and bool(getattr(actor, "is_authenticated", True))


def _rows(query: Any) -> Iterable[Any]:
    """Stream the rows of a legacy Query or a 2.0 Select, 1,000 at a time."""
    if hasattr(query, "yield_per"):
        return query.yield_per(YIELD_PER)  # type: ignore[no-any-return]
    return db.session.execute(query.execution_options(yield_per=YIELD_PER)).scalars()


def _cell_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bool, int, float, Decimal, date, datetime)):
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


def workbook_stream(sheets: Sequence[Sheet]) -> Iterator[bytes]:
    """Several sheets in one XLSX, in chunks, built like `students_xlsx_stream` (rows written as
    they are read; a Query or Select is streamed `yield_per`)."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet_title, columns, rows in sheets:
        ws = wb.create_sheet(sheet_title[:31])
        header = []
        for title, _get in columns:
            cell = WriteOnlyCell(ws, value=str(title))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        ws.freeze_panes = "A2"
        source = _rows(rows) if isinstance(rows, (Query, Select)) else rows
        for obj in source:
            row = []
            for _title, get in columns:
                value = _cell_value(get(obj))
                if isinstance(value, (date, datetime)):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd" if not isinstance(value, datetime) else "yyyy-mm-dd hh:mm"
                    row.append(cell)
                else:
                    row.append(value)
            ws.append(row)
    fd, path = tempfile.mkstemp(prefix="xueji-export-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return _FileChunks(path)
