"""休学, 延长休学 and 复学 (第十八–十九条), declared as change types, plus the 休学到期 list.

- 休学: the guardian applies on the 休学复学申请表; illness needs a certificate of a county-level
  or higher hospital, the medical records and receipts, another reason its proof. School step,
  then authority step. Normally one school year; not in the second term of the graduating
  grade. The record is kept (status 休学) and counts as in the record.
- 延长休学: once, by one year, when the pupil still cannot come back; a second extension is refused.
- 复学: school, then authority; back into the grade left, or — on the guardian's request, with a
  reason — another grade; after an illness, a hospital's recovery certificate.
- When a suspension has ended and nobody applied, the pupil is in the school's 休学到期 list until
  the school has contacted the family (recorded) and the resumption is filed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from extensions import db
from forms.request_pages import ReasonOnlyForm, RequestPage, grade_choices
from models.archive import DOC_SUSPENSION
from models.changes import ChangeRequest
from models.lifecycle import StudentStatus
from models.status import ILLNESS, Suspension
from models.student import Student
from services import audit, clock, codes, students
from services.change_codes import RESUMPTION, SUSPENSION, SUSPENSION_EXTENSION
from services.change_common import (
    as_day,
    as_grade,
    as_label,
    authority_of,
    current,
    end_current,
    finish,
    grade_taught,
    open_change,
    school_of,
)
from services.evidence import Not, PayloadIs, Rule
from services.labels import SUSPENSION_REASONS
from services.lifecycle import Outcome
from services.payloads import Payload
from services.rosters.registers import FROM
from services.terms import is_second_term, one_year_after, term_of
from services.workflows import (
    ChangeType,
    Fact,
    Material,
    StepDef,
    declare,
    filed_by_own_school,
)

if TYPE_CHECKING:
    from models.people import User

@dataclass(frozen=True)
class SuspensionPayload(Payload):
    # Optional here so that a request missing one is refused in words by _may_suspend.
    reason_kind: str | None = None  # services.labels.SUSPENSION_REASONS
    starts_on: date | None = None
    ends_on: date | None = None


@dataclass(frozen=True)
class ExtensionPayload(Payload):
    ends_on: date | None = None  # the extension's last day, written when it is approved


@dataclass(frozen=True)
class ResumptionPayload(Payload):
    grade: int
    grade_reason: str | None = None  # the guardian's reason for another grade than the one left


SUSPENDED = StudentStatus.SUSPENDED
REASON_KINDS = SUSPENSION_REASONS
MAX_EXTENSIONS = 1


def final_grade(student: Student) -> int:
    """The graduating grade of the pupil's school: 6 in a primary school, 9 otherwise."""
    return students.graduating_grade(student.school)


_ILLNESS = PayloadIs("reason_kind", ILLNESS)


# --- 休学 ------------------------------------------------------------------------------------


def _may_suspend(req: ChangeRequest, actor: User) -> str | None:
    student = req.student
    if student.status != "enrolled":
        return _l("Only a pupil in school (在籍) can be suspended.")
    asked = SuspensionPayload.read(req.payload)
    if asked.reason_kind not in REASON_KINDS:
        return _l("Say whether the suspension is for illness or another special reason.")
    starts, ends = asked.starts_on, asked.ends_on
    if starts is None or ends is None or ends < starts:
        return _l("Give the first and the last day of the suspension.")
    if ends > one_year_after(starts):
        return _l("A suspension lasts at most one school year (第十九条); apply for an extension later if needed.")
    # 毕业年级下学期一般不办理休学手续: neither while that term runs (nor in the vacation before it),
    # nor for a suspension that would start in it.
    if student.grade == final_grade(student) and any(is_second_term(term_of(day)) for day in (clock.today(), starts)):
        return _l("No suspension in the second term of the graduating grade (第十九条).")
    return None


def _suspended(req: ChangeRequest, actor: User) -> Outcome:
    student, asked = req.student, SuspensionPayload.read(req.payload)
    db.session.add(Suspension(
        student=student, student_id=student.id, request_id=req.id, reason_kind=asked.reason_kind,
        grade=student.grade, starts_on=asked.starts_on, ends_on=asked.ends_on,
    ))
    finish(req)
    return Outcome(StudentStatus.SUSPENDED)  # the record is kept (第十九条: 学生休学期间学校应为其保留学籍)


APPLICATION = Material("application", _l("休学复学申请表 signed by the pupil and the guardian"))

class SuspensionForm(FlaskForm):
    reason_kind = SelectField(_l("Reason of the suspension"), choices=list(SUSPENSION_REASONS.items()), validators=[DataRequired()])
    starts_on = DateField(_l("First day of the suspension"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day (empty: one school year)"), validators=[Optional()])
    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])


def _suspension_info(student: Student) -> dict[str, Any]:
    return {"suspension": current(student)}


declare(ChangeType(
    code=SUSPENSION,
    label=_l("Suspension"),
    steps=(StepDef("school", _l("School"), school_of), StepDef("authority", _l("Supervising authority"), authority_of)),
    effect=_suspended,
    materials=(
        APPLICATION,
        Material("hospital_certificate", _l("Certificate of a county-level or higher hospital"), when=_ILLNESS),
        Material("medical_records", _l("Medical records"), when=_ILLNESS),
        Material("receipts", _l("Medical receipts"), when=_ILLNESS),
        Material("reason_proof", _l("Proof of the special reason"), when=Not(_ILLNESS)),
    ),
    preconditions=(filed_by_own_school, _may_suspend),
    facts=(Fact("reason_kind", _l("Reason of the suspension"), as_label(REASON_KINDS), kind="reason"),
           Fact("starts_on", _l("First day of the suspension"), as_day, kind="date"),
           Fact("ends_on", _l("Last day of the suspension"), as_day, kind="date")),
    roster_columns=(("suspension", FROM),),
    printable_forms=("suspension_form",),
    page=RequestPage(
        SuspensionForm, types=(SUSPENSION,), defaults=lambda s: {"starts_on": clock.today()},
        open=lambda s, a, f: request_suspension(s, a, reason_kind=f.reason_kind.data, starts_on=f.starts_on.data,
                                                ends_on=f.ends_on.data, reason_text=f.reason_text.data),
        info=_suspension_info,
    ),
    payload=SuspensionPayload,
    filed_as=DOC_SUSPENSION,
    offered_in=(StudentStatus.ENROLLED,),
))


def request_suspension(student: Student, actor: User, *, reason_kind: str, starts_on: date, ends_on: date | None,
                       reason_text: str | None) -> ChangeRequest:
    """The school files the guardian's application; the end defaults to one school year."""
    ends_on = ends_on or one_year_after(starts_on)
    return open_change(SUSPENSION, student, actor, reason_text=reason_text, payload={
        "reason_kind": reason_kind, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
    })


# --- 延长休学 ----------------------------------------------------------------------------------


def _may_extend(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != SUSPENDED:
        return _l("Only a suspended pupil's suspension can be extended.")
    episode = current(req.student)
    if episode is None:
        return _l("The pupil has no current suspension.")
    if episode.extensions >= MAX_EXTENSIONS:
        return _l("A suspension is extended once, by one year; a second extension is refused (第十九条).")
    return None


def _extended(req: ChangeRequest, actor: User) -> None:
    episode = current(req.student)
    assert episode is not None  # checked when the request opened; nothing else ends a suspension
    with audit.acting(actor, reason=str(_l("Suspension extended")), request_id=req.id):
        episode.ends_on = one_year_after(episode.ends_on + timedelta(days=1))
        episode.extensions += 1
    req.payload = {**(req.payload or {}), "ends_on": episode.ends_on.isoformat()}
    finish(req)


declare(ChangeType(
    code=SUSPENSION_EXTENSION,
    label=_l("Extension of a suspension"),
    steps=(StepDef("school", _l("School"), school_of), StepDef("authority", _l("Supervising authority"), authority_of)),
    effect=_extended,
    materials=(APPLICATION, Material("reason_proof", _l("Proof that the pupil still cannot return"))),
    preconditions=(filed_by_own_school, _may_extend),
    while_blocked=(SUSPENDED,),
    facts=(Fact("ends_on", _l("Last day of the suspension"), as_day, kind="date"),),
    printable_forms=("suspension_form",),
    page=RequestPage(
        ReasonOnlyForm, types=(SUSPENSION_EXTENSION,), info=_suspension_info,
        open=lambda s, a, f: request_extension(s, a, f.reason_text.data),
    ),
    payload=ExtensionPayload,
    filed_as=DOC_SUSPENSION,
    offered_in=(StudentStatus.SUSPENDED,),
))


def request_extension(student: Student, actor: User, reason_text: str | None) -> ChangeRequest:
    return open_change(SUSPENSION_EXTENSION, student, actor, reason_text=reason_text)


# --- 复学 ------------------------------------------------------------------------------------


def _after_illness(req: ChangeRequest) -> bool:
    """Whether the suspension this resumption ends was for illness (once completed, the one it ended)."""
    ended = db.session.scalar(select(Suspension).where(Suspension.ended_by_request_id == req.id)) if req.id else None
    episode = ended or current(req.student)
    return episode is not None and episode.reason_kind == ILLNESS


def _after_illness_sql() -> ColumnElement[bool]:
    """`_after_illness` on ChangeRequest rows: the suspension the request ended, else the pupil's current one."""
    ended = exists().where(Suspension.ended_by_request_id == ChangeRequest.id)
    ended_ill = exists().where(Suspension.ended_by_request_id == ChangeRequest.id, Suspension.reason_kind == ILLNESS)
    current_kind = (select(Suspension.reason_kind)
                    .where(Suspension.student_id == ChangeRequest.student_id, Suspension.ended_on.is_(None))
                    .order_by(Suspension.id.desc()).limit(1).correlate(ChangeRequest).scalar_subquery())
    # coalesce: no current suspension is false, not NULL (services/evidence.py: rules are NULL-free)
    return or_(ended_ill, and_(~ended, func.coalesce(current_kind, "") == ILLNESS))


_AFTER_ILLNESS = Rule(holds=_after_illness, sql=_after_illness_sql)


def _may_resume(req: ChangeRequest, actor: User) -> str | None:
    student = req.student
    episode = current(student)
    if student.status != SUSPENDED or episode is None:
        return _l("Only a suspended pupil can resume school.")
    taught = grade_taught(req)
    if taught:
        return taught
    asked = ResumptionPayload.read(req.payload)
    grade = asked.grade
    if grade != episode.grade and not asked.grade_reason:
        return _l("Another grade than the one left needs the guardian's request and the reason (第十九条).")
    return None


def _resumed(req: ChangeRequest, actor: User) -> Outcome:
    end_current(req.student, req)
    finish(req)
    return Outcome(StudentStatus.ENROLLED, {"grade": ResumptionPayload.read(req.payload).grade})


class ResumptionForm(FlaskForm):
    """复学: back into the grade left unless the guardian asks for another grade, with the reason."""

    other_grade = SelectField(_l("Grade"), choices=[], validators=[Optional()])
    grade_reason = TextAreaField(_l("Why another grade (the guardian's request)"), validators=[Optional(), Length(max=500)])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


def _prepare_resumption(form: Any, student: Student) -> None:
    episode = current(student)
    left = episode.grade if episode else student.grade
    form.other_grade.choices = [("", _l("Back into the grade left (%(g)s)", g=codes.label("grade", str(left))))] + [
        (str(g), label) for g, label in grade_choices(student) if g != left
    ]


def _open_resumption(student: Student, actor: User, f: Any) -> ChangeRequest:
    other = f.other_grade.data
    return request_resumption(student, actor, grade=int(other) if other else None,
                              grade_reason=f.grade_reason.data, reason_text=f.reason_text.data)


declare(ChangeType(
    code=RESUMPTION,
    label=_l("Resumption"),
    steps=(StepDef("school", _l("School"), school_of), StepDef("authority", _l("Supervising authority"), authority_of)),
    effect=_resumed,
    materials=(
        APPLICATION,
        Material("recovery_certificate", _l("Recovery certificate of a county-level or higher hospital"), when=_AFTER_ILLNESS),
    ),
    preconditions=(filed_by_own_school, _may_resume),
    while_blocked=(SUSPENDED,),
    facts=(Fact("grade", _l("Grade after the change"), as_grade), Fact("grade_reason", _l("Why another grade (the guardian's request)"))),
    roster_columns=(("resumption", FROM),),
    printable_forms=("suspension_form",),
    page=RequestPage(ResumptionForm, _open_resumption, types=(RESUMPTION,),
                     prepare=_prepare_resumption, info=_suspension_info),
    payload=ResumptionPayload,
    filed_as=DOC_SUSPENSION,
    offered_in=(StudentStatus.SUSPENDED,),
))


def request_resumption(student: Student, actor: User, *, grade: int | None = None, grade_reason: str | None = None,
                       reason_text: str | None = None) -> ChangeRequest:
    """Back into the grade left unless another grade is asked for, with its reason."""
    episode = current(student)
    payload: dict[str, Any] = {"grade": grade if grade is not None else (episode.grade if episode else student.grade)}
    if (grade_reason or "").strip():
        payload["grade_reason"] = grade_reason.strip()  # type: ignore[union-attr]
    return open_change(RESUMPTION, student, actor, reason_text=reason_text, payload=payload)
