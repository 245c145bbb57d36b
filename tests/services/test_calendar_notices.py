"""Working days past the calendar data (第十三–十六条): a year is official only by its whole State
Council notice; a year without one is estimated; a change of a year's calendar recomputes the due
dates of open steps, and the history says so."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.calendar import CalendarDay, OfficialCalendarYear
from models.changes import Notification
from services import calendar_notices, clock
from services.calendar_notices import NoticeForm, save_notice
from services.errors import RuleViolation
from services.workdays import SOURCE_ESTIMATE, SOURCE_LIBRARY, SOURCE_NOTICE, Deadline, add_workdays, is_workday, year_source
from tests.transfer_helpers import start, user

# An illustrative 2027 notice (the real one is not known to this code base): 元旦 Fri Jan 1 – Sun
# Jan 3; 春节 除夕 Feb 5 – Feb 12 with Saturday Feb 13 worked; and the rest of the year's holidays.
NOTICE_2027 = NoticeForm(
    year=2027, notice_number="国办发明电〔2026〕N号（示例）", notice_text="",
    days_off="2027-01-01~2027-01-03\n2027-02-05至2027-02-12\n2027-04-03~2027-04-05\n2027-05-01~2027-05-05\n"
             "2027-06-09, 2027-09-15\n2027-10-01~2027-10-07",
    make_up_days="2027-02-13\n2027年9月26日",
)


def official_2026_notice() -> NoticeForm:
    """The 2026 State Council notice as chinese-calendar carries it (春节 2026-02-15…02-23 off)."""
    days = [date(2026, 1, 1) + timedelta(i) for i in range(365)]
    off = [d for d in days if d in chinese_calendar.constants.holidays]
    worked = [d for d in days if d in chinese_calendar.constants.workdays]
    return NoticeForm(year=2026, notice_number="国办发明电〔2025〕7号", notice_text="",
                      days_off="\n".join(d.isoformat() for d in off), make_up_days="\n".join(d.isoformat() for d in worked))


@pytest.fixture
def on_18_december_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 18, 9, 0))


def test_a_step_opened_on_18_december_2026_skips_new_years_day_and_is_estimated(ctx, on_18_december_2026):
    req = start()
    step = req.steps[0]
    assert step.started_at == date(2026, 12, 18)
    # 10 working days: Dec 21–25, Dec 28–31, then 2027 (estimated): Jan 1 is 元旦, so Mon Jan 4.
    assert (step.due_date, step.due_estimated) == (date(2027, 1, 4), True)


def test_entering_the_2027_notice_recomputes_open_steps_and_says_so(ctx, on_18_december_2026):
    req = start()
    step = req.steps[0]
    notices_before = db.session.scalar(select(func.count()).select_from(Notification))

    record, changed = save_notice(NOTICE_2027, user("province"))
    db.session.commit()

    assert year_source(2027) == SOURCE_NOTICE
    assert changed == [step]
    assert (step.due_date, step.due_estimated) == (date(2027, 1, 4), False)  # same day, no longer estimated
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "step.due_recomputed"))
    assert audit.object_id == str(req.id) and "2027-01-04" in audit.detail
    notes = db.session.scalars(select(Notification).where(Notification.request_id == req.id).order_by(Notification.id)).all()
    assert len(notes) == db.session.scalar(select(func.count()).select_from(Notification)) - notices_before == 1
    assert notes[0].unit_id == step.unit_id == req.requester_unit_id  # the receiving school decides and asked
    assert notes[0].message == (f"2027年工作日历已变更：申请 #{req.id} 第1步的办理期限已重新计算，"
                                "2027-01-04（估算） → 2027-01-04。")

    # A correction of the notice: Mon Jan 4 given off too → the due date moves to Tue Jan 5.
    correction = NoticeForm(**{**NOTICE_2027.__dict__, "days_off": NOTICE_2027.days_off + "\n2027-01-04"})
    _record, changed = save_notice(correction, user("province"), record)
    db.session.commit()
    assert changed == [step] and (step.due_date, step.due_estimated) == (date(2027, 1, 5), False)
    assert record.updated_by_id == user("province").id
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "calendar.notice.update")) is not None


def test_a_decided_step_keeps_its_due_date(ctx, on_18_december_2026):
    req = start()
    workflows_decide(req)
    first = req.steps[0]
    assert first.decision == "approved"
    _record, changed = save_notice(NOTICE_2027, user("province"))
    assert first not in changed and first.due_estimated is True  # history stays as it was
    second = req.steps[1]
    assert changed == [second] and second.due_estimated is False  # the step now open is recomputed
    told = db.session.scalars(select(Notification.unit_id).where(Notification.request_id == req.id,
                                                                 Notification.message.contains("工作日历已变更"))).all()
    assert set(told) == {second.unit_id, req.requester_unit_id} and len(told) == 2  # the authority and the school


def workflows_decide(req) -> None:
    from services import workflows

    workflows.decide(req.current_step.id, user("school-shenhe1"), True, "同意")
    db.session.commit()


def test_single_day_adjustment_recomputes_open_steps_but_keeps_the_year_estimated(ctx, on_18_december_2026):
    req = start()
    step = req.steps[0]
    row = calendar_notices.save_calendar_day(CalendarDay(day=date(2027, 1, 4), is_workday=False, note="防汛停课"), user("province"))
    db.session.commit()
    assert (step.due_date, step.due_estimated) == (date(2027, 1, 5), True)
    assert year_source(2027) == SOURCE_ESTIMATE
    db.session.delete(row)
    db.session.commit()
    calendar_notices.calendar_day_deleted(date(2027, 1, 4), user("province"))
    db.session.commit()
    assert (step.due_date, step.due_estimated) == (date(2027, 1, 4), True)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "step.due_recomputed")) == 2


def test_the_official_2026_notice_entered_gives_the_same_working_days_as_the_built_in_data(ctx):
    assert year_source(2026) == SOURCE_LIBRARY
    save_notice(official_2026_notice(), user("province"))
    db.session.commit()
    assert year_source(2026) == SOURCE_NOTICE
    for offset in range(365):
        day = date(2026, 1, 1) + timedelta(offset)
        assert is_workday(day) == (chinese_calendar.is_workday(day), False), day
    # 春节 2026: Feb 15 – Feb 23 off; Saturday Feb 14 and Feb 28 worked.
    assert all(is_workday(date(2026, 2, d))[0] is False for d in range(15, 24))
    assert add_workdays(date(2026, 2, 9), 10) == Deadline(date(2026, 2, 28), False)


def test_an_estimated_2027_is_marked_estimated_on_every_deadline(ctx):
    assert year_source(2027) == SOURCE_ESTIMATE
    assert add_workdays(date(2027, 1, 29), 10) == Deadline(date(2027, 2, 22), True)  # 春节 Feb 5–12 estimated off
    assert add_workdays(date(2027, 9, 30), 1) == Deadline(date(2027, 10, 8), True)  # 国庆 Oct 1–7
    assert add_workdays(date(2027, 7, 1), 1).estimated is True  # a plain July day of an estimated year too


# --- the notice must be whole and right: each refusal in Chinese, nothing stored ---------------


def refused(form: NoticeForm, who: str = "province") -> list[tuple[str, str]]:
    with pytest.raises(RuleViolation) as exc:
        save_notice(form, user(who))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OfficialCalendarYear)) == 0
    return exc.value.problems


def with_(**changes: object) -> NoticeForm:
    return NoticeForm(**{**NOTICE_2027.__dict__, **changes})


def test_notice_day_outside_its_year_is_refused(ctx):
    assert refused(with_(days_off="2026-12-31\n2027-01-01")) == [("days_off", "2026-12-31 不在 2027 年内。")]


def test_notice_day_listed_twice_is_refused(ctx):
    assert refused(with_(days_off="2027-01-01~2027-01-03\n2027-01-02")) == [("days_off", "2027-01-02 重复列出。")]


def test_notice_day_both_off_and_worked_is_refused(ctx):
    assert refused(with_(make_up_days="2027-01-02")) == [("make_up_days", "2027-01-02 不能既是放假日又是调休上班日。")]


def test_make_up_day_on_a_weekday_is_refused(ctx):
    problems = refused(with_(make_up_days="2027-01-06"))
    assert problems == [("make_up_days", "2027-01-06 本来就是工作日：调休上班日应为周六或周日。")]


def test_unreadable_dates_and_reversed_ranges_are_refused(ctx):
    problems = refused(with_(days_off="2027-01-01\n元旦后一天\n2027-02-30\n2027-02-12~2027-02-05"))
    assert [f for f, _m in problems] == ["days_off"] * 3
    assert "无法识别“元旦后一天”" in problems[0][1]
    assert "2027-02-30" in problems[1][1] and "不是有效日期" in problems[1][1]
    assert "结束日期早于开始日期" in problems[2][1]


def test_notice_needs_its_number_its_days_off_and_a_year(ctx):
    assert refused(with_(notice_number=" ", days_off="")) == [("notice_number", "请填写通知文号或标题。"),
                                                            ("days_off", "请填写通知中的放假日期。")]
    assert refused(with_(year=None)) == [("year", "请填写2000至2100之间的年份。")]


def test_a_second_notice_for_the_same_year_is_refused(ctx):
    save_notice(NOTICE_2027, user("province"))
    db.session.commit()
    with pytest.raises(RuleViolation, match="2027年的通知已录入"):
        save_notice(NOTICE_2027, user("province"))


@pytest.mark.parametrize("who", ["shenyang", "heping", "school-heping1"])
def test_only_province_and_admin_enter_a_notice(ctx, who):
    with pytest.raises(RuleViolation):
        save_notice(NOTICE_2027, user(who))
    assert calendar_notices.notice_for(2027) is None


# --- the screen -----------------------------------------------------------------------------------


def test_province_enters_the_notice_in_one_form(as_user):
    province = as_user("province")
    page = province.get("/admin/calendar_notices/").get_data(as_text=True)
    assert "估算" in page and "/admin/calendar_notices/new/" in page
    data = {"year": "2027", "notice_number": NOTICE_2027.notice_number, "days_off": NOTICE_2027.days_off,
            "make_up_days": NOTICE_2027.make_up_days, "notice_text": ""}
    resp = province.post_form("/admin/calendar_notices/new/", data)
    assert resp.status_code == 302
    page = province.get("/admin/calendar_notices/").get_data(as_text=True)
    assert "国办发明电〔2026〕N号（示例）" in page and "2027-02-13" in page
    assert "/admin/calendar_notices/edit/2027/" in page


def test_a_wrong_notice_shows_the_errors_and_keeps_what_was_typed(as_user):
    province = as_user("province")
    data = {"year": "2027", "notice_number": "示例", "days_off": "2027-01-01\n2028-01-01", "make_up_days": "", "notice_text": ""}
    resp = province.post_form("/admin/calendar_notices/new/", data, token_from="/admin/calendar_notices/new/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "2028-01-01 不在 2027 年内。" in page
    assert "2027-01-01\n2028-01-01" in page  # the textarea keeps the input


def test_a_school_reads_the_notices_but_cannot_enter_one(as_user):
    school = as_user("school-heping1")
    page = school.get("/admin/calendar_notices/").get_data(as_text=True)
    assert resp_ok(page) and "/admin/calendar_notices/new/" not in page
    assert school.get("/admin/calendar_notices/new/").status_code == 302


def resp_ok(page: str) -> bool:
    return "calendar-notices" in page


def test_the_request_page_shows_the_recomputed_due_date(ctx, on_18_december_2026, as_user):
    req = start()
    school = as_user("school-shenhe1")
    assert "2027-01-04*" in school.get(f"/admin/requests/{req.id}/").get_data(as_text=True)  # estimated
    save_notice(NOTICE_2027, user("province"))
    db.session.commit()
    page = school.get(f"/admin/requests/{req.id}/").get_data(as_text=True)
    assert "本申请的通知" in page and "2027-01-04（估算） → 2027-01-04" in page
    assert "2027-01-04*" not in page  # the * mark is gone from the step's due date


def test_province_changes_an_entered_notice_on_its_own_page(as_user, app):
    with app.app_context():
        save_notice(NOTICE_2027, user("province"))
        db.session.commit()
    province = as_user("province")
    form = province.get("/admin/calendar_notices/edit/2027/").get_data(as_text=True)
    assert "2027-02-13" in form and "国办发明电〔2026〕N号（示例）" in form  # the record, prefilled
    data = {"year": "2027", "notice_number": "国办发明电〔2026〕N号（更正）", "days_off": NOTICE_2027.days_off,
            "make_up_days": "2027-02-13", "notice_text": ""}
    assert province.post_form("/admin/calendar_notices/edit/2027/", data).status_code == 302
    moved = province.post_form("/admin/calendar_notices/edit/2027/", {**data, "year": "2028"})
    assert "已录入通知的年度不能更改" in moved.get_data(as_text=True)
    assert province.get("/admin/calendar_notices/edit/2031/").status_code == 404
    with app.app_context():
        record = calendar_notices.notice_for(2027)
        assert record.notice_number.endswith("（更正）") and record.make_up_days == ["2027-02-13"]
        assert calendar_notices.notice_for(2028) is None


def test_a_county_cannot_post_a_notice(as_user, app):
    county = as_user("heping")
    token = county.csrf("/admin/school/new/")
    county.post("/admin/calendar_notices/new/", data={"csrf_token": token, **{k: v for k, v in NOTICE_2027.__dict__.items()}})
    with app.app_context():
        assert calendar_notices.notice_for(2027) is None


def test_the_provisional_admission_day_in_an_estimated_year_is_marked(ctx, on_18_december_2026, as_user):
    from tests.transfer_helpers import approve

    req = start()
    approve(req, "school-shenhe1", "shenhe")  # step 2 decided on 2026-12-18: 20 working days run into 2027
    page = as_user("school-heping1").get(f"/admin/requests/{req.id}/").get_data(as_text=True)
    assert "2027-01-18*" in page  # 第十五条's day, estimated (元旦 2027-01-01 not counted)


@pytest.mark.parametrize("year", ["1999", "99999999999999999999"])
def test_a_notice_year_no_record_can_have_is_not_found(as_user, year):
    assert as_user("province").get(f"/admin/calendar_notices/edit/{year}/").status_code == 404
