"""The daily sweeps (services/sweeps.py), each called directly with the clock moved: overdue steps
escalated once (across New Year and the Spring Festival, withdrawn requests left alone),
suspension-end reminders once per end date, dormant accounts, next year's calendar check."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.changes import COMPLETED, PENDING, WITHDRAWN, ChangeRequest, Notification
from models.lifecycle import StudentStatus, arranging
from models.org import OrgUnit
from models.status import Suspension
from models.student import Student
from services import calendar_notices, clock, sweeps, workdays
from services.change_codes import RESUMPTION, SUSPENSION
from services.queue import huey
from tests.helpers import HEPING1, pupil_of
from tests.transfer_helpers import approve, at, start, user

SHENHE1_SCHOOL_STEP = "school-shenhe1"  # step 1 of a transfer 沈河1 ← 和平1: the receiving school


@pytest.fixture
def sctx(app):
    with app.test_request_context():
        yield
        db.session.rollback()


def notes(unit_code: str, contains: str) -> list[Notification]:
    db.session.flush()
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    return [n for n in db.session.scalars(select(Notification).where(Notification.unit_id == unit.id)) if contains in n.message]


def unit_code_of(who: str) -> str:
    return user(who).unit.code


def audits(action: str) -> int:
    db.session.flush()  # the app's session does not autoflush
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)) or 0


def test_the_sweeps_are_scheduled_on_the_queue():
    names = {t.__name__ for t in huey._registry._periodic_tasks}
    assert {"overdue_steps_sweep", "suspension_expiry_sweep", "dormant_accounts_sweep", "calendar_sweep"} <= names


# --- (a) overdue steps --------------------------------------------------------------------------
def test_a_step_overdue_across_new_year_is_escalated_to_the_county_once(sctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 24))
    req = start()
    step = req.current_step
    assert step.due_date.year == 2027 and step.due_estimated  # 10 working days reach into an unofficial year
    county = unit_code_of("shenhe")
    at(monkeypatch, step.due_date)  # the last day is still in time
    assert sweeps.escalate_overdue_steps() == []
    at(monkeypatch, step.due_date + timedelta(days=1))
    assert [s.id for s in sweeps.escalate_overdue_steps()] == [step.id]
    db.session.commit()
    assert sweeps.escalate_overdue_steps() == []  # twice = once
    db.session.commit()
    db.session.refresh(step)
    assert step.escalated_at == clock.now()
    told = notes(county, "督办提醒")
    assert len(told) == 1 and f"#{req.id}" in told[0].message and "（估算）" in told[0].message and "强制干预" in told[0].message
    assert len(notes(unit_code_of(SHENHE1_SCHOOL_STEP), "超期提醒")) == 1
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "step.escalate"))
    assert row.object_id == str(req.id) and row.scope_path == step.unit.path and "超期" in row.detail
    # The next step is its own step: escalated once more when it, too, runs late.
    approve(req, SHENHE1_SCHOOL_STEP)
    second = req.current_step
    assert second.seq == 2 and second.escalated_at is None
    at(monkeypatch, second.due_date + timedelta(days=1))
    assert [s.id for s in sweeps.escalate_overdue_steps()] == [second.id]
    assert audits("step.escalate") == 2


def test_a_step_due_in_the_spring_festival_is_escalated_after_the_holiday_not_during_it(sctx, monkeypatch):
    at(monkeypatch, date(2027, 1, 28))
    req = start()
    step = req.current_step
    festival = [date(2027, 2, 5) + timedelta(days=i) for i in range(10)]
    off = [d for d in festival if d.weekday() < 5 and not workdays.is_workday(d)[0]]
    assert off, "the estimate of 2027 has weekdays off around 春节"
    assert step.due_date > max(off)  # the holiday does not count: the due date moves past it
    at(monkeypatch, max(off))
    assert step.id not in [s.id for s in sweeps.escalate_overdue_steps()]
    at(monkeypatch, step.due_date + timedelta(days=1))
    assert step.id in [s.id for s in sweeps.escalate_overdue_steps()]


def test_withdrawn_and_already_escalated_steps_are_left_alone(sctx, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    withdrawn = start()
    withdrawn.status = WITHDRAWN
    db.session.commit()
    other = start()  # the same pupil again, once the first request is withdrawn
    other.current_step.escalated_at = datetime(2026, 11, 20, 1, 10)
    db.session.commit()
    at(monkeypatch, date(2027, 1, 20))
    mine = {withdrawn.id, other.id}
    assert [s for s in sweeps.escalate_overdue_steps() if s.request_id in mine] == []
    assert other.current_step.escalated_at == datetime(2026, 11, 20, 1, 10)


def test_the_unit_above_a_directly_managed_school_is_its_supervisor(sctx):
    schools = db.session.scalars(select(OrgUnit).where(OrgUnit.level == "school")).all()
    for unit in schools:
        above = sweeps.unit_above(unit)
        assert above is not None and unit.path.startswith(above.path) and above.path != unit.path
        assert above == (unit.supervisor if unit.is_directly_managed else unit.parent)


# --- (b) suspension expiry ------------------------------------------------------------------------
def _suspend(pupil: Student, ends_on: date, **kw) -> Suspension:
    req = ChangeRequest(type=SUSPENSION, status=COMPLETED, student_id=pupil.id, from_school_id=pupil.school_id,
                        from_path=pupil.scope_path, requested_by_id=user("school-heping1").id, requester_unit_id=pupil.school_id)
    db.session.add(req)
    db.session.flush()
    with arranging():  # a past suspension, as the approved request left it
        pupil.status = StudentStatus.SUSPENDED
    row = Suspension(student_id=pupil.id, request_id=req.id, reason_kind="illness", grade=pupil.grade or 3,
                     starts_on=ends_on - timedelta(days=365), ends_on=ends_on, **kw)
    db.session.add(row)
    db.session.flush()
    return row


def test_the_school_is_reminded_of_each_suspension_end_once(sctx, monkeypatch):
    today = date(2027, 3, 1)  # a Monday
    at(monkeypatch, today)
    heping1 = db.session.scalars(select(Student).where(Student.scope_path == pupil_of(HEPING1).scope_path,
                                                       Student.status == StudentStatus.ENROLLED).order_by(Student.id)).all()
    expired = _suspend(heping1[0], date(2027, 2, 20))
    soon = _suspend(heping1[1], date(2027, 3, 5))  # within 5 working days
    later = _suspend(heping1[2], date(2027, 4, 30))
    resumed = _suspend(heping1[3], date(2027, 2, 1), ended_on=date(2027, 2, 1))
    waiting = _suspend(heping1[4], date(2027, 2, 25))
    db.session.add(ChangeRequest(type=RESUMPTION, status=PENDING, student_id=waiting.student_id, requested_by_id=user("school-heping1").id,
                                 requester_unit_id=heping1[4].school_id))
    db.session.commit()
    done = sweeps.remind_suspension_expiry()
    assert {s.id for s in done} == {expired.id, soon.id}
    db.session.commit()
    assert sweeps.remind_suspension_expiry() == []  # twice = once
    told = notes(HEPING1, "休学到期提醒")
    assert len(told) == 2
    assert any("已于 2027-02-20 到期" in n.message and heping1[0].name in n.message for n in told)
    assert any("将于 2027-03-05 到期" in n.message for n in told)
    assert all(later.id != s.id and resumed.id != s.id for s in done)
    assert audits("suspension.remind") == 2
    # An extension moves the end: the new end is reminded of again, when it comes near.
    soon.ends_on = date(2028, 3, 3)
    db.session.commit()
    assert sweeps.remind_suspension_expiry() == []
    at(monkeypatch, date(2028, 3, 1))
    assert {s.id for s in sweeps.remind_suspension_expiry()} == {soon.id, later.id}  # `later` has ended by then too


def test_a_suspension_without_an_end_date_cannot_be_stored(sctx):
    """The model requires an end (第十九条: one school year, one extension): nothing to remind of
    without one, and the sweep's query also skips a missing end."""
    assert Suspension.__table__.c.ends_on.nullable is False


# --- (c) dormant accounts ----------------------------------------------------------------------------
def test_dormant_accounts_are_disabled_once(sctx):
    from models.clock import system_now

    sleeper = user("school-heping2")
    sleeper.current_login_at = sleeper.last_login_at = system_now() - timedelta(days=120)
    db.session.commit()
    assert sweeps.disable_dormant_accounts() >= 1
    db.session.commit()
    assert not sleeper.active
    assert sweeps.disable_dormant_accounts() == 0


# --- (d) next year's calendar ----------------------------------------------------------------------
def test_next_years_missing_notice_is_told_to_every_unit_once_from_november(sctx, monkeypatch):
    at(monkeypatch, date(2026, 10, 31))
    assert sweeps.check_next_year_calendar().notified_units == 0  # too early
    at(monkeypatch, date(2026, 11, 2))
    units = db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.active.is_(True)))
    done = sweeps.check_next_year_calendar()
    assert done.year == 2027 and done.notified_units == units
    db.session.commit()
    at(monkeypatch, date(2026, 12, 15))
    assert sweeps.check_next_year_calendar().notified_units == 0  # once per year
    assert len(notes(HEPING1, "2027 年的国务院节假日安排通知尚未录入")) == 1
    assert len(notes(user("province").unit.code, "请尽快在“工作日历”中录入 2027 年")) == 1
    assert audits("calendar.notice_missing") == 1


def test_no_calendar_warning_when_the_notice_is_entered(sctx, monkeypatch):
    at(monkeypatch, date(2026, 11, 20))
    calendar_notices.save_notice(calendar_notices.NoticeForm(
        year=2027, notice_number="国办发明电〔2026〕1号", notice_text="",
        days_off="2027-01-01, 2027-02-06~2027-02-12", make_up_days="2027-02-14"), user("province"))
    db.session.commit()
    assert sweeps.check_next_year_calendar().notified_units == 0
    assert audits("calendar.notice_missing") == 0


def test_the_county_reads_the_escalation_on_its_home_page(app, as_user, monkeypatch):
    with app.test_request_context():
        at(monkeypatch, date(2026, 12, 24))
        req = start()
        at(monkeypatch, req.current_step.due_date + timedelta(days=1))
        sweeps.escalate_overdue_steps()
        db.session.commit()
        request_id = req.id
    home = as_user("shenhe").get("/admin/").get_data(as_text=True)
    assert "督办提醒" in home and f"/admin/requests/{request_id}/" in home
    assert "超期提醒" in as_user("school-shenhe1").get("/admin/").get_data(as_text=True)
