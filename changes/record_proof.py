"""学历证明书 (RECORD_PROOF, 第二十五条): the change type that replaces a lost diploma.

Requested by the graduating school as a change request with the authority's step; the
certificate exists as "pending" and is valid once the authority approves (its 验印); rejected or
withdrawn, it is revoked without ever having been valid. When it becomes valid, the lost
diploma (if the system issued it) is revoked. Declared here, once; changes/__init__.py
imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.changes import COMPLETED as REQUEST_COMPLETED
from models.changes import ChangeRequest
from models.graduation import DIPLOMA, PENDING_APPROVAL, RECORD_PROOF, VALID, Certificate
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import audit, clock, scope
from services.certificates.issuing import active_certificate, certificate_spec, graduated_record, lock_records, principal_of
from services.certificates.numbering import allocate
from services.certificates.revocation import LOST_REPLACED, NOT_APPROVED, WITHDRAWN, mark_revoked
from services.change_common import is_own_staff as is_school_staff
from services.errors import NotInScope, RuleViolation
from services.evidence import Never
from services.payloads import Payload
from services.workflows import ChangeType, Material, StepDef, declare, open_request


@dataclass(frozen=True)
class RecordProofPayload(Payload):
    graduation_record_id: int
    lost_certificate_id: int | None = None
    certificate_id: int | None = None  # the 学历证明书 waiting for the approval, written when opened


LOST_DIPLOMA = "lost"


def _graduating_school(req: ChangeRequest) -> OrgUnit | None:
    return req.from_school


def _authority(req: ChangeRequest) -> OrgUnit | None:
    school = _graduating_school(req)
    return school.supervisor if school is not None else None


def _may_request_proof(req: ChangeRequest, actor: User) -> str | None:
    school = req.from_school
    if school is None or not is_school_staff(actor, school):
        return _l("The graduating school requests the 学历证明书 (第二十五条).")
    return None


def request_record_proof(student: Student, actor: User, reason_text: str | None = None) -> ChangeRequest:
    """The graduating school asks its authority to stamp a 学历证明书 for a lost diploma; the
    certificate exists from now on as pending."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    record = graduated_record(student)
    if record is None:
        raise RuleViolation(str(_l("A 学历证明书 replaces the diploma of a pupil who graduated (毕业) from grade 9.")))
    school = record.school
    if not is_school_staff(actor, school):
        raise RuleViolation(str(_l("The graduating school requests the 学历证明书 (第二十五条).")))
    held = active_certificate(student.id, RECORD_PROOF)
    if held is not None:
        raise RuleViolation(str(_l("The pupil already holds %(number)s.", number=held.number)))
    principal = principal_of(school)
    (record,) = lock_records([record.id])
    lost = active_certificate(student.id, DIPLOMA)
    req = open_request(RECORD_PROOF, student, actor, from_school=school, reason_code=LOST_DIPLOMA, reason_text=reason_text,
                       payload={"graduation_record_id": record.id, "lost_certificate_id": lost.id if lost else None})
    (cert,) = allocate([certificate_spec(record, student, school, RECORD_PROOF, actor, principal, status=PENDING_APPROVAL,
                               request_id=req.id, replaces_id=lost.id if lost else None)])
    req.payload = {**(req.payload or {}), "certificate_id": cert.id}
    audit.record(actor, "certificate.request", "certificate", cert.id, f"{cert.number}（变动申请 #{req.id}）")
    db.session.flush()
    return req


def certificate_of_request(req: ChangeRequest) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.request_id == req.id).limit(1))


def _record_proof_approved(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        cert.status = VALID
        lost = cert.replaces
        if lost is not None and lost.status == VALID:
            mark_revoked(lost, actor, f"{LOST_REPLACED} {cert.number}")
            audit.record(actor, "certificate.revoke", "certificate", lost.id, f"{lost.number}：遗失，由 {cert.number} 替代")
        audit.record(actor, "certificate.validate", "certificate", cert.id, f"{cert.number}（变动申请 #{req.id}）")
    req.status, req.finished_at = REQUEST_COMPLETED, clock.now()
    db.session.flush()


def _record_proof_rejected(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        step = req.steps[-1] if req.steps else None
        mark_revoked(cert, actor, f"{NOT_APPROVED} {(step.comment if step else '') or ''}".strip())
        audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}：变动申请 #{req.id} 未获批准")


def _record_proof_withdrawn(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        mark_revoked(cert, actor, WITHDRAWN)
        audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}：变动申请 #{req.id} 已撤回")


declare(ChangeType(
    code=RECORD_PROOF,
    label=_l("Proof of education record (学历证明书)"),
    steps=(StepDef("authority", _l("Supervising authority"), _authority),),
    effect=_record_proof_approved,
    on_reject=_record_proof_rejected,
    on_withdraw=_record_proof_withdrawn,
    materials=(Material("loss_statement", _l("Statement of the loss of the diploma"), when=Never()),),
    reasons={LOST_DIPLOMA: _l("Diploma lost")},
    preconditions=(_may_request_proof,),
    payload=RecordProofPayload,
))
