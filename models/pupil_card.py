"""学生卡 (regulation 第六条, issue 16 point 3): the free card a pupil carries, not the 学籍卡.

Each issued card is a row that is never deleted: a lost card is revoked (挂失作废), a damaged or
lost one is replaced (补办) by a new row that the old one points to. The card carries a readable
number (printed) and an unguessable public token (in the QR code of the public check). A partial
unique index keeps one valid card per pupil even when two issues race (a double click).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student

# PupilCard.status
VALID, REVOKED, REPLACED = "valid", "revoked", "replaced"


class PupilCard(db.Model):
    __tablename__ = "pupil_card"
    __table_args__ = (
        Index("ix_pupil_card_student", "student_id", "id"),
        Index(
            "uq_pupil_card_one_valid",
            "student_id",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the issuing school
    number: Mapped[str] = mapped_column(String(24), unique=True)  # XSK2026000123, printed on the card
    token: Mapped[str] = mapped_column(String(64), unique=True)  # secrets.token_urlsafe: the QR's /verify/card/<token>
    status: Mapped[str] = mapped_column(String(10), default=VALID)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("pupil_card.id"))

    student: Mapped[Student] = relationship(foreign_keys=[student_id])
    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    replaced_by: Mapped[PupilCard | None] = relationship(remote_side=[id], foreign_keys=[replaced_by_id])
