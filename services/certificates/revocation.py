"""Revoking and reissuing certificates.

Revocation (with a reason, audited) is for the issuing authority or the school's supervising
authority. A reissue (lost, damaged) is a new certificate with a new number and code whose
`replaces_id` names the old one, which is revoked with the reason "reissued".
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.graduation import PENDING_APPROVAL, REVOKED, VALID, Certificate
from models.people import User
from services import audit, clock, scope
from services.certificates.issuing import certificate_spec, may_issue, may_revoke, principal_of
from services.certificates.kinds import ISSUED_KINDS
from services.certificates.numbering import allocate
from services.errors import NotInScope, RuleViolation
from services.labels import zh

# Revocations written by the system (a person's revocation stores the reason they typed). The
# stored text stays a code, in English; `revoke_reason_label` says it in the user's language.
REISSUED = "reissued"
WITHDRAWN = "request withdrawn"
NOT_APPROVED = "not approved:"  # + the authority's comment
LOST_REPLACED = "lost: replaced by 学历证明书"  # + the number of the 学历证明书
REISSUE_REASONS = {"lost": _l("Lost"), "damaged": _l("Damaged")}


def _lock(cert: Certificate) -> Certificate:
    db.session.execute(select(Certificate.id).where(Certificate.id == cert.id).with_for_update())
    db.session.refresh(cert)
    return cert


def mark_revoked(cert: Certificate, actor: User | None, reason: str, at: datetime | None = None) -> None:
    cert.status, cert.revoked_at, cert.revoke_reason = REVOKED, at or clock.now(), reason[:500]
    cert.revoked_by_id = actor.id if actor else None


def revoke_refusal(actor: User, cert: Certificate, *, status: bool = True) -> str | None:
    """Why the actor may not revoke the certificate (None: they may); `status=False` leaves out its state."""
    if not may_revoke(actor, cert):
        return str(_l("A certificate is revoked by the authority that issued it or the school's supervising authority."))
    if status and cert.status == PENDING_APPROVAL:
        return str(_l("This 学历证明书 waits for the authority: decide its request instead."))
    if status and cert.status != VALID:
        return str(_l("The certificate is already revoked."))
    return None


def reissue_refusal(actor: User, cert: Certificate, *, status: bool = True) -> str | None:
    """Why the actor may not reissue the certificate (None: they may); `status=False` leaves out its state."""
    if cert.kind not in ISSUED_KINDS:
        return str(_l("A 学历证明书 is not reissued: request a new one."))
    if not may_issue(actor, cert.school):
        return str(_l("Certificates are issued by the graduating school (第二十四条)."))
    if status and cert.status != VALID:
        return str(_l("Only a valid certificate can be reissued."))
    return None


def revoke(cert: Certificate, actor: User, reason: str | None) -> None:
    if not scope.covers(actor, cert.scope_path):
        raise NotInScope()
    refused = revoke_refusal(actor, cert, status=False)
    if refused:
        raise RuleViolation(refused)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation([("reason", str(_l("Give the reason for the revocation.")))])
    _lock(cert)
    refused = revoke_refusal(actor, cert)  # again under the lock: the status may have changed meanwhile
    if refused:
        raise RuleViolation(refused)
    mark_revoked(cert, actor, reason)
    audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}: {reason}")
    db.session.flush()


def reissue(cert: Certificate, actor: User, reason: str, note: str | None = None) -> Certificate:
    """补发 of a lost or damaged diploma or certificate of completion: a new number and code; the
    old one is revoked ("reissued") and named by the new one's `replaces_id`."""
    if not scope.covers(actor, cert.scope_path):
        raise NotInScope()
    refused = reissue_refusal(actor, cert, status=False)
    if refused:
        raise RuleViolation(refused)
    if reason not in REISSUE_REASONS:
        raise RuleViolation([("reason", str(_l("Say whether the certificate was lost or damaged.")))])
    principal = principal_of(cert.school)
    _lock(cert)
    refused = reissue_refusal(actor, cert)  # again under the lock
    if refused:
        raise RuleViolation(refused)
    (new,) = allocate([certificate_spec(cert.graduation_record, cert.student, cert.school, cert.kind, actor, principal,
                                        replaces_id=cert.id)])
    mark_revoked(cert, actor, REISSUED)
    audit.record(actor, "certificate.reissue", "certificate", new.id,
                 f"{new.number} 补发，替代 {cert.number}（{zh(REISSUE_REASONS[reason])}"
                 f"{'：' + note.strip() if note and note.strip() else ''}）")
    db.session.flush()
    return new


def revoke_reason_label(cert: Certificate) -> str:
    """The reason of a revocation as shown: the system's own reasons in the user's language, a
    person's reason as typed."""
    reason = (cert.revoke_reason or "").strip()
    if reason == REISSUED:
        return str(_l("Reissued: replaced by a new certificate."))
    if reason == WITHDRAWN:
        return str(_l("The request was withdrawn."))
    if reason.startswith(NOT_APPROVED):
        comment = reason[len(NOT_APPROVED):].strip()
        if comment:
            return str(_l("Not approved by the supervising authority: %(comment)s", comment=comment))
        return str(_l("Not approved by the supervising authority."))
    if reason.startswith(LOST_REPLACED):
        return str(_l("Lost: replaced by the 学历证明书 %(number)s.", number=reason[len(LOST_REPLACED):].strip()))
    return reason


def replaced_by(cert: Certificate) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.replaces_id == cert.id).order_by(Certificate.id.desc()).limit(1))
