"""Problem records (问题学籍, 第七条): suspected duplicates and invalid ID numbers found by 查重.

A problem belongs to one student (`student_id`) and, for a suspected duplicate, names the
record it collides with (`other_student_id`). It is resolved in one of the three ways of the
national system: evidence (佐证), corrected data (变更) or cancellation of the record (删除 —
the student's status becomes 注销; nothing is deleted). `scope_path` copies the student's
school path so that the queue is scoped like the students themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User
from models.student import Student
from models.types import ScopePath

SOFT_NAME_BIRTH, SOFT_GUARDIAN, INVALID_ID = "soft_name_birth", "soft_guardian", "invalid_id"
KINDS = (SOFT_NAME_BIRTH, SOFT_GUARDIAN, INVALID_ID)
OPEN, RESOLVED = "open", "resolved"
EVIDENCE, CORRECTED, CANCELLED = "evidence", "corrected", "cancelled"
RESOLUTIONS = (EVIDENCE, CORRECTED, CANCELLED)

_OPEN_ONLY = text("status = 'open'")
_OPEN_SINGLE = text("status = 'open' AND other_student_id IS NULL")


class ProblemRecord(db.Model):
    __tablename__ = "problem_record"
    __table_args__ = (
        Index("ix_problem_record_scope_id", "scope_path", "id"),
        # The same open problem is never flagged twice: one guard for pairs (a NULL would not
        # collide in a unique index), one for problems of a single record (invalid ID).
        Index(
            "uq_problem_record_open_pair", "student_id", "kind", "other_student_id", unique=True,
            postgresql_where=_OPEN_ONLY, sqlite_where=_OPEN_ONLY,
        ),
        Index(
            "uq_problem_record_open_single", "student_id", "kind", unique=True,
            postgresql_where=_OPEN_SINGLE, sqlite_where=_OPEN_SINGLE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    other_student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id"))
    detail: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=OPEN, index=True)
    resolution: Mapped[str | None] = mapped_column(String(10))
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    # 佐证: the uploaded evidence (checked and stored like request attachments, services/uploads.py).
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    evidence_content_type: Mapped[str | None] = mapped_column(String(40))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    student: Mapped[Student] = relationship(foreign_keys=[student_id])
    other_student: Mapped[Student | None] = relationship(foreign_keys=[other_student_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    def __str__(self) -> str:
        return f"#{self.id}"
