"""The database drops in the middle of a request (issue 15, point 6): the user gets the Chinese
503 page, nothing of the request is written, and the next request works without a restart.

On both databases a driver OperationalError is raised on the statement that follows the
attachment's INSERT (the audit row of the same transaction). On PostgreSQL the real faults as
well: the request's own server process is killed (pg_terminate_backend) between those two
statements, and every pooled connection of the app is killed between two requests, which
`pool_pre_ping` must notice and replace.

These tests commit for real: the requests use the engine's pool, as in production, not the
suite's rolled-back test connection.
"""

from __future__ import annotations

import typing as t

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from extensions import db
from tests.admin.outcomes import text as page_text
from tests.production_safety.helpers import attach, committed_counts, open_transfer
from tests.transfer_helpers import png_bytes

pytestmark = pytest.mark.committing

DOWN_WORDS = "数据库暂时无法连接"
NOT_SAVED = "本次操作未保存"


def _postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


class DropAfterInsert:
    """Before the statement that follows the INSERT into `table`, `fault(connection)` runs once."""

    def __init__(self, fault: t.Callable[[t.Any], None], table: str = "attachment") -> None:
        self.fault, self.table, self.seen, self.fired = fault, table, False, False

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        words = statement.lstrip().lower()
        if self.fired:
            return
        if words.startswith((f"insert into {self.table} ", f'insert into "{self.table}" ')):
            self.seen = True
        elif self.seen and words.startswith(("insert", "update")):
            self.fired = True
            self.fault(conn)


def _hooked(app, fault: t.Callable[[t.Any], None], table: str = "attachment"):
    hook = DropAfterInsert(fault, table)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", hook)
    return hook


def _unhook(app, hook) -> None:
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", hook)


def _assert_nothing_written_and_app_recovers(app, client, request_id, before, resp) -> None:
    assert resp.status_code == 503, resp.status_code
    page = page_text(resp)
    assert DOWN_WORDS in page and NOT_SAVED in page
    assert "OperationalError" not in page and "Traceback" not in page
    assert resp.headers["Retry-After"] == "30"
    assert committed_counts(app) == before  # no attachment row, no audit row, nothing
    again = client.get(f"/admin/requests/{request_id}/")
    assert again.status_code == 200 and "故障测试.png" not in page_text(again)
    assert attach(client, request_id, png_bytes(), follow_redirects=True).status_code == 200
    after = committed_counts(app)
    assert after["attachment"] == before["attachment"] + 1  # the same upload, tried again, is saved once


def test_a_write_interrupted_by_a_database_error_saves_nothing_and_says_so(app, as_user, monkeypatch):
    request_id = open_transfer(app, monkeypatch)
    client = as_user("school-shenhe1")
    before = committed_counts(app)

    def driver_error(conn) -> None:
        raise conn.dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    hook = _hooked(app, driver_error)
    try:
        resp = attach(client, request_id, png_bytes())
    finally:
        _unhook(app, hook)
    assert hook.fired
    _assert_nothing_written_and_app_recovers(app, client, request_id, before, resp)


def test_a_flask_admin_form_interrupted_by_a_database_error_gets_the_page_not_a_raw_message(app, as_user):
    """Flask-Admin's create view catches every exception and would flash the driver's text as
    "failed to create record"; a database fault must reach the same 503 page instead."""
    province = as_user("province")
    before = committed_counts(app)

    def driver_error(conn) -> None:
        raise conn.dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    hook = _hooked(app, driver_error, table="calendar_day")
    try:
        resp = province.post_form("/admin/calendar/new/", {"day": "2031-01-11", "is_workday": "y", "note": "调休上班"})
    finally:
        _unhook(app, hook)
    assert hook.fired
    assert resp.status_code == 503 and DOWN_WORDS in page_text(resp) and "closed the connection" not in page_text(resp)
    assert committed_counts(app) == before
    again = province.post_form("/admin/calendar/new/", {"day": "2031-01-11", "is_workday": "y", "note": "调休上班"})
    assert again.status_code == 302 and committed_counts(app)["calendar_day"] == before["calendar_day"] + 1


def test_postgres_connection_killed_mid_request(app, as_user, monkeypatch):
    if not _postgres(app):
        pytest.skip("pg_terminate_backend: PostgreSQL only (the test above covers SQLite)")
    request_id = open_transfer(app, monkeypatch)
    client = as_user("school-shenhe1")
    before = committed_counts(app)
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def kill_own_backend(conn) -> None:
        pid = conn.connection.dbapi_connection.info.backend_pid
        with killer.connect() as other:
            assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    hook = _hooked(app, kill_own_backend)
    try:
        resp = attach(client, request_id, png_bytes())
    finally:
        _unhook(app, hook)
        killer.dispose()
    assert hook.fired
    _assert_nothing_written_and_app_recovers(app, client, request_id, before, resp)


def test_postgres_every_pooled_connection_killed_between_requests(app, as_user):
    if not _postgres(app):
        pytest.skip("pg_terminate_backend: PostgreSQL only")
    client = as_user("school-heping1")
    assert client.get("/admin/student/").status_code == 200
    with app.app_context():
        assert db.engine.pool._pre_ping  # config.py: SQLALCHEMY_ENGINE_OPTIONS
        pooled = db.engine.pool.checkedin()
    assert pooled >= 1  # the next request would get one of these, dead
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as conn:
            killed = conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        killer.dispose()
    assert killed >= pooled
    # The database "returns" at once (it never went away, only the connections did): the very next
    # request must work, with no restart and no error page.
    resp = client.get("/admin/student/")
    assert resp.status_code == 200 and DOWN_WORDS not in page_text(resp)
