"""毕业 and 结业 (第二十四条; the 30 July deadline of 第十二条): the school's 毕业生花名册 and its approval.

The roster (compile, assess, confirm, submit, approve) lives here, one workflow on one table; the
"graduation" change type that submits and approves it is declared in changes/graduation_roster.py
and calls `submitter_refusal`, `roster_ready_refusal`, `approve_roster` and `roster_sent_back`.
Kept whole (over 400 lines): the calendar, the reading and the school's work all read the same
roster table and locks; its seams are the `# ---` parts below.

- `compile_roster`: the school lists its pupils of the graduating grade (9; 6 in a primary school,
  whose pupils then continue their record at a junior middle school by 接续) who are in school
  (在籍). Set-based and idempotent: a second run adds only who is missing and drops lines of
  pupils who left meanwhile. Suspended, abroad, dropped-out or waiting records are not listed.
- `mark_assessment`: the school proposes each pupil's result of the assessment; the city or county
  authority that organises it (第二十四条, `assessment_authority`) records or confirms every result
  (`confirm_assessment`), and who confirmed it, when, is kept per pupil and shown on the roster.
  The approval is refused while a result is unconfirmed.
- The calendar (第十二条, the province's dates in config.py): `why_not_now` is the one rule saying
  when the school's work (compile, mark, submit) and the authority's (confirm, submit late,
  approve) cannot be done; the screens show it and the services refuse with it. `approval_preview`
  is the dry run of an approval: who graduates (毕业), who completes (结业), who is not listed and why.
- `submit_roster`: a change request of type "graduation" about the school (no pupil), decided by
  the school's supervising authority. Every pupil must be assessed, the roster not empty, and
  the date not after 30 July — later only the authority submits it, saying why.
- Approval: each line's outcome is 毕业 (passed) or 结业 (failed, who later gets a 修业证明书);
  the pupils' status follows in one UPDATE per outcome and one INSERT … SELECT of their history
  rows. A rejection sends the roster back: it can be corrected and submitted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import joinedload

from extensions import db
from models.audit import StudentHistory
from models.changes import APPROVED, PENDING, ChangeRequest
from models.changes import COMPLETED as REQUEST_DONE
from models.graduation import COMPLETED, FAILED, GRADUATED, PASSED, GraduationRecord
from models.lifecycle import StudentStatus
from models.org import CITY, COUNTY, SCHOOL, OrgUnit
from models.promotion import PromotionRun
from models.student import Student
from services import audit, clock, labels, lifecycle, scope, students, workflows, year_calendar
from services.change_codes import GRADUATION
from services.change_common import is_own_staff
from services.errors import NotInScope, RuleViolation, refusal_of
from services.workflows import notify

if TYPE_CHECKING:
    from models.people import User

IN_SCHOOL = "enrolled"
LOCKING = (PENDING, APPROVED, REQUEST_DONE)  # a roster submitted or approved cannot be changed
# Records kept at the school but not in school: never listed, shown as such beside the roster.
NOT_LISTED = ("suspended", "abroad", "dropped_out", "pending", "delayed")
NAMES_SHOWN = 5

# The audit log's words for an assessment (考核结果).
ASSESSMENT_WORDS = {PASSED: "合格", FAILED: "不合格"}


# --- the calendar of a roster ---------------------------------------------------------------


graduating_grade = students.graduating_grade  # 6 in a primary school, 9 elsewhere


def deadline(year: int) -> date:
    """第十二条: 各地各校应在7月30日前完成学生毕业(结业)操作 (GRADUATION_DEADLINE, config.py)."""
    return year_calendar.day("GRADUATION_DEADLINE", year)


def opens(year: int) -> date:
    """The first day of the graduation work of the summer `year` (GRADUATION_OPENS)."""
    return year_calendar.day("GRADUATION_OPENS", year)


def late_until(year: int) -> date:
    """The last day the supervising authority may still submit (late, saying why) or decide a roster."""
    return year_calendar.day("GRADUATION_LATE_UNTIL", year)


def graduation_year(today: date | None = None) -> int:
    """The summer whose graduates a roster lists now: this year's until its late days have passed, then the next."""
    today = today or clock.today()
    return today.year if today <= late_until(today.year) else today.year + 1


def days_to_deadline(year: int) -> int:
    """Calendar days until 30 July (0 on the day itself, negative after it)."""
    return (deadline(year) - clock.today()).days


def why_not_now(year: int, *, authority: bool = False, today: date | None = None) -> str | None:
    """Why graduation work on the roster of `year` cannot be done today; None when it can.

    第十二条: graduation is done by 30 July. The school compiles, marks and submits from
    GRADUATION_OPENS to the deadline; the authority (`authority=True`: confirming results,
    submitting late, approving) until GRADUATION_LATE_UNTIL. A roster of the summer 2027 is not
    worked on in December 2026."""
    today = today or clock.today()
    start, due, last = opens(year), deadline(year), late_until(year)
    if not start <= due <= last:
        raise year_calendar.BadCalendarSetting("GRADUATION_OPENS <= GRADUATION_DEADLINE <= GRADUATION_LATE_UNTIL does not hold")
    words = {"y": year, "start": year_calendar.words(start), "due": year_calendar.words(due),
             "last": year_calendar.words(last), "today": year_calendar.words(today)}
    if today < start:
        return str(_l("Graduation of %(y)d (毕业/结业) is done from %(start)s to %(due)s (第十二条); it cannot be done yet "
                      "today (%(today)s).", **words))
    if today > last:
        return str(_l("Graduation of %(y)d ended on %(last)s (第十二条); it can no longer be done.", **words))
    if today > due and not authority:
        return str(_l("Graduation is finished by %(due)s (第十二条); after it only the supervising authority can submit the "
                      "roster, saying why, until %(last)s.", **words))
    return None


def assessment_authority(school: OrgUnit) -> OrgUnit | None:
    """第二十四条: the assessment is organised by the city or county (市、县级) education authority:
    the school's supervising authority when it is a city or a county (a city-direct school: the
    city), else — a province-direct school — the county it stands in."""
    supervisor = school.supervisor
    if supervisor is not None and supervisor.level in (CITY, COUNTY):
        return supervisor
    return school.parent if school.parent is not None and school.parent.level == COUNTY else supervisor


def is_assessment_authority(actor: User, school: OrgUnit) -> bool:
    unit = assessment_authority(school)
    return unit is not None and actor.is_official and actor.unit_id == unit.id


# --- reading -----------------------------------------------------------------------------------


def load_school(actor: User, school_id: int) -> OrgUnit:
    """A school in the actor's subtree, else NotInScope (404: absent and forbidden look the same)."""
    school = db.session.get(OrgUnit, school_id) if 0 < school_id <= scope.MAX_ID else None
    if school is None or school.level != SCHOOL or not scope.covers(actor, school.path):
        raise NotInScope()
    return school


def is_supervisor(actor: User, school: OrgUnit) -> bool:
    return actor.unit_id == school.supervisor_id and actor.is_official


def roster_requests(school: OrgUnit, year: int) -> list[ChangeRequest]:
    """The roster's approval requests, newest first. The year is in the JSON payload, compared in
    Python: a school has a handful of such requests."""
    rows = db.session.scalars(
        select(ChangeRequest).where(ChangeRequest.type == GRADUATION, ChangeRequest.from_school_id == school.id,
                                    ChangeRequest.student_id.is_(None)).order_by(ChangeRequest.id.desc())
    )
    return [r for r in rows if (r.payload or {}).get("year") == year]


def current_request(school: OrgUnit, year: int) -> ChangeRequest | None:
    """The request that holds the roster (waiting or approved), else the latest one (rejected, withdrawn)."""
    found = roster_requests(school, year)
    return next((r for r in found if r.status in LOCKING), found[0] if found else None)


def is_locked(school: OrgUnit, year: int) -> bool:
    req = current_request(school, year)
    return req is not None and req.status in LOCKING


def roster_query(school: OrgUnit, year: int, assessment: str | None = None) -> Select[Any]:
    """The lines of a roster with their pupils, by class and name. `assessment`: PASSED, FAILED,
    "none" (not yet marked) or None (all)."""
    query = (select(GraduationRecord).join(Student, Student.id == GraduationRecord.student_id)
             .where(GraduationRecord.school_id == school.id, GraduationRecord.year == year))
    if assessment == "none":
        query = query.where(GraduationRecord.assessment.is_(None))
    elif assessment in (PASSED, FAILED):
        query = query.where(GraduationRecord.assessment == assessment)
    # Who confirmed each result is shown on every line (page, XLSX, PDF): loaded with the lines.
    return query.options(joinedload(GraduationRecord.confirmed_by), joinedload(GraduationRecord.confirmed_unit)) \
        .order_by(Student.class_name, Student.name, Student.id)


@dataclass
class Summary:
    school: OrgUnit
    year: int
    grade: int
    total: int = 0
    passed: int = 0
    failed: int = 0
    not_listed: dict[str, int] = field(default_factory=dict)  # status → pupils of the grade not in school
    request: ChangeRequest | None = None
    unconfirmed: int = 0  # lines with a result the assessment authority has not confirmed yet
    authority: OrgUnit | None = None  # who organises the assessment and confirms the results

    @property
    def unassessed(self) -> int:
        return self.total - self.passed - self.failed

    @property
    def deadline(self) -> date:
        return deadline(self.year)

    @property
    def days_left(self) -> int:
        return days_to_deadline(self.year)

    @property
    def locked(self) -> bool:
        return self.request is not None and self.request.status in LOCKING

    @property
    def approved(self) -> bool:
        return self.request is not None and self.request.status == REQUEST_DONE


def _counts(school_ids: Sequence[int], year: int) -> dict[int, tuple[int, int, int]]:
    """school id → (lines, passed, failed) of its roster of `year`, in one query."""
    if not school_ids:
        return {}
    rows = db.session.execute(
        select(GraduationRecord.school_id, func.count(),
               func.sum(case((GraduationRecord.assessment == PASSED, 1), else_=0)),
               func.sum(case((GraduationRecord.assessment == FAILED, 1), else_=0)))
        .where(GraduationRecord.school_id.in_(school_ids), GraduationRecord.year == year)
        .group_by(GraduationRecord.school_id)
    )
    return {sid: (int(n), int(p or 0), int(f or 0)) for sid, n, p, f in rows}


def summary(school: OrgUnit, year: int) -> Summary:
    grade = graduating_grade(school)
    total, passed, failed = _counts([school.id], year).get(school.id, (0, 0, 0))
    not_listed = dict(db.session.execute(
        select(Student.status, func.count()).where(Student.school_id == school.id, Student.grade == grade,
                                                   Student.status.in_(NOT_LISTED))
        .group_by(Student.status).order_by(Student.status)
    ).all())
    unconfirmed = db.session.scalar(select(func.count()).select_from(GraduationRecord).where(
        GraduationRecord.school_id == school.id, GraduationRecord.year == year, GraduationRecord.assessment.is_not(None),
        GraduationRecord.confirmed_at.is_(None)))
    return Summary(school, year, grade, total, passed, failed, not_listed, current_request(school, year), int(unconfirmed or 0),
                   assessment_authority(school))


@dataclass(frozen=True)
class SchoolRow:
    school: OrgUnit
    total: int
    passed: int
    failed: int
    request: ChangeRequest | None


def overview(actor: User, year: int, page: int, per_page: int) -> tuple[list[SchoolRow], bool]:
    """The schools of the actor's subtree with their roster of `year`: a page of them, and whether more follow."""
    schools = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), scope.filter_for(actor, OrgUnit.path))
        .order_by(OrgUnit.code).offset(page * per_page).limit(per_page + 1)
    ))
    has_next = len(schools) > per_page
    schools = schools[:per_page]
    ids = [s.id for s in schools]
    counts = _counts(ids, year)
    latest: dict[int, ChangeRequest] = {}
    if ids:
        for req in db.session.scalars(
            select(ChangeRequest).where(ChangeRequest.type == GRADUATION, ChangeRequest.from_school_id.in_(ids),
                                        ChangeRequest.student_id.is_(None)).order_by(ChangeRequest.id.desc())
        ):
            if (req.payload or {}).get("year") != year or req.from_school_id is None:
                continue
            held = latest.get(req.from_school_id)
            if held is None or (held.status not in LOCKING and req.status in LOCKING):
                latest[req.from_school_id] = req
    rows = [SchoolRow(s, *counts.get(s.id, (0, 0, 0)), latest.get(s.id)) for s in schools]
    return rows, has_next


def waiting_for(actor: User, limit: int = 200) -> list[ChangeRequest]:
    """Rosters whose approval waits for the actor's unit (待我核办)."""
    return list(db.session.scalars(
        select(ChangeRequest).where(ChangeRequest.type == GRADUATION, workflows.visible_filter(actor),
                                    workflows.queue_filter(actor, "waiting"))
        .order_by(ChangeRequest.id).limit(limit)
    ))


# --- the school's work ----------------------------------------------------------------------------


def _own_school(actor: User, school: OrgUnit) -> None:
    if not scope.covers(actor, school.path):
        raise NotInScope()
    if not is_own_staff(actor, school):
        raise RuleViolation(str(_l("The school compiles and marks its own graduation roster (第二十四条).")))


def _in_time(year: int, *, authority: bool = False) -> None:
    blocked = why_not_now(year, authority=authority)
    if blocked:
        raise RuleViolation(blocked)


def _editable(school: OrgUnit, year: int) -> None:
    req = current_request(school, year)
    if req is not None and req.status in LOCKING:
        if req.status == REQUEST_DONE:
            raise RuleViolation(str(_l("The graduation roster %(y)d has been approved and can no longer be changed.", y=year)))
        raise RuleViolation(str(_l("The graduation roster %(y)d has been submitted (#%(id)s); it can be changed again if it is "
                                   "sent back or withdrawn.", y=year, id=req.id)))


def _promoted_for_a_later_year(year: int) -> Any:
    """A pupil moved into the graduating grade by a summer promotion preparing the school year that
    starts in `year` (or later) graduates a year later: never on this year's roster."""
    return select(PromotionRun.id).where(PromotionRun.school_year >= year)


def _eligible(school: OrgUnit, year: int, grade: int) -> Any:
    return and_(
        Student.school_id == school.id, Student.status == IN_SCHOOL, Student.grade == grade,
        or_(Student.promotion_run_id.is_(None), Student.promotion_run_id.not_in(_promoted_for_a_later_year(year))),
    )


def _still_listed() -> Any:
    """A line whose pupil is still in school (在籍), at the line's school, in the line's grade."""
    return exists().where(Student.id == GraduationRecord.student_id, Student.school_id == GraduationRecord.school_id,
                          Student.status == IN_SCHOOL, Student.grade == GraduationRecord.grade)


def _check_compile(actor: User, school: OrgUnit, year: int) -> None:
    _own_school(actor, school)
    if year != graduation_year():
        raise RuleViolation(str(_l("A roster is compiled for this summer's graduates (%(y)d).", y=graduation_year())))
    _in_time(year)
    _editable(school, year)


# Why the actor may not act on the roster now (None: they may): the buttons and commands ask these,
# the service functions raise from the same checks. The school must be in the actor's scope.
def compile_refusal(actor: User, school: OrgUnit, year: int) -> str | None:
    return refusal_of(lambda: _check_compile(actor, school, year))


def assess_refusal(actor: User, school: OrgUnit, year: int) -> str | None:
    return refusal_of(lambda: _marker(actor, school, year))


def confirm_refusal(actor: User, school: OrgUnit, year: int) -> str | None:
    return refusal_of(lambda: _check_confirm(actor, school, year)) or (
        None if summary(school, year).unconfirmed else _no_result_waits())


def submitter_refusal(actor: User, school: OrgUnit, year: int, *, overriding: bool) -> str | None:
    """Who submits the roster (第十二条: graduation operations end by 30 July): until 30 July the
    school, never the authority; after it only the supervising authority (`overriding`, saying why);
    never outside the year's window. The one rule of the submit button and of the request itself."""
    if is_own_staff(actor, school):
        if overriding:
            return str(_l("Only the supervising authority can override the 30 July deadline."))
        return why_not_now(year)
    if is_supervisor(actor, school):
        blocked = why_not_now(year, authority=True)
        if blocked:
            return blocked
        if clock.today() <= deadline(year):
            return str(_l("Until 30 July the school submits its own roster."))
        return None
    return str(_l("The school submits its own graduation roster (第二十四条)."))


def submit_refusal(actor: User, school: OrgUnit, year: int, *, late: bool = False) -> str | None:
    """Why the actor's submit button (the school's, or the authority's `late` one) is refused now."""
    if late and not is_supervisor(actor, school):
        return str(_l("Only the supervising authority can override the 30 July deadline."))
    if not late and not is_own_staff(actor, school):
        return str(_l("The school submits its own graduation roster (第二十四条)."))
    return submitter_refusal(actor, school, year, overriding=late) or refusal_of(lambda: _editable(school, year))


def compile_roster(actor: User, school: OrgUnit, year: int) -> int:
    """Add every eligible pupil not yet on the roster of `year` (INSERT … SELECT) and drop the
    lines of pupils who have left meanwhile; returns how many were added. The caller commits."""
    _check_compile(actor, school, year)
    grade = graduating_grade(school)
    eligible = select(Student.id).where(_eligible(school, year, grade))
    # A pupil who left (transfer, suspension …) is dropped here; so is a line another school kept
    # of a pupil who is now ours, or the pupil could be on no roster at all (one line per pupil and year).
    removed = db.session.execute(
        delete(GraduationRecord)
        .where(GraduationRecord.year == year, GraduationRecord.outcome.is_(None), GraduationRecord.request_id.is_(None),
               or_(GraduationRecord.school_id == school.id, GraduationRecord.student_id.in_(eligible)), ~_still_listed())
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount
    listed = exists().where(GraduationRecord.student_id == Student.id, GraduationRecord.year == year)
    added = db.session.execute(
        insert(GraduationRecord).from_select(
            ["student_id", "school_id", "scope_path", "year", "grade"],
            select(Student.id, literal(school.id), literal(school.path), literal(year), literal(grade))
            .where(_eligible(school, year, grade), ~listed),
        ).execution_options(preserve_rowcount=True)
    ).rowcount
    audit.record(actor, "graduation.compile", "org_unit", school.id, f"{year} 年 {grade} 年级毕业名册：新增 {added} 人，移除 {removed} 人")
    db.session.flush()
    _forget(GraduationRecord)
    return int(added or 0)


def _marker(actor: User, school: OrgUnit, year: int) -> bool:
    """Check who may enter results on the roster now; True for the assessment authority, whose
    entries are confirmed at once (第二十四条), False for the school, whose entries are proposals."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    if is_assessment_authority(actor, school):
        _in_time(year, authority=True)
        if any(r.status == REQUEST_DONE for r in roster_requests(school, year)):
            raise RuleViolation(str(_l("The graduation roster %(y)d has been approved and can no longer be changed.", y=year)))
        return True
    _own_school(actor, school)
    _in_time(year)
    _editable(school, year)
    return False


def _confirmed_names(which: Any) -> str:
    return _names(select(Student.name).join(GraduationRecord, GraduationRecord.student_id == Student.id)
                  .where(which, GraduationRecord.confirmed_at.is_not(None)).order_by(Student.id))


def mark_assessment(actor: User, records: GraduationRecord | Iterable[GraduationRecord], passed: bool) -> int:
    """A result for one or many pupils of a roster: the school proposes it until the roster is
    submitted; the assessment authority records it (confirmed at once) until the approval."""
    lines = [records] if isinstance(records, GraduationRecord) else list(records)
    if not lines:
        raise RuleViolation(str(_l("Choose at least one pupil.")))
    if any(not scope.covers(actor, r.scope_path) for r in lines):
        raise NotInScope()
    authority = False
    for school_id, year in {(r.school_id, r.year) for r in lines}:
        school = db.session.get(OrgUnit, school_id)
        assert school is not None  # a foreign key
        authority = _marker(actor, school, year)
    if any(r.outcome is not None for r in lines):
        raise RuleViolation(str(_l("The roster has been approved and can no longer be changed.")))
    chosen = GraduationRecord.id.in_([r.id for r in lines])
    if not authority:
        confirmed = _confirmed_names(chosen)
        if confirmed:
            raise RuleViolation(str(_l("The assessment authority has confirmed the result of %(names)s; only it can change "
                                       "the result (第二十四条).", names=confirmed)))
    result = PASSED if passed else FAILED
    _set_assessment(actor, chosen, result, confirm=authority)
    for r in lines:
        audit.record(actor, "graduation.assess", "graduation_record", r.id,
                     f"学生 #{r.student_id}：{ASSESSMENT_WORDS.get(result, result)}{'（主管部门确认）' if authority else ''}")
    _forget(GraduationRecord)
    return len(lines)


def mark_unassessed(actor: User, school: OrgUnit, year: int, passed: bool) -> int:
    """The same result for every pupil of the roster not yet marked (most pupils pass), in one UPDATE."""
    authority = _marker(actor, school, year)
    result = PASSED if passed else FAILED
    n = _set_assessment(actor, and_(GraduationRecord.school_id == school.id, GraduationRecord.year == year,
                                    GraduationRecord.assessment.is_(None)), result, confirm=authority)
    audit.record(actor, "graduation.assess", "org_unit", school.id,
                 f"{year} 年：{n} 名未评定学生评定为{ASSESSMENT_WORDS.get(result, result)}")
    _forget(GraduationRecord)
    return n


def _check_confirm(actor: User, school: OrgUnit, year: int) -> None:
    if not scope.covers(actor, school.path):
        raise NotInScope()
    if not is_assessment_authority(actor, school):
        unit = assessment_authority(school)
        raise RuleViolation(str(_l("The results are confirmed by the authority that organises the assessment, %(unit)s "
                                   "(第二十四条).", unit=unit.name if unit else "")))
    _marker(actor, school, year)


def _no_result_waits() -> str:
    return str(_l("No result waits for confirmation: the school marks the pupils first, or record the results yourself."))


def confirm_assessment(actor: User, school: OrgUnit, year: int, record_ids: Iterable[int] | None = None) -> int:
    """The assessment authority confirms the results the school entered (all, or the lines
    `record_ids`), in one UPDATE; who and when is kept on each line. Returns how many."""
    _check_confirm(actor, school, year)
    which = and_(GraduationRecord.school_id == school.id, GraduationRecord.year == year,
                 GraduationRecord.assessment.is_not(None), GraduationRecord.confirmed_at.is_(None),
                 GraduationRecord.outcome.is_(None))
    if record_ids is not None:
        which = and_(which, GraduationRecord.id.in_(list(record_ids)))
    n = int(db.session.execute(
        update(GraduationRecord).where(which)
        .values(confirmed_by_id=actor.id, confirmed_unit_id=actor.unit_id, confirmed_at=clock.now())
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount or 0)
    if n == 0:
        raise RuleViolation(_no_result_waits())
    audit.record(actor, "graduation.confirm", "org_unit", school.id, f"{year} 年：确认 {n} 条考核结果")
    _forget(GraduationRecord)
    return n


def _set_assessment(actor: User, which: Any, result: str, *, confirm: bool = False) -> int:
    now = clock.now()
    confirmation = ({"confirmed_by_id": actor.id, "confirmed_unit_id": actor.unit_id, "confirmed_at": now} if confirm
                    else {"confirmed_by_id": None, "confirmed_unit_id": None, "confirmed_at": None})
    return int(db.session.execute(
        update(GraduationRecord).where(which, GraduationRecord.outcome.is_(None), GraduationRecord.request_id.is_(None))
        .values(assessment=result, assessed_by_id=actor.id, assessed_at=now, **confirmation)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount or 0)


def _forget(*models: type) -> None:
    """Loaded rows of these models are stale after a set-based statement: reload them when read."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, models):
            db.session.expire(obj)


def submit_roster(actor: User, school: OrgUnit, year: int, late_reason: str | None = None) -> ChangeRequest:
    """Submit the roster to the supervising authority. After 30 July only the authority submits it,
    with `late_reason` (kept as the request's window_override)."""
    if school.level != SCHOOL or not scope.covers(actor, school.path):
        raise NotInScope()
    return workflows.open_school_request(GRADUATION, school, actor, payload={"year": year, "grade": graduating_grade(school)},
                                         window_override=late_reason)


# --- approving a roster (the change type: changes/graduation_roster.py) ---------------------------


def roster_year(req: ChangeRequest) -> int:
    return int((req.payload or {})["year"])


def _names(query: Select[Any]) -> str:
    return "、".join(db.session.scalars(query.limit(NAMES_SHOWN)))


def _roster_problems(school: OrgUnit, year: int) -> str | None:
    """Empty, unassessed, or listing a pupil who is no longer in school here."""
    total, passed, failed = _counts([school.id], year).get(school.id, (0, 0, 0))
    if total == 0:
        return str(_l("The roster is empty: compile it first."))
    if passed + failed < total:
        return str(_l("%(n)d pupils have no assessment result yet; mark every pupil first.", n=total - passed - failed))
    mine = and_(GraduationRecord.school_id == school.id, GraduationRecord.year == year)
    left = or_(Student.school_id != GraduationRecord.school_id, Student.status != IN_SCHOOL, Student.grade != GraduationRecord.grade)
    gone = _names(select(Student.name).join(GraduationRecord, GraduationRecord.student_id == Student.id)
                  .where(mine, left).order_by(Student.id))
    if gone:
        return str(_l("Some listed pupils are no longer in school here (%(names)s); compile the roster again.", names=gone))
    return None


def confirmation_text(record: GraduationRecord) -> str:
    """Who confirmed a result, as printed and shown: 和平区教育局 张三 2027-06-20; "" while unconfirmed."""
    if record.confirmed_at is None:
        return ""
    unit = record.confirmed_unit.name if record.confirmed_unit else ""
    person = labels.name_of(record.confirmed_by)  # the unit is printed before it
    return " ".join(part for part in (unit, person, record.confirmed_at.date().isoformat()) if part)


def _unconfirmed_problem(school: OrgUnit, year: int) -> str | None:
    """第二十四条: only results the city or county authority recorded or confirmed decide 毕业 or 结业."""
    n = db.session.scalar(select(func.count()).select_from(GraduationRecord).where(
        GraduationRecord.school_id == school.id, GraduationRecord.year == year, GraduationRecord.confirmed_at.is_(None)))
    if not n:
        return None
    unit = assessment_authority(school)
    return str(_l("%(n)d results are not yet confirmed by %(unit)s, which organises the assessment (第二十四条); confirm "
                  "them on the roster first.", n=n, unit=unit.name if unit else ""))


@dataclass(frozen=True)
class ApprovalPreview:
    """The dry run of approving a roster now: who graduates (毕业), who completes (结业), who is not
    on the roster and why, and what stops the approval today."""

    grade: int
    graduates: int
    completes: int
    unassessed: int
    unconfirmed: int
    not_listed: dict[str, int]  # status → pupils of the grade kept at the school but not in school
    next_year: int  # moved into the graduating grade by this summer's promotion: they graduate next year
    blocked: list[str]

    @property
    def listed(self) -> int:
        return self.graduates + self.completes + self.unassessed


def approval_preview(school: OrgUnit, year: int) -> ApprovalPreview:
    info = summary(school, year)
    confirmed = dict(db.session.execute(
        select(GraduationRecord.assessment, func.count()).where(
            GraduationRecord.school_id == school.id, GraduationRecord.year == year, GraduationRecord.assessment.is_not(None))
        .group_by(GraduationRecord.assessment)
    ).all())
    next_year = db.session.scalar(select(func.count()).select_from(Student).where(
        Student.school_id == school.id, Student.status == IN_SCHOOL, Student.grade == info.grade,
        Student.promotion_run_id.in_(_promoted_for_a_later_year(year))))
    blocked = [m for m in (why_not_now(year, authority=True), _roster_problems(school, year),
                           _unconfirmed_problem(school, year)) if m]
    return ApprovalPreview(info.grade, int(confirmed.get(PASSED, 0)), int(confirmed.get(FAILED, 0)), info.unassessed,
                           info.unconfirmed, info.not_listed, int(next_year or 0), blocked)


def roster_ready_refusal(req: ChangeRequest, actor: User) -> str | None:
    assert req.from_school is not None
    problem = _roster_problems(req.from_school, roster_year(req))
    if problem:
        return problem
    # A pupil in the middle of another change (a transfer …) graduates once that is settled.
    busy = _names(select(Student.name).join(GraduationRecord, GraduationRecord.student_id == Student.id)
                  .where(GraduationRecord.school_id == req.from_school.id, GraduationRecord.year == roster_year(req),
                         exists().where(ChangeRequest.student_id == Student.id, ChangeRequest.status.in_((PENDING, APPROVED))))
                  .order_by(Student.id))
    if busy:
        return _l("Some listed pupils have an open change request (%(names)s); settle it first.", names=busy)
    return None


def approve_roster(req: ChangeRequest, actor: User) -> None:
    """毕业 for who passed, 结业 for who failed: the lines, the pupils and their history, set-based."""
    school, year = req.from_school, roster_year(req)
    assert school is not None
    problem = why_not_now(year, authority=True) or _roster_problems(school, year) or _unconfirmed_problem(school, year)
    if problem:  # the roster as it stands now, not as it was submitted
        raise RuleViolation(problem)
    now = clock.now()
    req.status, req.finished_at = REQUEST_DONE, now
    db.session.flush()  # before the set-based statements, which the session does not see
    mine = and_(GraduationRecord.school_id == school.id, GraduationRecord.year == year)
    db.session.execute(
        update(GraduationRecord).where(mine)
        .values(outcome=case((GraduationRecord.assessment == PASSED, GRADUATED), else_=COMPLETED), request_id=req.id)
        .execution_options(synchronize_session=False)
    )
    counts = {}
    for outcome in (GRADUATED, COMPLETED):
        ids = select(GraduationRecord.student_id).where(GraduationRecord.request_id == req.id, GraduationRecord.outcome == outcome)
        counts[outcome] = lifecycle.apply_to_many(ids, StudentStatus.ENROLLED, StudentStatus(outcome), GRADUATION, at=now)
    reason = str(_l("Graduation roster %(y)d approved (request #%(id)d)", y=year, id=req.id))[:200]
    history = select(
        GraduationRecord.student_id, literal("status"), literal(IN_SCHOOL), GraduationRecord.outcome, literal(reason),
        literal(req.id), literal(actor.id), literal(now),
    ).where(GraduationRecord.request_id == req.id)
    db.session.execute(insert(StudentHistory).from_select(
        ["student_id", "field", "old_value", "new_value", "reason", "request_id", "changed_by_id", "changed_at"], history))
    _forget(Student, GraduationRecord)
    notify(school, req, str(_l("The graduation roster %(y)d is approved: %(g)d graduated, %(c)d completed (结业).",
                               y=year, g=counts[GRADUATED], c=counts[COMPLETED])))
    audit.record(actor, "graduation.approve", "change_request", req.id,
                 f"{school.name} {year} 年：毕业 {counts[GRADUATED]} 人，结业 {counts[COMPLETED]} 人")


def roster_sent_back(req: ChangeRequest, actor: User) -> None:
    """Rejected: nothing to undo (a roster is locked only while a request holds it); the school is told why."""
    comment = next((s.comment for s in reversed(req.steps) if s.decision), None) or ""
    notify(req.from_school, req, str(_l("The graduation roster %(y)d was sent back: %(why)s", y=roster_year(req), why=comment)))
