"""The working-day calendar against the database: official entries, duplicates, who may edit.

The view tests use the app's own CalendarDayView when admin/__init__.py registers it, else a
second app on the same test database with the view registered there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.calendar import CalendarDay
from models.people import User
from services.calendar_notices import save_calendar_day
from services.errors import RuleViolation
from services.workdays import Deadline, add_workdays, is_workday, workdays_between
from tests.conftest import login


def user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@xueji.demo"))


def enter(day: date, workday: bool, note: str, who: str = "province") -> CalendarDay:
    row = save_calendar_day(CalendarDay(day=day, is_workday=workday, note=note), user(who))
    db.session.commit()
    return row


def test_single_day_entries_for_2027_do_not_make_the_year_official(ctx):
    # Before: any row in 2027 made all of 2027 count as entered (no * mark). A single day is an
    # adjustment now; only the whole State Council notice makes a year official
    # (tests/test_calendar_notices.py).
    start = date(2026, 12, 24)
    assert add_workdays(start, 10) == Deadline(date(2027, 1, 8), True)  # estimated: Fri Jan 1 is 元旦

    enter(date(2027, 1, 1), False, "2027年元旦")
    enter(date(2027, 1, 9), True, "调休上班")

    assert is_workday(date(2027, 1, 1)) == (False, True)
    assert is_workday(date(2027, 1, 9)) == (True, True)  # the adjustment counts, the year is still a guess
    assert is_workday(date(2027, 1, 4)) == (True, True)
    assert add_workdays(start, 10) == Deadline(date(2027, 1, 8), True)
    assert add_workdays(start, 11) == Deadline(date(2027, 1, 9), True)  # the 调休 Saturday counts
    assert workdays_between(start, date(2027, 1, 8)) == (10, True)
    assert add_workdays(date(2027, 12, 10), 10).estimated is True


def test_entry_overrides_the_library_and_edits_count_at_once(ctx):
    row = enter(date(2026, 10, 8), False, "防汛停课")  # the province closes offices one more day
    assert add_workdays(date(2026, 9, 30), 1) == Deadline(date(2026, 10, 9), False)
    row.is_workday = True
    save_calendar_day(row, user("province"))
    db.session.commit()
    assert add_workdays(date(2026, 9, 30), 1) == Deadline(date(2026, 10, 8), False)


def test_duplicate_calendar_day_is_refused(ctx):
    enter(date(2027, 1, 1), False, "2027年元旦")
    with pytest.raises(RuleViolation) as refused:
        save_calendar_day(CalendarDay(day=date(2027, 1, 1), is_workday=True, note="again"), user("province"))
    assert refused.value.problems[0][0] == "day"
    assert "2027-01-01" in refused.value.problems[0][1]
    db.session.rollback()

    other, province = enter(date(2027, 1, 2), False, ""), user("province")
    other.day = date(2027, 1, 1)  # moving an entry onto a taken day is a duplicate too
    with pytest.raises(RuleViolation):
        save_calendar_day(other, province)
    db.session.rollback()
    assert db.session.scalars(select(CalendarDay.note).order_by(CalendarDay.day)).all() == ["2027年元旦", None]


@pytest.mark.parametrize("who, allowed", [
    ("admin", True), ("province", True),
    ("shenyang", False), ("heping", False), ("school-heping1", False),
])
def test_only_province_and_admin_edit_the_calendar(ctx, who, allowed):
    row = CalendarDay(day=date(2027, 2, 6), is_workday=False, note="2027年春节")
    if not allowed:
        with pytest.raises(RuleViolation):
            save_calendar_day(row, user(who))
        return
    save_calendar_day(row, user(who))
    db.session.commit()
    assert row.created_by_id == user(who).id
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_type == "calendar_day")) == "calendar.create"


# --- the admin view, on a private app ---------------------------------------------


@pytest.fixture(scope="module")
def calendar_app(app: Flask) -> Iterator[Flask]:
    if "calendar" in app.blueprints:
        yield app
        return
    from flask_babel import lazy_gettext as _l

    from admin.calendar import CalendarDayView
    from app import create_app
    from config import TestConfig

    private = create_app(TestConfig())  # same test database as `app`
    admin = private.extensions["admin"][0]
    admin.add_view(CalendarDayView(name=_l("Official calendar"), endpoint="calendar", category=_l("Organisation")))
    yield private


def test_every_user_reads_the_calendar_but_only_the_province_edits(calendar_app):
    with calendar_app.app_context():
        new_year = enter(date(2027, 1, 1), False, "2027年元旦").id

    school = login(calendar_app, "school-heping1@xueji.demo")
    page = school.get("/admin/calendar/").get_data(as_text=True)
    assert "2027年元旦" in page and "/admin/calendar/new/" not in page
    assert school.get("/admin/calendar/new/").status_code == 302  # Flask-Admin sends it back to the list
    county = login(calendar_app, "heping@xueji.demo")
    token = county.csrf("/admin/school/new/")  # the list shows no form to a reader
    county.post("/admin/calendar/new/", data={"csrf_token": token, "day": "2027-01-02", "note": "x"})
    county.post(f"/admin/calendar/edit/?id={new_year}", data={"csrf_token": token, "day": "2027-01-01", "is_workday": "y"})
    county.post("/admin/calendar/delete/", data={"csrf_token": token, "id": str(new_year)})
    with calendar_app.app_context():
        assert db.session.scalar(select(CalendarDay).where(CalendarDay.day == date(2027, 1, 2))) is None
        assert db.session.get(CalendarDay, new_year).is_workday is False

    province = login(calendar_app, "province@xueji.demo")
    resp = province.post_form("/admin/calendar/new/", {"day": "2027-01-09", "is_workday": "y", "note": "调休上班"})
    assert resp.status_code == 302
    dup = province.post_form("/admin/calendar/new/", {"day": "2027-01-09", "note": "again"})
    assert dup.status_code == 200  # the form again, with the field's error
    province.post_form("/admin/calendar/delete/", {"id": str(new_year)}, token_from="/admin/calendar/")
    with calendar_app.app_context():
        rows = db.session.scalars(select(CalendarDay).order_by(CalendarDay.day)).all()
        assert [(r.day, r.is_workday, r.note, r.created_by.email) for r in rows] == [
            (date(2027, 1, 9), True, "调休上班", "province@xueji.demo")
        ]
        assert db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "calendar.delete")) == "2027-01-01 2027年元旦"


@contextmanager
def _calendar_reads() -> Iterator[list[str]]:
    """The statements that read the calendar's two tables while the block runs."""
    from sqlalchemy import event

    reads: list[str] = []

    def count(conn, cursor, statement, params, context, many):
        if "calendar_day" in statement or "official_calendar_year" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield reads
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_page_reads_the_calendar_once_for_all_its_deadlines(app: Flask) -> None:
    """A GET page (a request queue shows twenty deadlines) shares the years it has read; the numbers
    are those of a fresh read, across New Year and the Spring Festival."""
    from datetime import timedelta

    days = [date(2027, 1, 4) + timedelta(days=3 * i) for i in range(20)]  # to 2027-02-27 (春节 2027-02-06)
    with app.app_context():  # no request: every computation reads afresh
        fresh = [workdays_between(date(2026, 12, 28), d) for d in days]
    with app.test_request_context("/admin/requests/"), _calendar_reads() as reads:
        shared = [workdays_between(date(2026, 12, 28), d) for d in days]
        assert len(reads) == 2  # calendar_day and official_calendar_year, 2026 and 2027 in one read each
    assert shared == fresh


def test_a_calendar_change_is_seen_by_the_same_page_and_a_post_reads_afresh(app: Flask, ctx) -> None:
    start, end = date(2027, 3, 1), date(2027, 3, 12)
    with app.test_request_context("/admin/calendar/"):
        before, _estimated = workdays_between(start, end)
        enter(date(2027, 3, 10), False, "临时停课")  # flushed and committed in this request
        after, _estimated = workdays_between(start, end)
        assert after == before - 1
    with app.test_request_context("/admin/requests/", method="POST"), _calendar_reads() as reads:
        workdays_between(start, end)
        workdays_between(start, end)
        assert len(reads) == 4  # no sharing outside a GET page: two reads of the two tables
