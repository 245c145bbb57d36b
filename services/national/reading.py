"""Reading a national spreadsheet: the same checks as the Excel import (a real, unencrypted .xlsx
by its content, at most 10 MB, not a ZIP bomb; services/imports/parse.py), then the header row
recognised by its Chinese column names, and every cell read into the national form. A cell that
cannot be read is an error of its row (row, column, Chinese message); the row's other cells are
still read."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import load_workbook

from services.errors import RuleViolation
from services.imports.parse import _read_limited, check_workbook_bytes
from services.national.columns import CellError, NationalColumn, normalise

log = logging.getLogger(__name__)

MAX_ROWS = 20_000  # pupils per file, as the Excel import
MAX_SCANNED_ROWS = 100_000
HEADER_SEARCH_ROWS = 3  # rows tried as the header (a watermark line may come first)


def refuse(message: str) -> RuleViolation:
    return RuleViolation([("file", message)])


@dataclass
class NationalRow:
    row: int  # the Excel row number (the header is row 1)
    values: dict[str, str | None]  # column key → the value in the national form
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column header, message)

    def get(self, key: str) -> str | None:
        return self.values.get(key)


@dataclass
class NationalFile:
    columns: list[NationalColumn]  # the columns the file has, in our order
    rows: list[NationalRow]


def _header(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).strip("*＊★")


def _positions(header: tuple[Any, ...], known: dict[str, NationalColumn]) -> list[tuple[NationalColumn, int]]:
    """The recognised columns of a header row with their positions (the first of a repeated column)."""
    positions: list[tuple[NationalColumn, int]] = []
    seen: set[str] = set()
    for i, value in enumerate(header):
        col = known.get(_header(value))
        if col is not None and col.key not in seen:
            seen.add(col.key)
            positions.append((col, i))
    return positions


def read_data(data: bytes) -> list[tuple[Any, ...]]:
    """The rows of the first worksheet (header first), or RuleViolation when the file is no workbook."""
    check_workbook_bytes(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors, InvalidFileException …)
        raise refuse("文件已损坏，无法打开。请在 Excel 中另存为 .xlsx 后重新上传。") from None
    try:
        sheets = [ws for ws in wb.worksheets if getattr(ws, "iter_rows", None)]
        if not sheets:
            raise refuse("工作簿中没有工作表。")
        ws = sheets[0]
        ws.reset_dimensions()  # do not trust the stored size of the sheet
        out: list[tuple[Any, ...]] = []
        for values in ws.iter_rows(values_only=True):
            out.append(values)
            if len(out) > MAX_SCANNED_ROWS:
                raise refuse(f"文件超过{MAX_ROWS}行，请拆分成几个文件后分别上传。")
        return out
    except RuleViolation:
        raise
    except Exception:
        log.exception("unreadable national workbook")
        raise refuse("文件已损坏，无法打开。请在 Excel 中另存为 .xlsx 后重新上传。") from None
    finally:
        wb.close()


def read_upload(stream: IO[bytes], known: dict[str, NationalColumn], required: Sequence[str],
                what: str) -> tuple[list[NationalColumn], list[NationalRow]]:
    """The recognised columns and the data rows of an uploaded national file.

    `known`: header → column; `required`: the headers that make the file recognisable as `what`."""
    try:
        data = _read_limited(stream)
    except RuleViolation as exc:
        raise refuse(str(exc.problems[0][1]) if exc.problems else str(exc)) from None
    table = read_data(data)
    # The header is the first row; a file produced on an approved export request has its
    # watermark line above it (services/export_requests.py), so the first few rows are tried.
    found_at, positions = 0, _positions(table[0] if table else (), known)
    for k in range(1, min(HEADER_SEARCH_ROWS, len(table))):
        if len(positions) >= len(required):
            break
        candidate = _positions(table[k], known)
        if len(candidate) > len(positions):
            found_at, positions = k, candidate
    found = {c.header for c, _i in positions}
    missing = [h for h in required if h not in found]
    if missing:
        raise refuse(f"第一行不是{what}的表头，缺少这些列：{'、'.join(missing)}。"
                     "请上传从全国学籍系统导出的原始文件（第一行为列名）。")
    rows: list[NationalRow] = []
    for number, values in enumerate(table[found_at + 1:], start=found_at + 2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        row = NationalRow(number, {})
        for col, i in positions:
            raw = values[i] if i < len(values) else None
            try:
                row.values[col.key] = normalise(col, raw)
            except CellError as exc:
                row.values[col.key] = None
                row.errors.append((col.header, str(exc)))
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise refuse(f"文件超过{MAX_ROWS}行，请拆分成几个文件后分别上传。")
    if not rows:
        raise refuse("文件中没有学生数据：表头下面是空的。")
    order = {c.key: k for k, (c, _i) in enumerate(sorted(positions, key=lambda p: p[1]))}
    columns = sorted((c for c, _i in positions), key=lambda c: order[c.key])
    return columns, rows
