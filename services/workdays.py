"""Working days (工作日) for the deadlines of 第十五条 ("10个工作日") and its 20-day fallback.

Where a day's answer comes from, first match wins:

1. a CalendarDay row for that day (officials enter each year's State Council notice);
2. chinese-calendar, for the years its data covers (it raises NotImplementedError otherwise);
3. Monday–Friday. Only this fallback is an estimate, and only for a year with no CalendarDay
   row at all: a year with any row counts as entered by the officials, so they must enter the
   whole notice of a year (every holiday and every 调休 working weekend day) at once.

Every call loads the rows of the years it touches once (one query per year, never one per
day) and keeps nothing between calls, so an official's edit counts from the next deadline on.
Pass `overrides` (a mapping day → is_workday) to use it instead of the table: pure tests and
what-if computations need no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import chinese_calendar
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.calendar import CalendarDay
from models.people import ADMIN, PROVINCE_OFFICIAL
from services import audit
from services.errors import RuleViolation

if TYPE_CHECKING:
    from models.people import User

# The calendar is province-wide, so only the province (and the system administrator) edit it.
CALENDAR_EDITORS = frozenset({ADMIN, PROVINCE_OFFICIAL})


@dataclass(frozen=True)
class Deadline:
    due: date
    # True when a day counted lies in a year known neither to chinese-calendar nor to the table:
    # that year was counted Monday–Friday, so the real date may be later (or earlier).
    estimated: bool


class _Calendar:
    """The working-day answers of one computation; CalendarDay rows are loaded per year, once."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides = overrides
        self._years: dict[int, dict[date, bool]] = {}

    def load(self, first_year: int, last_year: int) -> None:
        """Load every not yet loaded year of the range (one query for the whole range)."""
        missing = [y for y in range(first_year, last_year + 1) if y not in self._years]
        if not missing:
            return
        lo, hi = min(missing), max(missing)
        rows: dict[int, dict[date, bool]] = {y: {} for y in missing}
        if self._overrides is not None:
            found = ((d, w) for d, w in self._overrides.items() if lo <= d.year <= hi)
        else:
            found = db.session.execute(
                select(CalendarDay.day, CalendarDay.is_workday).where(CalendarDay.day.between(date(lo, 1, 1), date(hi, 12, 31)))
            )
        for day, workday in found:
            if day.year in rows:
                rows[day.year][day] = bool(workday)
        self._years.update(rows)

    def check(self, day: date) -> tuple[bool, bool]:
        """(is_workday, estimated) of one day."""
        self.load(day.year, day.year)
        entered = self._years[day.year]
        if day in entered:
            return entered[day], False
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:  # a year outside the library's data
            pass
        return day.weekday() < 5, not entered


def _as_date(day: date) -> date:
    # A datetime is a date too, but would never match a CalendarDay key.
    return day.date() if isinstance(day, datetime) else day


def is_workday(day: date, *, overrides: Mapping[date, bool] | None = None) -> tuple[bool, bool]:
    """(is_workday, estimated) for any date; never raises for a year the library lacks."""
    return _Calendar(overrides).check(_as_date(day))


def add_workdays(start: date, n: int, *, overrides: Mapping[date, bool] | None = None) -> Deadline:
    """The n-th working day after `start` (start itself not counted; n=0 → start, n<0 → before).

    10 working days from a Monday without holidays is the Monday two weeks later.
    """
    start = _as_date(start)
    cal = _Calendar(overrides)
    step = timedelta(days=1 if n >= 0 else -1)
    day, left, estimated = start, abs(n), False
    while left:
        day += step
        workday, guessed = cal.check(day)
        estimated |= guessed
        if workday:
            left -= 1
    return Deadline(day, estimated)


def workdays_between(start: date, end: date, *, overrides: Mapping[date, bool] | None = None) -> tuple[int, bool]:
    """(count, estimated): working days d with start < d <= end; negative when end < start.

    With start=today and end=the due date it is the "days left" (0 on the due date itself,
    negative once overdue).
    """
    start, end = _as_date(start), _as_date(end)
    lo, hi, sign = (start, end, 1) if start <= end else (end, start, -1)
    cal = _Calendar(overrides)
    cal.load(lo.year, hi.year)
    count, estimated = 0, False
    for offset in range(1, (hi - lo).days + 1):
        workday, guessed = cal.check(lo + timedelta(days=offset))
        count += workday
        estimated |= guessed
    return sign * count, estimated


# --- editing the calendar ----------------------------------------------------------


def can_edit_calendar(actor: User | None) -> bool:
    return actor is not None and bool(actor.role_names & CALENDAR_EDITORS)


def _require_editor(actor: User | None) -> None:
    if not can_edit_calendar(actor):
        raise RuleViolation(str(_l("Only the provincial education department or an administrator may edit the working-day calendar.")))


def save_calendar_day(day_row: CalendarDay, actor: User) -> CalendarDay:
    """Validate and stage a new or edited calendar day; one row per day."""
    with db.session.no_autoflush:  # the row being checked must not be flushed (unique day) before the check
        _require_editor(actor)
        is_new = day_row.id is None
        problems: list[tuple[str, str]] = []
        if day_row.day is None:
            problems.append(("day", str(_l("This field is required."))))
        else:
            day_row.day = _as_date(day_row.day)
            others = select(CalendarDay.id).where(CalendarDay.day == day_row.day)
            taken = db.session.scalar(others if is_new else others.where(CalendarDay.id != day_row.id))
            if taken is not None:
                message = _l("%(day)s is already in the calendar; edit that entry instead.", day=day_row.day.isoformat())
                problems.append(("day", str(message)))
        day_row.note = (day_row.note or "").strip() or None
        if day_row.note and len(day_row.note) > 50:
            problems.append(("note", str(_l("The note may have at most 50 characters."))))
        if problems:
            raise RuleViolation(problems)
        day_row.is_workday = bool(day_row.is_workday)
        if is_new:
            day_row.created_by_id = actor.id
            db.session.add(day_row)
    db.session.flush()
    audit.record(actor, "calendar.create" if is_new else "calendar.update", "calendar_day", day_row.id,
                 f"{day_row.day.isoformat()} {'workday' if day_row.is_workday else 'holiday'} {day_row.note or ''}".strip())
    return day_row


def delete_calendar_day(day_row: CalendarDay, actor: User) -> None:
    """Check and record a deletion; the caller (Flask-Admin) deletes the row and commits."""
    _require_editor(actor)
    audit.record(actor, "calendar.delete", "calendar_day", day_row.id, f"{day_row.day.isoformat()} {day_row.note or ''}".strip())
