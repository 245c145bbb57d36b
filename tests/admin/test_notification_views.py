"""我的消息 on screen (issue 16 point 6): the navbar's unread badge, the list newest first, marking
read with the CSRF token, another user's notification answering 404, and the reminder settings."""

from __future__ import annotations

import re

from extensions import db
from models.inbox import MAIL_DAILY, MAIL_OFF, UserNotification
from services import notifications
from tests.conftest import csrf_from
from tests.transfer_helpers import user

BADGE = re.compile(r'id="navbar-unread-count"[^>]*>(\d+)<')


def tell(app, who: str, *titles: str) -> list[int]:
    with app.test_request_context():
        rows = [notifications.notify([user(who)], notifications.STEP_WAITING, title, "正文", link="/admin/requests/")[0]
                for title in titles]
        db.session.commit()
        return [r.id for r in rows]


def badge(html: str) -> int:
    m = BADGE.search(html)
    assert m, "the navbar has no unread badge"
    return int(m.group(1))


def test_the_navbar_counts_my_unread_messages(app, as_user):
    c = as_user("school-heping1")
    assert badge(c.get("/admin/").get_data(as_text=True)) == 0
    tell(app, "school-heping1", "第一条", "第二条")
    tell(app, "principal-heping1", "别人的")
    assert badge(c.get("/admin/").get_data(as_text=True)) == 2


def test_the_list_is_newest_first_and_only_mine(app, as_user):
    tell(app, "school-heping1", "较早的消息", "较新的消息")
    tell(app, "principal-heping1", "校长的消息")
    html = as_user("school-heping1").get("/admin/messages/").get_data(as_text=True)
    assert html.index("较新的消息") < html.index("较早的消息")
    assert "校长的消息" not in html
    assert "我的消息" in html and "全部标为已读" in html and "待我审批的申请" in html


def test_an_empty_inbox_says_what_comes_here(as_user):
    html = as_user("school-shenhe1").get("/admin/messages/").get_data(as_text=True)
    assert "暂无消息" in html


def test_mark_read_needs_the_csrf_token(app, as_user):
    first, second = tell(app, "school-heping1", "一", "二")
    c = as_user("school-heping1")
    assert c.post(f"/admin/messages/{first}/read").status_code == 400
    assert c.post(f"/admin/messages/{first}/read", data={"csrf_token": "wrong"}).status_code == 400
    with app.app_context():
        assert db.session.get(UserNotification, first).read_at is None
    token = csrf_from(c.get("/admin/messages/").get_data(as_text=True))
    resp = c.post(f"/admin/messages/{first}/read", data={"csrf_token": token})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(UserNotification, first).read_at is not None
        assert db.session.get(UserNotification, second).read_at is None
    assert badge(c.get("/admin/").get_data(as_text=True)) == 1


def test_opening_a_message_marks_it_read_and_goes_to_its_page(app, as_user):
    (notice,) = tell(app, "school-heping1", "去看看")
    c = as_user("school-heping1")
    resp = c.post_form(f"/admin/messages/{notice}/read", {"open": "1"}, token_from="/admin/messages/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/requests/")


def test_mark_all_read(app, as_user):
    tell(app, "school-heping1", "一", "二", "三")
    (others,) = tell(app, "principal-heping1", "校长的")
    c = as_user("school-heping1")
    assert c.post("/admin/messages/read-all").status_code == 400  # no token: nothing marked
    resp = c.post_form("/admin/messages/read-all", {}, token_from="/admin/messages/")
    assert resp.status_code == 302
    assert "已将 3 条消息标为已读" in c.get("/admin/messages/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(UserNotification, others).read_at is None  # another user's stay unread


def test_another_users_message_is_404(app, as_user):
    (theirs,) = tell(app, "principal-heping1", "校长的")
    c = as_user("school-heping1")
    token = csrf_from(c.get("/admin/messages/").get_data(as_text=True))
    assert c.post(f"/admin/messages/{theirs}/read", data={"csrf_token": token}).status_code == 404
    assert c.post("/admin/messages/2000000000/read", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(UserNotification, theirs).read_at is None


def test_reminder_settings_are_saved_per_kind(app, as_user):
    c = as_user("school-heping1")
    html = c.get("/admin/messages/preferences").get_data(as_text=True)
    assert "提醒方式" in html and "每日汇总" in html and "立即发送" in html
    form = {f"mail-{kind}": MAIL_OFF for kind in notifications.KIND_LABELS}
    form[f"mail-{notifications.DECIDED}"] = MAIL_DAILY
    resp = c.post_form("/admin/messages/preferences", form)
    assert resp.status_code == 302
    assert "提醒方式已保存" in c.get("/admin/messages/preferences").get_data(as_text=True)
    with app.app_context():
        assert notifications.preferences(user("school-heping1"))[notifications.DECIDED] == MAIL_DAILY


def test_a_bad_reminder_setting_is_refused_in_chinese(app, as_user):
    c = as_user("school-heping1")
    form = {f"mail-{kind}": MAIL_OFF for kind in notifications.KIND_LABELS}
    form[f"mail-{notifications.DECIDED}"] = "hourly"
    html = c.post_form("/admin/messages/preferences", form).get_data(as_text=True)
    assert "请选择" in html
    with app.app_context():
        assert notifications.preferences(user("school-heping1"))[notifications.DECIDED] == MAIL_OFF


def test_every_account_has_its_inbox(as_user):
    for who in ("admin", "audit-admin", "heping"):
        assert as_user(who).get("/admin/messages/").status_code == 200, who


def test_the_badge_is_one_count_query(app, as_user):
    """The navbar's count is one COUNT on the recipient's unread index, whatever the number of messages."""
    from sqlalchemy import event

    tell(app, "school-heping1", *[f"消息{i}" for i in range(30)])
    c = as_user("school-heping1")
    seen: list[str] = []

    def log(_conn, _cursor, statement, *_args):
        if "user_notification" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", log)
    try:
        assert badge(c.get("/admin/").get_data(as_text=True)) == 30
    finally:
        event.remove(engine, "before_cursor_execute", log)
    assert len(seen) == 1 and "count(" in seen[0].lower()
