"""致家长的通知书 (issue 16 point 6): the printed letter a school gives the family once a change is granted.

Two kinds of letter, each only in its state:

- an approved transfer (转学, approved and waiting for 报到, or completed): the pupil, the two schools,
  the day it was approved, and what the family does next (report at the receiving school with the
  letter, the household register and the pupil's identity document);
- a granted suspension (休学, completed, its Suspension row written): the first and the last day, the
  day to come back (the first working day after the last day: services/workdays.py, so that a
  suspension ending just before the Spring Festival returns after the holiday), and what to do
  (apply for resumption, or for the one extension, before the last day; 第十九条).

The letter is addressed to the pupil's guardians by name; a pupil without a recorded guardian is
addressed to 学生家长（监护人）. Names go through services/pdf_rare.rare (生僻字 such as 𠮷). Each letter
is a numbered document with a verification code (services/documents.numbered_document) and audited.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.changes import APPROVED, COMPLETED, ChangeRequest, PrintedDocument
from models.status import Suspension
from services import audit, clock, codes, documents, labels, pdf, pdf_rare, workdays, workflows
from services.change_codes import SUSPENSION, TRANSFER
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

KIND, PREFIX, TEMPLATE = "family_letter", "JZ", "family_letter.html"
TITLE = "致家长的通知书"
NO_GUARDIAN = "学生家长（监护人）"
TRANSFER_STATES = (APPROVED, COMPLETED)


def _suspension_of(req: ChangeRequest) -> Suspension | None:
    return db.session.scalar(select(Suspension).where(Suspension.request_id == req.id).order_by(Suspension.id).limit(1))


def letter_refusal(req: ChangeRequest) -> str | None:
    """Why no family letter is printed for this request now; None when one is."""
    if req.student is None:
        return str(_l("A family letter is printed for an approved transfer or a granted suspension only."))
    if req.type == TRANSFER and req.status in TRANSFER_STATES:
        return None
    if req.type == SUSPENSION and req.status == COMPLETED and _suspension_of(req) is not None:
        return None
    return str(_l("A family letter is printed for an approved transfer or a granted suspension only."))


def offered(req: ChangeRequest) -> bool:
    """Whether the request page shows the button (the type and state allow a letter)."""
    if req.type not in (TRANSFER, SUSPENSION):
        return False
    return letter_refusal(req) is None


def guardian_names(req: ChangeRequest) -> str:
    names = [g.name.strip() for g in req.student.guardians if (g.name or "").strip()]  # type: ignore[union-attr]
    return "、".join(dict.fromkeys(names)) if names else NO_GUARDIAN


def _approved_on(req: ChangeRequest) -> date | None:
    decided = [s.decided_at for s in req.steps if s.decision == APPROVED and s.decided_at is not None]
    return max(decided).date() if decided else None


def return_day(last_day: date) -> workdays.Deadline:
    """The day a suspended pupil comes back: the first working day after the last day of the suspension."""
    return workdays.add_workdays(last_day, 1)


def letter_context(req: ChangeRequest) -> SimpleNamespace:
    student = req.student
    assert student is not None  # letter_refusal checked it
    school = req.from_school or student.school
    ctx = SimpleNamespace(
        kind=req.type, guardian=guardian_names(req), pupil=student.name, xjh=student.xjh or "",
        grade_label=codes.label("grade", str(req.grade_at_request or student.grade)), class_name=student.class_name or "",
        request_id=req.id, school_name=school.name if school else "",
        from_school="", to_school="", approved_on=_approved_on(req), reported_on=None,
        starts_on=None, ends_on=None, returns_on=None, return_estimated=False, reason_label="",
    )
    if req.type == TRANSFER:
        ctx.from_school = req.from_school.name if req.from_school else (req.external_school or "")
        ctx.to_school = req.to_school.name if req.to_school else (req.external_school or "")
        ctx.reported_on = req.reported_at.date() if req.reported_at else None
    else:
        episode = _suspension_of(req)
        assert episode is not None  # letter_refusal checked it
        back = return_day(episode.ends_on)
        ctx.starts_on, ctx.ends_on, ctx.returns_on, ctx.return_estimated = episode.starts_on, episode.ends_on, back.due, back.estimated
        ctx.reason_label = {"illness": "疾病", "other": "其他特殊原因"}.get(episode.reason_kind, "")
    return ctx


def print_letter(req: ChangeRequest, actor: User) -> tuple[bytes, PrintedDocument]:
    """The letter as a PDF, numbered and audited; RuleViolation when the request is not in its state.
    Outside the actor's view of the request: NotInScope (404), whatever the caller loaded."""
    if not workflows.can_see(actor, req):
        raise NotInScope()
    refused = letter_refusal(req)
    if refused:
        raise RuleViolation(refused)
    doc = documents.numbered_document(KIND, PREFIX, actor.unit.path, actor.id, student=req.student, request=req)
    audit.record(actor, "print.family_letter", "printed_document", doc.id, f"{TITLE}（变动申请 #{req.id}）{doc.number}")
    context = {
        "letter": letter_context(req), "rare": pdf_rare.rare, "today": clock.today(), "signer": actor.unit.name,
        "doc": SimpleNamespace(number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at,
                               printed_by=labels.person(actor)),
    }
    return pdf.render_pdf(TEMPLATE, **context), doc
