"""转学 (第十三–十六条): the four-party transfer, declared as a change type, plus 报到 and the
第十五条 fallback. Cross-province transfers out are a second type with our side's steps only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.archive import DOC_TRANSFER
from models.changes import APPROVED, COMPLETED, ChangeRequest
from models.lifecycle import StudentStatus
from models.org import SCHOOL, OrgUnit
from models.people import User
from models.student import Student
from services import archive, clock, lifecycle, scope
from services.arrivals import move_on_arrival, supervisor_of
from services.change_codes import TRANSFER, TRANSFER_INTO_PROVINCE, TRANSFER_OUT_OF_PROVINCE
from services.change_common import as_yes_no
from services.errors import NotInScope, RuleViolation
from services.evidence import Not, PayloadTrue
from services.labels import TRANSFER_REASONS
from services.lifecycle import Outcome
from services.payloads import NoPayload, Payload
from services.rosters.registers import FROM, TO
from services.students import GRADES_BY_KIND, assign_xjh, save_student
from services.terms import in_transfer_window
from services.workflows import ChangeType, Fact, Material, StepDef, declare, notify, snapshot


@dataclass(frozen=True)
class TransferPayload(Payload):
    hukou_changed: bool = False  # 第十三条: a move of the hukou is its own proof; else the reason's proof


REASONS = TRANSFER_REASONS  # 第十三条 (services/labels.py: the printed contact form shows them too)

ENDS = (_l("Sending school"), _l("Receiving school"))  # 转出学校 → 转入学校: only a transfer's page says so

MATERIALS = (
    Material("contact_form", _l("Transfer contact form signed by pupil and guardian")),
    Material("student_info", _l("Basic information sheet, printed and sealed by the sending school")),
    Material("hukou", _l("Household register and proof of actual residence")),
    Material("reason_proof", _l("Proof of the reason (hukou unchanged)"), when=Not(PayloadTrue("hukou_changed"))),
)


def _in_window(req: ChangeRequest, actor: User) -> str | None:
    authority = supervisor_of(req.to_school or req.from_school)
    is_authority = authority is not None and actor.unit_id == authority.id and actor.is_official
    if req.window_override and not is_authority:
        return _l("Only the supervising authority can override the transfer window.")
    if in_transfer_window(clock.today()):
        return None
    if not req.window_override:
        return _l("Transfers are handled in term time (第十五条); outside it the supervising authority must override, saying why.")
    return None


def _same_grade_possible(req: ChangeRequest, actor: User) -> str | None:
    school = req.to_school
    if school is not None and req.student.grade not in GRADES_BY_KIND.get(school.school_kind or "", range(1, 10)):
        return _l("The receiving school does not teach grade %(g)s; the grade must stay the same (第十五条).", g=req.student.grade)
    return None


def _different_schools(req: ChangeRequest, actor: User) -> str | None:
    if req.from_school is not None and req.from_school is req.to_school:
        return _l("The pupil is already at this school.")
    return None


def _pupil_in_school(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != "enrolled":
        return _l("Only a pupil in school (在籍) can transfer.")
    return None


def _health_reason_fits(req: ChangeRequest, actor: User) -> str | None:
    if req.reason_code != "health":
        return None
    from_special = getattr(req.from_school, "school_kind", None) == "special"
    to_special = getattr(req.to_school, "school_kind", None) == "special"
    if from_special == to_special:  # exactly one end must be a special-education school
        return _l("The health reason is for a move between an ordinary and a special-education school.")
    return None


def _receiving_side_opens(req: ChangeRequest, actor: User) -> str | None:
    """The receiving school's staff start it (or its authority, when overriding the window)."""
    if req.to_school is None or not scope.covers(actor, req.to_school.path):
        return _l("A transfer is started by the receiving school.")
    return None


def _sending_side_opens(req: ChangeRequest, actor: User) -> str | None:
    if req.from_school is None or not scope.covers(actor, req.from_school.path):
        return _l("A transfer out of the province is started by the pupil's own school.")
    if not req.external_school:
        return _l("Name the school outside the province.")
    return None


def _transfer_approved(req: ChangeRequest, actor: User) -> None:
    """All four agreed: the receiving school tells the family to report; a provisional pupil moves now."""
    req.status = APPROVED
    notify(req.to_school, req, str(_l("Transfer #%(id)s approved by all four parties: notify the family to report.", id=req.id)))
    if req.provisional_at is not None:
        move_on_arrival(req, actor)


def _out_of_province_approved(req: ChangeRequest, actor: User) -> Outcome:
    req.archive_backup = snapshot(req.student)
    archive.backup_on_leaving(req, actor)  # 第十条: the school keeps an exported copy
    req.status, req.finished_at = COMPLETED, clock.now()
    return Outcome(StudentStatus.TRANSFERRED_OUT)


declare(ChangeType(
    code=TRANSFER,
    label=_l("Transfer"),
    steps=(
        StepDef("receiving_school", _l("Receiving school"), lambda r: r.to_school),
        StepDef("receiving_authority", _l("Receiving school's authority"), lambda r: supervisor_of(r.to_school)),
        StepDef("sending_school", _l("Sending school"), lambda r: r.from_school),
        StepDef("sending_authority", _l("Sending school's authority"), lambda r: supervisor_of(r.from_school)),
    ),
    effect=_transfer_approved,
    materials=MATERIALS,
    reasons=REASONS,
    ends=ENDS,
    preconditions=(_receiving_side_opens, _pupil_in_school, _different_schools, _same_grade_possible, _health_reason_fits, _in_window),
    facts=(Fact("hukou_changed", _l("The pupil's hukou moved too"), as_yes_no),),
    roster_columns=(("transfer_in", TO), ("transfer_out", FROM)),
    printable_forms=("transfer_contact",),
    payload=TransferPayload,
    filed_as=DOC_TRANSFER,
    found_by_identity=True,  # 第十四条: the receiving school starts it for another school's pupil
))

declare(ChangeType(
    code=TRANSFER_OUT_OF_PROVINCE,
    label=_l("Transfer out of the province"),
    steps=(
        StepDef("sending_school", _l("Sending school"), lambda r: r.from_school),
        StepDef("sending_authority", _l("Sending school's authority"), lambda r: supervisor_of(r.from_school)),
    ),
    effect=_out_of_province_approved,
    materials=(
        Material("contact_form", _l("Transfer contact form signed by pupil and guardian")),
        Material("receiving_proof", _l("Acceptance by the receiving school outside the province")),
    ),
    reasons=REASONS,
    ends=ENDS,
    preconditions=(_sending_side_opens, _pupil_in_school, _in_window),
    facts=(Fact("hukou_changed", _l("The pupil's hukou moved too"), as_yes_no),),
    roster_columns=(("province_out", FROM),),
    printable_forms=("transfer_contact",),
    payload=TransferPayload,
    filed_as=DOC_TRANSFER,
))


def _arrival_waits(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != "pending" or req.student.school is not req.to_school:
        return _l("A transfer from another province is recorded for a new record of the receiving school.")
    if not req.external_school:
        return _l("Name the school outside the province.")
    return None


def _arrival_approved(req: ChangeRequest, actor: User) -> Outcome:
    # The record is new in this province and waited without a number (待核办); like any approved
    # new record it gets its 学籍号 now (第六条: G + the ID number is the pupil's national number).
    assign_xjh(req.student)
    req.status, req.finished_at = COMPLETED, clock.now()
    return Outcome(StudentStatus.ENROLLED)


def _arrival_rejected(req: ChangeRequest, actor: User) -> Outcome:
    return Outcome(StudentStatus.CANCELLED)  # the record ends by status, it is never deleted


declare(ChangeType(
    code=TRANSFER_INTO_PROVINCE,
    label=_l("Transfer from another province"),
    steps=(
        StepDef("receiving_school", _l("Receiving school"), lambda r: r.to_school),
        StepDef("receiving_authority", _l("Receiving school's authority"), lambda r: supervisor_of(r.to_school)),
    ),
    effect=_arrival_approved,
    on_reject=_arrival_rejected,
    materials=(
        Material("contact_form", _l("Transfer contact form signed by pupil and guardian")),
        Material("release_proof", _l("Release of the record by the school outside the province")),
    ),
    reasons=REASONS,
    ends=ENDS,
    preconditions=(_arrival_waits, _same_grade_possible, _in_window),
    roster_columns=(("province_in", TO),),
    printable_forms=("transfer_contact",),
    payload=NoPayload,
    filed_as=DOC_TRANSFER,
))


def record_arrival_from_other_province(student: Student, actor: User, school: OrgUnit | None, external_school: str,
                                       reason_code: str) -> ChangeRequest:
    """A pupil arriving from another province: the new record is created waiting (待核办, without a
    学籍号) and stays so until our two steps approve."""
    from services.workflows import open_request

    lifecycle.begin(student, StudentStatus.PENDING)
    save_student(student, actor, school)
    return open_request(TRANSFER_INTO_PROVINCE, student, actor, to_school=student.school, external_school=external_school,
                        reason_code=reason_code)


# --- starting a transfer -----------------------------------------------------------------


def receiving_schools_for(actor: User) -> list[OrgUnit]:
    """The schools an authority official may open a transfer for (第十五条: outside term time
    only the supervising authority opens one, for a school it supervises). An authority has no
    school of its own, so it chooses one of these; a school user gets none (it receives itself)."""
    if actor.unit.level == SCHOOL or not actor.is_official:
        return []
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), OrgUnit.supervisor_id == actor.unit_id,
                              scope.within(OrgUnit.path, actor.unit.path))
        .order_by(OrgUnit.code)
    ))


def receiving_school_for(actor: User, school_id: int | None) -> OrgUnit | None:
    """The receiving school an authority chose: one it supervises, else NotInScope (404): an id
    posted from outside the choices is treated like a school that does not exist."""
    if not school_id:
        return None
    school = db.session.get(OrgUnit, school_id) if 0 < school_id <= scope.MAX_ID else None
    if school is None or school not in receiving_schools_for(actor):
        raise NotInScope()
    return school


def start_transfer(student: Student, actor: User, *, reason_code: str, reason_text: str | None, hukou_changed: bool,
                   window_override: str | None = None, to_school: OrgUnit | None = None) -> ChangeRequest:
    from services.workflows import open_request

    target = to_school or (actor.unit if actor.unit.level == SCHOOL else None)
    if target is None or target.level != SCHOOL:
        raise RuleViolation(str(_l("Choose the receiving school.")))
    return open_request(
        TRANSFER, student, actor, from_school=student.school, to_school=target, reason_code=reason_code,
        reason_text=reason_text, payload={"hukou_changed": bool(hukou_changed)}, window_override=window_override,
    )
