"""The POST handlers that go through admin/base.attempt and run_command: a refusal and a concurrent
change (StaleDataError, IntegrityError) are each a Chinese message on the next page, nothing of the
action is kept (every table as it was) and a form shows again what was typed.

A race is the service doing all its work and then failing as the commit of a concurrent change
would (tests/admin/outcomes.then_raise). A refusal is the service's own, where the page can reach
it; where the page already prevents it (promotion: the preview says why first; a calendar day: the
form checks the day and the note first, only an editor sees the buttons), the service is made to
refuse after its work, with its own words."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import func, select

import admin.calendar
import admin.org
from extensions import db
from models.calendar import CalendarDay
from models.lifecycle import arranging
from models.org import OrgUnit
from models.student import Student
from services import calendar_notices, promotion, registrars
from services.errors import RuleViolation
from services.imports import jobs
from services.oversight import campaigns
from services.rosters import submissions
from tests.admin.outcomes import STALE_WORDS, clash, stale, table_counts, text, then_raise, words
from tests.helpers import HEPING1, HEPING2, pupil_of, school
from tests.transfer_helpers import at

CALENDAR_ONLY = "Only the provincial education department or an administrator may edit the working-day calendar."


def _id_of(app, code: str) -> int:
    with app.app_context():
        unit_id = school(code).id
        db.session.remove()
    return unit_id


# --- the working-day calendar ---------------------------------------------------------------------

NOTICE = {"year": "2031", "notice_number": "国办发明电〔2030〕1号", "days_off": "2031-01-01", "make_up_days": "",
          "notice_text": ""}


def test_calendar_notice_refused_to_a_school_and_a_race_keep_nothing(app, as_user, monkeypatch):
    school_user, province = as_user("school-heping1"), as_user("province")
    before = table_counts(app)  # after the logins, which are audited
    resp = school_user.post_form("/admin/calendar_notices/new/", NOTICE, token_from="/admin/", follow_redirects=True)
    assert words(app, CALENDAR_ONLY) in text(resp)

    monkeypatch.setattr(calendar_notices, "save_notice", then_raise(calendar_notices.save_notice, clash()))
    resp = province.post_form("/admin/calendar_notices/new/", NOTICE)
    assert resp.status_code == 200 and words(app, STALE_WORDS) in text(resp)
    assert NOTICE["notice_number"] in text(resp)  # the form again, with what was typed
    assert table_counts(app) == before


def test_calendar_day_refusal_and_races_on_create_and_delete(app, as_user, monkeypatch):
    province = as_user("province")
    assert province.post_form("/admin/calendar/new/", {"day": "2031-01-11", "is_workday": "y", "note": "调休上班"}).status_code == 302
    with app.app_context():
        day_id = db.session.scalar(select(CalendarDay.id).where(CalendarDay.day == date(2031, 1, 11)))
        db.session.remove()
    before = table_counts(app)

    real_save = admin.calendar.save_calendar_day
    too_long = "The note may have at most 50 characters."
    for failure, message in ((RuleViolation([("note", words(app, too_long))]), too_long), (clash(), STALE_WORDS)):
        monkeypatch.setattr(admin.calendar, "save_calendar_day", then_raise(real_save, failure))
        resp = province.post_form("/admin/calendar/new/", {"day": "2031-01-12", "note": "防汛停课"})
        assert resp.status_code == 200 and words(app, message) in text(resp)
    assert table_counts(app) == before

    delete = {"id": str(day_id)}
    monkeypatch.setattr(admin.calendar, "calendar_day_deleted", then_raise(admin.calendar.calendar_day_deleted, stale()))
    resp = province.post_form("/admin/calendar/delete/", delete, token_from="/admin/calendar/", follow_redirects=True)
    assert words(app, STALE_WORDS) in text(resp)
    refused = RuleViolation(words(app, CALENDAR_ONLY))
    monkeypatch.setattr(admin.calendar, "delete_calendar_day", then_raise(admin.calendar.delete_calendar_day, refused))
    resp = province.post_form("/admin/calendar/delete/", delete, token_from="/admin/calendar/", follow_redirects=True)
    assert words(app, CALENDAR_ONLY) in text(resp)
    assert table_counts(app) == before  # the day, its audit and every due date as they were
    with app.app_context():
        assert db.session.get(CalendarDay, day_id).note == "调休上班"
        db.session.remove()


# --- schools merged and closed (第十条) ---------------------------------------------------------------


def test_school_handover_refusal_and_race_keep_the_school_and_its_pupils(app, as_user, monkeypatch):
    heping1, heping2 = _id_of(app, HEPING1), _id_of(app, HEPING2)
    with app.app_context():
        enrolled = db.session.scalar(select(func.count()).select_from(Student).where(
            Student.school_id == heping2, Student.status == "enrolled"))
        db.session.remove()
    county = as_user("heping")
    before = table_counts(app)
    page = f"/admin/school/{heping2}/close"
    resp = county.post_form(page, {"target": str(heping1)})
    message = "%(n)d pupils are still in school here; transfer them before closing the school."
    assert resp.status_code == 200 and words(app, message, n=enrolled) in text(resp)

    monkeypatch.setattr(admin.org, "merge_schools", then_raise(admin.org.merge_schools, stale()))
    page = f"/admin/school/{heping2}/merge"
    resp = county.post_form(page, {"target": str(heping1)})
    assert resp.status_code == 200 and words(app, STALE_WORDS) in text(resp)
    assert table_counts(app) == before
    with app.app_context():
        assert db.session.get(OrgUnit, heping2).active
        assert db.session.scalar(select(func.count()).select_from(Student).where(
            Student.school_id == heping2, Student.status == "enrolled")) == enrolled
        db.session.remove()


# --- summer promotion -----------------------------------------------------------------------------


def test_promotion_refusal_and_race_move_nobody(app, as_user, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            pupil.grade, pupil.status = 2, "enrolled"
        db.session.commit()
        pupil_id = pupil.id
    c = as_user("school-heping1")
    before = table_counts(app)
    run = {"unit_code": HEPING1, "school_year": "2027", "checked": "y"}
    refusal = "Promotion is run by a school for itself or by an education authority for its area."
    real = promotion.promote
    for failure, message in ((RuleViolation(words(app, refusal)), refusal), (stale(), STALE_WORDS)):
        monkeypatch.setattr(promotion, "promote", then_raise(real, failure))
        resp = c.post_form("/admin/promotion/", run)
        assert resp.status_code == 200 and words(app, message) in text(resp)
    assert table_counts(app) == before
    with app.app_context():
        assert db.session.get(Student, pupil_id).grade == 2
        db.session.remove()


# --- registrars (第二十六条) ---------------------------------------------------------------------------


def test_registrar_refusal_shows_by_its_field_and_a_race_is_a_message_the_form_kept(app, as_user, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    c = as_user("principal-heping1")
    before = table_counts(app)
    typed = {"name": "王丽", "phone": "13912345678", "appointed_on": "2026-11-03", "full_time": "1", "formal_staff": "1"}
    resp = c.post_form("/admin/registrars/add", typed, token_from="/admin/registrars/")
    assert resp.status_code == 200 and words(app, "The date of appointment cannot be in the future.") in text(resp)
    assert 'value="王丽"' in text(resp)

    monkeypatch.setattr(registrars, "add", then_raise(registrars.add, clash()))
    resp = c.post_form("/admin/registrars/add", {**typed, "appointed_on": "2024-09-01"}, token_from="/admin/registrars/")
    assert resp.status_code == 200 and words(app, STALE_WORDS) in text(resp) and 'value="王丽"' in text(resp)
    assert table_counts(app) == before


# --- the term data check (第二十七条) ------------------------------------------------------------------


def test_data_check_refusal_and_race_start_nothing(app, as_user, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    c = as_user("heping")
    before = table_counts(app)
    check = {"title": "2026年秋季学期学籍数据核查", "due_on": "2026-10-30"}
    resp = c.post_form("/admin/campaigns/new", check, token_from="/admin/campaigns/", follow_redirects=True)
    assert words(app, "The due date cannot be in the past.") in text(resp)
    monkeypatch.setattr(campaigns, "start_campaign", then_raise(campaigns.start_campaign, clash()))
    resp = c.post_form("/admin/campaigns/new", {**check, "due_on": "2026-11-20"}, token_from="/admin/campaigns/",
                       follow_redirects=True)
    assert words(app, STALE_WORDS) in text(resp)
    assert table_counts(app) == before


# --- registers submitted (第十二条) -----------------------------------------------------------------


def test_register_submission_refusal_and_race_submit_nothing(app, as_user, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    county, registrar = as_user("heping"), as_user("school-heping1")
    before = table_counts(app)
    url, token_from = "/admin/rosters/submit/new?year=2026", "/admin/rosters/?year=2026"
    resp = county.post_form(url, {"checked": "y"}, token_from=token_from, follow_redirects=True)
    assert words(app, "Only the school's own staff submit its registers.") in text(resp)
    monkeypatch.setattr(submissions, "submit", then_raise(submissions.submit, stale()))
    resp = registrar.post_form(url, {"checked": "y"}, token_from=token_from, follow_redirects=True)
    assert words(app, STALE_WORDS) in text(resp)
    assert table_counts(app) == before


# --- import of pupils -------------------------------------------------------------------------------


def test_import_refusal_and_race_are_said_with_the_file_and_import_nothing(app, as_user, monkeypatch):
    c = as_user("school-heping1")
    before = table_counts(app)

    def upload(data: bytes):
        return c.post_form("/admin/imports/upload", {"school": HEPING1, "file": (io.BytesIO(data), "新生名单.xlsx")},
                           token_from="/admin/imports/", content_type="multipart/form-data")

    resp = upload(b"")
    assert resp.status_code == 400 and f"新生名单.xlsx：{words(app, 'The file is empty.')}" in text(resp)

    def racing(*args: object, **kw: object) -> None:
        raise clash()

    monkeypatch.setattr(jobs, "submit_upload", racing)
    resp = upload(b"PK\x03\x04 not looked at")
    assert resp.status_code == 400 and words(app, STALE_WORDS) in text(resp)
    assert table_counts(app) == before

