"""Working days without a database: `overrides={}` stands for an empty CalendarDay table (no
single-day adjustments) and no entered notice; `notices=` stands for entered notices."""

from datetime import date, timedelta

from chinese_calendar import constants
from chinese_calendar import is_workday as constants_is_workday
from hypothesis import given
from hypothesis import strategies as st

from services.holiday_estimate import estimated_holidays, is_estimated_workday, lunar_date, qingming
from services.workdays import (
    SOURCE_ESTIMATE,
    SOURCE_LIBRARY,
    SOURCE_NOTICE,
    Deadline,
    YearNotice,
    add_workdays,
    is_workday,
    workdays_between,
    year_source,
)

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


def test_deadline_crossing_into_2027_is_estimated_and_skips_new_years_day():
    # chinese-calendar 1.11 has no 2027: the year is estimated from its statutory holidays.
    # (Before: Monday–Friday only, so Fri 2027-01-01, 元旦, counted as a working day.)
    assert is_workday(date(2027, 1, 1), overrides=NONE) == (False, True)
    assert is_workday(date(2027, 1, 2), overrides=NONE) == (False, True)
    assert is_workday(date(2027, 1, 4), overrides=NONE) == (True, True)
    # Thu 2026-12-24: Dec 25, Dec 28–31, then 2027 estimated: Jan 4–8.
    assert add_workdays(date(2026, 12, 24), 10, overrides=NONE) == Deadline(date(2027, 1, 8), True)
    # Within 2026 the same rule is exact.
    assert add_workdays(date(2026, 12, 24), 5, overrides=NONE) == Deadline(date(2026, 12, 31), False)


def test_ten_workdays_from_18_december_2026_do_not_end_on_new_years_day_2027():
    # Fri 2026-12-18: Dec 21–25, Dec 28–31 (9), Jan 1 is 元旦, Jan 2–3 a weekend → Mon Jan 4.
    assert add_workdays(date(2026, 12, 18), 10, overrides=NONE) == Deadline(date(2027, 1, 4), True)


def test_single_day_adjustments_do_not_make_2027_official():
    # Two days typed in for 2027 are not the State Council notice: 2027 stays estimated.
    adjustments = {date(2027, 1, 1): False, date(2027, 1, 9): True}
    assert is_workday(date(2027, 1, 9), overrides=adjustments) == (True, True)
    assert add_workdays(date(2026, 12, 24), 10, overrides=adjustments) == Deadline(date(2027, 1, 8), True)
    assert add_workdays(date(2026, 12, 24), 11, overrides=adjustments) == Deadline(date(2027, 1, 9), True)


def test_entered_2027_notice_makes_2027_official_without_a_database():
    notice = {2027: YearNotice(days_off=frozenset({date(2027, 1, 1)}), make_up_days=frozenset({date(2027, 1, 9)}))}
    assert add_workdays(date(2026, 12, 24), 10, notices=notice) == Deadline(date(2027, 1, 8), False)
    assert add_workdays(date(2026, 12, 24), 11, notices=notice) == Deadline(date(2027, 1, 9), False)  # the 调休 Saturday
    assert is_workday(date(2027, 2, 8), notices=notice) == (True, False)  # only what the notice says is off
    assert year_source(2027, notices=notice) == SOURCE_NOTICE
    assert year_source(2027, notices={}) == SOURCE_ESTIMATE
    assert year_source(2026, notices={}) == SOURCE_LIBRARY
    # A single-day adjustment still wins over the notice for its own day.
    assert is_workday(date(2027, 1, 8), overrides={date(2027, 1, 8): False}, notices=notice) == (False, False)


def test_estimated_2027_has_the_statutory_holidays_with_lunar_dates():
    off = {d for d in estimated_holidays(2027)}
    assert date(2027, 1, 1) in off  # 元旦 (a Friday)
    # 春节: 除夕 is 2027-02-05, 正月初一 2027-02-06; 除夕 … 初七 off.
    assert lunar_date(2027, 1, 1) == date(2027, 2, 6)
    assert {date(2027, 2, 5) + timedelta(i) for i in range(8)} <= off
    assert is_workday(date(2027, 2, 4), overrides=NONE) == (True, True)
    assert is_workday(date(2027, 2, 15), overrides=NONE) == (True, True)
    assert qingming(2027) == date(2027, 4, 5) and date(2027, 4, 5) in off  # 清明, a Monday
    assert {date(2027, 5, d) for d in range(1, 6)} <= off  # 劳动节
    assert lunar_date(2027, 5, 5) == date(2027, 6, 9) and date(2027, 6, 9) in off  # 端午
    assert lunar_date(2027, 8, 15) == date(2027, 9, 15) and date(2027, 9, 15) in off  # 中秋
    assert {date(2027, 10, d) for d in range(1, 8)} <= off  # 国庆
    assert is_workday(date(2027, 10, 8), overrides=NONE) == (True, True)
    for day in off:
        assert is_workday(day, overrides=NONE) == (False, True)
    # From Thu 2027-09-30: Oct 1–7 off, Fri Oct 8 is the first working day.
    assert add_workdays(date(2027, 9, 30), 1, overrides=NONE) == Deadline(date(2027, 10, 8), True)


def test_estimate_agrees_with_the_official_2025_and_2026_notices_on_every_weekday():
    # chinese-calendar carries the State Council notices of 2025 and 2026 (2026: 春节 Feb 15–23).
    for year in (2025, 2026):
        days = [date(year, 1, 1) + timedelta(i) for i in range(365)]
        official = {d for d in days if d.weekday() < 5 and not constants_is_workday(d)}
        assert {d for d in estimated_holidays(year) if d.weekday() < 5} == official
    assert {date(2026, 2, d) for d in range(16, 24)} <= estimated_holidays(2026)


def test_mid_autumn_next_to_national_day_makes_one_eight_day_holiday():
    # 2025: 中秋 on Oct 6 → Oct 1–8 off (as the 2025 notice); 2028: 中秋 on Oct 3, estimated alike.
    assert {date(2025, 10, d) for d in range(1, 9)} <= estimated_holidays(2025)
    assert {date(2028, 10, d) for d in range(1, 9)} <= estimated_holidays(2028)


def test_workdays_between_counts_days_left_and_overdue():
    due = date(2026, 10, 16)
    assert workdays_between(date(2026, 9, 28), due, overrides=NONE) == (10, False)
    assert workdays_between(date(2026, 9, 30), due, overrides=NONE) == (8, False)  # the holiday week costs nothing
    assert workdays_between(due, due, overrides=NONE) == (0, False)  # due today
    assert workdays_between(date(2026, 10, 17), due, overrides=NONE) == (0, False)  # the Saturday after: not yet late
    assert workdays_between(date(2026, 10, 19), due, overrides=NONE) == (-1, False)  # one working day overdue
    assert workdays_between(date(2026, 10, 8), date(2026, 9, 30), overrides=NONE) == (-1, False)
    assert workdays_between(date(2026, 12, 24), date(2027, 1, 8), overrides=NONE) == (10, True)


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    n=st.integers(min_value=-30, max_value=30),
)
def test_any_date_never_crashes(day, n):
    workday, estimated = is_workday(day, overrides=NONE)
    assert estimated is not (2004 <= day.year <= 2026)  # chinese-calendar 1.11 covers 2004–2026
    if estimated:  # a year beyond the library: weekends and the estimated statutory holidays are off
        assert workday is is_estimated_workday(day)

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
