"""From cells to a Student, and the checks of every row: every rule of
services/students.validate, plus duplicates within the file and ID numbers already held by a
record, as (row, column header, message). Nothing here writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl.utils.datetime import from_excel
from sqlalchemy import select

from extensions import db
from models.imports import VALIDATING
from models.org import SCHOOL, OrgUnit
from models.people import User
from models.student import RESIDENT_ID, Guardian, Student
from services import codes, scope
from services.errors import NotInScope, RuleViolation
from services.imports.columns import COLUMNS, GUARDIAN_FIELDS, HEADER_OF, STUDENT_COLUMNS, Column, Progress, RowData, RowError
from services.students import NAME_RE, PHONE_RE, validate

ID_CHUNK = 1000  # ID numbers per IN query when looking for records that already hold them


TRUE_WORDS = {"是", "1", "Y", "YES", "TRUE", "√", "有"}
FALSE_WORDS = {"否", "0", "N", "NO", "FALSE", "×", "无"}
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


class _CellError(ValueError):
    """A cell that cannot be read as its column's type; the message is for the user."""


def cell_text(raw: Any) -> str | None:
    """A spreadsheet cell as text: None for empty, 3.0 as 3, a date as YYYY-MM-DD (also the national exchange's)."""
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
    text = cell_text(raw)
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
    text = cell_text(raw) or ""
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
    text = cell_text(raw)
    if text is None:
        return None
    m = MONTH_RE.match(text) or re.match(r"^(\d{4})(\d{2})$", text)
    return f"{m.group(1)}-{int(m.group(2)):02d}" if m else text  # validate() refuses a malformed month


def _bool(raw: Any, col: Column) -> bool | None:
    text = cell_text(raw)
    if text is None:
        return None
    word = text.upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _CellError(str(_l("Write 是 or 否.")))


def _division(raw: Any, col: Column) -> str | None:
    text = cell_text(raw)
    return text.split()[0] if text else None


def _id(raw: Any, col: Column) -> str | None:
    if isinstance(raw, float) or (isinstance(raw, int) and len(str(raw)) > 15):
        raise _CellError(str(_l("The ID number was stored as a number and lost digits. Format the column as text and type it again.")))
    text = cell_text(raw)
    return re.sub(r"\s+", "", text).upper() if text else None


CONVERTERS: dict[str, Callable[[Any, Column], Any]] = {
    "text": lambda raw, col: cell_text(raw),
    "code": _code,
    "grade": _grade,
    "date": _date,
    "month": _month,
    "bool": _bool,
    "division": _division,
    "id": _id,
}


@dataclass
class BuiltRow:
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


def build_row(row: RowData) -> BuiltRow:
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
    return BuiltRow(row, student, numbers, errors)


@cache
def _column(field: str) -> Column:
    return next(c for c in COLUMNS if c.field == field)


def _guardian_header(message: str, built: BuiltRow, used: set[str]) -> str:
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


def cell_errors(built: BuiltRow, problems: list[tuple[str, str]]) -> list[RowError]:
    errors = list(built.errors)
    unreadable = {e.column for e in errors}
    used: set[str] = set()
    for field, message in problems:
        header = _guardian_header(message, built, used) if field == "guardians" else HEADER_OF.get(field, "")
        if header in unreadable:
            continue  # the cell could not be read: one message for it is enough
        errors.append(RowError(built.row.row, header, message))
    return errors


def check_school(school: OrgUnit | None, actor: User) -> OrgUnit:
    if school is None or school.level != SCHOOL:
        raise RuleViolation([("school", str(_l("Choose a school.")))])
    if not scope.covers(actor, school.path):
        raise NotInScope()
    return school


def first_rows(built: list[BuiltRow]) -> dict[int, int]:
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


def ids_in_database(built: list[BuiltRow]) -> bool:
    """Does any ID number of the file already belong to a record? One IN query per 1,000 numbers."""
    numbers = sorted({b.student.id_number for b in built if b.student.id_number})
    for k in range(0, len(numbers), ID_CHUNK):
        chunk = numbers[k:k + ID_CHUNK]
        if db.session.scalar(select(Student.id).where(Student.id_number.in_(chunk)).limit(1)) is not None:
            return True
    return False


def check_row(b: BuiltRow, school: OrgUnit, actor: User, repeated_in_row: int | None) -> list[RowError]:
    row_errors = cell_errors(b, validate(b.student, school, actor))
    id_header = HEADER_OF["id_number"]
    if repeated_in_row is not None and not any(e.column == id_header for e in row_errors):
        message = _l("The same ID number is already in row %(row)d of this file.", row=repeated_in_row)
        row_errors.append(RowError(b.row.row, id_header, str(message)))
    return list(dict.fromkeys(row_errors))  # the same message twice for one cell: once


def validate_rows(rows: list[RowData], school: OrgUnit, actor: User, progress: Progress | None = None) -> list[RowError]:
    """Every problem of every row as (row, column header, message); empty means the file may be imported.
    Writes nothing (the rows apply.import_rows checks once it stops writing)."""
    check_school(school, actor)
    with db.session.no_autoflush:
        built = [build_row(r) for r in rows]
        repeated = first_rows(built)
        errors: list[RowError] = []
        for i, b in enumerate(built):
            errors.extend(check_row(b, school, actor, repeated.get(i)))
            if progress:
                progress(VALIDATING, i + 1)
        return errors
