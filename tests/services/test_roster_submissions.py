"""第十二条: the 新生花名册 and the 增减登记表 are submitted, not just viewed. A submission keeps who
and when, the files as submitted, whether it was on time (one month from the configured term
start), and where it went (a 直管学校's register also to the county where it stands)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.rosters import RosterSubmission
from services import clock, uploads
from services.errors import RuleViolation
from services.rosters import registers, submissions
from tests.export_helpers import open_gate, shut_gate
from tests.helpers import CITYDIRECT, HEPING1, school
from tests.transfer_helpers import user


def set_now(monkeypatch, when: datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: when)
    monkeypatch.setattr(clock, "today", lambda: when.date())


def submit_page(client, kind: str, year: int = 2026, confirm: bool = True):
    data = {"checked": "y"} if confirm else {}
    return client.post_form(f"/admin/rosters/submit/{kind}?year={year}", data, token_from=f"/admin/rosters/?year={year}")


def row_of(page: str, code: str) -> str:
    return page.split(f'id="roster-{code}"')[1].split("</tr>")[0]


def test_roster_list_no_longer_shows_every_school_overdue(as_user, monkeypatch):
    """The cause of 已超期 everywhere: lateness came from today's date alone, never from a submission.
    In November a school that submitted in September is shown on time; one that did not, overdue."""
    set_now(monkeypatch, datetime(2026, 9, 20, 10, 0))
    assert submit_page(as_user("school-heping1"), "new").status_code == 302
    set_now(monkeypatch, datetime(2026, 11, 2, 9, 0))
    page = as_user("heping").get("/admin/rosters/?year=2026").get_data(as_text=True)
    assert "已超期" not in page.split('id="roster-due"')[1].split("</p>")[0]
    heping1 = row_of(page, HEPING1)
    assert "按时上报" in heping1 and "roster-state-on_time" in heping1
    assert "roster-state-missing" in heping1  # its 增减登记表 is not in
    assert "roster-state-on_time" not in row_of(page, "2221000002")


def test_submitted_on_the_last_day_of_the_month_is_on_time(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 30, 23, 59))
    row, _pdf, _xlsx = submissions.submit(user("school-heping1"), registers.NEW, 2026)
    assert row.on_time and row.due_on == date(2026, 9, 30)


def test_submitted_one_month_after_the_term_start_is_late(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 10, 1, 0, 0))
    row, _pdf, _xlsx = submissions.submit(user("school-heping1"), registers.NEW, 2026)
    assert not row.on_time
    assert submissions.submission_states(school(HEPING1).path, 2026)[(row.school_id, registers.NEW)].state == submissions.LATE


def test_the_month_is_counted_from_the_configured_term_start(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "TERMS", (("08-25", "01-20"), ("02-26", "07-10")))
    assert registers.due_on(2026) == date(2026, 9, 24)
    set_now(monkeypatch, datetime(2026, 9, 25, 9, 0))
    row, _pdf, _xlsx = submissions.submit(user("school-heping1"), registers.CHANGES, 2026)
    assert not row.on_time


def test_submission_keeps_who_when_and_the_files_exactly_as_produced(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 11, 30))
    row, pdf_bytes, xlsx_bytes = submissions.submit(user("school-heping1"), registers.NEW, 2026)
    db.session.commit()
    assert row.submitted_by.email == "school-heping1@xueji.demo" and row.submitted_at == datetime(2026, 9, 10, 11, 30)
    assert pdf_bytes.startswith(b"%PDF-") and xlsx_bytes.startswith(b"PK")
    assert uploads.path_of(row.pdf_sha256).read_bytes() == pdf_bytes
    assert uploads.path_of(row.xlsx_sha256).read_bytes() == xlsx_bytes
    assert row.pdf_sha256 == hashlib.sha256(pdf_bytes).hexdigest() and row.pdf_size == len(pdf_bytes)
    assert row.sent_to.code == "210102" and row.also_to is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "submit", AuditLog.object_id == str(row.id)))


def test_download_returns_the_stored_file_not_a_new_rendering(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    assert submit_page(as_user("school-heping1"), "new").status_code == 302
    with app.app_context():
        row = db.session.scalar(select(RosterSubmission))
        pdf_sha, xlsx_sha, row_id = row.pdf_sha256, row.xlsx_sha256, row.id
    c = as_user("heping")
    resp = c.get(f"/admin/rosters/submission/{row_id}.pdf")
    assert resp.status_code == 200 and hashlib.sha256(resp.data).hexdigest() == pdf_sha
    resp = c.get(f"/admin/rosters/submission/{row_id}.xlsx")
    assert resp.status_code == 200 and hashlib.sha256(resp.data).hexdigest() == xlsx_sha
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "roster_submission"))


@pytest.mark.parametrize("who", ["shenhe", "school-heping2", "dalian", "school-shenhe1"])
def test_another_unit_gets_404_on_a_submitted_file(as_user, app, monkeypatch, who):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    submit_page(as_user("school-heping1"), "new")
    with app.app_context():
        row_id = db.session.scalar(select(RosterSubmission.id))
    c = as_user(who)
    assert c.get(f"/admin/rosters/submission/{row_id}.pdf").status_code == 404
    assert c.get(f"/admin/rosters/submission/{row_id}.xlsx").status_code == 404


def test_submitted_file_download_passes_the_export_gate(as_user, app, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    submit_page(as_user("school-heping1"), "new")
    with app.app_context():
        row_id = db.session.scalar(select(RosterSubmission.id))
    shut_gate(monkeypatch)
    resp = as_user("heping").get(f"/admin/rosters/submission/{row_id}.pdf")
    assert resp.status_code == 403 and b"%PDF" not in resp.data


def test_directly_managed_school_sends_its_register_to_its_county_and_both_see_it(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    assert submit_page(as_user("school-citydirect"), "changes").status_code == 302
    with app.app_context():
        row = db.session.scalar(select(RosterSubmission))
        assert row.sent_to.code == "2101" and row.also_to.code == "210103"  # 沈阳市教育局, and 沈河区 where it stands
        row_id = row.id
    for who in ("shenhe", "shenyang"):
        page = as_user(who).get("/admin/rosters/?year=2026").get_data(as_text=True)
        assert "roster-state-on_time" in row_of(page, CITYDIRECT).split("学生增加")[0] or "按时上报" in row_of(page, CITYDIRECT)
        assert as_user(who).get(f"/admin/rosters/submission/{row_id}.pdf").status_code == 200
    assert as_user("heping").get(f"/admin/rosters/submission/{row_id}.pdf").status_code == 404


def test_directly_managed_school_new_roster_goes_to_its_supervisor_only(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    row, _pdf, _xlsx = submissions.submit(user("school-citydirect"), registers.NEW, 2026)
    assert row.sent_to.code == "2101" and row.also_to is None


def test_second_submission_replaces_the_first_which_stays_as_history(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    first, _p, _x = submissions.submit(user("school-heping1"), registers.NEW, 2026)
    set_now(monkeypatch, datetime(2026, 10, 8, 9, 0))
    second, _p, _x = submissions.submit(user("principal-heping1"), registers.NEW, 2026)
    db.session.commit()
    assert first.replaced_at == datetime(2026, 10, 8, 9, 0) and second.replaced_at is None and not second.on_time
    state = submissions.submission_states(school(HEPING1).path, 2026)[(school(HEPING1).id, registers.NEW)]
    assert state.state == submissions.ON_TIME and state.current.id == second.id and state.count == 2
    assert [r.id for r in submissions.history(user("heping"), school(HEPING1), 2026)] == [second.id, first.id]


def test_submitting_needs_the_confirmation(as_user, app, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    c = as_user("school-heping1")
    resp = submit_page(c, "new", confirm=False)
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(RosterSubmission.id)) is None
    page = c.get("/admin/rosters/?year=2026").get_data(as_text=True)
    assert "请先勾选确认再上报" in page


def test_submitting_is_a_post_with_csrf(as_user, app, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    c = as_user("school-heping1")
    assert c.get("/admin/rosters/submit/new?year=2026").status_code == 405
    assert c.post("/admin/rosters/submit/new?year=2026", data={"checked": "y"}).status_code in (302, 400)
    with app.app_context():
        assert db.session.scalar(select(RosterSubmission.id)) is None


def test_an_authority_cannot_submit_for_a_school(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    with pytest.raises(RuleViolation):
        submissions.submit(user("heping"), registers.NEW, 2026)


def test_a_school_year_not_yet_started_cannot_be_submitted(ctx, monkeypatch):
    set_now(monkeypatch, datetime(2026, 8, 20, 9, 0))
    with pytest.raises(RuleViolation, match="2026-09-01"):
        submissions.submit(user("school-heping1"), registers.NEW, 2026)


def test_graduation_roster_is_not_submitted_here(as_user, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    assert submit_page(as_user("school-heping1"), "graduates").status_code == 404


def test_authority_lists_which_registers_are_in_late_or_missing(as_user, monkeypatch):
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    submit_page(as_user("school-heping1"), "new")
    submit_page(as_user("school-heping1"), "changes")
    set_now(monkeypatch, datetime(2026, 10, 9, 9, 0))
    submit_page(as_user("school-heping2"), "new")
    c = as_user("heping")
    page = c.get("/admin/rosters/?year=2026").get_data(as_text=True)
    def tally(code: str) -> str:
        return page.split(f'id="tally-{code}"')[1].split("</a>")[0].rsplit(">", 1)[1]

    assert tally("on_time") == "2" and tally("late") == "1"
    on_time = c.get("/admin/rosters/?year=2026&state=on_time").get_data(as_text=True)
    assert f'id="roster-{HEPING1}"' in on_time and 'id="roster-2221000002"' not in on_time
    late = c.get("/admin/rosters/?year=2026&state=late").get_data(as_text=True)
    assert 'id="roster-2221000002"' in late and f'id="roster-{HEPING1}"' not in late
    missing = c.get("/admin/rosters/?year=2026&state=missing").get_data(as_text=True)
    assert 'id="roster-2221000002"' in missing and f'id="roster-{HEPING1}"' not in missing  # its 增减登记表


def test_two_submissions_at_the_same_moment_leave_one_current(ctx, monkeypatch):
    """The second of two simultaneous submissions does not see the first (it is not committed when
    it looks): the partial unique index refuses it with a clear message instead of two current rows."""
    set_now(monkeypatch, datetime(2026, 9, 10, 9, 0))
    first, _p, _x = submissions.submit(user("school-heping1"), registers.NEW, 2026)
    db.session.commit()
    unseen = select(RosterSubmission).where(RosterSubmission.id == -1)
    monkeypatch.setattr(submissions, "_current", lambda *a: unseen)
    with pytest.raises(RuleViolation, match="同时"):
        submissions.submit(user("principal-heping1"), registers.NEW, 2026)
    current = db.session.scalars(select(RosterSubmission).where(RosterSubmission.replaced_at.is_(None))).all()
    assert [r.id for r in current] == [first.id]
