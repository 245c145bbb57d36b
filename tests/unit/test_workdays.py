"""Working days without a database: `overrides={}` stands for an empty CalendarDay table."""

from datetime import date, timedelta

from chinese_calendar import constants
from hypothesis import given
from hypothesis import strategies as st

from services.workdays import Deadline, add_workdays, is_workday, workdays_between

NONE: dict[date, bool] = {}  # no official entries: chinese-calendar, then the weekend fallback


def test_ten_workdays_from_a_plain_monday_is_the_monday_two_weeks_later():
    # 2026-03-02 is a Monday; no holiday until 清明 (April 4).
    assert add_workdays(date(2026, 3, 2), 10, overrides=NONE) == Deadline(date(2026, 3, 16), False)
    assert add_workdays(date(2026, 3, 2), 0, overrides=NONE) == Deadline(date(2026, 3, 2), False)
    assert add_workdays(date(2026, 3, 16), -10, overrides=NONE) == Deadline(date(2026, 3, 2), False)


def test_national_day_week_is_not_counted():
    # chinese-calendar 2026: 国庆 Oct 1 (Thu) – Oct 7 (Wed) off; Sat Oct 10 is a 调休 working day.
    assert all(constants.holidays.get(date(2026, 10, d)) for d in range(1, 8))
    assert all(is_workday(date(2026, 10, d), overrides=NONE) == (False, False) for d in range(1, 8))
    assert add_workdays(date(2026, 9, 30), 1, overrides=NONE).due == date(2026, 10, 8)
    # From Mon Sep 28: Sep 29, 30, Oct 8, 9, Sat Oct 10, Oct 12–16 → Fri Oct 16 (not Mon Oct 12).
    assert add_workdays(date(2026, 9, 28), 10, overrides=NONE) == Deadline(date(2026, 10, 16), False)


def test_spring_festival_2026_is_skipped():
    # 春节 2026: Feb 15 (Sun) – Feb 23 (Mon) off; Saturdays Feb 14 and Feb 28 are worked.
    assert all(is_workday(date(2026, 2, d), overrides=NONE)[0] is False for d in range(15, 24))
    assert add_workdays(date(2026, 2, 14), 1, overrides=NONE).due == date(2026, 2, 24)
    # From Mon Feb 9: Feb 10–13, Sat 14, (holiday), Feb 24–27, Sat 28.
    assert add_workdays(date(2026, 2, 9), 10, overrides=NONE) == Deadline(date(2026, 2, 28), False)


def test_make_up_saturday_counts_as_workday():
    make_up_saturdays = sorted(d for d in constants.workdays if d.year == 2026 and d.weekday() == 5)
    assert date(2026, 10, 10) in make_up_saturdays  # 国庆调休
    for day in make_up_saturdays:
        assert is_workday(day, overrides=NONE) == (True, False)
    assert add_workdays(date(2026, 10, 9), 1, overrides=NONE).due == date(2026, 10, 10)


def test_deadline_crossing_into_2027_is_estimated_with_weekend_fallback():
    # chinese-calendar 1.11 has no 2027: its is_workday raises NotImplementedError for it.
    assert is_workday(date(2027, 1, 1), overrides=NONE) == (True, True)  # a Friday, by the fallback
    assert is_workday(date(2027, 1, 2), overrides=NONE) == (False, True)
    # Thu 2026-12-24: Dec 25, Dec 28–31, then 2027 by weekdays only: Jan 1, Jan 4–7.
    assert add_workdays(date(2026, 12, 24), 10, overrides=NONE) == Deadline(date(2027, 1, 7), True)
    # Within 2026 the same rule is exact.
    assert add_workdays(date(2026, 12, 24), 5, overrides=NONE) == Deadline(date(2026, 12, 31), False)


def test_official_entries_for_2027_override_the_fallback_without_a_database():
    notice = {date(2027, 1, 1): False, date(2027, 1, 9): True}
    assert add_workdays(date(2026, 12, 24), 10, overrides=notice) == Deadline(date(2027, 1, 8), False)
    assert add_workdays(date(2026, 12, 24), 15, overrides=notice) == Deadline(date(2027, 1, 14), False)


def test_workdays_between_counts_days_left_and_overdue():
    due = date(2026, 10, 16)
    assert workdays_between(date(2026, 9, 28), due, overrides=NONE) == (10, False)
    assert workdays_between(date(2026, 9, 30), due, overrides=NONE) == (8, False)  # the holiday week costs nothing
    assert workdays_between(due, due, overrides=NONE) == (0, False)  # due today
    assert workdays_between(date(2026, 10, 17), due, overrides=NONE) == (0, False)  # the Saturday after: not yet late
    assert workdays_between(date(2026, 10, 19), due, overrides=NONE) == (-1, False)  # one working day overdue
    assert workdays_between(date(2026, 10, 8), date(2026, 9, 30), overrides=NONE) == (-1, False)
    assert workdays_between(date(2026, 12, 24), date(2027, 1, 7), overrides=NONE) == (10, True)


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    n=st.integers(min_value=-30, max_value=30),
)
def test_any_date_never_crashes(day, n):
    workday, estimated = is_workday(day, overrides=NONE)
    assert estimated is not (2004 <= day.year <= 2026)  # chinese-calendar 1.11 covers 2004–2026
    if estimated:
        assert workday is (day.weekday() < 5)

    deadline = add_workdays(day, n, overrides=NONE)
    if n == 0:
        assert deadline.due == day
    else:
        assert (deadline.due > day) is (n > 0)
        assert is_workday(deadline.due, overrides=NONE)[0]
        if n > 0:  # n working days in (day, due]
            count, estimated = workdays_between(day, deadline.due, overrides=NONE)
        else:  # backwards: |n| working days in [due, day)
            count, estimated = workdays_between(day - timedelta(1), deadline.due - timedelta(1), overrides=NONE)
        assert count == n and estimated == deadline.estimated
        # Weekends alone never stretch 30 working days past ~6 weeks; holidays add at most a few weeks.
        assert abs((deadline.due - day).days) < abs(n) * 7 // 5 + 30
