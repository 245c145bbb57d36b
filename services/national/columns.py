"""The national basic-information spreadsheet (学生基本信息), column by column: its header, where the
value lives in our record, and how a value is written (`national_value`), read (`normalise`),
shown (`shown`) and turned back into ours (`ours`).

Every value is compared in the national form, a string as the exported file writes it: a date
20170315, a month 202409, a division of 12 digits, a code of the national table, 1/0 for yes/no.
So exporting a record and reading the file back gives the very same strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl.utils.datetime import from_excel

from models.student import Guardian, Student
from services import codes, national_codes
from services.ids import division_name
from services.imports.validate import cell_text

# Columns of a family member (成员1…, 成员2…: the national template's two members).
MEMBERS = (1, 2)


class CellError(ValueError):
    """A cell that cannot be read as its column's kind; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class NationalColumn:
    header: str
    attr: str  # a Student attribute, "guardianN.<attribute>", or "" for the columns we derive
    kind: str  # text, code, date, month, division, bool, id, grade, record_id, school_code, school_name
    table: str | None = None  # services/national_codes.py table of a code column
    aliases: tuple[str, ...] = ()  # other headers of the same column in other versions of the form
    required: bool = False  # our record cannot be without it: a blank national cell changes nothing
    max_length: int | None = None

    @property
    def member(self) -> int | None:
        return int(self.attr[8]) if self.attr.startswith("guardian") else None

    @property
    def field(self) -> str:
        """The attribute of the Student or of the Guardian."""
        return self.attr.split(".", 1)[1] if "." in self.attr else self.attr

    @property
    def key(self) -> str:
        return self.attr or self.kind


def _member_columns(n: int) -> tuple[NationalColumn, ...]:
    p, g = f"成员{n}", f"guardian{n}."
    alias: Callable[[str], tuple[str, ...]] = lambda suffix: (f"监护人{n}{suffix}", f"家庭成员{n}{suffix}")  # noqa: E731
    return (
        NationalColumn(f"{p}姓名", g + "name", "text", aliases=alias("姓名"), max_length=50),
        NationalColumn(f"{p}关系", g + "relation", "code", "guardian_relation", aliases=alias("关系")),
        NationalColumn(f"{p}关系说明", g + "relation_note", "text", aliases=alias("关系说明"), max_length=50),
        NationalColumn(f"{p}民族", g + "ethnicity", "code", "ethnicity", aliases=alias("民族")),
        NationalColumn(f"{p}工作单位", g + "workplace", "text", aliases=alias("工作单位"), max_length=100),
        NationalColumn(f"{p}现住址", g + "current_address", "text", aliases=alias("现住址"), max_length=200),
        NationalColumn(f"{p}户口所在地", g + "hukou_location", "division", aliases=alias("户口所在地")),
        NationalColumn(f"{p}联系电话", g + "phone", "text", aliases=alias("联系电话"), max_length=20),
        NationalColumn(f"{p}是否监护人", g + "is_guardian", "bool", aliases=alias("是否监护人")),
        NationalColumn(f"{p}身份证件类型", g + "id_type", "code", "id_type", aliases=alias("身份证件类型")),
        NationalColumn(f"{p}身份证件号", g + "id_number", "id", aliases=alias("身份证件号")),
        NationalColumn(f"{p}职务", g + "job_title", "text", aliases=alias("职务"), max_length=50),
    )


# The national order of the 48 fields (照片 is collected apart and has no column), then the school and
# the family members.
COLUMNS: tuple[NationalColumn, ...] = (
    NationalColumn("姓名", "name", "text", required=True, max_length=50),
    NationalColumn("性别", "gender", "code", "gender", required=True),
    NationalColumn("出生日期", "birth_date", "date", required=True),
    NationalColumn("出生地", "birthplace", "division"),
    NationalColumn("籍贯", "native_place", "text", max_length=50),
    NationalColumn("民族", "ethnicity", "code", "ethnicity", required=True),
    NationalColumn("国籍/地区", "nationality", "code", "nationality", aliases=("国籍", "国籍地区"), required=True),
    NationalColumn("身份证件类型", "id_type", "code", "id_type", required=True),
    NationalColumn("身份证件号", "id_number", "id"),
    NationalColumn("港澳台侨外", "overseas", "code", "overseas", required=True),
    NationalColumn("政治面貌", "political_status", "code", "political_status"),
    NationalColumn("健康状况", "health", "code", "health", required=True),
    NationalColumn("姓名拼音", "name_pinyin", "text", max_length=100),
    NationalColumn("曾用名", "former_name", "text", max_length=50),
    NationalColumn("身份证件有效期", "id_valid_period", "text", max_length=21),
    NationalColumn("户口所在地", "hukou_location", "division"),
    NationalColumn("户口性质", "hukou_type", "code", "hukou_type"),
    NationalColumn("特长", "specialty", "text", max_length=100),
    NationalColumn("学籍辅号", "", "record_id"),
    NationalColumn("班内学号", "class_number", "text", max_length=10),
    NationalColumn("年级", "grade", "grade", required=True),
    NationalColumn("班级", "class_name", "text", max_length=20),
    NationalColumn("入学年月", "enroll_month", "month"),
    NationalColumn("入学方式", "enroll_mode", "code", "enroll_mode"),
    NationalColumn("就读方式", "attendance_mode", "code", "attendance_mode"),
    NationalColumn("学生来源", "student_source", "code", "student_source"),
    NationalColumn("现住址", "current_address", "text", max_length=200),
    NationalColumn("通信地址", "mailing_address", "text", max_length=200),
    NationalColumn("家庭地址", "home_address", "text", aliases=("家庭住址",), max_length=200),
    NationalColumn("联系电话", "phone", "text", max_length=20),
    NationalColumn("邮政编码", "postal_code", "text", max_length=6),
    NationalColumn("电子信箱", "email", "text", max_length=100),
    NationalColumn("主页地址", "homepage", "text", max_length=200),
    NationalColumn("是否独生子女", "only_child", "bool", required=True),
    NationalColumn("是否受过学前教育", "preschool", "bool", required=True),
    NationalColumn("是否留守儿童", "left_behind", "code", "left_behind", required=True),
    NationalColumn("是否进城务工人员随迁子女", "migrant_child", "bool", required=True),
    NationalColumn("是否孤儿", "orphan", "bool", required=True),
    NationalColumn("是否烈士或优抚子女", "martyr_child", "bool", required=True),
    NationalColumn("随班就读", "inclusive_class", "code", "inclusive_class"),
    NationalColumn("残疾类型", "disability", "code", "disability", aliases=("残疾人类型",), required=True),
    NationalColumn("是否由政府购买学位", "gov_paid_place", "bool", required=True),
    NationalColumn("是否需要申请资助", "needs_aid", "bool", required=True),
    NationalColumn("是否享受一补", "one_subsidy", "bool", required=True),
    NationalColumn("上下学距离", "school_distance", "text", aliases=("上下学距离（公里）",), max_length=8),
    NationalColumn("上下学交通方式", "transport_mode", "code", "transport_mode"),
    NationalColumn("是否需要乘坐校车", "school_bus", "bool", required=True),
    NationalColumn("学校标识码", "", "school_code"),
    NationalColumn("学校名称", "", "school_name"),
    *_member_columns(1),
    *_member_columns(2),
)
HEADERS = tuple(c.header for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}
# The file is recognised as the national form when it has at least these columns.
KEY_HEADERS = ("姓名", "性别", "出生日期", "身份证件类型", "身份证件号")
# Compared with our record (the derived columns identify the row, they are not data).
COMPARED = tuple(c for c in COLUMNS if c.attr)


def header_index() -> dict[str, NationalColumn]:
    """Every accepted header (the national one and its aliases) → its column."""
    found: dict[str, NationalColumn] = {}
    for c in COLUMNS:
        for h in (c.header, *c.aliases):
            found[h] = c
    return found


# --- writing: our record → the national form -----------------------------------------------------
def _owner(student: Student, col: NationalColumn) -> Student | Guardian | None:
    if col.member is None:
        return student
    members = student.guardians
    return members[col.member - 1] if len(members) >= col.member else None


def national_value(student: Student, col: NationalColumn) -> str | None:
    """The cell of `col` for our record, as the exported file writes it."""
    if col.kind == "record_id":
        return str(student.id)
    if col.kind == "school_code":
        return student.school.code
    if col.kind == "school_name":
        return student.school.name
    owner = _owner(student, col)
    if owner is None:
        return None
    return value_to_national(col, getattr(owner, col.field))


def value_to_national(col: NationalColumn, value: Any) -> str | None:
    """One of our values (a code of ours, a date, a flag …) in the national form."""
    if value is None or value == "":
        return None
    if col.kind == "code":
        return national_codes.to_national(col.table, str(value))  # type: ignore[arg-type]
    if col.kind == "date":
        return f"{value:%Y%m%d}"
    if col.kind == "month":
        return str(value).replace("-", "")
    if col.kind == "division":
        return national_codes.division_to_national(str(value))
    if col.kind == "bool":
        return "1" if value else "0"
    if col.kind == "grade":
        return str(value)
    return str(value)


# --- reading: a cell of the national file → the national form --------------------------------------
TRUE_WORDS = {"是", "1", "Y", "YES", "TRUE", "√", "有"}
FALSE_WORDS = {"否", "0", "N", "NO", "FALSE", "×", "无"}
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?$")
GRADE_NAMES = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
GRADE_RE = re.compile(r"^(?:(小学|初中)?([一二三四五六七八九])年级|([1-9])|初([一二三]))$")


def _date(raw: Any) -> str | None:
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        return f"{raw:%Y%m%d}"
    if isinstance(raw, (int, float)) and 1000 < raw < 100000:  # an Excel serial day number
        return f"{from_excel(raw):%Y%m%d}"
    text = cell_text(raw)
    if text is None:
        return None
    m = DATE_RE.match(text) or re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
    try:
        if m:
            return f"{date(int(m.group(1)), int(m.group(2)), int(m.group(3))):%Y%m%d}"
    except ValueError:
        pass
    raise CellError("日期应写作 YYYYMMDD，如 20170315，且须是真实的日期。")


def _month(raw: Any) -> str | None:
    if isinstance(raw, (datetime, date)):
        return f"{raw.year:04d}{raw.month:02d}"
    text = cell_text(raw)
    if text is None:
        return None
    m = MONTH_RE.match(text)
    if m and 1 <= int(m.group(2)) <= 12 and 1900 < int(m.group(1)) < 2100:
        return f"{m.group(1)}{int(m.group(2)):02d}"
    raise CellError("入学年月应写作 YYYYMM，如 202409。")


def _bool(raw: Any) -> str | None:
    text = cell_text(raw)
    if text is None:
        return None
    word = text.upper()
    if word in TRUE_WORDS:
        return "1"
    if word in FALSE_WORDS:
        return "0"
    raise CellError("应填 1（是）或 0（否）。")


def _grade(raw: Any) -> str | None:
    text = cell_text(raw)
    if text is None:
        return None
    m = GRADE_RE.match(text.replace(" ", ""))
    if not m:
        raise CellError("年级应写作一年级至九年级。")
    if m.group(3):
        return m.group(3)
    if m.group(4):
        return str(GRADE_NAMES[m.group(4)] + 6)
    return str(GRADE_NAMES[m.group(2)] + (6 if m.group(1) == "初中" else 0))


def _id(raw: Any) -> str | None:
    if isinstance(raw, float) or (isinstance(raw, int) and len(str(raw)) > 15):
        raise CellError("身份证件号被存成了数字，已丢失末位。请把该列设为文本格式后重新填写。")
    text = cell_text(raw)
    return re.sub(r"\s+", "", text).upper() if text else None


def normalise(col: NationalColumn, raw: Any) -> str | None:
    """A cell in the national form, or CellError (Chinese) saying why it cannot be read."""
    if col.kind == "date":
        return _date(raw)
    if col.kind == "month":
        return _month(raw)
    if col.kind == "bool":
        return _bool(raw)
    if col.kind == "grade":
        return _grade(raw)
    if col.kind == "id":
        return _id(raw)
    text = cell_text(raw)
    if text is None:
        return None
    if col.kind == "code":
        try:
            return national_codes.parse(col.table, text)  # type: ignore[arg-type]
        except national_codes.UnknownCode:
            raise CellError(f"“{text[:20]}”不是{col.header.removeprefix('成员1').removeprefix('成员2')}的代码或名称。") from None
    if col.kind == "division":
        try:
            return national_codes.division_to_national(national_codes.division_from_national(text))
        except national_codes.UnknownCode:
            raise CellError("行政区划代码应为6位或12位数字。") from None
    if col.max_length is not None and len(text) > col.max_length:
        raise CellError(f"最多{col.max_length}个字。")
    return text


# --- our value of a national one, and both shown in Chinese -------------------------------------------
def to_ours(col: NationalColumn, national: str | None) -> Any:
    """The value our record takes for a national one (the caller validates the record)."""
    if national is None:
        return False if col.kind == "bool" else None
    if col.kind == "code":
        return national_codes.to_ours(col.table, national)  # type: ignore[arg-type]
    if col.kind == "date":
        return date(int(national[:4]), int(national[4:6]), int(national[6:]))
    if col.kind == "month":
        return f"{national[:4]}-{national[4:]}"
    if col.kind == "division":
        return national[:6]
    if col.kind == "bool":
        return national == "1"
    if col.kind == "grade":
        return int(national)
    return national


def same(col: NationalColumn, ours: Any, national: str | None) -> bool:
    """Does our value (as stored) agree with the national one (in the national form)?"""
    if col.kind == "code":
        code = None if ours is None or ours == "" else str(ours)
        return national_codes.same_value(col.table, code, national)  # type: ignore[arg-type]
    return value_to_national(col, ours) == (national or None)


def shown(col: NationalColumn, national: str | None) -> str:
    """A national-form value as the screens show it: names, not codes; dates with dashes."""
    if national is None or national == "":
        return "（空）"
    if col.kind == "code":
        return national_codes.national_name(col.table, national)  # type: ignore[arg-type]
    if col.kind == "date":
        return f"{national[:4]}-{national[4:6]}-{national[6:]}"
    if col.kind == "month":
        return f"{national[:4]}-{national[4:]}"
    if col.kind == "division":
        return division_name(national[:6]) or national[:6]
    if col.kind == "bool":
        return "是" if national == "1" else "否"
    if col.kind == "grade":
        return codes.label("grade", national)
    return national
