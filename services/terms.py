"""School terms and the transfer window (第十五条: 转学手续一般在学期结束前或新学期开学后1个月内办理).

A transfer is handled before the current term ends or within the first month of a new term;
both halves together are "in term time". In the vacation between a term's end and the next
term's start the window is closed, and only the supervising authority may override it, saying why.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app


def _bounds(year: int, start: str, end: str) -> tuple[date, date]:
    s = date(year, int(start[:2]), int(start[3:]))
    e = date(year, int(end[:2]), int(end[3:]))
    if e < s:  # the autumn term ends in the next calendar year
        e = date(year + 1, e.month, e.day)
    return s, e


def current_term(day: date) -> tuple[date, date] | None:
    """(start, end) of the term that contains `day`, or None in a vacation."""
    for start, end in current_app.config["TERMS"]:
        for year in (day.year - 1, day.year):
            s, e = _bounds(year, start, end)
            if s <= day <= e:
                return s, e
    return None


def in_transfer_window(day: date) -> bool:
    return current_term(day) is not None


def term_of(day: date) -> tuple[date, date]:
    """(start, end) of the term containing `day`, or of the next term in a vacation."""
    term = current_term(day)
    while term is None:
        day = date.fromordinal(day.toordinal() + 1)
        term = current_term(day)
    return term


def is_second_term(term: tuple[date, date]) -> bool:
    """Whether a term (from `current_term` or `term_of`) is the second of a school year (下学期, the last of TERMS)."""
    start = current_app.config["TERMS"][-1][0]
    return (term[0].month, term[0].day) == (int(start[:2]), int(start[3:]))


def in_second_term(day: date) -> bool:
    """Whether `day` lies in the second term of a school year (not in the vacation before it)."""
    term = current_term(day)
    return term is not None and is_second_term(term)


def term_end(day: date) -> date:
    """The last day of the term containing `day`, or of the next term in a vacation."""
    return term_of(day)[1]


def one_year_after(day: date) -> date:
    """The last day of a school year's suspension that starts on `day` (29 Feb → 27 Feb)."""
    try:
        return day.replace(year=day.year + 1) - timedelta(days=1)
    except ValueError:
        return date(day.year + 1, 2, 28) - timedelta(days=1)
