"""访问权限复核 (access recertification, issue 13 point 9): each term the unit above confirms the
accounts and roles of the units directly below it, one decision per account."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath

OPEN, CLOSED = "open", "closed"
KEEP, DISABLE, ADJUST = "keep", "disable", "adjust"  # 保留 / 停用 / 调整角色
DECISIONS = (KEEP, DISABLE, ADJUST)


class AccessReview(db.Model):
    """One review per reviewing unit and term."""

    __tablename__ = "access_review"
    __table_args__ = (UniqueConstraint("unit_id", "term_start", name="uq_access_review_unit_term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the reviewing unit
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)  # the reviewing unit's path
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    unit: Mapped[OrgUnit] = relationship()
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    items: Mapped[list[AccessReviewItem]] = relationship(back_populates="review", order_by="AccessReviewItem.id")


class AccessReviewItem(db.Model):
    """One reviewed account: its unit and roles as they were when the review listed it, and the decision."""

    __tablename__ = "access_review_item"
    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_access_review_item_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("access_review.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    email: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(50), default="")
    roles: Mapped[str] = mapped_column(String(200), default="")  # the roles' Chinese names at review time
    decision: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    review: Mapped[AccessReview] = relationship(back_populates="items")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    unit: Mapped[OrgUnit] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
