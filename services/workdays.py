"""Working days (工作日) for the deadlines of 第十三–十六条 ("10个工作日") and the 20-day fallback.

Where a day's answer comes from, first match wins:

1. a CalendarDay row for that day: a single-day adjustment by the province (an extra closure);
2. the year's OfficialCalendarYear: the State Council notice the province entered as one record
   (its days off, its make-up working days; every other day Monday–Friday);
3. chinese-calendar, for the years its data covers (it raises NotImplementedError otherwise);
4. an estimate from the statutory holidays, lunar dates computed (services/holiday_estimate.py).

A year is official under 2 or 3 and estimated otherwise: every day of an estimated year is
marked estimated, adjustments included (one entered day is not a notice), so every deadline that
counts a day of such a year carries the * mark.

Every call loads the rows of the years it touches once (one query per table for the range, never
one per day) and keeps nothing between calls, so an official's edit counts from the next deadline
on. Pass `overrides` (a mapping day → is_workday, standing for the CalendarDay table) and
`notices` (year → YearNotice, standing for the notices) to use them instead of the database:
pure tests and what-if computations need no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import chinese_calendar
from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from extensions import db
from models.calendar import CalendarDay, OfficialCalendarYear
from models.people import ADMIN, PROVINCE_OFFICIAL
from services.errors import RuleViolation
from services.holiday_estimate import is_estimated_workday

if TYPE_CHECKING:
    from models.people import User

# The calendar is province-wide, so only the province (and the system administrator) edit it.
CALENDAR_EDITORS = frozenset({ADMIN, PROVINCE_OFFICIAL})


@dataclass(frozen=True)
class Deadline:
    due: date
    # True when a day counted lies in a year known neither from an entered State Council notice
    # nor from chinese-calendar: that year was estimated, so the real date may differ.
    estimated: bool


@dataclass(frozen=True)
class YearNotice:
    """The days of one year's State Council notice; every other day counts Monday–Friday."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    make_up_days: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        if day in self.days_off:
            return False
        return day in self.make_up_days or day.weekday() < 5


@lru_cache(maxsize=256)
def library_knows(year: int) -> bool:
    """Whether chinese-calendar carries the State Council notice of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def library_workday(day: date) -> bool:
    """chinese-calendar's answer for a year it carries. Its is_workday checks the date's range with
    min() and max() over its whole table (~30 µs a call); a queue page asks it ~200 times."""
    return bool(chinese_calendar.is_workday(day))


SOURCE_NOTICE, SOURCE_LIBRARY, SOURCE_ESTIMATE = "notice", "library", "estimate"


@dataclass
class _Year:
    adjustments: dict[date, bool]
    notice: YearNotice | None

    def source(self, year: int) -> str:
        if self.notice is not None:
            return SOURCE_NOTICE
        return SOURCE_LIBRARY if library_knows(year) else SOURCE_ESTIMATE


class _Calendar:
    """The working-day answers of one computation; each year's rows are loaded once."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, notices: Mapping[int, YearNotice] | None = None) -> None:
        self._overrides = overrides
        self._notices = notices
        self._years: dict[int, _Year] = {}

    def load(self, first_year: int, last_year: int) -> None:
        """Load every not yet loaded year of the range (one query per table for the whole range)."""
        missing = [y for y in range(first_year, last_year + 1) if y not in self._years]
        if not missing:
            return
        lo, hi = min(missing), max(missing)
        years = {y: _Year({}, None) for y in missing}
        if self._overrides is not None or self._notices is not None:
            found = [(d, w) for d, w in (self._overrides or {}).items() if lo <= d.year <= hi]
            notices = [(y, n) for y, n in (self._notices or {}).items() if lo <= y <= hi]
        else:
            found = db.session.execute(
                select(CalendarDay.day, CalendarDay.is_workday).where(CalendarDay.day.between(date(lo, 1, 1), date(hi, 12, 31)))
            ).all()
            rows = db.session.scalars(select(OfficialCalendarYear).where(OfficialCalendarYear.year.between(lo, hi)))
            notices = [(r.year, YearNotice(r.off_dates, r.make_up_dates)) for r in rows]
        for day, workday in found:
            if day.year in years:
                years[day.year].adjustments[day] = bool(workday)
        for year, notice in notices:
            if year in years:
                years[year].notice = notice
        self._years.update(years)

    def year(self, year: int) -> _Year:
        self.load(year, year)
        return self._years[year]

    def check(self, day: date) -> tuple[bool, bool]:
        """(is_workday, estimated) of one day."""
        known = self.year(day.year)
        source = known.source(day.year)
        estimated = source == SOURCE_ESTIMATE
        if day in known.adjustments:
            return known.adjustments[day], estimated
        if known.notice is not None:
            return known.notice.is_workday(day), False
        if source == SOURCE_LIBRARY:
            return library_workday(day), False
        return is_estimated_workday(day), True



_PAGE_CALENDAR = "xueji.workday_calendar"


def _page_calendar() -> _Calendar:
    """The calendar years a page has read, shared by its computations: a request queue shows twenty
    deadlines, each read two tables for its years. Only for a GET (a page that changes nothing: the
    calendar cannot change under it); any other request, a task or a script reads afresh. A flush of
    a calendar row forgets it as well (_forget_page_calendar)."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return _Calendar()
    cal = g.get(_PAGE_CALENDAR)
    if cal is None:
        cal = _Calendar()
        setattr(g, _PAGE_CALENDAR, cal)
    return cal


@event.listens_for(Session, "after_flush")
def _forget_page_calendar(session: Session, _context: object) -> None:
    if has_request_context() and any(isinstance(o, (CalendarDay, OfficialCalendarYear))
                                     for o in (*session.new, *session.dirty, *session.deleted)):
        g.pop(_PAGE_CALENDAR, None)

def year_source(year: int, *, notices: Mapping[int, YearNotice] | None = None) -> str:
    """Where the working days of `year` come from: SOURCE_NOTICE, SOURCE_LIBRARY or SOURCE_ESTIMATE."""
    return _Calendar({} if notices is not None else None, notices).year(year).source(year)


def as_date(day: date) -> date:
    # A datetime is a date too, but would never match a CalendarDay key.
    return day.date() if isinstance(day, datetime) else day


def is_workday(
    day: date, *, overrides: Mapping[date, bool] | None = None, notices: Mapping[int, YearNotice] | None = None
) -> tuple[bool, bool]:
    """(is_workday, estimated) for any date; never raises for a year the library lacks."""
    return _Calendar(overrides, notices).check(as_date(day))


def add_workdays(
    start: date, n: int, *, overrides: Mapping[date, bool] | None = None, notices: Mapping[int, YearNotice] | None = None
) -> Deadline:
    """The n-th working day after `start` (start itself not counted; n=0 → start, n<0 → before).

    10 working days from a Monday without holidays is the Monday two weeks later.
    """
    start = as_date(start)
    cal = _Calendar(overrides, notices)
    step = timedelta(days=1 if n >= 0 else -1)
    day, left, estimated = start, abs(n), False
    while left:
        day += step
        workday, guessed = cal.check(day)
        estimated |= guessed
        if workday:
            left -= 1
    return Deadline(day, estimated)


def workdays_between(
    start: date, end: date, *, overrides: Mapping[date, bool] | None = None, notices: Mapping[int, YearNotice] | None = None
) -> tuple[int, bool]:
    """(count, estimated): working days d with start < d <= end; negative when end < start.

    With start=today and end=the due date it is the "days left" (0 on the due date itself,
    negative once overdue).
    """
    start, end = as_date(start), as_date(end)
    lo, hi, sign = (start, end, 1) if start <= end else (end, start, -1)
    cal = _Calendar(overrides, notices) if overrides is not None or notices is not None else _page_calendar()
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


def require_editor(actor: User | None) -> None:
    if not can_edit_calendar(actor):
        raise RuleViolation(str(_l("Only the provincial education department or an administrator may edit the working-day calendar.")))
