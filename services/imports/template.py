"""The import template: the columns (`COLUMNS`) with the code tables as drop-downs (a hidden
代码表 sheet), a frozen header and a grey note row."""

from __future__ import annotations

import io
import re
from functools import cache

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services import codes
from services.imports.columns import CODE_SHEET, COLUMNS, DATA_SHEET, FIRST_DATA_ROW, HEADER_ROW, MAX_ROWS, NOTE_PREFIX, NOTE_ROW

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)
NOTE_FONT = Font(italic=True, color="808080", size=9)


@cache
def template_xlsx() -> bytes:
    """The import template: data sheet with drop-downs, and the hidden 代码表 they refer to."""
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    code_ws = wb.create_sheet(CODE_SHEET)
    code_ws.sheet_state = "hidden"

    lists: dict[str, str] = {}
    titles = {c.table: re.sub(r"^监护人\d", "监护人", c.header) for c in reversed(COLUMNS) if c.table}
    for i, table in enumerate(dict.fromkeys(c.table for c in COLUMNS if c.table), start=1):
        letter = get_column_letter(i)
        code_ws.cell(row=1, column=i, value=titles[table])
        entries = list(codes.table(table).items())
        for r, (code, label) in enumerate(entries, start=2):
            code_ws.cell(row=r, column=i, value=f"{code} {label}")
        code_ws.column_dimensions[letter].width = 24
        lists[table] = f"'{CODE_SHEET}'!${letter}$2:${letter}${len(entries) + 1}"

    last_row = FIRST_DATA_ROW + MAX_ROWS - 1
    for i, col in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=HEADER_ROW, column=i, value=col.header)
        head.font = REQUIRED_FONT if col.required else HEADER_FONT
        head.fill = HEADER_FILL
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        note = ws.cell(row=NOTE_ROW, column=i, value=(NOTE_PREFIX if i == 1 else "") + col.note)
        note.font = NOTE_FONT
        note.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[letter].width = col.width
        cells = f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}"
        if col.kind in ("code", "grade"):
            dv = DataValidation(type="list", formula1=lists[col.table], allow_blank=True)  # type: ignore[index]
        elif col.kind == "bool":
            dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        else:
            dv = None
        if dv is not None:
            # A warning, not a stop: typing the bare code (e.g. 01) is accepted too.
            dv.errorStyle, dv.showErrorMessage = "warning", True
            dv.errorTitle, dv.error = col.header, "请从下拉列表中选择，或填写代码。"
            dv.add(cells)
            ws.add_data_validation(dv)
        if col.kind in ("id", "text", "division", "month"):
            ws.column_dimensions[letter].number_format = "@"  # 18-digit IDs and phones stay text
        elif col.kind == "date":
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
    ws.row_dimensions[HEADER_ROW].height = 30
    ws.row_dimensions[NOTE_ROW].height = 30
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)  # header, note row and the name stay visible
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
