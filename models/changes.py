"""Change requests (学籍变动) with their ordered approval steps and evidence uploads (第三章).

A request is visible to users whose subtree covers either end (`from_path`, `to_path`) and,
read-only, to the township central school of a rural end (第十五条).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student
from models.types import ScopePath

PENDING, APPROVED, REJECTED, WITHDRAWN, COMPLETED = "pending", "approved", "rejected", "withdrawn", "completed"
OPEN_STATUSES = (PENDING, APPROVED)  # approved transfers still wait for 报到


class ChangeRequest(db.Model):
    __tablename__ = "change_request"
    __table_args__ = (
        Index("ix_change_request_from_path", "from_path", "id"),
        Index("ix_change_request_to_path", "to_path", "id"),
        Index("ix_change_request_student_status", "student_id", "status"),
        # The two other ends of visible_filter's OR (services/workflows.py): with an index on each
        # of its four ends PostgreSQL reads a county's requests by a BitmapOr instead of testing
        # every pending request of the province (5 ms → 0.8 ms a count on the load database).
        Index("ix_change_request_from_central_id", "from_central_id",
              postgresql_where=text("from_central_id IS NOT NULL"), sqlite_where=text("from_central_id IS NOT NULL")),
        Index("ix_change_request_to_central_id", "to_central_id",
              postgresql_where=text("to_central_id IS NOT NULL"), sqlite_where=text("to_central_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    type: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING, index=True)
    # None for a request about a school rather than one pupil (the graduation roster, 第二十四条).
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id"))
    from_school_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_school_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    from_path: Mapped[str | None] = mapped_column(ScopePath())
    to_path: Mapped[str | None] = mapped_column(ScopePath())
    from_central_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_central_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    external_school: Mapped[str | None] = mapped_column(String(100))  # the other side, outside the province
    reason_code: Mapped[str | None] = mapped_column(String(20))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    grade_at_request: Mapped[int | None] = mapped_column(Integer)
    current_seq: Mapped[int | None] = mapped_column(Integer)  # the step waiting for a decision
    window_override: Mapped[str | None] = mapped_column(String(200))  # why outside the transfer window
    provisional_at: Mapped[datetime | None] = mapped_column(DateTime)  # 第十五条 provisional admission
    provisional_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    requester_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)  # 报到 at the receiving school
    archive_backup: Mapped[dict | None] = mapped_column(JSON)  # 第十条: the sending school's copy

    student: Mapped[Student | None] = relationship()
    from_school: Mapped[OrgUnit | None] = relationship(foreign_keys=[from_school_id])
    to_school: Mapped[OrgUnit | None] = relationship(foreign_keys=[to_school_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    requester_unit: Mapped[OrgUnit] = relationship(foreign_keys=[requester_unit_id])
    steps: Mapped[list[ApprovalStep]] = relationship(
        back_populates="request", order_by="ApprovalStep.seq", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="request", order_by="Attachment.id")

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def current_step(self) -> ApprovalStep | None:
        return next((s for s in self.steps if s.seq == self.current_seq), None)

    def __str__(self) -> str:
        return f"#{self.id}"


class ApprovalStep(db.Model):
    __tablename__ = "approval_step"
    __table_args__ = (
        Index("ix_approval_step_unit_open", "unit_id", "decision", "due_date"),
        # 已超期 of a city or a county (workflows.queue_filter "overdue"): the open steps past their
        # due date, read from this index alone, not every step ever decided (a scan of the table).
        Index("ix_approval_step_open_due", "due_date", "unit_id", "request_id", "seq",
              postgresql_where=text("decision IS NULL"), sqlite_where=text("decision IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(30))  # e.g. receiving_school, sending_authority
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # who decides
    workdays: Mapped[int] = mapped_column(Integer, default=10)
    started_at: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved / rejected
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(String(500))
    forced_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))  # 强制干预 from above
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)  # overdue: the unit above was told (services/sweeps.py)
    due_soon_at: Mapped[datetime | None] = mapped_column(DateTime)  # 2 working days left: the deciders were told (services/sweeps.py)

    request: Mapped[ChangeRequest] = relationship(back_populates="steps")
    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    forced_by_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[forced_by_unit_id])


class Attachment(db.Model):
    """An uploaded photo or scan of an original document (JPG/PNG/PDF, checked by content)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"), index=True)
    material: Mapped[str] = mapped_column(String(40))  # which item of the checklist
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    request: Mapped[ChangeRequest] = relationship(back_populates="attachments")


class Notification(db.Model):
    """A message to a unit (e.g. the sending school told that its pupil reported elsewhere)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_unit", "unit_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class PrintedDocument(db.Model):
    """Every PDF that leaves the system: numbered, with a verification code, attributable."""

    __tablename__ = "printed_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    verify_code: Mapped[str] = mapped_column(String(20), unique=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    printed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    printed_at: Mapped[datetime] = mapped_column(DateTime, default=now)
