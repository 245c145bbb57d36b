"""History of student changes and the append-only audit log (第二十八条: every disclosure attributable).

Callers pass the actor; the IP comes from the request when there is one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import inspect

from extensions import db
from models.audit import AuditLog, StudentHistory

if TYPE_CHECKING:
    from models.people import User
    from models.student import Student

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
        old = _text(hist.deleted[0]) if hist.deleted else None
        new = _text(hist.added[0]) if hist.added else None
        if old != new:
            changes.append((prefix + attr.key, old, new))
    return changes


def write_history(
    student: Student,
    actor: User | None,
    changes: list[tuple[str, str | None, str | None]],
    reason: str | None = None,
    request_id: int | None = None,
) -> list[StudentHistory]:
    rows = [
        StudentHistory(
            student_id=student.id,
            field=field,
            old_value=old,
            new_value=new,
            reason=reason,
            request_id=request_id,
            changed_by_id=actor.id if actor else None,
        )
        for field, old, new in changes
    ]
    db.session.add_all(rows)
    return rows
