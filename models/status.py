"""What the status changes of 第十七–二十三条 need beyond the change request itself.

- Suspension: one row per 休学 episode — its term, its one possible extension (第十九条) and how
  it ended. The 休学到期 list is the open rows whose end date has passed.
- Absence and FamilyContact: what a school records before it may file a dropout (第二十三条:
  4 consecutive weeks of unexcused absence, several attempts to bring the pupil back), and the
  contacts made when a suspension expired without an application (第十九条).
- ArchiveHandover: a migrant worker's child who dropped out has the archive handed to the
  county of the hukou at the end of the term (第二十三条) — a listed task for the authority.

`scope_path` copies the pupil's school path at the time of writing, so lists are scoped like
the students themselves.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.changes import ChangeRequest
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student
from models.types import ScopePath

ILLNESS, OTHER = "illness", "other"
CONTACT_DROPOUT, CONTACT_SUSPENSION = "dropout", "suspension_expiry"


class Suspension(db.Model):
    __tablename__ = "suspension"
    __table_args__ = (Index("ix_suspension_open_end", "ended_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"))
    reason_kind: Mapped[str] = mapped_column(String(10))  # ILLNESS or OTHER
    grade: Mapped[int] = mapped_column(Integer)  # the grade left, where resumption places the pupil by default
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    ended_on: Mapped[date | None] = mapped_column(Date)  # resumed (or otherwise ended)
    ended_by_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    expiry_reminded_for: Mapped[date | None] = mapped_column(Date)  # the end date the school was reminded of (services/sweeps.py)

    student: Mapped[Student] = relationship()
    request: Mapped[ChangeRequest] = relationship(foreign_keys=[request_id])


class Absence(db.Model):
    __tablename__ = "absence"
    __table_args__ = (Index("ix_absence_student_first", "student_id", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    excused: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    student: Mapped[Student] = relationship()
    recorded_by: Mapped[User] = relationship()


class FamilyContact(db.Model):
    __tablename__ = "family_contact"
    __table_args__ = (Index("ix_family_contact_student_day", "student_id", "contacted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    purpose: Mapped[str] = mapped_column(String(20))  # CONTACT_DROPOUT or CONTACT_SUSPENSION
    contacted_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(500))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    student: Mapped[Student] = relationship()
    recorded_by: Mapped[User] = relationship()


class ArchiveHandover(db.Model):
    __tablename__ = "archive_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # hands the archive over
    hukou_division: Mapped[str] = mapped_column(String(6))  # the county of the hukou (GB/T 2260)
    receiving_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))  # that county, when in the province
    due_on: Mapped[date] = mapped_column(Date)  # the end of the term
    done_on: Mapped[date | None] = mapped_column(Date)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(String(500))

    student: Mapped[Student] = relationship()
    request: Mapped[ChangeRequest] = relationship()
    authority: Mapped[OrgUnit] = relationship(foreign_keys=[authority_id])
    receiving_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[receiving_unit_id])
    done_by: Mapped[User | None] = relationship()
