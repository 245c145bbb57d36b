"""The paper file (纸质档案, 第九条、第十条、第十六条): where each pupil's paper file is and who keeps
it, and its hand-over when the record moves to another school.

- `PaperFileLocation`: one row per recording by the holding school; the newest row is where the
  file is now, the older rows are its history (rows are never changed or deleted).
- `PaperHandover`: one per transfer (after 报到) or 升学. The sending school records that it sent
  the file (the date, and the guardian who carries it sealed, 第十六条) and the copy it keeps
  (第十条); the receiving school confirms receipt (the date and who signed for it). Both ends
  see it; everyone else gets 404.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.changes import ChangeRequest
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student
from models.types import ScopePath

PLACE_MAX, NAME_MAX = 200, 50


class PaperFileLocation(db.Model):
    __tablename__ = "paper_file_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the school that recorded it
    location: Mapped[str] = mapped_column(String(PLACE_MAX))  # e.g. 档案室 2号柜 第3层
    custodian: Mapped[str] = mapped_column(String(NAME_MAX))  # the person who keeps it
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    school: Mapped[OrgUnit] = relationship()
    recorded_by: Mapped[User] = relationship()


class PaperHandover(db.Model):
    __tablename__ = "paper_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"), unique=True)
    from_school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    to_school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    from_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    to_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # The sending school: dispatch (第十六条) and the copy it keeps (第十条).
    sent_on: Mapped[date | None] = mapped_column(Date)
    carried_by: Mapped[str | None] = mapped_column(String(NAME_MAX))  # the guardian
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    copy_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    copy_location: Mapped[str | None] = mapped_column(String(PLACE_MAX))
    sent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The receiving school: receipt.
    received_on: Mapped[date | None] = mapped_column(Date)
    received_by: Mapped[str | None] = mapped_column(String(NAME_MAX))  # who signed for it
    received_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    student: Mapped[Student] = relationship()
    request: Mapped[ChangeRequest] = relationship()
    from_school: Mapped[OrgUnit] = relationship(foreign_keys=[from_school_id])
    to_school: Mapped[OrgUnit] = relationship(foreign_keys=[to_school_id])
