"""Placements outside ordinary schooling (第十七条, 第二十二条), declared as change types.

- 未成年犯 / 强制性教育措施 (第二十二条): the record moves to the school of the institution
  (original school, its authority, then the institution's school approve) and returns to the
  original school on release (the institution's school, then the original school).
- 特殊教育 / 工读 (第十七条): a move between an ordinary and a special-education school, or into a
  work-study school. The record may move with the pupil (old school, then the receiving school)
  or stay at the old school, which then records the school actually attended. For a work-study
  school the choice is agreed between the old school and the guardians, and that agreement is
  a required material.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from extensions import db
from forms.request_pages import ReasonOnlyForm, RequestPage, chosen_school, school_choices
from models.changes import COMPLETED, ChangeRequest
from models.lifecycle import StudentStatus
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import audit
from services.change_codes import (
    JUVENILE_PLACEMENT,
    JUVENILE_RETURN,
    SPECIAL_ATTEND,
    SPECIAL_MOVE,
    TO_ORDINARY,
    TO_SPECIAL,
    WORK_STUDY,
)
from services.change_common import as_label, finish, grades_taught, move_record, open_change
from services.evidence import PayloadIs
from services.labels import MOVE_KINDS
from services.payloads import NoPayload, Payload
from services.rosters.registers import FROM, TO
from services.students import GRADES_BY_KIND
from services.workflows import ChangeType, Fact, Material, StepDef, declare, filed_by_own_school, notify

if TYPE_CHECKING:
    from models.people import User



@dataclass(frozen=True)
class PlacementPayload(Payload):
    original_school_id: int | None = None  # the school the record came from, written on approval


@dataclass(frozen=True)
class MovePayload(Payload):
    kind: str | None = None  # services.labels.MOVE_KINDS; _kind_fits refuses a request without one
    keep_record: bool = False


def _teaches_grade(req: ChangeRequest) -> str | None:
    school = req.to_school
    if school is None or school.level != SCHOOL:
        return _l("Choose the receiving school.")
    if req.student.grade not in grades_taught(school):
        return _l("The receiving school does not teach grade %(g)s.", g=req.student.grade)
    return None


def _in_school(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != "enrolled":  # a suspended pupil resumes first (休学 blocks every change)
        return _l("Only a pupil in school (在籍) can be placed.")
    return filed_by_own_school(req, actor)  # the school that holds the record requests the placement


# --- 第二十二条 ------------------------------------------------------------------------------


def _may_place_juvenile(req: ChangeRequest, actor: User) -> str | None:
    if req.to_school is req.from_school:
        return _l("The pupil is already at this school.")
    return _teaches_grade(req)


def _placed(req: ChangeRequest, actor: User) -> None:
    req.payload = {**(req.payload or {}), "original_school_id": req.from_school_id}
    move_record(req, actor, req.to_school, str(_l("Placement at the school of the institution (第二十二条)")),  # type: ignore[arg-type]
                str(_l("Record moved to %(school)s (第二十二条)", school=req.to_school.name)))  # type: ignore[union-attr]
    finish(req)


NON_ORDINARY = ("special", "work_study")  # 第十七条 schools, not where a 第二十二条 institution's school is listed


class JuvenilePlacementForm(FlaskForm):
    institution_school = SelectField(_l("School of the institution"), choices=[], coerce=int, validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details (judgment or decision)"), validators=[Optional(), Length(max=500)])


def _prepare_placement(form: Any, student: Student) -> None:
    ordinary = [k for k in GRADES_BY_KIND if k not in NON_ORDINARY]
    form.institution_school.choices = school_choices(student, kinds=ordinary, exclude=[student.school_id])


declare(ChangeType(
    code=JUVENILE_PLACEMENT,
    label=_l("Placement of a juvenile offender or a minor under compulsory education measures"),
    steps=(
        StepDef("sending_school", _l("Original school"), lambda r: r.from_school),
        StepDef("sending_authority", _l("Original school's authority"), lambda r: r.from_school.supervisor if r.from_school else None),
        StepDef("receiving_school", _l("School of the institution"), lambda r: r.to_school),
    ),
    effect=_placed,
    materials=(Material("decision", _l("Judgment or decision on the compulsory education measure")),),
    preconditions=(_in_school, _may_place_juvenile),
    roster_columns=(("placed_in", TO), ("placed_out", FROM)),
    ends=(_l("Original school"), _l("School of the institution")),
    page=RequestPage(
        JuvenilePlacementForm, types=(JUVENILE_PLACEMENT,), prepare=_prepare_placement,
        button=_l("Juvenile placement (第二十二条)"),
        open=lambda s, a, f: request_juvenile_placement(s, a, chosen_school(f.institution_school.data), f.reason_text.data),
    ),
    payload=PlacementPayload,
    offered_in=(StudentStatus.ENROLLED,),
))


def request_juvenile_placement(student: Student, actor: User, institution_school: OrgUnit, reason_text: str | None) -> ChangeRequest:
    return open_change(JUVENILE_PLACEMENT, student, actor, to_school=institution_school, reason_text=reason_text)


def original_school(student: Student) -> OrgUnit | None:
    """The school the record came from at the pupil's last 第二十二条 placement."""
    req = db.session.scalar(
        select(ChangeRequest).where(ChangeRequest.student_id == student.id, ChangeRequest.type == JUVENILE_PLACEMENT,
                                    ChangeRequest.status == COMPLETED).order_by(ChangeRequest.id.desc())
    )
    if req is None:
        return None
    return db.session.get(OrgUnit, (req.payload or {}).get("original_school_id") or req.from_school_id)


def _may_return_juvenile(req: ChangeRequest, actor: User) -> str | None:
    if req.to_school is None:
        return _l("The record was not placed at an institution's school (第二十二条).")
    if req.to_school is req.from_school:
        return _l("The pupil is already at this school.")
    return _teaches_grade(req)


def _returned(req: ChangeRequest, actor: User) -> None:
    move_record(req, actor, req.to_school, str(_l("Return to the original school on release (第二十二条)")),  # type: ignore[arg-type]
                str(_l("Record returned to %(school)s (第二十二条)", school=req.to_school.name)))  # type: ignore[union-attr]
    finish(req)
    notify(req.to_school, req, str(_l("%(name)s returns to your school (request #%(id)s).", name=req.student.name, id=req.id)))


declare(ChangeType(
    code=JUVENILE_RETURN,
    label=_l("Return to the original school on release"),
    steps=(
        StepDef("sending_school", _l("School of the institution"), lambda r: r.from_school),
        StepDef("receiving_school", _l("Original school"), lambda r: r.to_school),
    ),
    effect=_returned,
    materials=(Material("release", _l("Certificate of release or of the end of the measure")),),
    preconditions=(_in_school, _may_return_juvenile),
    roster_columns=(("placed_in", TO), ("placed_out", FROM)),
    ends=(_l("School of the institution"), _l("Original school")),
    page=RequestPage(
        ReasonOnlyForm, types=(JUVENILE_RETURN,), info=lambda s: {"original_school": original_school(s)},
        open=lambda s, a, f: request_juvenile_return(s, a, f.reason_text.data),
    ),
    payload=NoPayload,
))


def request_juvenile_return(student: Student, actor: User, reason_text: str | None) -> ChangeRequest:
    return open_change(JUVENILE_RETURN, student, actor, to_school=original_school(student), reason_text=reason_text)


# --- 第十七条 --------------------------------------------------------------------------------


MOVE_ENDS = (_l("Original school"), _l("Receiving school (placement)"))  # not a transfer: 原学校 → 接收学校

MOVE_FACTS = (
    Fact("kind", _l("Kind of move (第十七条)"), as_label(MOVE_KINDS)),
    Fact("keep_record", _l("Record"), lambda keep: str(_l("The record stays at this school") if keep
                                                       else _l("The record moves to the receiving school"))),
)


def _kind_fits(req: ChangeRequest, actor: User) -> str | None:
    kind = MovePayload.read(req.payload).kind
    target = req.to_school
    if kind not in MOVE_KINDS:
        return _l("Choose the kind of move.")
    if target is None or target.level != SCHOOL:
        return _l("Choose the receiving school.")
    attended = req.student.attending_school or req.student.school
    if kind == TO_SPECIAL and (target.school_kind != "special" or attended.school_kind == "special"):
        return _l("This move goes from an ordinary school into a special-education school.")
    if kind == TO_ORDINARY and (target.school_kind in ("special", "work_study") or attended.school_kind != "special"):
        return _l("This move goes from a special-education school into an ordinary school.")
    if kind == WORK_STUDY and target.school_kind != "work_study":
        return _l("Choose a work-study school.")
    if target is attended:
        return _l("The pupil already attends this school.")
    return _teaches_grade(req)


AGREEMENT = Material("agreement", _l("Agreement of the school and the guardians on the record (工读)"),
                     when=PayloadIs("kind", WORK_STUDY))


def _moved(req: ChangeRequest, actor: User) -> None:
    student = req.student
    move_record(req, actor, req.to_school, str(MOVE_KINDS[MovePayload.read(req.payload).kind]),  # type: ignore[arg-type]
                str(_l("Record moved to %(school)s (第十七条)", school=req.to_school.name)))  # type: ignore[union-attr]
    with audit.acting(actor, reason=str(MOVE_KINDS[MovePayload.read(req.payload).kind]), request_id=req.id):
        student.attending_school_id = None
        db.session.flush()
    finish(req)


class SpecialMoveForm(FlaskForm):
    kind = SelectField(_l("Kind of move (第十七条)"), choices=list(MOVE_KINDS.items()), validators=[DataRequired()])
    to_school = SelectField(_l("Receiving school"), choices=[], coerce=int, validators=[DataRequired()])
    keep_record = SelectField(
        _l("Record"), validators=[DataRequired()],
        choices=[("no", _l("The record moves to the receiving school")),
                 ("yes", _l("The record stays at this school"))],
    )
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


def _prepare_special_move(form: Any, student: Student) -> None:
    attended = student.attending_school_id or student.school_id
    form.to_school.choices = school_choices(student, kinds=GRADES_BY_KIND, exclude=[attended])


# keep_record chooses the type (special_attend or special_move); both declare the same materials.
SPECIAL_MOVE_PAGE = RequestPage(
    SpecialMoveForm, types=(SPECIAL_MOVE, SPECIAL_ATTEND), title=_l("Special-education or work-study move (第十七条)"),
    prepare=_prepare_special_move, info=lambda s: {"attending_school": s.attending_school},
    open=lambda s, a, f: request_special_move(s, a, kind=f.kind.data, to_school=chosen_school(f.to_school.data),
                                              keep_record=f.keep_record.data == "yes", reason_text=f.reason_text.data),
)


declare(ChangeType(
    code=SPECIAL_MOVE,
    label=_l("Special-education or work-study move (record moves)"),
    steps=(
        StepDef("sending_school", _l("Original school"), lambda r: r.from_school),
        StepDef("receiving_school", _l("Receiving school"), lambda r: r.to_school),
    ),
    effect=_moved,
    materials=(Material("application", _l("Guardian's application")), AGREEMENT),
    preconditions=(_in_school, _kind_fits),
    facts=MOVE_FACTS,
    ends=MOVE_ENDS,
    roster_columns=(("placed_in", TO), ("placed_out", FROM)),
    page=SPECIAL_MOVE_PAGE,
    payload=MovePayload,
    offered_in=(StudentStatus.ENROLLED,),
))


def _attends(req: ChangeRequest, actor: User) -> None:
    with audit.acting(actor, reason=str(MOVE_KINDS[MovePayload.read(req.payload).kind]), request_id=req.id):
        # The record stays at the old school; back at that school there is no other school attended.
        req.student.attending_school_id = req.to_school_id if req.to_school_id != req.student.school_id else None
        db.session.flush()
    finish(req)
    notify(req.to_school, req, str(_l("%(name)s attends your school; the record stays at %(school)s (第十七条).",
                                      name=req.student.name, school=req.student.school.name)))


declare(ChangeType(
    code=SPECIAL_ATTEND,
    label=_l("Special-education or work-study move (record stays)"),
    steps=(StepDef("sending_school", _l("Original school"), lambda r: r.from_school),),
    effect=_attends,
    materials=(Material("application", _l("Guardian's application")), AGREEMENT),
    preconditions=(_in_school, _kind_fits),
    facts=MOVE_FACTS,
    ends=MOVE_ENDS,
    payload=MovePayload,
))


def request_special_move(student: Student, actor: User, *, kind: str, to_school: OrgUnit, keep_record: bool,
                         reason_text: str | None) -> ChangeRequest:
    """第十七条: the record moves with the pupil, or stays at the old school (a choice on the request)."""
    keep_record = keep_record or to_school is student.school  # back to the school that holds the record: nothing moves
    return open_change(SPECIAL_ATTEND if keep_record else SPECIAL_MOVE, student, actor, to_school=to_school,
                       reason_text=reason_text, payload={"kind": kind, "keep_record": bool(keep_record)})

