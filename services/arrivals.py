"""After a transfer is approved (第十四–十五条): the pupil reports at the receiving school, which
pulls the record, or the receiving authority admits provisionally when the sending side stayed
silent for 20 working days.

These are actions on an approved or waiting transfer that the command layer
(services/commands/requests.py) offers on the request page; the transfer change type itself is
declared in changes/transfer.py.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from extensions import db
from models.changes import APPROVED, COMPLETED, PENDING, ChangeRequest
from models.org import OrgUnit
from models.people import OFFICIAL_ROLE_FOR_LEVEL, User
from services import archive, audit, clock, notifications, scope, workdays
from services.change_codes import TRANSFER
from services.change_common import move_record
from services.errors import NotInScope, RuleViolation
from services.workflows import notify

FALLBACK_WORKDAYS = 20  # 第十五条: 20 working days after the receiving authority decided


def supervisor_of(school: OrgUnit | None) -> OrgUnit | None:
    return school.supervisor if school is not None else None


# --- after approval ---------------------------------------------------------------------


def move_on_arrival(req: ChangeRequest, actor: User) -> None:
    student = req.student
    move_record(req, actor, req.to_school, str(_l("Transfer")), clear_class=True)  # type: ignore[arg-type]
    req.status, req.reported_at, req.finished_at = COMPLETED, clock.now(), clock.now()
    archive.file_request_materials(req, actor)  # 第十二条: into the archive the receiving school now holds
    notify(req.from_school, req, str(_l("%(name)s reported at %(school)s (transfer #%(id)s); the record has moved.",
                                        name=student.name, school=req.to_school.name, id=req.id)))
    notifications.transfer_side_acted(req, req.to_school, req.from_school, "已办理报到，学籍已转入", actor)


def report_refusal(actor: User, req: ChangeRequest) -> str | None:
    """Why the actor may not record the pupil's arrival (报到); None when they may."""
    if req.type != TRANSFER or req.status != APPROVED:
        return str(_l("Only an approved transfer can be reported."))
    if actor.unit_id != req.to_school_id:
        return str(_l("The receiving school records the arrival."))
    return None


def report_arrival(req: ChangeRequest, actor: User) -> None:
    """报到: the pupil arrived; the receiving school pulls the record (第十四条)."""
    if not scope.covers(actor, req.to_path):
        raise NotInScope()
    refused = report_refusal(actor, req)
    if refused:
        raise RuleViolation(refused)
    move_on_arrival(req, actor)
    audit.record(actor, "transfer.report", "change_request", req.id)
    db.session.flush()


def fallback_opens_on(req: ChangeRequest) -> workdays.Deadline | None:
    """第十五条: the day the receiving authority may admit provisionally (20 working days after its decision)."""
    step2 = next((s for s in req.steps if s.seq == 2), None)
    if step2 is None or step2.decision != "approved" or step2.decided_at is None:
        return None
    return workdays.add_workdays(step2.decided_at.date(), FALLBACK_WORKDAYS)


def provisional_refusal(actor: User, req: ChangeRequest, *, in_time: bool = False) -> str | None:
    """Why the actor may not admit the pupil provisionally (第十五条); None when they may. `in_time`
    also checks that the sending side's 20 working days are over (the page shows that day)."""
    if req.type != TRANSFER or req.status != PENDING or req.current_seq not in (3, 4) or req.provisional_at:
        return str(_l("Provisional admission is only for a transfer waiting for the sending side."))
    authority = supervisor_of(req.to_school)
    if authority is None or actor.unit_id != authority.id or OFFICIAL_ROLE_FOR_LEVEL.get(authority.level) not in actor.role_names:
        return str(_l("Only the receiving school's authority can admit provisionally."))
    if in_time:
        opens = fallback_opens_on(req)
        if opens is None or clock.today() < opens.due:
            return str(_l("The sending side has 20 working days after your decision; that time is not over."))
    return None


def admit_provisionally(req: ChangeRequest, actor: User) -> None:
    """The sending side stayed silent 20 working days: the receiving authority signs the contact form."""
    if not scope.covers(actor, req.to_path):
        raise NotInScope()
    refused = provisional_refusal(actor, req, in_time=True)
    if refused:
        raise RuleViolation(refused)
    req.provisional_at, req.provisional_by_id = clock.now(), actor.id
    notify(req.to_school, req, str(_l("Transfer #%(id)s: provisional admission signed (第十五条).", id=req.id)))
    notify(req.from_school, req, str(_l("Transfer #%(id)s: the pupil was admitted provisionally; please decide.", id=req.id)))
    audit.record(actor, "transfer.provisional", "change_request", req.id)
    db.session.flush()
