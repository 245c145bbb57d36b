"""Registers submitted to the authority (第十二条) and the school's registrars (第二十六条)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.changes import PrintedDocument
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath


class RosterSubmission(db.Model):
    """One submission of a school's 新生花名册 or 增减登记表 of a school year, with the files as
    they were submitted (content-addressed in UPLOAD_DIR, services/uploads.store).

    A later submission of the same register replaces this one: `replaced_at` is set and the row
    stays, so the history of what was sent, and when, is never lost."""

    __tablename__ = "roster_submission"
    __table_args__ = (
        Index("ix_roster_submission_school_kind_year", "school_id", "kind", "year"),
        # One current submission per register: of two submissions at the same moment, the second
        # insert fails instead of leaving two "current" rows (services/rosters.submit).
        Index("ux_roster_submission_current", "school_id", "kind", "year", unique=True,
              sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    due_on: Mapped[date] = mapped_column(Date)
    on_time: Mapped[bool] = mapped_column(Boolean)
    sent_to_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))  # the supervising authority
    also_to_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))  # 直管: the county it stands in
    document_id: Mapped[int | None] = mapped_column(ForeignKey("printed_document.id"))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(Integer)
    xlsx_sha256: Mapped[str] = mapped_column(String(64))
    xlsx_size: Mapped[int] = mapped_column(Integer)
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime)

    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])
    sent_to: Mapped[OrgUnit | None] = relationship(foreign_keys=[sent_to_id])
    also_to: Mapped[OrgUnit | None] = relationship(foreign_keys=[also_to_id])
    submitted_by: Mapped[User] = relationship()
    document: Mapped[PrintedDocument | None] = relationship()


class SchoolRegistrar(db.Model):
    """A school's 学籍管理员 (第二十六条). Ending an appointment sets `ended_on`; nothing is deleted."""

    __tablename__ = "school_registrar"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20))
    appointed_on: Mapped[date] = mapped_column(Date)
    full_time: Mapped[bool] = mapped_column(Boolean)
    formal_staff: Mapped[bool] = mapped_column(Boolean)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    ended_on: Mapped[date | None] = mapped_column(Date)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    school: Mapped[OrgUnit] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])
