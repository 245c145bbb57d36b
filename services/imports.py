"""Excel import of new pupils (SPEC §7, *beyond the rule*): template, parsing, validation, writing.

- `template_xlsx()`: the national basic-information columns (`COLUMNS`) with the code tables as
  drop-downs (a hidden 代码表 sheet), a frozen header and a grey note row.
- `parse(stream)`: the rows of an uploaded workbook (openpyxl read-only); anything that is not a
  readable .xlsx of that layout is refused with a clear RuleViolation before it touches storage.
- `validate_rows(...)`: every rule of services/students.validate on every row, plus duplicates
  within the file, as (row, column, message).
- `import_rows(...)`: all-or-nothing — if any row is wrong nothing is written; otherwise every row
  is enrolled (待核办, submitted to the authority: services/enrollment) in one transaction.
- `submit_upload(...)` / `run_job(...)`: the web upload as an ImportJob; files of INLINE_ROWS rows
  or more run in a background thread whose progress the upload page polls.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import IO, Any

from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select, update

from extensions import db
from models.imports import DONE, FAILED, FINISHED, QUEUED, VALIDATING, WRITING, ImportJob
from models.org import SCHOOL, OrgUnit
from models.people import OFFICIAL_ROLE_FOR_LEVEL, REGISTRAR, Role, User
from models.student import RESIDENT_ID, Guardian, Student
from services import audit, codes, scope, uploads
from services.clock import now
from services.enrollment import finish_enrollments, stage_enrollment
from services.errors import NotInScope, RuleViolation
from services.students import NAME_RE, PHONE_RE, validate

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000  # data rows per file
MAX_SCANNED_ROWS = 100_000  # rows read at all, blank ones included (a sheet formatted to the bottom)
MAX_UNPACKED_BYTES = 300 * 1024 * 1024  # a small file that unpacks to gigabytes is refused
INLINE_ROWS = 500  # smaller files are imported during the upload request itself
ID_CHUNK = 1000  # ID numbers per IN query when looking for records that already hold them
DATA_SHEET = "学生基本信息"
CODE_SHEET = "代码表"
HEADER_ROW, NOTE_ROW, FIRST_DATA_ROW = 1, 2, 3
NOTE_PREFIX = "【说明】"
ZIP_MAGIC = (b"PK\x03\x04",)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML and the old .xls are OLE files
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
TRUE_WORDS = {"是", "1", "Y", "YES", "TRUE", "√", "有"}
FALSE_WORDS = {"否", "0", "N", "NO", "FALSE", "×", "无"}
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


# --- the columns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the national basic-information sheet (学生基本信息)."""

    header: str
    field: str  # a Student attribute, or "guardianN.<attribute>"
    kind: str  # text, code, grade, date, month, bool, division, id
    table: str | None = None  # code table (data/codes.json) for code and grade columns
    required: bool = False
    default: Any = None  # used when the cell is empty (the model's own default)
    width: int = 12
    note: str = ""  # the grey hint under the header (part of the Chinese template)


def _guardian_columns(n: int) -> tuple[Column, ...]:
    p = f"guardian{n}."
    return (
        Column(f"监护人{n}关系", p + "relation", "code", "guardian_relation", width=14, note="下拉选择"),
        Column(f"监护人{n}姓名", p + "name", "text", width=12),
        Column(f"监护人{n}身份证件类型", p + "id_type", "code", "id_type", width=16, note="下拉选择，默认居民身份证"),
        Column(f"监护人{n}身份证件号", p + "id_number", "id", width=22, note="文本格式"),
        Column(f"监护人{n}联系电话", p + "phone", "text", width=14),
    )


COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", "text", required=True, note="必填"),
    Column("性别", "gender", "code", "gender", required=True, width=8, note="必填，下拉选择"),
    Column("出生日期", "birth_date", "date", required=True, note="必填，如 2017-03-15"),
    Column("身份证件类型", "id_type", "code", "id_type", required=True, width=16, note="必填，下拉选择"),
    Column("身份证件号", "id_number", "id", width=22, note="居民身份证必填，文本格式18位"),
    Column("民族", "ethnicity", "code", "ethnicity", required=True, width=12, note="必填，下拉选择"),
    Column("国籍/地区", "nationality", "code", "nationality", default="156", note="空白为中国"),
    Column("港澳台侨外", "overseas", "code", "overseas", default="0", note="空白为否"),
    Column("出生地", "birthplace", "division", width=10, note="6位行政区划代码"),
    Column("籍贯", "native_place", "text"),
    Column("户口所在地", "hukou_location", "division", width=10, note="6位行政区划代码"),
    Column("户口性质", "hukou_type", "code", "hukou_type"),
    Column("健康状况", "health", "code", "health", default="1", width=14, note="空白为健康或良好"),
    Column("年级", "grade", "grade", "grade", required=True, width=10, note="必填，下拉选择"),
    Column("班级", "class_name", "text", width=8),
    Column("入学年月", "enroll_month", "month", width=10, note="如 2024-09"),
    Column("入学方式", "enroll_mode", "code", "enroll_mode", width=14),
    Column("就读方式", "attendance_mode", "code", "attendance_mode", width=10),
    Column("现住址", "current_address", "text", width=30),
    Column("家庭住址", "home_address", "text", width=30),
    Column("联系电话", "phone", "text", width=14),
    Column("是否独生子女", "only_child", "bool", default=False, note="是/否，空白为否"),
    Column("是否受过学前教育", "preschool", "bool", default=True, width=16, note="是/否，空白为是"),
    Column("是否留守儿童", "left_behind", "code", "left_behind", default="0", width=14, note="空白为非留守儿童"),
    Column("是否进城务工人员随迁子女", "migrant_child", "bool", default=False, width=24, note="是/否，空白为否"),
    Column("是否孤儿", "orphan", "bool", default=False, width=10, note="是/否，空白为否"),
    Column("残疾人类型", "disability", "code", "disability", default="0", note="空白为无"),
    *_guardian_columns(1),
    *_guardian_columns(2),
)
HEADERS = tuple(c.header for c in COLUMNS)
HEADER_OF = {c.field: c.header for c in COLUMNS}
STUDENT_COLUMNS = tuple(c for c in COLUMNS if not c.field.startswith("guardian"))
GUARDIAN_FIELDS = ("relation", "name", "id_type", "id_number", "phone")


@dataclass
class RowData:
    """One data row of the sheet: its Excel row number and the raw cell values by Column.field."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    row: int  # the Excel row number (the header is row 1); 0 for the whole file
    column: str  # the column header, "" for the whole row
    message: str


class ImportRejected(RuleViolation):
    """The file has errors; nothing was written. `errors` is the report."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__([(e.column, _row_message(e)) for e in errors[:50]])


def _row_message(e: RowError) -> str:
    where = str(_l("Row %(row)d", row=e.row)) if e.row else ""
    return "：".join(p for p in (where, e.column, e.message) if p)


class _CellError(ValueError):
    """A cell that cannot be read as its column's type; the message is for the user."""


# --- the template ----------------------------------------------------------------------

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


# --- parsing ---------------------------------------------------------------------------


def _refuse(message: Any) -> RuleViolation:
    return RuleViolation([("file", str(message))])


def _read_limited(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_FILE_BYTES + 1)
    if not data:
        raise _refuse(_l("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(_l("The file is larger than 10 MB. Split it into several files of at most %(n)d rows.", n=MAX_ROWS))
    return data


def check_workbook_bytes(data: bytes) -> None:
    """Refuse what is not an unencrypted .xlsx, by content (the file name proves nothing)."""
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_MARK in data:
            raise _refuse(_l("The workbook is password-protected. Remove the password in Excel, save it and upload it again."))
        raise _refuse(_l("This is an old Excel 97–2003 (.xls) file. Save it as “Excel Workbook (*.xlsx)” and upload it again."))
    if not data.startswith(ZIP_MAGIC):
        raise _refuse(_l("The file is not an Excel workbook (.xlsx). Download the template, fill it in and upload it."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(_l("The file is damaged and cannot be opened. Save it again in Excel as .xlsx and upload it again.")) from None
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise _refuse(_l("The file is a ZIP archive but not an Excel workbook (.xlsx)."))
    if unpacked > MAX_UNPACKED_BYTES:
        raise _refuse(_l("The workbook is too large when unpacked. Split it into several files of at most %(n)d rows.", n=MAX_ROWS))


def _normal_header(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).strip("*＊")


def parse(stream: IO[bytes]) -> list[RowData]:
    """The data rows of an uploaded template, or RuleViolation saying clearly what is wrong with the file."""
    data = _read_limited(stream)
    check_workbook_bytes(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors, InvalidFileException …)
        raise _refuse(_l("The file is damaged and cannot be opened. Save it again in Excel as .xlsx and upload it again.")) from None
    try:
        return _read_sheet(wb)
    except RuleViolation:
        raise
    except Exception:
        log.exception("unreadable workbook")
        raise _refuse(_l("The file is damaged and cannot be opened. Save it again in Excel as .xlsx and upload it again.")) from None
    finally:
        wb.close()


def _read_sheet(wb: Any) -> list[RowData]:
    sheets = [ws for ws in wb.worksheets if getattr(ws, "iter_rows", None)]
    ws = next((s for s in sheets if s.title == DATA_SHEET), sheets[0] if sheets else None)
    if ws is None:
        raise _refuse(_l("The workbook has no worksheet."))
    ws.reset_dimensions()  # do not trust the stored size of the sheet (read-only mode relies on it)
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    index: dict[str, int] = {}
    for i, value in enumerate(header):
        index.setdefault(_normal_header(value), i)
    missing = [h for h in HEADERS if h not in index]
    if missing:
        shown = "、".join(missing[:8]) + ("…" if len(missing) > 8 else "")
        raise _refuse(_l("The first row must be the header of the template. Missing columns: %(cols)s. "
                         "Download the template and copy the data into it.", cols=shown))
    positions = [(c.field, index[c.header]) for c in COLUMNS]
    out: list[RowData] = []
    for number, values in enumerate(rows, start=HEADER_ROW + 1):
        if number > MAX_SCANNED_ROWS:
            raise _refuse(_l("The file has more than %(n)d rows. Split it into several files.", n=MAX_ROWS))
        cells = {field: _clean(values[i]) if i < len(values) else None for field, i in positions}
        if all(v is None for v in cells.values()):
            continue
        first = cells[COLUMNS[0].field]
        if isinstance(first, str) and first.startswith(NOTE_PREFIX):
            continue
        out.append(RowData(row=number, values=cells))
        if len(out) > MAX_ROWS:
            raise _refuse(_l("The file has more than %(n)d rows. Split it into several files.", n=MAX_ROWS))
    if not out:
        raise _refuse(_l("The file contains no pupils: fill in the rows below the header."))
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# --- from cells to a Student -----------------------------------------------------------


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime):
        raw = raw.date()
    text = raw.isoformat() if isinstance(raw, date) else str(raw).strip()
    return text or None


@cache
def _labels(table: str) -> dict[str, str]:
    return {label: code for code, label in codes.table(table).items()}


def _code(raw: Any, col: Column) -> str | None:
    """"01 汉族" (the drop-down), "01", "汉族", or 1 for "01" (a number cell lost the zero)."""
    text = _text(raw)
    if text is None:
        return None
    table = codes.table(col.table)  # type: ignore[arg-type]
    if text in table:
        return text
    head = text.split()[0]
    if head in table:
        return head
    if text in _labels(col.table):  # type: ignore[arg-type]
        return _labels(col.table)[text]  # type: ignore[arg-type]
    if head.isdigit():
        padded = head.zfill(max(len(c) for c in table))
        if padded in table:
            return padded
    return head  # unknown: validate() names it


def _grade(raw: Any, col: Column) -> int | None:
    code = _code(raw, col)
    if code is None:
        return None
    if code not in codes.table("grade"):
        raise _CellError(str(_l("Unknown code %(code)s.", code=code)))
    return int(code)


def _date(raw: Any, col: Column) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, (int, float)) and 1000 < raw < 100000:  # an Excel serial day number
        return from_excel(raw).date()  # type: ignore[union-attr]
    text = _text(raw) or ""
    m = DATE_RE.match(text) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", text))
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise _CellError(str(_l("Write the date as YYYY-MM-DD, e.g. 2017-03-15.")))


def _month(raw: Any, col: Column) -> str | None:
    if isinstance(raw, (datetime, date)):
        return f"{raw.year:04d}-{raw.month:02d}"
    text = _text(raw)
    if text is None:
        return None
    m = MONTH_RE.match(text) or re.match(r"^(\d{4})(\d{2})$", text)
    return f"{m.group(1)}-{int(m.group(2)):02d}" if m else text  # validate() refuses a malformed month


def _bool(raw: Any, col: Column) -> bool | None:
    text = _text(raw)
    if text is None:
        return None
    word = text.upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _CellError(str(_l("Write 是 or 否.")))


def _division(raw: Any, col: Column) -> str | None:
    text = _text(raw)
    return text.split()[0] if text else None


def _id(raw: Any, col: Column) -> str | None:
    if isinstance(raw, float) or (isinstance(raw, int) and len(str(raw)) > 15):
        raise _CellError(str(_l("The ID number was stored as a number and lost digits. Format the column as text and type it again.")))
    text = _text(raw)
    return re.sub(r"\s+", "", text).upper() if text else None


CONVERTERS: dict[str, Callable[[Any, Column], Any]] = {
    "text": lambda raw, col: _text(raw),
    "code": _code,
    "grade": _grade,
    "date": _date,
    "month": _month,
    "bool": _bool,
    "division": _division,
    "id": _id,
}


@dataclass
class _Built:
    row: RowData
    student: Student
    guardian_numbers: list[int]  # guardian k of student.guardians is 监护人{n} of the sheet
    errors: list[RowError]


def _convert(row: RowData, col: Column, errors: list[RowError]) -> tuple[bool, Any]:
    try:
        value = CONVERTERS[col.kind](row.values.get(col.field), col)
    except _CellError as exc:
        errors.append(RowError(row.row, col.header, str(exc)))
        return False, None
    return True, value


def _build(row: RowData) -> _Built:
    """A transient Student (never added to the session) from one row, with the cells it could not read."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for col in STUDENT_COLUMNS:
        ok, value = _convert(row, col, errors)
        if not ok:
            continue
        if value is None:
            if col.required:
                errors.append(RowError(row.row, col.header, str(_l("This field is required."))))
                continue
            value = col.default
        values[col.field] = value
    guardians, numbers = [], []
    for n in (1, 2):
        g: dict[str, Any] = {}
        for name in GUARDIAN_FIELDS:
            col = _column(f"guardian{n}.{name}")
            ok, value = _convert(row, col, errors)
            if ok and value is not None:
                g[name] = value
        if not g:
            continue
        for name in ("relation", "name"):
            if name not in g:
                errors.append(RowError(row.row, HEADER_OF[f"guardian{n}.{name}"], str(_l("This field is required."))))
        g.setdefault("id_type", RESIDENT_ID)
        for name in ("relation", "id_type"):
            col = _column(f"guardian{n}.{name}")
            if name in g and not codes.is_known(col.table, g[name]):  # type: ignore[arg-type]
                errors.append(RowError(row.row, col.header, str(_l("Unknown code %(code)s.", code=g[name]))))
        guardians.append(Guardian(**g))
        numbers.append(n)
    student = Student(**values)
    student.guardians = guardians
    return _Built(row, student, numbers, errors)


@cache
def _column(field: str) -> Column:
    return next(c for c in COLUMNS if c.field == field)


def _guardian_header(message: str, built: _Built, used: set[str]) -> str:
    """validate() names guardian problems "guardians"; find the cell it means."""
    pairs = list(zip(built.guardian_numbers, built.student.guardians, strict=True))
    phone_msg, required_msg = str(_l("A phone number has 5–20 digits.")), str(_l("This field is required."))
    name_msg = str(_l("A name may contain only Chinese characters, letters, spaces and the middle dot ·."))

    def pick(field: str, broken: Callable[[Guardian], bool]) -> str | None:
        for n, g in pairs:
            header = HEADER_OF[f"guardian{n}.{field}"]
            if header not in used and broken(g):
                return header
        return None

    header = None
    for n, g in pairs:
        if g.name and message.startswith(f"{g.name}: "):
            header = HEADER_OF[f"guardian{n}.id_number"]
    if header is None and message == phone_msg:
        header = pick("phone", lambda g: bool(g.phone) and not PHONE_RE.match(g.phone))
    if header is None and message in (required_msg, name_msg):
        header = pick("name", lambda g: not g.name or not NAME_RE.match(g.name.strip()))
    if header is None:
        header = pick("relation", lambda g: message == str(_l("Unknown code %(code)s.", code=g.relation)))
    header = header or (HEADER_OF[f"guardian{pairs[0][0]}.name"] if pairs else "")
    used.add(header)
    return header


def _row_errors(built: _Built, problems: list[tuple[str, str]]) -> list[RowError]:
    errors = list(built.errors)
    unreadable = {e.column for e in errors}
    used: set[str] = set()
    for field, message in problems:
        header = _guardian_header(message, built, used) if field == "guardians" else HEADER_OF.get(field, "")
        if header in unreadable:
            continue  # the cell could not be read: one message for it is enough
        errors.append(RowError(built.row.row, header, message))
    return errors


# --- validating and writing ------------------------------------------------------------

Progress = Callable[[str, int], None]


def _check_school(school: OrgUnit | None, actor: User) -> OrgUnit:
    if school is None or school.level != SCHOOL:
        raise RuleViolation([("school", str(_l("Choose a school.")))])
    if not scope.covers(actor, school.path):
        raise NotInScope()
    return school


def _first_rows(built: list[_Built]) -> dict[int, int]:
    """Row index → the sheet row where its ID number first appears, for every later repetition."""
    first: dict[str, int] = {}
    repeated: dict[int, int] = {}
    for i, b in enumerate(built):
        number = b.student.id_number = (b.student.id_number or "").strip().upper() or None
        if number in first:
            repeated[i] = first[number]
        elif number:
            first[number] = b.row.row
    return repeated


def _ids_in_database(built: list[_Built]) -> bool:
    """Does any ID number of the file already belong to a record? One IN query per 1,000 numbers."""
    numbers = sorted({b.student.id_number for b in built if b.student.id_number})
    for k in range(0, len(numbers), ID_CHUNK):
        chunk = numbers[k:k + ID_CHUNK]
        if db.session.scalar(select(Student.id).where(Student.id_number.in_(chunk)).limit(1)) is not None:
            return True
    return False


def _check_row(b: _Built, school: OrgUnit, actor: User, repeated_in_row: int | None) -> list[RowError]:
    row_errors = _row_errors(b, validate(b.student, school, actor))
    id_header = HEADER_OF["id_number"]
    if repeated_in_row is not None and not any(e.column == id_header for e in row_errors):
        message = _l("The same ID number is already in row %(row)d of this file.", row=repeated_in_row)
        row_errors.append(RowError(b.row.row, id_header, str(message)))
    return list(dict.fromkeys(row_errors))  # the same message twice for one cell: once


SESSION_BATCH = 500  # rows written between two clears of the session (files under 500 rows are imported inline)


def _lighten_session(school: OrgUnit, actor: User) -> tuple[OrgUnit, User]:
    """Flush what is written so far and forget it, keeping the one transaction.

    Each flush walks every object the session holds, so without this a 10,000-row file costs
    O(n²); the rows stay in the open transaction and are committed (or rolled back) together.
    """
    db.session.flush()
    school_id, actor_id = school.id, actor.id
    db.session.expunge_all()
    return db.session.get(OrgUnit, school_id), db.session.get(User, actor_id)  # type: ignore[return-value]


def _process(built: list[_Built], school: OrgUnit, actor: User, *, write: bool, reason: str | None,
             progress: Progress | None) -> list[RowError]:
    """Check every row and, while no row has failed, enroll it (the caller commits or rolls back).

    A row is staged by services.enrollment.stage_enrollment, which runs the very same validate()
    as a single enrollment; a valid file is therefore checked once, not twice. What can be told
    without the rules of a single record — unreadable cells, an ID number twice in the file, an
    ID number already in the database (one IN query per 1,000) — is checked first: then nothing
    is written at all. Every SESSION_BATCH rows the staged pupils are written together
    (finish_enrollments: one flush, 查重 and the enrollment requests in a few queries). Once any
    row fails, what was flushed is rolled back and the remaining rows are only checked, so the
    report lists every error of the file.
    """
    repeated = _first_rows(built)
    writing = write and not repeated and not any(b.errors for b in built) and not _ids_in_database(built)
    errors: list[RowError] = []
    staged: list[_Built] = []

    def refused(b: _Built, exc: RuleViolation) -> None:
        nonlocal writing
        db.session.rollback()  # nothing of the file stays; the rest is only checked
        writing = False
        subject = getattr(exc, "student", None)
        b = next((s for s in staged if s.student is subject), b)
        errors.extend(dict.fromkeys(_row_errors(b, exc.problems) or [RowError(b.row.row, "", str(exc))]))

    def write_staged() -> None:
        nonlocal school, actor
        finish_enrollments([s.student for s in staged], actor, school, reason)
        staged.clear()
        school, actor = _lighten_session(school, actor)

    for i, b in enumerate(built):
        if writing:
            try:
                stage_enrollment(b.student, actor, school, reason, ids_checked=True)
                staged.append(b)
                if len(staged) == SESSION_BATCH or i == len(built) - 1:
                    write_staged()
            except RuleViolation as exc:
                refused(b, exc)
        else:
            errors.extend(_check_row(b, school, actor, repeated.get(i)))
        if progress:
            progress(WRITING if writing else VALIDATING, i + 1)
    return errors


def validate_rows(rows: list[RowData], school: OrgUnit, actor: User, progress: Progress | None = None) -> list[RowError]:
    """Every problem of every row as (row, column header, message); empty means the file may be imported.
    Writes nothing."""
    _check_school(school, actor)
    with db.session.no_autoflush:
        built = [_build(r) for r in rows]
        return _process(built, school, actor, write=False, reason=None, progress=progress)


def import_rows(
    rows: list[RowData], school: OrgUnit, actor: User, *, filename: str | None = None, progress: Progress | None = None,
) -> int:
    """All or nothing: if any row is wrong, raise ImportRejected (every error of the file) and write
    nothing; else every pupil is enrolled (待核办, submitted to the authority: services.enrollment) and
    the transaction is committed once. Returns the number of pupils."""
    _check_school(school, actor)
    name = uploads.clean_filename(filename) if filename else "-"
    reason = str(_l("Imported from the Excel file %(name)s", name=name))[:200]
    try:
        with db.session.no_autoflush, audit.acting(actor, reason):
            built = [_build(r) for r in rows]
            errors = _process(built, school, actor, write=True, reason=reason, progress=progress)
            if errors:
                raise ImportRejected(errors)
            audit.record(actor, "import", "student", None, f"{name}: {len(built)} → {school.code}")
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(built)


def error_report_xlsx(errors: Iterable[RowError]) -> bytes:
    """The error report: one line per problem (row, column, message), in row order."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_l("Errors")))
    for letter, width in zip("ABC", (8, 24, 80), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append([str(_l("Row")), str(_l("Column")), str(_l("Message"))])
    for e in sorted(errors, key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else -1)):
        ws.append([e.row or None, e.column, e.message])
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


# --- who imports where -------------------------------------------------------------------


def school_for(actor: User, code: str | None) -> OrgUnit | None:
    """The school an actor imports into: a school user's own school; an official's chosen school
    in scope (None while none is chosen). Another school, or one out of scope, is NotInScope."""
    code = (code or "").strip()
    if actor.unit.level == SCHOOL:
        if code and code != actor.unit.code:
            raise NotInScope()
        return actor.unit
    if not code:
        return None
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == SCHOOL))
    if school is None or not scope.covers(actor, school.path):
        raise NotInScope()
    return school


def schools_in_scope(actor: User, limit: int = 1000) -> list[OrgUnit]:
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.code).limit(limit)
    ))


def default_actor(school: OrgUnit) -> User | None:
    """The school's first registrar (学籍管理员), for imports from the command line."""
    return db.session.scalar(
        select(User).where(User.unit_id == school.id, User.active.is_(True), User.roles.any(Role.name == REGISTRAR)).order_by(User.id)
    )


def may_see_job(actor: User, job: ImportJob) -> bool:
    """The job's own user, or an official (or administrator) whose scope covers the school."""
    if job.user_id == actor.id:
        return True
    official = actor.is_admin or bool(actor.role_names & set(OFFICIAL_ROLE_FOR_LEVEL.values()))
    return official and scope.covers(actor, job.school.path)


def get_job(actor: User, job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or not may_see_job(actor, job):
        raise NotInScope()
    if not job.finished and job.id not in _live and job.created_at < now() - STALE_AFTER:
        # Its process ended (a restart) before the commit: nothing was written. Say so.
        _finish(job, FAILED, 0, [RowError(0, "", str(_l("The import was interrupted and nothing was written. Upload the file again.")))])
    return job


# --- jobs and progress -------------------------------------------------------------------

# Progress of jobs running in this process: job id → (status, processed). SQLite allows one
# writer, so while the import's transaction is open the row cannot be updated there; the page
# then reads this. On PostgreSQL the row is updated too (other processes see it).
_live: dict[int, tuple[str, int]] = {}
PROGRESS_EVERY = 200  # rows between progress writes to the database
STALE_AFTER = timedelta(hours=1)  # a job still running after this was cut off (20,000 rows take minutes)


def progress_of(job: ImportJob) -> dict[str, Any]:
    status, processed = _live.get(job.id, (job.status, job.processed)) if not job.finished else (job.status, job.processed)
    total = job.total or 0
    return {
        "id": job.id, "status": status, "total": total, "processed": processed,
        "percent": 100 if status in FINISHED else (round(100 * processed / total) if total else 0),
        "error_count": job.error_count, "finished": status in FINISHED,
    }


def _progress_writer(job_id: int) -> Progress:
    sqlite = db.engine.dialect.name == "sqlite"
    last = {"n": -PROGRESS_EVERY, "status": ""}

    def report(status: str, n: int) -> None:
        _live[job_id] = (status, n)
        if n - last["n"] < PROGRESS_EVERY and status == last["status"]:
            return
        last.update(n=n, status=status)
        if sqlite and status == WRITING:
            return  # the import's own transaction holds SQLite's write lock
        with db.engine.begin() as conn:  # its own connection: the import's transaction stays open
            conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(status=status, processed=n))

    return report


def _finish(job: ImportJob, status: str, processed: int, errors: list[RowError] | None = None) -> None:
    job.status, job.processed, job.finished_at = status, processed, now()
    if errors:
        job.error_count = len(errors)
        job.errors_sha256 = uploads.store(error_report_xlsx(errors))
    db.session.commit()


def _job(job_id: int) -> ImportJob:
    """The job row, loaded again: a large import clears the session (_lighten_session)."""
    return db.session.get(ImportJob, job_id)  # type: ignore[return-value]


def run_job(job_id: int, rows: list[RowData]) -> ImportJob:
    """Validate and write a queued job; the job ends done (all rows written) or failed (none)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotInScope()
    school, actor = job.school, job.user
    job.status, job.processed = VALIDATING, 0
    db.session.commit()
    filename = job.filename
    try:
        count = import_rows(rows, school, actor, filename=filename, progress=_progress_writer(job_id))
    except ImportRejected as exc:
        _finish(_job(job_id), FAILED, 0, exc.errors)
    except RuleViolation as exc:
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", m) for _f, m in exc.problems])
    except Exception:
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        message = str(_l("The import stopped because of an unexpected error; nothing was written."))
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", message)])
    else:
        _finish(_job(job_id), DONE, count)
    finally:
        _live.pop(job_id, None)
    return _job(job_id)


def _run_in_thread(app: Flask, job_id: int, rows: list[RowData], locale: str) -> None:
    with app.app_context(), force_locale(locale):
        try:
            run_job(job_id, rows)
        except Exception:
            log.exception("import job %s crashed", job_id)
        finally:
            db.session.remove()


def submit_upload(actor: User, school: OrgUnit, filename: str | None, stream: IO[bytes]) -> ImportJob:
    """Parse an upload (refusing bad files at once) and run it as a job: inline when small,
    else in a background thread with its own app context. The caller shows the job."""
    _check_school(school, actor)
    rows = parse(stream)
    job = ImportJob(school_id=school.id, user_id=actor.id, filename=uploads.clean_filename(filename),
                    status=QUEUED, total=len(rows), processed=0, error_count=0)
    db.session.add(job)
    db.session.commit()
    if len(rows) < INLINE_ROWS:
        return run_job(job.id, rows)
    _live[job.id] = (QUEUED, 0)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    locale = str(get_locale() or app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    threading.Thread(target=_run_in_thread, args=(app, job.id, rows, locale), name=f"import-job-{job.id}", daemon=True).start()
    return job
