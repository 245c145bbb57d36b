"""History of student changes and the append-only audit log (第二十八条: every disclosure attributable).

Callers pass the actor; the IP comes from the request when there is one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import event, inspect

from extensions import db
from models.audit import AuditLog, StudentHistory
from models.student import Guardian, Student

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.people import User

# Fields not worth a history row (bookkeeping the system maintains itself).
UNTRACKED = {"id", "version_id", "updated_at", "created_at", "scope_path"}


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
    db.session.add(row)
    return row


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
