"""The import sheet: the national basic-information columns (学生基本信息), the layout of the
template, a data row and an error of a row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from services.errors import RuleViolation

MAX_ROWS = 20_000  # data rows per file
DATA_SHEET = "学生基本信息"
CODE_SHEET = "代码表"
HEADER_ROW, NOTE_ROW, FIRST_DATA_ROW = 1, 2, 3
NOTE_PREFIX = "【说明】"


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


Progress = Callable[[str, int], None]
