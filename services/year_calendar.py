"""The end-of-year calendar of the province: the configured month-days (config.py) as dates.

SCHOOL_YEAR_END, PROMOTION_WINDOW, GRADUATION_OPENS, GRADUATION_DEADLINE and GRADUATION_LATE_UNTIL
are "MM-DD" strings, one set per deployment (one province). A value that is no calendar day stops
the operation with a message naming the setting, not with a 500 deep inside a query.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import format_date


class BadCalendarSetting(ValueError):
    """A configured month-day that is not one (e.g. "7-30", "02-30")."""


def _parse(key: str, value: str, year: int) -> date:
    try:
        month, day = value.strip().split("-")
        if len(month) != 2 or len(day) != 2:
            raise ValueError(value)
        return date(year, int(month), int(day))
    except (ValueError, AttributeError) as exc:
        raise BadCalendarSetting(f"{key}={value!r} is not a month-day MM-DD") from exc


def day(key: str, year: int) -> date:
    """The configured month-day `key` in the calendar year `year`."""
    return _parse(key, current_app.config[key], year)


def promotion_window(year: int) -> tuple[date, date]:
    """First and last day on which the summer promotion preparing the school year `year`–`year + 1`
    runs: PROMOTION_WINDOW, by default from the day after SCHOOL_YEAR_END to 31 August. It never
    starts before the school year has ended (第十二条: 正常升级 follows the end of the school year)."""
    ended = day("SCHOOL_YEAR_END", year)
    window = current_app.config.get("PROMOTION_WINDOW")
    if window is None:
        return ended + timedelta(days=1), date(year, 8, 31)
    if len(window) != 2:
        raise BadCalendarSetting(f"PROMOTION_WINDOW={window!r} is not two month-days MM-DD/MM-DD")
    start, end = (_parse("PROMOTION_WINDOW", value, year) for value in window)
    if end < start:
        raise BadCalendarSetting(f"PROMOTION_WINDOW={window!r} ends before it starts")
    if start <= ended:
        raise BadCalendarSetting(f"PROMOTION_WINDOW={window!r} starts before SCHOOL_YEAR_END has passed")
    return start, end


def words(d: date) -> str:
    """A day as the user reads it: 2027年7月30日 in Chinese."""
    return format_date(d, format="long")
