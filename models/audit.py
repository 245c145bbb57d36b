"""History of every change to a student, and the append-only audit log (第二十八条)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User
from models.types import ScopePath


class StudentHistory(db.Model):
    """One changed field of one student: old → new, who, when, why."""

    __tablename__ = "student_history"
    __table_args__ = (Index("ix_student_history_student", "student_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(Integer)  # the change request, when there was one
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    changed_by: Mapped[User | None] = relationship()
    student = relationship("Student")  # lets a new record's first row be written before its id exists


class AuditLog(db.Model):
    """Who read or sent out what, from where. Rows are never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    user_email: Mapped[str | None] = mapped_column(String(120))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    # The actor's unit path: an official sees the audit rows of users in their subtree.
    scope_path: Mapped[str | None] = mapped_column(ScopePath())
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(AuditLog, "before_update")
def _no_update(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit rows are append-only")


@event.listens_for(AuditLog, "before_delete")
def _no_delete(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit rows are append-only")
