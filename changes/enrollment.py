"""Creating and correcting the record (第四–六条, 第十一条), as declared change types.

- 建立学籍 (enrollment): the school enters a new pupil; the record waits as 待核办 until the
  supervising authority approves, and approval issues the 学籍号.
- 延缓入学 (delayed enrollment): the guardian's written application, consented by the school,
  with the date the child will start.
- 学籍信息更正 (correction of core data): the guardian applies with 户口簿/居住证 copies; the school,
  then the authority approve; the effect writes old → new into history.
- 学籍接续 (continuation): a junior middle school continues a primary graduate's record — the
  same record and 学籍号, never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.audit import StudentHistory
from models.changes import COMPLETED, OPEN_STATUSES, ChangeRequest
from models.lifecycle import DELAY_ENDS, StudentStatus
from models.org import OrgUnit
from models.student import CORE_FIELDS, PENDING, Student
from services import audit, clock, lifecycle, scope
from services.change_codes import CONTINUATION, CORRECTION, DELAYED, ENROLLMENT
from services.change_common import as_day, as_field_value, move_record
from services.enrollment_records import submit_enrollment
from services.errors import RuleViolation
from services.ids import mask_id
from services.labels import FIELD_LABELS
from services.lifecycle import Outcome
from services.payloads import NoPayload, Payload
from services.rosters.registers import TO
from services.students import GRADES_BY_KIND, assign_xjh, validate
from services.workflows import (
    ChangeType,
    Fact,
    Material,
    StepDef,
    close_others,
    declare,
    filed_by_own_school,
    open_request,
    payload_date,
)

if TYPE_CHECKING:
    from models.people import User

@dataclass(frozen=True)
class DelayPayload(Payload):
    start_date: date  # the day the child will start school (缓学, 第十二条)


@dataclass(frozen=True)
class CorrectionPayload(Payload):
    changes: dict  # field → new value of the core data corrected (第十一条)


DELAYED_STATUS = "delayed"


def _authority(req: ChangeRequest) -> OrgUnit | None:
    school = req.to_school or req.from_school
    return school.supervisor if school is not None else None


def _own_school(req: ChangeRequest) -> OrgUnit | None:
    return req.to_school or req.from_school


def _done(req: ChangeRequest) -> None:
    req.status, req.finished_at = COMPLETED, clock.now()


# --- 建立学籍 -------------------------------------------------------------------------------


def _waits_for_enrollment(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != PENDING:
        return _l("Only a record waiting for approval (待核办) can be submitted.")
    return None


def _enrollment_approved(req: ChangeRequest, actor: User) -> Outcome:
    assign_xjh(req.student)  # 第六条: the 学籍号 is issued with the approval
    _done(req)
    return Outcome(StudentStatus.ENROLLED)


declare(ChangeType(
    code=ENROLLMENT,
    label=_l("Enrollment"),
    steps=(StepDef("authority", _l("Supervising authority"), _authority),),
    effect=_enrollment_approved,
    preconditions=(_waits_for_enrollment,),
    batch_approvable=True,  # an authority approves a school's new class at once
    roster_columns=(("new", TO),),
    payload=NoPayload,
))


# --- 延缓入学 -------------------------------------------------------------------------------


def _may_delay(req: ChangeRequest, actor: User) -> str | None:
    start = payload_date(req.payload, "start_date")
    if req.student.status not in (PENDING, "enrolled") or req.student.grade != 1:
        return _l("Delayed enrollment is for a new pupil of grade 1.")
    if start is None or start <= clock.today():
        return _l("Give the future date on which the child will start school.")
    return None


def _nothing_else_open(req: ChangeRequest, actor: User) -> str | None:
    """A new pupil's own enrollment request (待核办) may be open beside the delay; nothing else may."""
    other = db.session.scalar(
        select(ChangeRequest.id).where(ChangeRequest.student_id == req.student.id, ChangeRequest.type != ENROLLMENT,
                                       ChangeRequest.status.in_(OPEN_STATUSES)).limit(1)
    )
    if other is not None:
        return _l("The pupil already has an open request (#%(id)s); finish or withdraw it first.", id=other)
    return None


def _delay_approved(req: ChangeRequest, actor: User) -> Outcome:
    # The child does not start now: the enrollment request waiting at the authority ends; it is
    # filed again when the child starts school (start_after_delay).
    close_others(req, actor, str(_l("Delayed enrollment")))
    _done(req)
    return Outcome(StudentStatus.DELAYED)


declare(ChangeType(
    code=DELAYED,
    label=_l("Delayed enrollment"),
    steps=(StepDef("school", _l("School"), _own_school),),
    effect=_delay_approved,
    materials=(Material("application", _l("Guardian's written application")),),
    preconditions=(filed_by_own_school, _may_delay, _nothing_else_open),  # the school records the guardian's application
    # 第四条: the usual case is a new pupil without a 学籍号 whose enrollment request still waits
    # at the authority; that request must not block the delay (_nothing_else_open allows only it).
    opens_beside_others=True,
    facts=(Fact("start_date", _l("Date the child will start school"), as_day, kind="date"),),
    payload=DelayPayload,
))


def request_delay(student: Student, actor: User, start_date: date, reason: str | None) -> ChangeRequest:
    return open_request(DELAYED, student, actor, to_school=student.school, reason_text=reason,
                        payload={"start_date": start_date.isoformat()})


def start_after_delay(student: Student, actor: User) -> ChangeRequest:
    """The child starts school after the delay: the record goes to the authority like any new one."""
    if student.status != DELAYED_STATUS:
        raise RuleViolation(str(_l("The pupil's enrollment is not delayed.")))
    if not scope.covers(actor, student.scope_path):
        from services.errors import NotInScope

        raise NotInScope()
    with audit.acting(actor, reason=str(_l("Delayed enrollment"))):
        lifecycle.apply(student, Outcome(StudentStatus.PENDING), DELAY_ENDS)
    return submit_enrollment(student, actor)


# --- 学籍信息更正 ----------------------------------------------------------------------------


def _shown(field: str, value: Any) -> str:
    """ID numbers masked (issue 13, point 4); the request page adds the audited 显示 buttons."""
    return mask_id(value) if field == "id_number" else as_field_value(field, value)


def correction_before(req: ChangeRequest) -> dict[str, Any]:
    """The values a correction replaces: once approved, as the history wrote them with the request
    (the record now holds the new ones); before that, the record's current values."""
    changes = (req.payload or {}).get("changes")
    if not isinstance(changes, dict) or req.student is None:
        return {}
    if req.status == COMPLETED:
        rows = db.session.execute(select(StudentHistory.field, StudentHistory.old_value)
                                  .where(StudentHistory.request_id == req.id, StudentHistory.field.in_(list(changes))))
        return {field: old for field, old in rows}
    return {field: getattr(req.student, field, None) for field in changes}


def correction_rows(req: ChangeRequest) -> list[tuple[str, str]]:
    """The items a correction changes, by their names and in words, old → new, so that who decides
    sees what they decide (the record changes only when it is approved) and the page keeps saying
    what changed once it has."""
    rows = []
    changes = (req.payload or {}).get("changes")
    before = correction_before(req)
    for field, new in (changes.items() if isinstance(changes, dict) else ()):
        shown = _shown(field, new)
        if before.get(field) not in (None, ""):
            shown = f"{_shown(field, before[field])} → {shown}"
        rows.append((str(FIELD_LABELS.get(field, field)), shown))
    return rows


def _correction_is_valid(req: ChangeRequest, actor: User) -> str | None:
    changes = (req.payload or {}).get("changes") or {}
    if not changes:
        return _l("Change at least one item.")
    if set(changes) - set(CORE_FIELDS):
        return _l("Only core data is corrected by request; other items are edited directly.")
    problems = _problems_after(req.student, changes)
    return "；".join(problems) if problems else None


def _problems_after(student: Student, changes: dict[str, Any]) -> list[str]:
    """Validate the record as it would be after the correction, without changing it."""
    trial = Student(**{c.key: getattr(student, c.key) for c in Student.__mapper__.column_attrs if c.key != "id"})
    for field, value in changes.items():
        setattr(trial, field, _typed(field, value))
    trial.id = student.id  # the uniqueness check excludes the record itself
    trial.guardians = []
    return [m for f, m in validate(trial, student.school) if f in CORE_FIELDS]  # `trial` is never added to the session


def _typed(field: str, value: Any) -> Any:
    return date.fromisoformat(value) if field == "birth_date" and isinstance(value, str) else value


def _correction_approved(req: ChangeRequest, actor: User) -> None:
    student = req.student
    changes = (req.payload or {}).get("changes") or {}
    problems = _problems_after(student, changes)
    if problems:  # e.g. the ID number was taken by another record meanwhile
        raise RuleViolation("；".join(problems))
    for field, value in changes.items():
        setattr(student, field, _typed(field, value))
    assign_xjh(student)
    db.session.flush()  # history: old → new, by the approver, with the request number
    _done(req)


declare(ChangeType(
    code=CORRECTION,
    label=_l("Correction of basic data"),
    steps=(
        StepDef("school", _l("School"), _own_school),
        StepDef("authority", _l("Supervising authority"), _authority),
    ),
    effect=_correction_approved,
    materials=(Material("hukou", _l("Copy of the household register or residence permit")),),
    preconditions=(filed_by_own_school, _correction_is_valid),  # 第十一条: the school files it
    open_with_problem=True,  # a correction is one of the three ways to resolve a problem record (变更)
    summary=correction_rows,
    payload=CorrectionPayload,
))


def request_correction(student: Student, actor: User, new_values: dict[str, Any], reason: str | None) -> ChangeRequest:
    changes = {}
    for field in CORE_FIELDS:
        if field not in new_values:
            continue
        new = new_values[field]
        new = new.isoformat() if isinstance(new, date) else (new.strip() if isinstance(new, str) else new)
        old = getattr(student, field)
        if (old.isoformat() if isinstance(old, date) else old) != new and new not in (None, ""):
            changes[field] = new
    return open_request(CORRECTION, student, actor, to_school=student.school, reason_text=reason, payload={"changes": changes})


# --- 学籍接续 -------------------------------------------------------------------------------


def _continues_primary(req: ChangeRequest, actor: User) -> str | None:
    student, school = req.student, req.to_school
    # A primary pupil who failed the assessment (结业) is still of compulsory-school age and goes
    # on to junior middle school like the others: both continue their record.
    if student.status not in ("graduated", "completed") or student.grade != 6:
        return _l("Only a primary graduate's record is continued by a junior middle school.")
    if school is None or 7 not in GRADES_BY_KIND.get(school.school_kind or "", ()):
        return _l("The receiving school does not teach grade 7.")
    if not scope.covers(actor, school.path):
        return _l("The junior middle school continues the record itself.")
    return None


def _continuation_approved(req: ChangeRequest, actor: User) -> Outcome:
    """The record leaves the primary school as a transfer's does: through `move_record`, so the
    primary school keeps its exported backup (第十条) and the paper file's hand-over starts (第十六条)."""
    school: OrgUnit = req.to_school  # type: ignore[assignment]
    move_record(req, actor, school, str(_l("Continuation into junior middle school")),
                str(_l("Continuation #%(id)s to %(school)s", id=req.id, school=school.name)),
                clear_class=True)  # the primary school's class means nothing at the junior school
    _done(req)
    return Outcome(StudentStatus.ENROLLED, {"grade": 7})


declare(ChangeType(
    code=CONTINUATION,
    label=_l("Continuation into junior middle school"),
    steps=(StepDef("receiving_school", _l("Receiving school"), lambda r: r.to_school),),
    effect=_continuation_approved,
    preconditions=(_continues_primary,),
    roster_columns=(("continuation", TO),),
    ends=(_l("Primary school graduated from"), _l("Junior middle school continuing the record")),
    payload=NoPayload,
    found_by_identity=True,  # 第五条: the junior middle school continues another school's record
))


def continue_record(student: Student, actor: User, school: OrgUnit) -> ChangeRequest:
    return open_request(CONTINUATION, student, actor, from_school=student.school, to_school=school)
