"""死亡 (第二十一条): the school reports within 10 working days of the date of death; a later report
is the school's lateness (kept, shown), and the authority's step has its own 10 working days."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from changes import departures
from extensions import db
from models.changes import ChangeRequest
from services import workflows
from services.errors import RuleViolation
from services.oversight import reports
from tests.helpers import HEPING1, pupil_of
from tests.transfer_helpers import approve, at, png_bytes, upload, user

MON = date(2026, 11, 2)
ME = "school-heping1"


def _report(died_on: date) -> ChangeRequest:
    req = departures.report_death(pupil_of(HEPING1), user(ME), died_on=died_on, reason_text="病故")
    db.session.commit()
    return req


def _overdue_for(who: str, req: ChangeRequest) -> bool:
    return req.id in db.session.scalars(select(ChangeRequest.id).where(workflows.queue_filter(user(who), "overdue"))).all()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ChangeRequest))


def test_date_of_death_in_the_future_is_refused(ctx, monkeypatch):
    at(monkeypatch, MON)
    with pytest.raises(RuleViolation) as exc:
        _report(MON + timedelta(days=1))
    assert exc.value.problems[0][0] == "died_on"
    db.session.rollback()
    assert _count() == 0


def test_date_of_death_before_birth_is_refused(ctx, monkeypatch):
    at(monkeypatch, MON)
    with pytest.raises(RuleViolation):
        _report(pupil_of(HEPING1).birth_date - timedelta(days=1))
    db.session.rollback()
    assert _count() == 0


def test_death_reported_within_10_workdays_is_on_time(ctx, monkeypatch):
    at(monkeypatch, date(2026, 10, 22))  # died Friday 9 October: the 10th working day is 22 October
    req = _report(date(2026, 10, 9))
    assert req.payload["died_on"] == "2026-10-09" and req.payload["report_due_on"] == "2026-10-22"
    assert departures.filed_late(req) == 0
    assert reports.count(user("heping"), reports.LATE_DEATHS) == 0


def test_death_reported_after_10_workdays_is_late_against_the_school_not_the_authority(ctx, monkeypatch):
    at(monkeypatch, MON)  # died 9 October, due 22 October; reported 2 November: 7 working days late
    req = _report(date(2026, 10, 9))
    assert departures.filed_late(req) == 7
    step = req.steps[0]
    assert step.started_at == MON and step.due_date == date(2026, 11, 16)  # the authority's own 10 working days
    assert workflows.days_left(step) == (10, False)
    assert not _overdue_for("heping", req) and not _overdue_for("province", req)
    # The lateness is the school's: counted in the oversight report of its area, by school.
    assert reports.count(user("heping"), reports.LATE_DEATHS) == 1
    assert reports.count(user("xigang"), reports.LATE_DEATHS) == 0
    assert reports.by_school(user("heping"))[pupil_of(HEPING1).school.path][reports.LATE_DEATHS] == 1
    # Still counted once the authority has cancelled the record.
    workflows.attach(req, "proof", upload(), user(ME))
    approve(req, "heping")
    assert req.status == "completed" and reports.count(user("province"), reports.LATE_DEATHS) == 1


def test_death_deadline_runs_across_new_year(ctx, monkeypatch):
    # Died Wednesday 24 December 2025; 1–3 January 2026 is 元旦, Sunday 4 January a working day:
    # the 10th working day is Thursday 8 January.
    at(monkeypatch, date(2026, 1, 8))
    req = _report(date(2025, 12, 24))
    assert req.payload["report_due_on"] == "2026-01-08" and departures.filed_late(req) == 0
    workflows.withdraw(req, user(ME), "日期有误")
    db.session.commit()
    at(monkeypatch, date(2026, 1, 10))  # a Saturday after the deadline: late all the same
    req = _report(date(2025, 12, 24))
    assert departures.filed_late(req) == 1


# --- through the screens ----------------------------------------------------------------------------


def _post(c, sid: int, data: dict):
    data = {**data, "file_proof": (io.BytesIO(png_bytes()), "证明.png")}
    return c.post_form(f"/admin/status/death/new?student_id={sid}", data, content_type="multipart/form-data")


def test_death_form_refuses_a_future_date_in_chinese_and_writes_nothing(as_user, app, monkeypatch):
    at(monkeypatch, MON)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    page = _post(as_user(ME), sid, {"died_on": "2026-11-03"}).get_data(as_text=True)
    assert "死亡日期不能晚于今天" in page
    page = _post(as_user(ME), sid, {"died_on": ""}).get_data(as_text=True)
    assert "请填写死亡日期" in page
    page = _post(as_user(ME), sid, {"died_on": "2000-01-01"}).get_data(as_text=True)
    assert "死亡日期不能早于学生的出生日期" in page
    with app.app_context():
        assert _count() == 0


def test_late_death_report_is_shown_on_the_request_the_list_and_the_oversight_report(as_user, app, monkeypatch):
    at(monkeypatch, MON)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    resp = _post(as_user(ME), sid, {"died_on": "2026-10-09", "reason_text": "病故"})
    assert resp.status_code == 302
    with app.app_context():
        rid = db.session.scalar(select(ChangeRequest.id))
    official = as_user("heping")
    page = official.get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert "2026-10-09" in page and "学校逾期上报" in page and "7" in page
    listing = official.get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert "school-late" in listing and "逾期" in listing
    report = official.get(f"/admin/oversight/{reports.LATE_DEATHS}/").get_data(as_text=True)
    assert f'id="row-{rid}"' in report
