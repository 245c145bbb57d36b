"""The registers a school submits to its authority (第十二条), and its graduation roster:

- 新生花名册: the new pupils of the school year (entered in its first month, 入学年月 in the year);
- 学生增加和减少情况登记表: the past school year's additions and removals, from the completed
  change requests (转入/转出, 新生, 接续, 休学/复学, 出国, 死亡, 辍学 …) and the approved
  graduation roster (毕业/结业);
- 毕业生花名册 (第二十四条): the graduates of the summer that ends the past school year, as
  services/graduation.py keeps them (GraduationRecord), with the assessment result and, once the
  supervising authority has approved the roster, 毕业 or 结业.

The first two are due one month after the start of the school year; the graduation roster by
30 July (第十二条: graduation operations end by then). A school's registers go to its
authority; a city- or province-direct school's also to the county where it stands (第十二条
last paragraph) — the organisation tree is geographic, so that county's scope already holds the
school and its officials find it in their list.

Per school: every pupil on its own line (PDF, XLSX). Per county, city or province: one line per
unit below (schools, counties, cities) with the totals. All counts are GROUP BY queries; the
pupil lines of one school are bounded by that school's year.
"""

from __future__ import annotations

import calendar
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from extensions import db
from models.changes import COMPLETED, ChangeRequest, PrintedDocument
from models.graduation import COMPLETED as GRADUATION_COMPLETED
from models.graduation import FAILED, GRADUATED, PASSED, GraduationRecord
from models.org import COUNTY, SCHOOL, OrgUnit
from models.rosters import RosterSubmission
from models.student import Student
from services import audit, clock, codes, exports, graduation, pdf, scope, uploads
from services.departures import ABROAD, ABROAD_RETURN, DEATH, DROPOUT, DROPOUT_RETURN
from services.documents import numbered_document
from services.enrollment import CONTINUATION, ENROLLMENT
from services.errors import NotInScope, RuleViolation
from services.ids import division_name
from services.placements import JUVENILE_PLACEMENT, JUVENILE_RETURN, SPECIAL_MOVE
from services.suspension import RESUMPTION, SUSPENSION
from services.transfer import TRANSFER, TRANSFER_INTO_PROVINCE, TRANSFER_OUT_OF_PROVINCE

if TYPE_CHECKING:
    from models.people import User

NEW, CHANGES, GRADUATES = "new", "changes", "graduates"
ADD, REMOVE = "add", "remove"
TO, FROM = "to", "from"  # which end of a request is the school whose register counts it


@dataclass(frozen=True)
class RosterKind:
    code: str
    prefix: str  # of the printed document's number, like XX/ZX in services/documents.py
    template: str
    title: str  # the official title, printed as is


KINDS = {
    NEW: RosterKind(NEW, "HM", "roster_new.html", "新生花名册"),
    CHANGES: RosterKind(CHANGES, "ZJ", "roster_changes.html", "学生增加和减少情况登记表"),
    GRADUATES: RosterKind(GRADUATES, "BY", "roster_graduates.html", "毕业生花名册"),
}


@dataclass(frozen=True)
class Column:
    """One column of the 增减登记表: its heading on the form and what it counts."""

    code: str
    label: str
    direction: str
    types: tuple[tuple[str, str], ...] = ()  # (change type, the end that is this school)
    outcome: str | None = None  # a graduation outcome (毕业/结业) instead of change requests


COLUMNS = (
    Column("new", "新生入学", ADD, ((ENROLLMENT, TO),)),
    Column("transfer_in", "转入", ADD, ((TRANSFER, TO),)),
    Column("province_in", "省外转入", ADD, ((TRANSFER_INTO_PROVINCE, TO),)),
    Column("continuation", "升学接续", ADD, ((CONTINUATION, TO),)),
    Column("resumption", "复学", ADD, ((RESUMPTION, FROM),)),
    Column("abroad_return", "出国复学", ADD, ((ABROAD_RETURN, FROM),)),
    Column("dropout_return", "辍学返校", ADD, ((DROPOUT_RETURN, FROM),)),
    Column("placed_in", "安置转入", ADD, ((JUVENILE_PLACEMENT, TO), (JUVENILE_RETURN, TO), (SPECIAL_MOVE, TO))),
    Column("transfer_out", "转出", REMOVE, ((TRANSFER, FROM),)),
    Column("province_out", "转往省外", REMOVE, ((TRANSFER_OUT_OF_PROVINCE, FROM),)),
    Column("suspension", "休学", REMOVE, ((SUSPENSION, FROM),)),
    Column("abroad", "出国出境", REMOVE, ((ABROAD, FROM),)),
    Column("death", "死亡", REMOVE, ((DEATH, FROM),)),
    Column("dropout", "辍学", REMOVE, ((DROPOUT, FROM),)),
    Column("placed_out", "安置转出", REMOVE, ((JUVENILE_PLACEMENT, FROM), (JUVENILE_RETURN, FROM), (SPECIAL_MOVE, FROM))),
    Column("graduated", "毕业", REMOVE, outcome=GRADUATED),
    Column("completed", "结业", REMOVE, outcome=GRADUATION_COMPLETED),
)
COLUMN = {c.code: c for c in COLUMNS}
DIRECTION_LABELS = {ADD: "增加", REMOVE: "减少"}


def _column_for(side: str) -> dict[str, Column]:
    return {t: c for c in COLUMNS for t, s in c.types if s == side}


# --- the calendar --------------------------------------------------------------------------------


def year_start(year: int) -> date:
    """The first day of the school year `year`–`year + 1` (the first term of TERMS)."""
    month_day = current_app.config["TERMS"][0][0]
    return date(year, int(month_day[:2]), int(month_day[3:]))


def current_year(today: date | None = None) -> int:
    """The school year that has started last: the round of registers due now or most recently."""
    today = today or clock.today()
    return today.year if today >= year_start(today.year) else today.year - 1


def due_on(year: int) -> date:
    """开学后1个月内: the day before the same day of the following month (1 Sep → 30 Sep)."""
    start = year_start(year)
    following_year, following_month = start.year + start.month // 12, start.month % 12 + 1
    day = min(start.day, calendar.monthrange(following_year, following_month)[1])
    return date(following_year, following_month, day) - timedelta(days=1)


def window(year: int) -> tuple[datetime, datetime]:
    """[start, end) of the school year `year`–`year + 1`."""
    return datetime.combine(year_start(year), datetime.min.time()), datetime.combine(year_start(year + 1), datetime.min.time())


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


# --- units -----------------------------------------------------------------------------------------


def load_unit(actor: User, unit_id: int) -> OrgUnit:
    """A unit inside the actor's subtree (its own included), else NotInScope (→ 404)."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not scope.covers(actor, unit.path):
        raise NotInScope()
    return unit


def _child_path(unit: OrgUnit, path: str) -> str:
    """The path of the unit one level below `unit` that holds `path`."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[: scope.depth(unit.path) + 1]) + "/"


def children(unit: OrgUnit) -> list[OrgUnit]:
    """The lines of an aggregate: schools of a county, counties of a city, cities of the province."""
    if unit.level == SCHOOL:
        return [unit]
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code)))


def schools_in(path: str, *, only_active: bool = False) -> Select[Any]:
    query = select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.within(OrgUnit.path, path))
    if only_active:
        query = query.where(OrgUnit.active.is_(True))
    return query.order_by(OrgUnit.code)


def school_kind_label(unit: OrgUnit) -> str:
    """The kind of a school as printed (小学, 初中 …); empty for an authority."""
    return codes.label("school_kind", unit.school_kind) if unit.school_kind else ""


def is_direct(school: OrgUnit) -> bool:
    """直管学校: supervised by the city or province, registered also with the county it stands in."""
    return school.level == SCHOOL and school.supervisor is not None and school.supervisor.level != COUNTY


# --- 新生花名册 ---------------------------------------------------------------------------------------


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
        columns = _column_for(side)
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
    to_types, from_types = _column_for(TO), _column_for(FROM)
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


def _graduate_row(index: int, record: GraduationRecord) -> SimpleNamespace:
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
            line = lines.get(_child_path(unit, school_path)) if unit.level != SCHOOL else lines.get(unit.path)
            if line is not None:
                getattr(line, attr).update(counter)
            getattr(total, attr).update(counter)
    if kind_code in (None, GRADUATES) and any(line.unit.level == SCHOOL for line in lines.values()):
        approvals = graduate_approvals(unit.path, year)
        for line in lines.values():
            if line.unit.level == SCHOOL:
                line.approval = approvals.get(line.unit.id)
    return list(lines.values()), total


# --- printed and exported -------------------------------------------------------------------------


def _numbered(kind: RosterKind, actor: User, unit: OrgUnit, year: int) -> PrintedDocument:
    """Numbered with a verification code and audited, like every printed document (第二十八条)."""
    # A graduation roster carries its graduating year, not the year it happens to be printed in.
    doc = numbered_document(f"roster_{kind.code}", kind.prefix, unit.path, actor.id, year=year if kind.code == GRADUATES else None)
    audit.record(actor, "print", "printed_document", doc.id, f"roster_{kind.code} {doc.number} {unit.code} {year}")
    return doc


def _header(unit: OrgUnit, year: int, kind: RosterKind) -> SimpleNamespace:
    covered = year if kind.code == NEW else year - 1
    supervisor = unit.supervisor.name if unit.level == SCHOOL and unit.supervisor else ""
    county = unit.parent.name if unit.level == SCHOOL and unit.parent else ""
    if kind.code == GRADUATES:  # the graduates of the summer ending the school year, by 30 July
        label, due, due_note = f"{year_label(covered)}毕业生", graduation.deadline(year), "完成毕业（结业）操作"
    else:
        label, due, due_note = year_label(covered), due_on(year), "开学后1个月内"
    return SimpleNamespace(
        title=kind.title, unit_name=unit.name, unit_code=unit.code, is_school=unit.level == SCHOOL,
        school_kind=school_kind_label(unit),
        year_label=label, due_on=due, due_note=due_note, supervisor=supervisor,
        also_to=county if unit.level == SCHOOL and is_direct(unit) else "",
    )


def _pupil_row(index: int, s: Student) -> SimpleNamespace:
    guardian = s.guardians[0] if s.guardians else None
    return SimpleNamespace(
        index=index, name=s.name, gender=codes.label("gender", s.gender), birth_date=s.birth_date,
        ethnicity=codes.label("ethnicity", s.ethnicity), id_number=s.id_number or "", xjh=s.xjh or "",
        grade=codes.label("grade", str(s.grade)), class_name=s.class_name or "", enroll_month=s.enroll_month or "",
        hukou=division_name(s.hukou_location) or (s.hukou_location or ""), guardian=guardian.name if guardian else "",
        phone=(guardian.phone if guardian and guardian.phone else s.phone) or "",
        status=codes.label("student_status", s.status),
    )


def render_pdf(kind_code: str, unit: OrgUnit, actor: User, year: int) -> tuple[bytes, PrintedDocument]:
    """The register as a PDF: a school's with every pupil, an authority's with one line per unit below."""
    kind = KINDS[kind_code]
    doc = _numbered(kind, actor, unit, year)
    context: dict[str, Any] = {
        "head": _header(unit, year, kind), "columns": COLUMNS, "directions": DIRECTION_LABELS,
        "doc": SimpleNamespace(number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at),
    }
    if unit.level == SCHOOL:
        if kind.code == NEW:
            pupils = db.session.scalars(new_pupils_query(unit, year)).all()
            context["pupils"] = [_pupil_row(i, s) for i, s in enumerate(pupils, start=1)]
        elif kind.code == GRADUATES:
            info = graduation.summary(unit, year)
            records = db.session.scalars(graduates_query(unit, year)).all()
            context["graduates"] = [_graduate_row(i, r) for i, r in enumerate(records, start=1)]
            context["counts"] = Counter(r.outcome for r in records if r.outcome)
            context["info"], context["grade"] = info, codes.label("grade", str(info.grade))
            context["approval"] = school_approval(info)
        else:
            lines = register_lines(unit, year)
            context["lines"] = lines
            context["totals"] = Counter(line.column.code for line in lines)
    else:
        context["units"], context["total"] = aggregate(unit, year, kind.code)
        context["school_kind"] = school_kind_label
    return pdf.render_pdf(kind.template, **context), doc


def filename(kind_code: str, unit: OrgUnit, year: int, ext: str) -> str:
    return f"{KINDS[kind_code].title}_{unit.name}_{year}.{ext}"


def xlsx(kind_code: str, unit: OrgUnit, actor: User, year: int) -> Iterator[bytes]:
    """The register as an XLSX, streamed and audited; the caller has passed exports.may_export."""
    kind = KINDS[kind_code]
    audit.record(actor, "export", f"roster_{kind.code}", unit.id, f"xlsx {unit.code} {year}")
    db.session.commit()
    return _workbook(kind, unit, year)


def _workbook(kind: RosterKind, unit: OrgUnit, year: int) -> Iterator[bytes]:
    """The XLSX of one register of one unit, in chunks (not audited: the callers are)."""
    if unit.level != SCHOOL:
        lines, total = aggregate(unit, year, kind.code)
        return exports.workbook_stream([("汇总", _aggregate_columns(kind), [*lines, total])])
    if kind.code == GRADUATES:
        approval = school_approval(graduation.summary(unit, year))
        graduate_columns: list[exports.ExportColumn] = [
            ("序号", lambda r: r[0]), ("姓名", lambda r: r[1].student.name),
            ("性别", lambda r: codes.label("gender", r[1].student.gender)), ("出生日期", lambda r: r[1].student.birth_date),
            ("全国学籍号", lambda r: r[1].student.xjh), ("身份证件号", lambda r: r[1].student.id_number),
            ("年级", lambda r: codes.label("grade", str(r[1].grade))), ("班级", lambda r: r[1].student.class_name),
            ("考核结果", lambda r: ASSESSMENT_LABELS.get(r[1].assessment or "", "")),
            ("考核确认", lambda r: graduation.confirmation_text(r[1])),
            ("毕（结）业", lambda r: OUTCOME_LABELS.get(r[1].outcome or "", "")),
            ("核准日期", lambda r: approval.on if approval else None),
            ("核准单号", lambda r: f"#{approval.request_id}" if approval else "未核准"),
        ]
        records = enumerate(db.session.scalars(graduates_query(unit, year).execution_options(yield_per=exports.YIELD_PER)), start=1)
        return exports.workbook_stream([(f"{kind.title}{year}", graduate_columns, records)])
    if kind.code == NEW:
        columns: list[exports.ExportColumn] = [
            ("序号", lambda r: r[0]), ("姓名", lambda r: r[1].name), ("性别", lambda r: codes.label("gender", r[1].gender)),
            ("出生日期", lambda r: r[1].birth_date), ("民族", lambda r: codes.label("ethnicity", r[1].ethnicity)),
            ("身份证件号", lambda r: r[1].id_number), ("全国学籍号", lambda r: r[1].xjh),
            ("年级", lambda r: codes.label("grade", str(r[1].grade))), ("班级", lambda r: r[1].class_name),
            ("入学年月", lambda r: r[1].enroll_month), ("户口所在地", lambda r: division_name(r[1].hukou_location) or r[1].hukou_location),
            ("监护人", lambda r: r[1].guardians[0].name if r[1].guardians else ""),
            ("联系电话", lambda r: (r[1].guardians[0].phone if r[1].guardians else None) or r[1].phone),
            ("学籍状态", lambda r: codes.label("student_status", r[1].status)),
        ]
        rows = enumerate(db.session.scalars(new_pupils_query(unit, year).execution_options(yield_per=exports.YIELD_PER)), start=1)
        return exports.workbook_stream([(kind.title, columns, rows)])
    lines = register_lines(unit, year)
    totals = Counter(line.column.code for line in lines)
    summary: list[exports.ExportColumn] = [
        ("增减", lambda c: DIRECTION_LABELS[c.direction]), ("类别", lambda c: c.label), ("人数", lambda c: totals[c.code]),
    ]
    detail: list[exports.ExportColumn] = [
        ("增减", lambda ln: DIRECTION_LABELS[ln.column.direction]), ("类别", lambda ln: ln.column.label), ("日期", lambda ln: ln.day),
        ("姓名", lambda ln: ln.name), ("性别", lambda ln: ln.gender), ("全国学籍号", lambda ln: ln.xjh),
        ("年级", lambda ln: ln.grade), ("转入/转出学校", lambda ln: ln.other), ("单号", lambda ln: ln.number),
    ]
    return exports.workbook_stream([("汇总", summary, COLUMNS), ("明细", detail, lines)])


def _aggregate_columns(kind: RosterKind) -> list[exports.ExportColumn]:
    columns: list[exports.ExportColumn] = [
        ("单位", lambda ln: ln.unit.name), ("代码", lambda ln: ln.unit.code),
        ("直管", lambda ln: "是" if ln.direct else ""),
    ]
    if kind.code == NEW:
        return [*columns, ("男", lambda ln: ln.new["1"]), ("女", lambda ln: ln.new["2"]), ("合计", lambda ln: ln.new["total"])]
    if kind.code == GRADUATES:
        return [
            *columns, ("名册人数", lambda ln: ln.graduates["total"]), ("考核合格", lambda ln: ln.graduates[PASSED]),
            ("考核不合格", lambda ln: ln.graduates[FAILED]), ("毕业", lambda ln: ln.graduates[GRADUATED]),
            ("结业", lambda ln: ln.graduates[GRADUATION_COMPLETED]), ("有名册学校", lambda ln: ln.graduates["schools"]),
            ("已核准学校", lambda ln: ln.graduates["approved"]), ("核准", approval_text),
        ]
    for c in COLUMNS:
        columns.append((f"{DIRECTION_LABELS[c.direction]}·{c.label}", lambda ln, code=c.code: ln.changes[code]))
    return [*columns, ("增加合计", lambda ln: ln.added), ("减少合计", lambda ln: ln.removed)]


def approval_text(line: UnitLine) -> str:
    """The approval column of an aggregate: a school's approval (date, request), else how many of
    the unit's rosters are approved."""
    if line.unit.level == SCHOOL:
        if line.approval is None:
            return "未核准" if line.graduates["total"] else "无名册"
        return f"{line.approval.on or ''} #{line.approval.request_id}".strip()
    return f"{line.graduates['approved']}/{line.graduates['schools']}"


# --- submission (第十二条: 上报主管教育行政部门) ----------------------------------------------------------------
#
# A school submits its 新生花名册 and 增减登记表 once the school year has started. What it submits
# is kept exactly as produced at that moment (PDF and XLSX, content-addressed), because the data
# behind a register keeps changing afterwards. The graduation roster is not submitted here: it is
# approved through its own workflow (services/graduation.py, 第二十四条).
#
# A second submission of the same register replaces the first, which stays as history: a school
# that finds a mistake, or a transfer completed late, must be able to send the corrected register,
# and the authority must still see what was sent first and when. Whether the register came in on
# time is decided by the first submission: a correction after the due date does not make a
# punctual school late, and a late school does not become punctual by resubmitting.

SUBMITTED_KINDS = (NEW, CHANGES)
ON_TIME, LATE, MISSING, OPEN = "on_time", "late", "missing", "open"
STATE_LABELS = {ON_TIME: _l("Submitted on time"), LATE: _l("Submitted late"), MISSING: _l("Not submitted, overdue"),
                OPEN: _l("Not submitted, not yet due")}


def is_on_time(submitted_at: datetime, year: int) -> bool:
    """开学后1个月内: on time up to and including `due_on(year)`, counted from the configured term start."""
    return submitted_at.date() <= due_on(year)


def recipients(school: OrgUnit, kind_code: str) -> tuple[OrgUnit | None, OrgUnit | None]:
    """(the supervising authority, the county where it stands when that is another unit): a 直管学校
    also sends its 增减登记表 to its county (第十二条 last paragraph)."""
    also = school.parent if kind_code == CHANGES and is_direct(school) else None
    return school.supervisor, also


def may_submit(actor: User, school: OrgUnit) -> bool:
    """A school's own staff submit its registers; an authority cannot submit for it."""
    return school.level == SCHOOL and actor.unit_id == school.id and actor.is_school_user


def submit(actor: User, kind_code: str, year: int) -> tuple[RosterSubmission, bytes, bytes]:
    """Produce the school's register of `year` now, store both files and record the submission.
    Returns the row and the bytes that were stored. The caller commits."""
    school = actor.unit
    if kind_code not in SUBMITTED_KINDS:
        raise NotInScope()
    if not may_submit(actor, school):
        raise RuleViolation(str(_l("Only the school's own staff submit its registers.")))
    if year_start(year) > clock.today():
        raise RuleViolation(str(_l("The registers of a school year can be submitted once it has started (%(day)s).",
                                   day=year_start(year).isoformat())))
    pdf_bytes, doc = render_pdf(kind_code, school, actor, year)
    xlsx_bytes = b"".join(_workbook(KINDS[kind_code], school, year))
    at = clock.now()
    for previous in db.session.scalars(_current(school.id, kind_code, year)):
        previous.replaced_at = at
    sent_to, also_to = recipients(school, kind_code)
    row = RosterSubmission(
        school_id=school.id, scope_path=school.path, kind=kind_code, year=year, submitted_by_id=actor.id,
        submitted_at=at, due_on=due_on(year), on_time=is_on_time(at, year), sent_to=sent_to, also_to=also_to,
        document_id=doc.id, pdf_sha256=uploads.store(pdf_bytes), pdf_size=len(pdf_bytes),
        xlsx_sha256=uploads.store(xlsx_bytes), xlsx_size=len(xlsx_bytes),
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # ux_roster_submission_current: another submission of it just went in
        db.session.rollback()
        raise RuleViolation(str(_l("This register was submitted at the same moment by someone else. "
                                   "Reload the page to see it."))) from None
    audit.record(actor, "submit", "roster_submission", row.id,
                 f"{kind_code} {school.code} {year} {'on time' if row.on_time else 'late'}")
    return row, pdf_bytes, xlsx_bytes


def _current(school_id: int, kind_code: str, year: int) -> Select[Any]:
    return select(RosterSubmission).where(RosterSubmission.school_id == school_id, RosterSubmission.kind == kind_code,
                                          RosterSubmission.year == year, RosterSubmission.replaced_at.is_(None))


@dataclass
class SubmissionState:
    """Where one register of one school stands: its current submission, and whether it came in on time."""

    state: str
    current: RosterSubmission | None = None
    count: int = 0  # submissions of this register, the replaced ones included

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


def submission_states(path: str, year: int) -> dict[tuple[int, str], SubmissionState]:
    """(school id, kind) → its state, for the schools of the subtree that have submitted; the others
    are `state_of(None, year)`. One query over the year's submissions in the subtree."""
    rows = db.session.scalars(
        select(RosterSubmission).where(scope.within(RosterSubmission.scope_path, path), RosterSubmission.year == year)
        .options(selectinload(RosterSubmission.submitted_by)).order_by(RosterSubmission.submitted_at, RosterSubmission.id)
    )
    out: dict[tuple[int, str], SubmissionState] = {}
    for row in rows:
        key = (row.school_id, row.kind)
        found = out.get(key)
        if found is None:  # the first submission decides on time or late
            found = out[key] = SubmissionState(ON_TIME if row.on_time else LATE)
        found.count += 1
        if row.replaced_at is None:
            found.current = row
    return out


def state_of(found: SubmissionState | None, year: int, today: date | None = None) -> SubmissionState:
    """A register not submitted: overdue once its due date has passed, else still open."""
    if found is not None:
        return found
    return SubmissionState(MISSING if (today or clock.today()) > due_on(year) else OPEN)


def history(actor: User, school: OrgUnit, year: int) -> list[RosterSubmission]:
    """Every submission of a school in `year`, newest first (the school in the actor's scope)."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    return list(db.session.scalars(
        select(RosterSubmission).where(RosterSubmission.school_id == school.id, RosterSubmission.year == year)
        .order_by(RosterSubmission.submitted_at.desc(), RosterSubmission.id.desc())))


def load_submission(actor: User, submission_id: int) -> RosterSubmission:
    return scope.load_scoped(actor, RosterSubmission, submission_id)  # type: ignore[no-any-return]


def stored_file(row: RosterSubmission, ext: str) -> bytes:
    """The file exactly as submitted; refused if what is on disk is not what was stored."""
    sha = row.pdf_sha256 if ext == "pdf" else row.xlsx_sha256
    try:
        data = uploads.path_of(sha).read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != sha:
        raise RuleViolation(str(_l("The stored file does not match what was submitted.")))
    return data


def submission_filename(row: RosterSubmission, ext: str) -> str:
    return f"{KINDS[row.kind].title}_{row.school.name}_{row.year}_{row.submitted_at:%Y%m%d%H%M}.{ext}"
