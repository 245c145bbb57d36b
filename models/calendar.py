"""The official working-day calendar (deadlines of 第十五条 count 工作日, not calendar days).

chinese-calendar knows the State Council holiday notices up to the year it was released.
Each autumn, when the notice for next year is published, officials enter that year here:
every holiday (is_workday False) and every 调休 working weekend day (is_workday True).
A row overrides chinese-calendar for its day, and any row in a year makes that year count
as known (see services/workdays.py), so a year's notice must be entered whole, at once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.people import User
from services.clock import now


class CalendarDay(db.Model):
    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(50))  # "2027年春节", "调休上班"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.note or ''}".strip()

    def __repr__(self) -> str:
        return f"<CalendarDay {self.day} {'work' if self.is_workday else 'rest'}>"
