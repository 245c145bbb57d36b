"""The account of each request, loaded in one statement with its unit, its unread notifications and
whether it has saved filters (services/user_store.py; issue 15, point 8), and the readers that
trust those figures only while the request has not changed them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from extensions import db
from models.inbox import UserNotification
from models.saved_filter import SavedFilter
from tests.transfer_helpers import user


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def _note(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _note)


def _badge(page: str) -> int:
    return int(re.search(r'id="navbar-unread-count"[^>]*>(\d+)<', page).group(1))


def _notify(who: str, n: int) -> None:
    with db.session.no_autoflush:
        account = user(who)
        for i in range(n):
            db.session.add(UserNotification(user_id=account.id, kind="decided", title=f"测试消息 {i}"))
    db.session.commit()


def test_a_list_page_asks_for_the_account_once(app: Flask, as_user) -> None:
    """The account, its roles, unit and login session and both counts in one statement; no
    statement of its own for the session's check, the unit, the badge or the saved filters of an
    account that has none."""
    c = as_user("school-heping1")
    with statements(app) as seen:
        assert c.get("/admin/student/").status_code == 200
    on_user = [s for s in seen if re.search(r'FROM "?user"?\b', s)]
    assert len(on_user) == 1, on_user
    assert all(t in on_user[0] for t in ("user_notification", "saved_filter", "org_unit", "login_session"))
    assert not [s for s in seen if re.match(r"SELECT login_session\.", s)]
    assert not [s for s in seen if s.startswith("SELECT") and "FROM user_notification" in s.split(" FROM ", 1)[-1][:40]]
    assert not [s for s in seen if re.match(r"SELECT saved_filter\.", s)]


def test_the_badge_counts_unread_messages_at_once(app: Flask, as_user) -> None:
    c = as_user("school-heping1")
    assert _badge(c.get("/admin/student/").get_data(as_text=True)) == 0
    with app.app_context():
        _notify("school-heping1", 3)  # written by another request (another worker, the task queue)
    assert _badge(c.get("/admin/student/").get_data(as_text=True)) == 3
    assert _badge(c.get("/admin/").get_data(as_text=True)) == 3


def test_a_message_written_in_the_request_is_counted_afresh(app: Flask) -> None:
    """The figure read with the account is trusted only until this request writes a notification
    (opening one marks it read; an event may tell its own actor): then the badge counts again."""
    from services import notifications

    with app.test_request_context():
        account = user("school-heping1")
        store = app.extensions["security"].datastore
        db.session.expunge_all()  # load it as a request does, fresh
        loaded = store.find_user(fs_uniquifier=account.fs_uniquifier)
        assert loaded.__dict__["unread_at_load"] == 0 and loaded.unit is not None
        db.session.add(UserNotification(user_id=loaded.id, kind="decided", title="测试消息"))
        db.session.flush()
        assert notifications.unread_count(loaded) == 1
        db.session.rollback()


def test_a_saved_filter_shows_on_the_next_page_and_only_its_owner_looks(app: Flask, as_user) -> None:
    c = as_user("school-heping1")
    page = c.get("/admin/student/").get_data(as_text=True)
    assert "测试筛选" not in page
    with app.app_context():
        db.session.add(SavedFilter(user_id=user("school-heping1").id, endpoint="student.index_view", name="测试筛选",
                                   query_string="flt1_1=3"))
        db.session.commit()
    with statements(app) as seen:
        page = c.get("/admin/student/").get_data(as_text=True)
    assert "测试筛选" in page
    assert [s for s in seen if re.match(r"SELECT saved_filter\.", s)]  # an account with filters looks for them
    other = as_user("school-shenhe1").get("/admin/student/").get_data(as_text=True)
    assert "测试筛选" not in other
