"""学籍变动 with the national system: the spreadsheet of our completed changes of a period (pupil,
the change's national name, date, reason, from and to school), and the national changes file
checked against ours. A national change is never applied here: each row is reported as matching one
of our completed change records, or as missing here (to be filed and approved as usual).

The changes of a unit are those with either end in its area (services/workflows.visible_filter),
completed (办结) between the two dates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.changes import COMPLETED, ChangeRequest
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import audit, exports, national_codes, scope, workflows
from services.change_codes import TRANSFER_INTO_PROVINCE, TRANSFER_OUT_OF_PROVINCE
from services.labels import zh
from services.national.basic import check_unit
from services.national.columns import BY_KEY, NationalColumn, national_value, to_ours
from services.national.reading import NationalRow, read_upload
from services.national.reconcile import _check_ids

SHEET = "学籍变动"
MAX_DAYS = 366 * 2  # one export covers at most two years


def period_problem(start: date | None, end: date | None) -> str | None:
    if start is None or end is None:
        return "请填写起止日期。"
    if end < start:
        return "结束日期不能早于开始日期。"
    if (end - start).days > MAX_DAYS:
        return "一次最多导出两年的学籍变动。"
    return None


def completed_changes(actor: User, unit: OrgUnit, start: date, end: date) -> Select:
    """Our completed changes of the unit's area finished in [start, end], oldest first."""
    return (
        select(ChangeRequest)
        .where(ChangeRequest.status == COMPLETED, ChangeRequest.student_id.is_not(None),
               ChangeRequest.finished_at >= datetime.combine(start, datetime.min.time()),
               ChangeRequest.finished_at < datetime.combine(end + timedelta(days=1), datetime.min.time()),
               workflows.visible_filter(actor), _of_unit(unit))
        .options(joinedload(ChangeRequest.student), joinedload(ChangeRequest.from_school),
                 joinedload(ChangeRequest.to_school))
        .order_by(ChangeRequest.finished_at, ChangeRequest.id)
    )


def _of_unit(unit: OrgUnit) -> Any:
    return or_(and_(ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, unit.path)),
               and_(ChangeRequest.to_path.is_not(None), scope.within(ChangeRequest.to_path, unit.path)))


def national_type(req: ChangeRequest) -> str:
    return national_codes.CHANGE_TYPE_NAMES.get(req.type, req.type)


def reason_of(req: ChangeRequest) -> str:
    ctype = workflows.TYPES.get(req.type)
    label = ctype.reasons.get(req.reason_code) if ctype is not None and req.reason_code else None
    parts = [zh(label) if label is not None else "", req.reason_text or ""]
    return "；".join(p for p in parts if p)


def _from_school(req: ChangeRequest) -> str:
    if req.from_school is not None:
        return req.from_school.name
    return req.external_school or "" if req.type == TRANSFER_INTO_PROVINCE else ""


def _to_school(req: ChangeRequest) -> str:
    if req.to_school is not None:
        return req.to_school.name
    return req.external_school or "" if req.type == TRANSFER_OUT_OF_PROVINCE else ""


def _pupil(col: str):  # type: ignore[no-untyped-def]
    column = BY_KEY[col]
    return lambda r: national_value(r.student, column)


CHANGE_COLUMNS: list[tuple[str, Any]] = [
    ("姓名", lambda r: r.student.name),
    ("性别", _pupil("gender")),
    ("出生日期", _pupil("birth_date")),
    ("身份证件类型", _pupil("id_type")),
    ("身份证件号", _pupil("id_number")),
    ("学籍辅号", lambda r: str(r.student.id)),
    ("变动类型", national_type),
    ("变动日期", lambda r: f"{r.finished_at:%Y%m%d}"),
    ("变动原因", reason_of),
    ("原学校", _from_school),
    ("现学校", _to_school),
]


def filename(unit: OrgUnit, start: date, end: date) -> str:
    return f"学籍变动_{unit.name}_{start:%Y%m%d}-{end:%Y%m%d}.xlsx"


def xlsx_stream(actor: User, unit: OrgUnit, start: date, end: date) -> Iterator[bytes]:
    check_unit(actor, unit)
    audit.record(actor, "national.changes_export", "org_unit", unit.id,
                 f"学籍变动表：{unit.name}，{start:%Y-%m-%d}至{end:%Y-%m-%d}")
    db.session.commit()
    return exports.workbook_stream([(SHEET, CHANGE_COLUMNS, completed_changes(actor, unit, start, end))])


# --- the national changes file checked against ours ------------------------------------------------------
CHANGE_FILE_COLUMNS: tuple[NationalColumn, ...] = (
    BY_KEY["name"], BY_KEY["gender"], BY_KEY["birth_date"], BY_KEY["id_type"], BY_KEY["id_number"],
    NationalColumn("变动类型", "change_type", "text", aliases=("异动类型", "变动类别"), max_length=20),
    NationalColumn("变动日期", "change_date", "date", aliases=("异动日期",)),
    NationalColumn("变动原因", "change_reason", "text", aliases=("异动原因",), max_length=500),
    NationalColumn("原学校", "from_school", "text", aliases=("转出学校",), max_length=100),
    NationalColumn("现学校", "to_school", "text", aliases=("转入学校",), max_length=100),
)


@dataclass
class ChangeRow:
    row: int
    name: str
    kind: str  # the national change name
    when: str  # YYYY-MM-DD
    found: bool
    ours: str = ""  # our matching record: "变动申请 #12（2026-03-02 办结）"


@dataclass
class ChangesReport:
    rows: list[ChangeRow] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(1 for r in self.rows if not r.found)


def _known() -> dict[str, NationalColumn]:
    out: dict[str, NationalColumn] = {}
    for c in CHANGE_FILE_COLUMNS:
        for h in (c.header, *c.aliases):
            out[h] = c
    return out


def check_file(actor: User, unit: OrgUnit, stream: IO[bytes], *, slack_days: int = 31) -> ChangesReport:
    """Each national change row matched to one of our completed changes of the same pupil (in scope)
    and the same national kind, finished within `slack_days` of the national date; else missing here."""
    check_unit(actor, unit)
    _cols, rows = read_upload(stream, _known(), ("姓名", "身份证件号", "变动类型", "变动日期"), "全国学籍系统学籍变动表")
    report = ChangesReport()
    used: set[int] = set()
    for row in rows:
        _check_ids(row)
        report.errors.extend((row.row, h, m) for h, m in row.errors)
        kind = national_codes.change_kind(row.get("change_type"))
        when = _date(row.get("change_date"))
        if when is None and not any(h == "变动日期" for h, _m in row.errors):
            report.errors.append((row.row, "变动日期", "变动日期必填。"))
        found = _ours(actor, unit, row, kind, when, slack_days, used)
        report.rows.append(ChangeRow(row.row, row.get("name") or "", row.get("change_type") or "",
                                     f"{when:%Y-%m-%d}" if when else "", found is not None,
                                     f"学籍变动 #{found.id}（{found.finished_at:%Y-%m-%d} 办结）" if found else ""))
        if found is not None:
            used.add(found.id)
    audit.record(actor, "national.changes_check", "org_unit", unit.id,
                 f"学籍变动核对：{unit.name}，{len(report.rows)}条，本系统缺{report.missing}条")
    db.session.commit()
    return report


def _date(text: str | None) -> date | None:
    try:
        return to_ours(BY_KEY["birth_date"], text) if text else None
    except ValueError:
        return None


def _pupils_of(actor: User, unit: OrgUnit, row: NationalRow) -> list[int]:
    conditions = [scope.filter_for(actor, Student.scope_path)]
    if row.get("id_number"):
        q = select(Student.id).where(Student.id_number == row.get("id_number"), *conditions)
    elif row.get("name") and row.get("birth_date"):
        q = select(Student.id).where(Student.name == row.get("name"),
                                     Student.birth_date == to_ours(BY_KEY["birth_date"], row.get("birth_date")), *conditions)
    else:
        return []
    return list(db.session.scalars(q.limit(5)))


def _ours(actor: User, unit: OrgUnit, row: NationalRow, kind: str, when: date | None, slack: int,
          used: set[int]) -> ChangeRequest | None:
    ids = _pupils_of(actor, unit, row)
    if not ids or when is None:
        return None
    q = (select(ChangeRequest).where(ChangeRequest.student_id.in_(ids), ChangeRequest.status == COMPLETED,
                                      workflows.visible_filter(actor),
                                      ChangeRequest.finished_at >= datetime.combine(when - timedelta(days=slack), datetime.min.time()),
                                      ChangeRequest.finished_at < datetime.combine(when + timedelta(days=slack + 1), datetime.min.time()))
         .order_by(ChangeRequest.finished_at))
    for req in db.session.scalars(q):
        if req.id not in used and national_codes.change_kind(national_type(req)) == kind:
            return req
    return None
