"""What the registers count, per school and per unit above:

- 新生花名册: the new pupils of the school year (entered in its first month, 入学年月 in the year);
- 学生增加和减少情况登记表: the past school year's additions and removals, from the completed
  change requests (转入/转出, 新生, 接续, 休学/复学, 出国, 死亡, 辍学 …) and the approved
  graduation roster (毕业/结业);
- 毕业生花名册 (第二十四条): the graduates of the summer that ends the past school year, as
  services/graduation.py keeps them (GraduationRecord), with the assessment result and, once the
  supervising authority has approved the roster, 毕业 or 结业.

Per school: every pupil on its own line. Per county, city or province: one line per unit below
(schools, counties, cities) with the totals. All counts are GROUP BY queries; the pupil lines of
one school are bounded by that school's year.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from extensions import db
from models.changes import COMPLETED, ChangeRequest
from models.graduation import COMPLETED as GRADUATION_COMPLETED
from models.graduation import FAILED, GRADUATED, PASSED, GraduationRecord
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import codes, graduation, scope

if TYPE_CHECKING:
    from models.people import User

from services.rosters.registers import (
    ADD,
    CHANGES,
    COLUMN,
    COLUMNS,
    FROM,
    GRADUATES,
    NEW,
    REMOVE,
    TO,
    Column,
    child_path,
    children,
    columns_for,
    is_direct,
    schools_in,
    window,
    year_start,
)


def new_pupils_filter(year: int) -> Any:
    """New pupils of the school year: 入学年月 within it (YYYY-MM compares as text); a cancelled
    record (注销) was never a pupil."""
    month = year_start(year).month
    return and_(Student.enroll_month >= f"{year}-{month:02d}", Student.enroll_month < f"{year + 1}-{month:02d}",
                Student.status != "cancelled")


def new_pupils_query(school: OrgUnit, year: int) -> Select[Any]:
    return (
        select(Student).where(Student.school_id == school.id, new_pupils_filter(year))
        .options(selectinload(Student.guardians))
        .order_by(Student.class_name, Student.id)
    )


def new_counts(path: str, year: int) -> dict[int, Counter[str]]:
    """school id → {"1": boys, "2": girls, "total": n} of the new pupils in the subtree."""
    rows = db.session.execute(
        select(Student.school_id, Student.gender, func.count())
        .where(scope.within(Student.scope_path, path), new_pupils_filter(year))
        .group_by(Student.school_id, Student.gender)
    )
    out: dict[int, Counter[str]] = {}
    for school_id, gender, n in rows:
        counter = out.setdefault(school_id, Counter())
        counter[gender] += n
        counter["total"] += n
    return out


# --- 学生增加和减少情况登记表 ---------------------------------------------------------------------------


def register_counts(path: str, year: int) -> dict[int, Counter[str]]:
    """school id → column code → pupils, for the register submitted in `year` (the school year
    `year - 1`–`year`), of every school in the subtree. Two GROUP BYs over the completed requests
    (the receiving and the sending end) and one over the graduation lines."""
    start, end = window(year - 1)
    out: dict[int, Counter[str]] = {}
    for side, school_col, path_col in ((TO, ChangeRequest.to_school_id, ChangeRequest.to_path),
                                       (FROM, ChangeRequest.from_school_id, ChangeRequest.from_path)):
        columns = columns_for(side)
        rows = db.session.execute(
            select(school_col, ChangeRequest.type, func.count())
            .where(ChangeRequest.status == COMPLETED, ChangeRequest.finished_at >= start, ChangeRequest.finished_at < end,
                   ChangeRequest.type.in_(list(columns)), path_col.is_not(None), scope.within(path_col, path))
            .group_by(school_col, ChangeRequest.type)
        )
        for school_id, type_code, n in rows:
            out.setdefault(school_id, Counter())[columns[type_code].code] += n
    outcomes = {c.outcome: c.code for c in COLUMNS if c.outcome}
    rows = db.session.execute(
        select(GraduationRecord.school_id, GraduationRecord.outcome, func.count())
        .where(scope.within(GraduationRecord.scope_path, path), GraduationRecord.year == year,
               GraduationRecord.outcome.in_(list(outcomes)))
        .group_by(GraduationRecord.school_id, GraduationRecord.outcome)
    )
    for school_id, outcome, n in rows:
        out.setdefault(school_id, Counter())[outcomes[outcome]] += n
    return out


@dataclass
class Line:
    """One pupil's line of a school's 增减登记表."""

    column: Column
    day: date | None
    name: str
    gender: str
    xjh: str
    grade: str
    other: str  # the other school of a move, or the detail of the change
    number: str  # 变动单号 (#request) or the graduation roster's


def _other_end(req: ChangeRequest, side: str) -> str:
    other = req.from_school if side == TO else req.to_school
    if other is not None and other.id != (req.to_school_id if side == TO else req.from_school_id):
        return other.name
    return req.external_school or ""


def register_lines(school: OrgUnit, year: int) -> list[Line]:
    """Every pupil line of one school's register, in the order of the day it happened."""
    start, end = window(year - 1)
    to_types, from_types = columns_for(TO), columns_for(FROM)
    reqs = db.session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.status == COMPLETED, ChangeRequest.finished_at >= start, ChangeRequest.finished_at < end,
               or_(and_(ChangeRequest.to_school_id == school.id, ChangeRequest.type.in_(list(to_types))),
                   and_(ChangeRequest.from_school_id == school.id, ChangeRequest.type.in_(list(from_types)))))
        .options(selectinload(ChangeRequest.student), selectinload(ChangeRequest.from_school), selectinload(ChangeRequest.to_school))
        .order_by(ChangeRequest.finished_at, ChangeRequest.id)
    ).all()
    lines: list[Line] = []
    for req in reqs:
        sides = [s for s, types in ((TO, to_types), (FROM, from_types)) if req.type in types
                 and (req.to_school_id if s == TO else req.from_school_id) == school.id]
        for side in sides:
            pupil = req.student
            lines.append(Line(
                column=(to_types if side == TO else from_types)[req.type], day=req.finished_at.date() if req.finished_at else None,
                name=pupil.name if pupil else "", gender=codes.label("gender", pupil.gender) if pupil else "",
                xjh=(pupil.xjh or "") if pupil else "", grade=codes.label("grade", str(req.grade_at_request or "")),
                other=_other_end(req, side), number=f"#{req.id}",
            ))
    outcomes = {c.outcome: c for c in COLUMNS if c.outcome}
    grads = db.session.execute(
        select(GraduationRecord, Student).join(Student, Student.id == GraduationRecord.student_id)
        .where(GraduationRecord.school_id == school.id, GraduationRecord.year == year,
               GraduationRecord.outcome.in_(list(outcomes)))
        .order_by(GraduationRecord.outcome, Student.id)
    ).all()
    for record, pupil in grads:
        approved = record.request.finished_at if record.request is not None else None
        lines.append(Line(
            column=outcomes[record.outcome], day=approved.date() if approved else None,
            name=pupil.name, gender=codes.label("gender", pupil.gender), xjh=pupil.xjh or "",
            grade=codes.label("grade", str(record.grade)), other="", number=f"#{record.request_id}" if record.request_id else "",
        ))
    return lines


# --- 毕业生花名册 -------------------------------------------------------------------------------------

ASSESSMENT_LABELS = {PASSED: "合格", FAILED: "不合格"}
OUTCOME_LABELS = {GRADUATED: "毕业", GRADUATION_COMPLETED: "结业"}


def graduate_counts(path: str, year: int) -> dict[int, Counter[str]]:
    """school id → {"total", "passed", "failed", "graduated", "completed", "schools", "approved"}
    of the graduation rosters of `year` (the summer) in the subtree, in one GROUP BY. "schools" is 1
    for a school with a roster, "approved" 1 once its roster is approved: summed, they count schools."""
    rows = db.session.execute(
        select(GraduationRecord.school_id, GraduationRecord.assessment, GraduationRecord.outcome, func.count())
        .where(scope.within(GraduationRecord.scope_path, path), GraduationRecord.year == year)
        .group_by(GraduationRecord.school_id, GraduationRecord.assessment, GraduationRecord.outcome)
    )
    out: dict[int, Counter[str]] = {}
    for school_id, assessment, outcome, n in rows:
        counter = out.setdefault(school_id, Counter())
        counter["total"] += n
        if assessment:
            counter[assessment] += n
        if outcome:
            counter[outcome] += n
    for counter in out.values():
        counter["schools"] = 1
        counter["approved"] = 1 if counter[GRADUATED] + counter[GRADUATION_COMPLETED] else 0
    return out


@dataclass(frozen=True)
class Approval:
    """The supervising authority's approval of a school's roster: the request and the day."""

    request_id: int
    on: date | None


def graduate_approvals(path: str, year: int) -> dict[int, Approval]:
    """school id → the approval of its roster of `year`, for the approved rosters of the subtree
    (the request that services/graduation.py wrote on every line when it approved the roster)."""
    rows = db.session.execute(
        select(GraduationRecord.school_id, ChangeRequest.id, ChangeRequest.finished_at)
        .join(ChangeRequest, ChangeRequest.id == GraduationRecord.request_id)
        .where(scope.within(GraduationRecord.scope_path, path), GraduationRecord.year == year,
               GraduationRecord.outcome.is_not(None))
        .group_by(GraduationRecord.school_id, ChangeRequest.id, ChangeRequest.finished_at)
    )
    return {school_id: Approval(request_id, finished.date() if finished else None) for school_id, request_id, finished in rows}


def graduates_query(school: OrgUnit, year: int) -> Select[Any]:
    """The lines of one school's roster with their pupils, in the roster's own order (by class and name)."""
    return graduation.roster_query(school, year).options(contains_eager(GraduationRecord.student))


def school_approval(info: graduation.Summary) -> Approval | None:
    """The approval of one school's roster (services/graduation.summary), None while not approved."""
    if not info.approved or info.request is None:
        return None
    finished = info.request.finished_at
    return Approval(info.request.id, finished.date() if finished else None)


def graduate_row(index: int, record: GraduationRecord) -> SimpleNamespace:
    s = record.student
    return SimpleNamespace(
        index=index, name=s.name, gender=codes.label("gender", s.gender), birth_date=s.birth_date, xjh=s.xjh or "",
        grade=codes.label("grade", str(record.grade)), class_name=s.class_name or "",
        assessment=ASSESSMENT_LABELS.get(record.assessment or "", ""), outcome=OUTCOME_LABELS.get(record.outcome or "", ""),
        confirmed=graduation.confirmation_text(record),  # 第二十四条: who confirmed the result
    )


# --- lines of the lists and aggregates ---------------------------------------------------------------


@dataclass
class UnitLine:
    """One unit's totals: a school of a county, a county of a city …"""

    unit: OrgUnit
    direct: bool = False
    new: Counter[str] = field(default_factory=Counter)
    changes: Counter[str] = field(default_factory=Counter)
    graduates: Counter[str] = field(default_factory=Counter)
    approval: Approval | None = None  # a school's line: the approval of its graduation roster

    @property
    def added(self) -> int:
        return sum(n for code, n in self.changes.items() if COLUMN[code].direction == ADD)

    @property
    def removed(self) -> int:
        return sum(n for code, n in self.changes.items() if COLUMN[code].direction == REMOVE)


def school_lines(actor: User, year: int) -> list[UnitLine]:
    """Every school in the actor's subtree with its new pupils, its register totals and its
    graduation roster (active schools, and closed ones that still have something to report)."""
    path = scope.user_path(actor)
    new, changes, graduates = new_counts(path, year), register_counts(path, year), graduate_counts(path, year)
    schools = db.session.scalars(schools_in(path).options(selectinload(OrgUnit.supervisor))).all()
    return [
        UnitLine(unit=s, direct=is_direct(s), new=new.get(s.id, Counter()), changes=changes.get(s.id, Counter()),
                 graduates=graduates.get(s.id, Counter()))
        for s in schools if s.active or s.id in new or s.id in changes or s.id in graduates
    ]


def aggregate(unit: OrgUnit, year: int, kind_code: str | None = None) -> tuple[list[UnitLine], UnitLine]:
    """The lines of a county's, city's or province's registers (one per unit below) and the total;
    `kind_code` counts only that register (None: all of them)."""
    sources = {
        "new": new_counts if kind_code in (None, NEW) else None,
        "changes": register_counts if kind_code in (None, CHANGES) else None,
        "graduates": graduate_counts if kind_code in (None, GRADUATES) else None,
    }
    lines = {c.path: UnitLine(unit=c, direct=is_direct(c)) for c in children(unit)}
    paths = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.level == SCHOOL,
                                                                           scope.within(OrgUnit.path, unit.path))).all())
    total = UnitLine(unit=unit)
    for attr, counts in sources.items():
        if counts is None:
            continue
        for school_id, counter in counts(unit.path, year).items():
            school_path = paths.get(school_id)
            if school_path is None:
                continue
            line = lines.get(child_path(unit, school_path)) if unit.level != SCHOOL else lines.get(unit.path)
            if line is not None:
                getattr(line, attr).update(counter)
            getattr(total, attr).update(counter)
    if kind_code in (None, GRADUATES) and any(line.unit.level == SCHOOL for line in lines.values()):
        approvals = graduate_approvals(unit.path, year)
        for line in lines.values():
            if line.unit.level == SCHOOL:
                line.approval = approvals.get(line.unit.id)
    return list(lines.values()), total
