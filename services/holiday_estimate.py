"""An estimate of a year's statutory holidays, for a year whose State Council notice is not known.

The deadlines of 第十三–十六条 count 工作日. A year is known when the province has entered its
State Council notice (models/calendar.py OfficialCalendarYear) or when chinese-calendar carries
it; any other year is estimated here from 全国年节及纪念日放假办法 and the shape of the recent
notices (2025 and 2026, as chinese-calendar has them):

- 元旦: 1 January;
- 春节: 除夕 through 正月初七, 8 days (2025: 1-28…2-04; 2026: 2-15 (a Sunday) …2-23);
- 清明: the day of the solar term 清明;
- 劳动节: 1–5 May;
- 端午 and 中秋: lunar 5/5 and 8/15;
- 国庆: 1–7 October, or 8 days with 中秋 when 中秋 falls between 29 September and 8 October
  (2023: 9-29…10-06; 2025: 10-01…10-08).

A one-day festival follows the usual bridging: on a Tuesday the Monday before is off too, on a
Thursday the Friday after, on a Saturday or Sunday the Monday after (补休).

Make-up working days (调休上班) are left out on purpose: an estimate may then put a deadline a
day or two late, but never on a day the notice is likely to give off. Days outside the year
(a bridge to 31 December of the year before) are left out too: that day belongs to a year whose
own answer comes first. Lunar dates and the solar term come from lunar-python, not hand-written
astronomy.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar

SPRING_FESTIVAL_DAYS = 8  # 除夕 … 初七
LABOUR_DAY_DAYS = 5
NATIONAL_DAY_DAYS = 7
NATIONAL_DAY_WITH_MID_AUTUMN_DAYS = 8


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def lunar_date(year: int, month: int, day: int) -> date:
    """The Gregorian date of a day of the lunar year `year` (month 1 = 正月)."""
    return _solar(Lunar.fromYmd(year, month, day))


def qingming(year: int) -> date:
    """The day of the solar term 清明 (about 4–5 April)."""
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _span(first: date, days: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(days)]


def _one_day_festival(day: date) -> list[date]:
    """The festival and the weekday the notice usually joins to the weekend."""
    weekday = day.weekday()
    if weekday == 1:  # Tuesday: Saturday–Tuesday off
        return [day - timedelta(days=1), day]
    if weekday == 3:  # Thursday: Thursday–Sunday off
        return [day, day + timedelta(days=1)]
    if weekday >= 5:  # on a weekend: the Monday after is given instead (补休)
        return [day, day + timedelta(days=7 - weekday)]
    return [day]


def _national_day(year: int, mid_autumn: date) -> list[date]:
    october_first = date(year, 10, 1)
    if date(year, 9, 29) <= mid_autumn <= date(year, 10, 8):  # one long holiday with 中秋
        return _span(min(mid_autumn, october_first), NATIONAL_DAY_WITH_MID_AUTUMN_DAYS)
    return _span(october_first, NATIONAL_DAY_DAYS)


@lru_cache(maxsize=256)
def estimated_holidays(year: int) -> frozenset[date]:
    """The days of `year` an estimate counts as holidays (weekends aside); see the module doc."""
    new_year_eve = lunar_date(year, 1, 1) - timedelta(days=1)  # 除夕: the day before 正月初一
    mid_autumn = lunar_date(year, 8, 15)
    days: list[date] = []
    days += _one_day_festival(date(year, 1, 1))
    days += _span(new_year_eve, SPRING_FESTIVAL_DAYS)
    days += _one_day_festival(qingming(year))
    days += _span(date(year, 5, 1), LABOUR_DAY_DAYS)
    days += _one_day_festival(lunar_date(year, 5, 5))
    national = _national_day(year, mid_autumn)
    if mid_autumn not in national:
        days += _one_day_festival(mid_autumn)
    days += national
    return frozenset(d for d in days if d.year == year)


def is_estimated_workday(day: date) -> bool:
    """Monday–Friday and not an estimated holiday."""
    return day.weekday() < 5 and day not in estimated_holidays(day.year)
