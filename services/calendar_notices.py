"""The State Council holiday notice of a year, entered by the province as one record, and what
follows when a year's calendar changes (第十三–十六条: every party has 10 working days).

- `save_notice` validates the whole notice (dates inside the year, none listed twice, no day
  both off and worked, make-up days on a weekend) and stores it as one OfficialCalendarYear;
  only then is the year official (services/workdays.py).
- `recompute_open_steps` runs after any change of a year's calendar (a notice entered or
  changed, a single-day adjustment saved or deleted): the stored due date of every open step
  whose working-day span touches that year is computed again, with its estimate mark; each
  change is audited and told to the deciding unit and the requesting unit (a Notification on
  the request).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from extensions import db
from models.calendar import CalendarDay, OfficialCalendarYear
from models.changes import PENDING, ApprovalStep, ChangeRequest
from services import audit, clock, workdays
from services.errors import RuleViolation

if TYPE_CHECKING:
    from models.people import User

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RANGE_DAYS = 31  # no holiday of a notice is longer; a longer range is a typing slip

# 2027-02-05, 2027/2/5, 2027.2.5, 2027年2月5日, or 2月5日 (the notice's year).
_DATE = r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?"
_TO = r"(?:~|～|至|到|—|–|--)"
_ITEM = re.compile(rf"^{_DATE}(?:{_TO}{_DATE})?$")
_AROUND_TO = re.compile(rf"\s*({_TO})\s*")
_SEPARATORS = re.compile(r"[\s,，、;；]+")


@dataclass(frozen=True)
class NoticeForm:
    """What the province types in: the year, the notice's number and text, two lists of dates."""

    year: int | None
    notice_number: str
    notice_text: str
    days_off: str
    make_up_days: str


def _day(year: int, groups: tuple[str | None, str, str]) -> date | None:
    y, m, d = groups
    try:
        return date(int(y) if y else year, int(m), int(d))
    except ValueError:
        return None


def parse_days(text: str, year: int, field: str, problems: list[tuple[str, str]]) -> list[date]:
    """The dates of one list: single dates and ranges (both ends included), in the order given.

    Every problem is appended to `problems` under `field`, in Chinese, naming what was typed.
    """
    days: list[date] = []
    for item in _SEPARATORS.split(_AROUND_TO.sub(r"\1", text or "")):
        if not item:
            continue
        match = _ITEM.match(item)
        if match is None:
            message = _l("Cannot read “%(text)s”: write a date as 2027-01-01 and a range as 2027-02-05~2027-02-11.", text=item)
            problems.append((field, str(message)))
            continue
        first = _day(year, match.groups()[:3])
        last = _day(year, match.groups()[3:]) if match.group(5) else first
        if first is None or last is None:
            problems.append((field, str(_l("“%(text)s” is not a date of the calendar.", text=item))))
            continue
        if last < first:
            problems.append((field, str(_l("The range “%(text)s” ends before it begins.", text=item))))
            continue
        if (last - first).days >= MAX_RANGE_DAYS:
            problems.append((field, str(_l("The range “%(text)s” is longer than a month; check it.", text=item))))
            continue
        days += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return days


def _check_list(days: list[date], year: int, field: str, problems: list[tuple[str, str]]) -> set[date]:
    seen: set[date] = set()
    for day in days:
        if day.year != year:
            problems.append((field, str(_l("%(day)s is not in %(year)s.", day=day.isoformat(), year=year))))
        elif day in seen:
            problems.append((field, str(_l("%(day)s is listed twice.", day=day.isoformat()))))
        seen.add(day)
    return seen


def validate_notice(form: NoticeForm) -> tuple[set[date], set[date], list[tuple[str, str]]]:
    """(days off, make-up days, problems) of a typed notice; problems are (field, Chinese message)."""
    problems: list[tuple[str, str]] = []
    if form.year is None or not FIRST_YEAR <= form.year <= LAST_YEAR:
        problems.append(("year", str(_l("Enter a year between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))))
        return set(), set(), problems
    year = form.year
    if not form.notice_number.strip():
        problems.append(("notice_number", str(_l("Enter the notice's number or title."))))
    elif len(form.notice_number.strip()) > 200:
        problems.append(("notice_number", str(_l("The notice's number or title may have at most 200 characters."))))
    off = _check_list(parse_days(form.days_off, year, "days_off", problems), year, "days_off", problems)
    work = _check_list(parse_days(form.make_up_days, year, "make_up_days", problems), year, "make_up_days", problems)
    if not off and not any(f == "days_off" for f, _m in problems):
        problems.append(("days_off", str(_l("Enter the days off of the notice."))))
    for day in sorted(off & work):
        problems.append(("make_up_days", str(_l("%(day)s cannot be both a day off and a make-up working day.", day=day.isoformat()))))
    for day in sorted(work - off):
        if day.weekday() < 5 and day.year == year:
            message = _l("%(day)s is a weekday anyway: a make-up working day is a Saturday or Sunday.", day=day.isoformat())
            problems.append(("make_up_days", str(message)))
    return off, work, problems


def notice_for(year: int) -> OfficialCalendarYear | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:  # no notice, and no number a column cannot hold reaches the query
        return None
    return db.session.scalar(select(OfficialCalendarYear).where(OfficialCalendarYear.year == year))


def save_notice(
    form: NoticeForm, actor: User, record: OfficialCalendarYear | None = None
) -> tuple[OfficialCalendarYear, list[ApprovalStep]]:
    """Enter (record=None) or change a year's notice as one record; then recompute the open steps.

    Nothing is stored when any problem is found (RuleViolation with every problem at once).
    The caller commits.
    """
    workdays.require_editor(actor)
    year = form.year
    if record is not None and record.year != year:  # the days would be checked against the wrong year
        raise RuleViolation([("year", str(_l("The year of an entered notice cannot change; enter the other year as a new notice.")))])
    off, work, problems = validate_notice(form)
    if not problems and record is None and notice_for(year) is not None:  # type: ignore[arg-type]
        problems.append(("year", str(_l("The notice of %(year)s is already entered; change that record instead.", year=year))))
    if problems:
        raise RuleViolation(problems)
    assert year is not None
    is_new = record is None
    if record is None:
        record = OfficialCalendarYear(year=year, entered_by_id=actor.id, entered_at=clock.now())
        db.session.add(record)
    else:
        record.updated_by_id, record.updated_at = actor.id, clock.now()
    record.notice_number = form.notice_number.strip()
    record.notice_text = form.notice_text.strip() or None
    record.days_off = [d.isoformat() for d in sorted(off)]
    record.make_up_days = [d.isoformat() for d in sorted(work)]
    db.session.flush()
    audit.record(actor, "calendar.notice.create" if is_new else "calendar.notice.update", "official_calendar_year", record.id,
                 f"{year} 年 {record.notice_number}：放假 {len(off)} 天，调休上班 {len(work)} 天")
    return record, recompute_open_steps({year}, actor)


# --- due dates after a change of the calendar ------------------------------------------------


def _open_steps_from(first_day: date) -> list[ApprovalStep]:
    """The steps waiting for a decision whose due date is on or after `first_day`."""
    return list(db.session.scalars(
        select(ApprovalStep).join(ChangeRequest, ApprovalStep.request_id == ChangeRequest.id)
        .options(selectinload(ApprovalStep.request).selectinload(ChangeRequest.requester_unit), selectinload(ApprovalStep.unit))
        .where(ChangeRequest.status == PENDING, ApprovalStep.seq == ChangeRequest.current_seq,
               ApprovalStep.decision.is_(None), ApprovalStep.due_date >= first_day, ApprovalStep.started_at.is_not(None))
        .order_by(ApprovalStep.id)
    ))


def _shown(day: date | None, estimated: bool) -> str:
    if day is None:
        return ""
    return str(_l("%(day)s (estimated)", day=day.isoformat())) if estimated else day.isoformat()


def recompute_open_steps(years: Iterable[int], actor: User | None) -> list[ApprovalStep]:
    """Compute again the due date of every open step whose working days touch one of `years`;
    return the steps whose date or estimate mark changed (audited, and told to both units)."""
    from services import workflows  # workflows imports workdays; this module sits above both

    years = sorted(set(years))
    if not years:
        return []
    deadlines: dict[tuple[date, int], workdays.Deadline] = {}
    changed = []
    for step in _open_steps_from(date(years[0], 1, 1)):
        req = step.request
        start = workflows.step_counts_from(req, step)
        if not any(start.year <= y <= step.due_date.year for y in years):  # type: ignore[union-attr]
            continue
        key = (start, step.workdays)
        if key not in deadlines:
            deadlines[key] = workdays.add_workdays(*key)
        new = deadlines[key]
        if (new.due, new.estimated) == (step.due_date, bool(step.due_estimated)):
            continue
        old = _shown(step.due_date, bool(step.due_estimated))
        step.due_date, step.due_estimated = new.due, new.estimated
        changed.append(step)
        shown_years = "、".join(str(y) for y in years)
        audit.record(actor, "step.due_recomputed", "change_request", req.id,
                     f"第 {step.seq} 步办理期限：{old} → {_shown(new.due, new.estimated)}（{shown_years} 年工作日历变更）")
        message = str(_l("The working-day calendar of %(years)s changed: the due date of step %(n)s of request #%(id)s "
                         "was computed again, %(old)s → %(new)s.", years=shown_years, n=step.seq, id=req.id, old=old,
                         new=_shown(new.due, new.estimated)))
        for unit in {step.unit_id: step.unit, req.requester_unit_id: req.requester_unit}.values():
            workflows.notify(unit, req, message)
    db.session.flush()
    return changed


# --- a single day adjusted (moved here from workdays: editing the calendar recomputes the open steps) ---


def save_calendar_day(day_row: CalendarDay, actor: User) -> CalendarDay:
    """Validate and stage a new or edited single-day adjustment (one row per day); then the open
    steps whose span touches its year (both years, when an edit moves it) are computed again.
    An adjustment never makes its year official: only a whole notice does (`save_notice`)."""
    with db.session.no_autoflush:  # the row being checked must not be flushed (unique day) before the check
        workdays.require_editor(actor)
        is_new = day_row.id is None
        before = inspect(day_row).attrs.day.history.deleted
        problems: list[tuple[str, str]] = []
        if day_row.day is None:
            problems.append(("day", str(_l("This field is required."))))
        else:
            day_row.day = workdays.as_date(day_row.day)
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
                 f"{day_row.day.isoformat()} {'工作日' if day_row.is_workday else '休息日'} {day_row.note or ''}".strip())
    recompute_open_steps({day_row.day.year, *(workdays.as_date(d).year for d in before if d is not None)}, actor)
    return day_row


def delete_calendar_day(day_row: CalendarDay, actor: User) -> None:
    """Check and record a deletion; the caller deletes the row, flushes and calls
    `calendar_day_deleted`, then commits all of it at once (admin/calendar.CalendarDayView.delete_model)."""
    workdays.require_editor(actor)
    audit.record(actor, "calendar.delete", "calendar_day", day_row.id, f"{day_row.day.isoformat()} {day_row.note or ''}".strip())


def calendar_day_deleted(day: date, actor: User) -> None:
    """After a deletion: the open steps whose span touches that year are computed again."""
    recompute_open_steps({workdays.as_date(day).year}, actor)
