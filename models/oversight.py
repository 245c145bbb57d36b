"""The term data check (学籍数据核查, 第二十七条): an authority starts a campaign for its area,
each school works through its listed problems and records that it has finished."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath


class CheckCampaign(db.Model):
    __tablename__ = "check_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    title: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    unit: Mapped[OrgUnit] = relationship()
    started_by: Mapped[User] = relationship()


class CheckCompletion(db.Model):
    __tablename__ = "check_completion"
    __table_args__ = (UniqueConstraint("campaign_id", "school_id", name="uq_check_completion_school"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("check_campaign.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    completed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    note: Mapped[str | None] = mapped_column(String(500))

    campaign: Mapped[CheckCampaign] = relationship()
    school: Mapped[OrgUnit] = relationship()
    completed_by: Mapped[User] = relationship()
