"""History of student changes and the append-only audit log (第二十八条: every disclosure attributable).

Callers pass the actor; the IP comes from the request when there is one.
"""

from __future__ import annotations

import typing as t
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect

from extensions import db
from models.audit import AuditLog, StudentHistory, insert_chained
from models.student import Guardian, Student

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.people import User

# Fields not worth a history row (bookkeeping the system maintains itself).
# class_id: the class's name (class_name) is what history keeps (services/classes.place sets both).
UNTRACKED = {"id", "version_id", "updated_at", "created_at", "scope_path", "class_id"}


# Every action string the code records, by the name the audit screen shows (issue 13, point 16).
# A new `record(actor, "…")` adds its line here; tests/security/test_audit_view.py checks that every
# action written anywhere in the code has one.
ACTION_LABELS: dict[str, t.Any] = {
    "login": _l("Signed in"),
    "logout": _l("Signed out"),
    "session.end": _l("Session ended (idle, too long, or a login elsewhere)"),
    "student.view": _l("Pupil's record viewed"),
    "student.reveal_id": _l("Full ID number viewed"),
    "student.edit_view": _l("Edit form opened (full ID numbers shown)"),
    "student.lookup": _l("Pupil looked up for a transfer"),
    "student.create": _l("Pupil's record created"),
    "student.update": _l("Pupil's record changed"),
    "student.cancel": _l("Pupil's record cancelled"),
    "student.class_change": _l("Class changed"),
    "class.create": _l("Class set up"),
    "class.update": _l("Class changed (name or head teacher)"),
    "class.delete": _l("Class deleted"),
    "student.absence": _l("Absence recorded"),
    "student.contact": _l("Family contacted"),
    "import": _l("Pupils imported"),
    "export": _l("List exported"),
    "print": _l("Document printed"),
    "print.family_letter": _l("Family letter printed"),
    "submit": _l("Roster submitted"),
    "create": _l("School registrar appointed"),
    "update": _l("School registrar's appointment ended"),
    "request.open": _l("Request opened"),
    "request.approve": _l("Request step approved"),
    "request.reject": _l("Request step rejected"),
    "request.attach": _l("Evidence attached to a request"),
    "request.withdraw": _l("Request withdrawn"),
    "request.closed": _l("Request closed by another request"),
    "step.due_recomputed": _l("Step deadline recomputed"),
    "step.escalate": _l("Overdue step escalated"),
    "suspension.remind": _l("Suspension end reminded"),
    "calendar.notice_missing": _l("Next year's holiday notice missing"),
    "dedup.scan": _l("Province-wide duplicate check"),
    "transfer.report": _l("Arrival reported"),
    "transfer.provisional": _l("Pupil provisionally admitted"),
    "archive.add": _l("Archive entry added"),
    "archive.edit": _l("Archive entry corrected"),
    "archive.backup": _l("Archive backup made"),
    "archive.backup.view": _l("Archive backup downloaded"),
    "archive.document.view": _l("Archive document viewed"),
    "archive.handover": _l("Archive handed over"),
    "archive.handover_cancelled": _l("Archive hand-over cancelled"),
    "attachment.view": _l("Request attachment viewed"),
    "paper.location": _l("Paper file location recorded"),
    "paper.dispatch": _l("Paper file sent"),
    "paper.receipt": _l("Paper file received"),
    "certificate.issue": _l("Certificate issued"),
    "certificate.issue_class": _l("Certificates issued for a class"),
    "certificate.reissue": _l("Certificate reissued"),
    "certificate.request": _l("Certificate requested"),
    "certificate.validate": _l("Certificate made valid"),
    "certificate.revoke": _l("Certificate revoked"),
    "certificate.verify": _l("Certificate checked online"),
    "graduation.compile": _l("Graduation list compiled"),
    "graduation.assess": _l("Graduation assessment recorded"),
    "graduation.confirm": _l("Graduation assessment confirmed"),
    "graduation.approve": _l("Graduation approved"),
    "promotion.run": _l("Grades promoted"),
    "student.photo": _l("Pupil's photo set"),
    "student_card.verify": _l("Student record card checked (public)"),
    "pupil_card.issue": _l("Student card issued"),
    "pupil_card.revoke": _l("Student card reported lost and cancelled"),
    "pupil_card.reissue": _l("Student card replaced"),
    "pupil_card.print": _l("Student cards printed"),
    "pupil_card.verify": _l("Student card checked (public)"),
    "problem.flag": _l("Problem record flagged"),
    "problem.evidence.view": _l("Problem record evidence viewed"),
    "problem.resolve.evidence": _l("Problem record resolved with evidence"),
    "problem.resolve.corrected": _l("Problem record resolved by a correction"),
    "problem.resolve.cancelled": _l("Problem record resolved by cancelling the record"),
    "check.start": _l("Data check started"),
    "check.complete": _l("Data check completed by a school"),
    "check.close": _l("Data check closed"),
    "calendar.create": _l("Working-day calendar entry added"),
    "calendar.update": _l("Working-day calendar entry changed"),
    "calendar.delete": _l("Working-day calendar entry removed"),
    "calendar.notice.create": _l("Holiday notice entered"),
    "calendar.notice.update": _l("Holiday notice changed"),
    "school.create": _l("School created"),
    "school.update": _l("School changed"),
    "authority.create": _l("Education authority created"),
    "authority.update": _l("Education authority changed"),
    "school.handover": _l("School's pupils handed over"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "audit.purge": _l("Expired audit rows purged"),
    "backup.create": _l("Backup made (database and uploaded files)"),
    "backup.restore": _l("Backup restored (database and uploaded files replaced)"),
    "login.failed": _l("Failed sign-in"),
    "login.locked": _l("Account locked after failed sign-ins"),
    "user.roles": _l("Account's roles changed"),
    "user.disable": _l("Account disabled"),
    "user.disable_dormant": _l("Dormant account disabled"),
    "access_review.start": _l("Access review started"),
    "access_review.decide": _l("Access review decision"),
    "access_review.close": _l("Access review closed"),
    "export.request": _l("Export requested"),
    "export.approve": _l("Export request approved"),
    "export.refuse": _l("Export request refused"),
    "export.produce": _l("Approved export produced"),
    "export.retry": _l("Approved export retried"),
    "export.download": _l("Approved export downloaded"),
    "export.expire": _l("Export link expired"),
    "export.refused": _l("Export refused by the gate"),
    "export.xlsx": _l("List exported"),
    "api.read": _l("Data read through the API"),
    "api_token.issue": _l("Data API token issued"),
    "api_token.revoke": _l("Data API token revoked"),
    "national.export": _l("National basic-information file exported"),
    "national.changes_export": _l("National changes file exported"),
    "national.reconcile": _l("Records reconciled with the national system"),
    "national.changes_check": _l("National changes file checked"),
    "national.review": _l("Differences with the national system viewed"),
}
OBJECT_LABELS: dict[str, t.Any] = {
    "student": _l("Pupil"),
    "certificate": _l("Certificate"),
    "certificate_batch": _l("Certificate batch"),
    "change_request": _l("Change request"),
    "archive_backup": _l("Archive backup"),
    "archive_document": _l("Archive document"),
    "attachment": _l("Attachment"),
    "calendar_day": _l("Calendar day"),
    "official_calendar_year": _l("Holiday notice"),
    "check_campaign": _l("Data check"),
    "graduation_record": _l("Graduation record"),
    "org_unit": _l("Unit"),
    "printed_document": _l("Printed document"),
    "problem_record": _l("Problem record"),
    "roster_submission": _l("Roster submission"),
    "school_registrar": _l("School registrar"),
    "school_class": _l("Class"),
    "pupil_card": _l("Student card"),
    "user": _l("Account"),
    "audit_log": _l("Audit log"),
    "access_review": _l("Access review"),
    "export_request": _l("Export request"),
    "api_token": _l("Data API token"),
}


def action_label(code: str | None) -> str:
    """The Chinese name of an action; an unlisted one by its family ("request.x" → 申请…（其他）)."""
    if not code:
        return ""
    if code in ACTION_LABELS:
        return str(ACTION_LABELS[code])
    parts = code.split(".")
    for n in range(len(parts) - 1, 0, -1):
        family = ".".join(parts[:n])
        if family in ACTION_LABELS:
            return _("%(family)s (other)", family=ACTION_LABELS[family])
    return _("Other action")


def object_label(code: str | None) -> str:
    return str(OBJECT_LABELS.get(code or "", _l("Other action") if code else ""))


def _client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def record(
    actor: User | None,
    action: str,
    object_type: str | None = None,
    object_id: Any = None,
    detail: str | None = None,
) -> AuditLog:
    """Add one audit row to the session; the caller's commit makes it durable."""
    row = AuditLog(
        user_id=actor.id if actor else None,
        user_email=actor.email if actor else None,
        unit_id=actor.unit_id if actor else None,
        scope_path=actor.unit.path if actor and actor.unit else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=(detail or "")[:500] or None,
        ip=_client_ip(),
    )
    pending = _chained_at_the_end.get()
    if pending is not None:
        pending.append(row)
    else:
        db.session.add(row)
    return row


_chained_at_the_end: ContextVar[list[AuditLog] | None] = ContextVar("audit_chained_at_the_end", default=None)


@contextmanager
def chained_at_the_end() -> Iterator[None]:
    """Audit rows recorded in the block join the session when the block ends, not one by one.

    The audit log is one hash chain: the flush that inserts a row takes the chain's lock
    (models/audit.lock_chain) and holds it until its transaction ends. A long transaction that
    recorded as it went (an import of 10,000 pupils writes for a minute or more) would hold the lock
    all that time, and every request that audits meanwhile (each pupil's details page does) would
    wait for it. At the end, everything else the block wrote is flushed first, outside the lock;
    then the rows are chained and inserted in one statement (models/audit.insert_chained), and the
    caller commits: the lock is held for that statement and the commit only. If the block raises,
    its rows are dropped: the caller rolls back."""
    rows: list[AuditLog] = []
    token = _chained_at_the_end.set(rows)
    try:
        yield
    finally:
        _chained_at_the_end.reset(token)
    if rows:
        db.session.flush()
        insert_chained(db.session.connection(), rows)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _shown(field: str, value: Any) -> str | None:
    """History keeps what a reader understands: a school by name and code, not its row id."""
    if field == "school_id" and value is not None:
        from models.org import OrgUnit

        unit = db.session.get(OrgUnit, value)
        return f"{unit.name}（{unit.code}）" if unit else str(value)
    return _text(value)


def pending_changes(obj: object, prefix: str = "") -> list[tuple[str, str | None, str | None]]:
    """(field, old, new) for every column changed on a student (or guardian) in this session."""
    changes = []
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in UNTRACKED or attr.key == "student_id":
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = _shown(attr.key, hist.deleted[0]) if hist.deleted else None
        new = _shown(attr.key, hist.added[0]) if hist.added else None
        if old != new:
            changes.append((prefix + attr.key, old, new))
    return changes


def set_actor(actor: User | None, reason: str | None = None, request_id: int | None = None) -> None:
    """Attribute every student change flushed from now on in this session (see _history_on_flush)."""
    db.session.info.update(actor_id=actor.id if actor else None, reason=reason, request_id=request_id)


@contextmanager
def acting(actor: User | None, reason: str | None = None, request_id: int | None = None) -> Iterator[None]:
    keys = ("actor_id", "reason", "request_id")
    saved = {k: db.session.info.get(k) for k in keys}
    set_actor(actor, reason, request_id)
    try:
        yield
    finally:
        db.session.info.update(saved)


def _history_rows(session: Session) -> list[StudentHistory]:
    rows: list[StudentHistory] = []
    info = session.info
    for obj in list(session.dirty) + list(session.new):
        if isinstance(obj, Student) and obj.id is not None and obj not in info.get("created", ()):
            student_id, changes = obj.id, pending_changes(obj)
        elif isinstance(obj, Guardian) and obj.student is not None and obj.student.id is not None:
            n = obj.student.guardians.index(obj) + 1 if obj in obj.student.guardians else 0
            student_id, changes = obj.student.id, pending_changes(obj, prefix=f"guardian{n}.")
        else:
            continue
        rows += [
            StudentHistory(
                student_id=student_id, field=field, old_value=old, new_value=new,
                reason=info.get("reason"), request_id=info.get("request_id"), changed_by_id=info.get("actor_id"),
            )
            for field, old, new in changes
        ]
    return rows


@event.listens_for(db.session, "before_flush")
def _history_on_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Every change to a student or guardian becomes a StudentHistory row, whatever code made it."""
    session.add_all(_history_rows(session))


@event.listens_for(db.session, "after_commit")
@event.listens_for(db.session, "after_rollback")
def _forget_created(session: Session) -> None:
    session.info.pop("created", None)


def write_creation(student: Student, actor: User | None, reason: str | None) -> StudentHistory:
    """The one history row of a new record; finishing touches in the same transaction are part of it."""
    db.session.info.setdefault("created", weakref.WeakSet()).add(student)
    row = StudentHistory(student=student, field="_created", new_value=student.xjh, reason=reason,
                         changed_by_id=actor.id if actor else None)
    db.session.add(row)
    return row
