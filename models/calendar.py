"""The working-day calendar (deadlines of 第十三–十六条 count 工作日, not calendar days).

Two tables, two meanings:

- OfficialCalendarYear: the State Council's holiday notice (国务院办公厅关于某年部分节假日安排的通知)
  of one year, entered by the province as one complete record: its days off and its make-up
  working days (调休上班). Only such a record (or chinese-calendar's own data, for the years the
  library knows) makes a year official; any other year is estimated (services/holiday_estimate.py)
  and its deadlines carry the * mark.
- CalendarDay: single-day adjustments the province makes on top of whatever a year's source is
  (an extra closure for a flood, a correction). They override their day but never make a year
  official. This is the table the province used to enter notices in day by day; its rows stay as
  they are, as adjustments, so a year that had only such rows counts as estimated until its
  notice is entered whole — which is the point: a single entered day must not pass for a notice.

The days of a notice are stored on its record (ISO dates in JSON lists): a notice has some thirty
days, is always read and written whole, and its days are not edited one by one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User


class OfficialCalendarYear(db.Model):
    """One year's State Council holiday notice, as the province entered it."""

    __tablename__ = "official_calendar_year"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    notice_number: Mapped[str] = mapped_column(String(200))  # 国办发明电〔2026〕N号 or its title
    notice_text: Mapped[str | None] = mapped_column(Text)  # the notice as published, for reference
    days_off: Mapped[list] = mapped_column(JSON, default=list)  # ISO dates, sorted
    make_up_days: Mapped[list] = mapped_column(JSON, default=list)  # ISO dates of 调休上班, sorted
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def off_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.days_off or ())

    @property
    def make_up_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.make_up_days or ())

    def __str__(self) -> str:
        return f"{self.year} {self.notice_number}"


class CalendarDay(db.Model):
    """A single-day adjustment by the province; it never makes its year official (see above)."""

    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(50))  # "防汛停课", "更正"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.note or ''}".strip()

    def __repr__(self) -> str:
        return f"<CalendarDay {self.day} {'work' if self.is_workday else 'rest'}>"
