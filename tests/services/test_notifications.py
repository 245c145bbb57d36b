"""我的消息 (issue 16 point 6) through the services: each event tells the right people exactly once, only
people who see the pupil, and mails them as they asked (off, at once, daily digest) without ever
breaking the event when the mail server fails."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models.inbox import MAIL_DAILY, MAIL_INSTANT, MAIL_OFF, UserNotification
from services import arrivals, mail, notification_mail, notifications, student_card_batch, sweeps, workdays, workflows
from services.errors import NotInScope, RuleViolation
from services.notifications import DECIDED, DUE_SOON, EXPORT_READY, OTHER_SCHOOL, OVERDUE, STEP_WAITING
from tests.helpers import HEPING1
from tests.transfer_helpers import approve, at, start, user

MON = date(2026, 11, 2)  # a Monday of term: transfers are open


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


@pytest.fixture(autouse=True)
def outbox():
    mail.outbox.clear()
    yield mail.outbox
    mail.outbox.clear()


def told(kind: str | None = None, request_id: int | None = None) -> Counter:
    """(e-mail of the recipient, kind) → how many notifications."""
    q = select(UserNotification)
    if kind:
        q = q.where(UserNotification.kind == kind)
    if request_id:
        q = q.where(UserNotification.request_id == request_id)
    return Counter((n.user.email.split("@")[0], n.kind) for n in db.session.scalars(q))


def emails(kind: str, request_id: int) -> Counter:
    """Recipient (the e-mail's local part) → how many notifications of the kind about the request."""
    out: Counter = Counter()
    for (who, _kind), n in told(kind, request_id).items():
        out[who] += n
    return out


def prefer(who: str, kind: str, mode: str) -> None:
    notifications.set_preferences(user(who), {kind: mode})
    db.session.commit()


# --- the events ---------------------------------------------------------------------------------------
def test_each_step_of_a_transfer_tells_its_deciders_once_and_the_requester_its_end(ctx):
    req = start()  # opened by 沈河一小, which decides step 1 itself: it is not told of its own request
    assert emails(STEP_WAITING, req.id) == Counter()
    approve(req, "school-shenhe1")
    assert emails(STEP_WAITING, req.id) == Counter({"shenhe": 1})  # the county official, not the 保密管理员 of another county
    approve(req, "shenhe")
    # 和平一小 decides step 3: every school role of the school (registrar and principal)
    assert emails(STEP_WAITING, req.id) == Counter({"shenhe": 1, "school-heping1": 1, "principal-heping1": 1})
    approve(req, "school-heping1")
    assert emails(STEP_WAITING, req.id)["heping"] == 1
    assert "baomi-heping" not in emails(STEP_WAITING, req.id)  # a confidentiality officer decides no step
    approve(req, "heping")
    assert emails(DECIDED, req.id) == Counter({"school-shenhe1": 1})
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == DECIDED))
    assert "已批准" in row.title and row.link == f"/admin/requests/{req.id}/" and row.read_at is None


def test_the_other_school_of_a_transfer_hears_when_one_school_acted(ctx):
    req = start()
    approve(req, "school-shenhe1")
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})  # registrars only, not the principal
    approve(req, "shenhe")  # an authority's step: the schools hear of it as the next step's deciders
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})
    approve(req, "school-heping1")
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1, "school-shenhe1": 1})
    texts = [n.title for n in db.session.scalars(select(UserNotification).where(UserNotification.kind == OTHER_SCHOOL))]
    assert any("同意转入" in t for t in texts) and any("同意转出" in t for t in texts)
    approve(req, "heping")
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 2, "school-shenhe1": 1})
    last = db.session.scalar(select(UserNotification).where(UserNotification.kind == OTHER_SCHOOL).order_by(UserNotification.id.desc()))
    assert "报到" in last.title


def test_a_refusal_tells_the_requester_once_and_not_again_as_the_other_school(ctx):
    req = start()
    approve(req, "school-shenhe1", "shenhe")
    workflows.decide(req.current_step.id, user("school-heping1"), False, "学生不愿转学")
    db.session.commit()
    assert emails(DECIDED, req.id) == Counter({"school-shenhe1": 1})
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})  # only step 1's, from 沈河一小
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == DECIDED))
    assert "未获批准" in row.title and "学生不愿转学" in row.body


def test_nobody_is_told_about_a_pupil_they_cannot_see(ctx):
    req = start()
    outsider, insider = user("school-xigang1"), user("school-heping1")
    rows = notifications.notify([outsider, insider, insider], STEP_WAITING, "测试", request=req)
    assert [r.user_id for r in rows] == [insider.id]  # once, and not to 大连
    assert notifications.notify([user("dalian")], STEP_WAITING, "测试", request=req) == []


def test_two_working_days_left_is_told_once_per_step(ctx, monkeypatch):
    req = start()
    step = req.current_step
    too_early = workdays.add_workdays(step.due_date, -3).due
    at(monkeypatch, too_early)
    assert sweeps.remind_due_soon_steps() == []
    at(monkeypatch, workdays.add_workdays(step.due_date, -2).due)
    assert [s.id for s in sweeps.remind_due_soon_steps()] == [step.id]
    db.session.commit()
    assert sweeps.remind_due_soon_steps() == []  # a second run (another worker) tells nobody again
    assert emails(DUE_SOON, req.id) == Counter({"school-shenhe1": 1})
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == DUE_SOON))
    assert "还剩 2 个工作日" in row.body and step.due_soon_at is not None


def test_an_overdue_step_is_told_once_to_its_deciders_and_the_unit_above(ctx, monkeypatch):
    req = start()
    approve(req, "school-shenhe1")
    at(monkeypatch, req.current_step.due_date + timedelta(days=1))
    assert len(sweeps.escalate_overdue_steps()) == 1
    db.session.commit()
    assert sweeps.escalate_overdue_steps() == []
    # step 2 is 沈河区's; the unit above it is 沈阳市教育局
    assert emails(OVERDUE, req.id) == Counter({"shenhe": 1, "shenyang": 1})


def test_a_finished_background_batch_tells_who_started_it(ctx):
    from cli.realistic import make_pupil

    for i in range(2):
        make_pupil(HEPING1, name=f"批量{i}", grade=6, class_name="消息班")
    db.session.flush()
    job = student_card_batch.start_class(user("school-heping1"), db.session.get(type(user("heping").unit), user("school-heping1").unit_id),
                                         6, "消息班", "https://xueji.example.cn")
    assert job.status == student_card_batch.JOB_DONE
    rows = db.session.scalars(select(UserNotification).where(UserNotification.kind == EXPORT_READY)).all()
    assert [(r.user.email, r.link) for r in rows] == [("school-heping1@xueji.demo", f"/admin/student_cards/job/{job.id}")]


# --- reading -------------------------------------------------------------------------------------------
def test_unread_count_mark_read_and_mark_all(ctx):
    req = start()
    approve(req, "school-shenhe1", "shenhe")
    me = user("school-heping1")
    assert notifications.unread_count(me) == 2  # 沈河一小 agreed; step 3 waits for me
    first = notifications.inbox(me)[0]
    notifications.mark_read(me, first.id)
    assert notifications.unread_count(me) == 1
    assert notifications.mark_all_read(me) == 1 and notifications.unread_count(me) == 0
    with pytest.raises(NotInScope):
        notifications.mark_read(user("principal-heping1"), first.id)  # another user's: absent to them


# --- mail ----------------------------------------------------------------------------------------------
def test_instant_mail_goes_after_the_commit_once(ctx, outbox):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_INSTANT)
    req = start()
    workflows.decide(req.current_step.id, user("school-shenhe1"), True, "同意")
    assert outbox == []  # nothing leaves before the event is committed
    db.session.commit()
    assert [m["To"] for m in outbox] == ["school-heping1@xueji.demo"]
    assert "同意转入" in outbox[0]["Subject"] and f"/admin/requests/{req.id}/" in outbox[0].get_content()
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == OTHER_SCHOOL))
    assert row.mail_mode == MAIL_INSTANT and row.mailed_at is not None
    db.session.commit()
    assert len(outbox) == 1


def test_off_is_in_the_app_only(ctx, outbox):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_OFF)
    req = start()
    approve(req, "school-shenhe1")
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})
    assert notification_mail.send_daily_digests() == []
    assert outbox == []


def test_the_daily_digest_is_one_mail_per_user_with_their_unsent_items(ctx, outbox):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_DAILY)
    prefer("school-heping1", STEP_WAITING, MAIL_DAILY)
    prefer("principal-heping1", STEP_WAITING, MAIL_DAILY)
    prefer("shenhe", STEP_WAITING, MAIL_INSTANT)
    req = start()
    approve(req, "school-shenhe1", "shenhe")
    assert [m["To"] for m in outbox] == ["shenhe@xueji.demo"]  # instant; the daily ones wait
    outbox.clear()
    digests = notification_mail.send_daily_digests()
    db.session.commit()
    assert sorted((user_id, n) for user_id, n in [(d.user_id, d.items) for d in digests]) == sorted(
        [(user("school-heping1").id, 2), (user("principal-heping1").id, 1)])
    by_to = {m["To"]: m for m in outbox}
    assert set(by_to) == {"school-heping1@xueji.demo", "principal-heping1@xueji.demo"}
    registrar_mail = by_to["school-heping1@xueji.demo"]
    assert "2 条" in registrar_mail["Subject"] and "同意转入" in registrar_mail.get_content() and "待您审批" in registrar_mail.get_content()
    outbox.clear()
    assert notification_mail.send_daily_digests() == [] and outbox == []  # sent once


def test_a_failing_mail_server_never_breaks_the_event(ctx, outbox, monkeypatch):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_INSTANT)
    prefer("shenhe", STEP_WAITING, MAIL_DAILY)

    def down(*_a, **_k):
        raise mail.MailError("SMTPServerDisconnected: 连接被关闭")

    monkeypatch.setattr(mail, "send", down)
    req = start()
    approve(req, "school-shenhe1")  # commits; the mail fails in the task
    assert req.current_seq == 2
    assert emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == OTHER_SCHOOL))
    assert row.mailed_at is None  # still in the app, not marked as sent
    assert notification_mail.send_daily_digests() == []  # the digest fails too, and keeps its items for the next day
    monkeypatch.undo()
    at(monkeypatch, MON)
    assert [d.items for d in notification_mail.send_daily_digests()] == [1]


def test_a_queue_that_cannot_take_the_mail_never_breaks_the_event(ctx, monkeypatch):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_INSTANT)

    def queue_down(_ids):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(notification_mail, "mail_instant", queue_down)
    req = start()
    approve(req, "school-shenhe1")
    assert req.current_seq == 2 and emails(OTHER_SCHOOL, req.id) == Counter({"school-heping1": 1})


def test_preferences_are_stored_per_kind_and_bad_values_refused(ctx):
    me = user("school-heping1")
    assert set(notifications.preferences(me).values()) == {MAIL_OFF}
    notifications.set_preferences(me, {STEP_WAITING: MAIL_DAILY, DECIDED: MAIL_INSTANT})
    notifications.set_preferences(me, {STEP_WAITING: MAIL_INSTANT})
    prefs = notifications.preferences(me)
    assert prefs[STEP_WAITING] == MAIL_INSTANT and prefs[DECIDED] == MAIL_INSTANT and prefs[DUE_SOON] == MAIL_OFF
    with pytest.raises(RuleViolation):
        notifications.set_preferences(me, {STEP_WAITING: "hourly"})
    with pytest.raises(RuleViolation):
        notifications.set_preferences(me, {"no_such_kind": MAIL_OFF})


def test_an_approved_export_request_tells_its_requester_when_the_file_is_ready(app, as_user, monkeypatch):
    from services import export_requests
    from tests.security.test_export_requests import ask, decide, produce

    monkeypatch.setattr(export_requests, "start", lambda req: None)  # produced below, on the test's connection
    request_id = ask(as_user("heping"), "/admin/student/export/csv/", fields=[])
    decide(as_user("shenyang"), request_id)
    with app.app_context():
        assert db.session.scalar(select(UserNotification).where(UserNotification.kind == EXPORT_READY)) is None
    assert produce(app, request_id).status == "ready"
    with app.app_context():
        rows = db.session.scalars(select(UserNotification).where(UserNotification.kind == EXPORT_READY)).all()
        assert [(r.user.email, r.link) for r in rows] == [("heping@xueji.demo", f"/admin/export_requests/{request_id}/")]
        assert "数据导出申请 DC-" in rows[0].title


def test_requests_opened_together_are_one_message_per_decider(ctx):
    from cli.realistic import make_pupil

    pupils = [make_pupil(HEPING1, name=f"同批{i}", grade=3) for i in range(3)]
    db.session.flush()
    payload = {"reason_kind": "illness", "starts_on": MON.isoformat(), "ends_on": date(2027, 1, 15).isoformat()}
    reqs = workflows.open_requests("suspension", pupils, user("school-heping1"), payload=payload, reason_text="流感",
                                   from_school=pupils[0].school)
    db.session.commit()
    rows = db.session.scalars(select(UserNotification).where(UserNotification.kind == STEP_WAITING)).all()
    # the registrar opened them (not told of its own act); the principal decides step 1 too
    assert [(r.user.email, r.title) for r in rows] == [("principal-heping1@xueji.demo", "待您审批：3 件休学申请")]
    assert all(f"#{r.id}" in rows[0].body for r in reqs) and rows[0].link == "/admin/requests/?queue=waiting"


def test_the_due_soon_sweep_and_the_daily_digest_are_scheduled_on_the_queue():
    from services.queue import huey

    names = {t.__name__ for t in huey._registry._periodic_tasks}
    assert {"due_soon_sweep", "daily_digest_sweep"} <= names


def test_a_rolled_back_event_mails_nothing(ctx, outbox):
    prefer("school-heping1", OTHER_SCHOOL, MAIL_INSTANT)
    req = start()
    workflows.decide(req.current_step.id, user("school-shenhe1"), True, "同意")
    db.session.rollback()  # the decision did not happen: neither its message nor its mail
    db.session.commit()
    assert outbox == [] and emails(OTHER_SCHOOL, req.id) == Counter()


def test_a_withdrawn_request_tells_whoever_had_its_step_that_nothing_is_left_to_decide(ctx):
    req = start()
    approve(req, "school-shenhe1")  # step 2 now waits for the 沈河区 official
    workflows.withdraw(req, user("school-shenhe1"), "家长改变主意")
    db.session.commit()
    ended = db.session.scalars(select(UserNotification).where(UserNotification.request_id == req.id,
                                                              UserNotification.title.contains("已撤回"))).all()
    assert [(n.user.email.split("@")[0], n.kind) for n in ended] == [("shenhe", STEP_WAITING)]
    assert "无需再审批" in ended[0].title and "家长改变主意" in ended[0].body
    # The requester withdrew it: not told of what it did itself.
    assert emails(DECIDED, req.id) == Counter()


def test_a_request_ended_by_the_pupils_death_tells_its_requester_and_its_deciders(ctx):
    req = start()
    approve(req, "school-shenhe1")
    workflows.close_others(_another_request_of(req), user("shenhe"), "学生死亡")
    db.session.commit()
    assert emails(DECIDED, req.id) == Counter({"school-shenhe1": 1})
    row = db.session.scalar(select(UserNotification).where(UserNotification.kind == DECIDED,
                                                           UserNotification.request_id == req.id))
    assert "已终止" in row.title and "学生死亡" in row.body


def _another_request_of(req):
    """A stand-in for the 死亡 request of the same pupil: close_others ends every other open request."""
    from types import SimpleNamespace

    return SimpleNamespace(id=0, student_id=req.student_id)
