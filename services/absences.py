"""Absences and the 4-week threshold of a dropout (第二十三条), kept by the pupil's own school.

Attendance is recorded as periods of absence; a period excused later is taken out of an unexcused
one, and periods joined only by days off (weekends, holidays) count as one run. The dropout change
type (changes/departures.py) and the oversight report (services/oversight/violations.py) both read
the run from here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.status import Absence
from models.student import Student
from services import audit, clock, scope, workdays
from services.errors import NotInScope, RuleViolation
from services.workflows import is_own_school

if TYPE_CHECKING:
    from models.people import User

DROPOUT_WEEKS = 4  # 第二十三条: 无故旷课连续达到4周
MIN_CONTACTS = 2  # 经学校多次联系动员返校就读仍无效果


def record_absence(student: Student, actor: User, *, first_day: date, last_day: date, excused: bool,
                   note: str | None) -> Absence:
    """The pupil's own school records a period of absence (attendance is kept per day; a period is
    the days from first to last)."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    if not is_own_school(actor, student):
        raise RuleViolation(str(_l("The pupil's own school records absences.")))
    if last_day < first_day:
        raise RuleViolation([("last_day", str(_l("The last day cannot be before the first day.")))])
    if last_day > clock.today():
        raise RuleViolation([("last_day", str(_l("Absences are recorded for days that have passed.")))])
    absence = Absence(student_id=student.id, scope_path=student.scope_path, first_day=first_day, last_day=last_day,
                      excused=bool(excused), note=(note or "").strip()[:200] or None, recorded_by_id=actor.id)
    db.session.add(absence)
    db.session.flush()
    audit.record(actor, "student.absence", "student", student.id, f"缺勤 {first_day} 至 {last_day}（{'已请假' if excused else '未请假'}）")
    return absence


def absences_of(student: Student) -> list[Absence]:
    return list(db.session.scalars(select(Absence).where(Absence.student_id == student.id).order_by(Absence.first_day.desc())))


def longest_unexcused_run(student: Student) -> tuple[date, date] | None:
    """The longest stretch of unexcused absence: days recorded as excused are taken out (also when
    recorded later over an unexcused period), and periods are joined when only days off (weekends,
    holidays) lie between them. None when nothing is recorded."""
    rows = db.session.execute(
        select(Absence.first_day, Absence.last_day, Absence.excused).where(Absence.student_id == student.id)
    ).all()
    excused = sorted((first, last) for first, last, was_excused in rows if was_excused)
    periods = sorted(
        part for first, last, was_excused in rows if not was_excused for part in _outside(first, last, excused)
    )
    best: tuple[date, date] | None = None
    run: list[date] | None = None
    for first, last in periods:
        if run is not None and (first <= run[1] + timedelta(days=1) or _only_days_off(run[1], first)):
            run[1] = max(run[1], last)
        else:
            run = [first, last]
        if best is None or (run[1] - run[0]) > (best[1] - best[0]):
            best = (run[0], run[1])
    return best


def _outside(first: date, last: date, cuts: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The parts of the period first..last that lie outside every period of `cuts`."""
    parts = [(first, last)]
    for cut_first, cut_last in cuts:
        kept = []
        for f, la in parts:
            if cut_last < f or cut_first > la:
                kept.append((f, la))
                continue
            if f < cut_first:
                kept.append((f, cut_first - timedelta(days=1)))
            if cut_last < la:
                kept.append((cut_last + timedelta(days=1), la))
        parts = kept
    return parts


def long_enough_for_dropout(run: tuple[date, date] | None) -> bool:
    """第二十三条: the run of unexcused absence covers 4 whole weeks (days off after it included)."""
    return run is not None and (_through_days_off(run[1]) - run[0]).days + 1 >= DROPOUT_WEEKS * 7


def _through_days_off(last: date) -> date:
    """The last day of absence, carried over the days off that follow it: a pupil absent Monday to
    Friday for four weeks has missed four whole weeks, weekends included."""
    day = last
    for _ in range(14):  # the longest run of days off (Spring Festival, National Day) is shorter
        if workdays.is_workday(day + timedelta(days=1))[0]:
            break
        day += timedelta(days=1)
    return day


def _only_days_off(after: date, before: date) -> bool:
    day = after + timedelta(days=1)
    while day < before:
        if workdays.is_workday(day)[0]:
            return False
        day += timedelta(days=1)
    return True
