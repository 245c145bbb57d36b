"""Test fixtures: one app per session (per xdist worker), schema built by the real migrations, the
small demo province (70 pupils) loaded once and committed, and logged-in clients per demo account.

Isolation: each test runs inside one outer transaction on one connection that is rolled back
afterwards. The Flask-SQLAlchemy sessions (the test's and every request's) join it with
join_transaction_mode="create_savepoint", so the app's own commit() only releases a SAVEPOINT
(SQLAlchemy 2, "Joining a Session into an External Transaction").

Tests that cannot run inside one transaction are marked `committing` (pytest.ini; the e2e browser
tests are committing by directory): work on other threads or connections (background import and
certificate jobs, a live server, two sessions racing). They get the old isolation: every table
wiped and the demo reloaded before the test; the next rolled-back test reloads it again.

TEST_DATABASE_URL selects PostgreSQL; the default is a SQLite file under instance/ (one per
process, so one per xdist worker). Under xdist each worker uses its own PostgreSQL database,
named after TEST_DATABASE_URL's plus the worker id (test → test_gw0, test_gw1), created if missing.
SQLite test databases are not synced to disk (PRAGMA synchronous=OFF): a test database need not
survive a power cut, and every commit's fsync made the migration tests twice as slow.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from app import create_app
from cli import DEMO_PASSWORD
from config import TestConfig
from extensions import db

T = t.TypeVar("T")
CSRF_RE = re.compile(r'(?:name="[\w-]*csrf_token" type="hidden" value|name="csrf-token" content)="([^"]+)"')
ONCE_RE = re.compile(r'name="_once" value="([^"]+)"')  # services/submission_tokens.py
NO_DATABASE_DIRS = ("/unit/",)  # tests of pure functions: no demo, no transaction
COMMITTING_DIRS = ("/e2e/",)  # a live server answers on its own threads and connections


def _bound_connection(self, mapper=None, clause=None, bind=None, **kwargs):
    """Flask-SQLAlchemy's get_bind always picks the app's engine; a session made with
    bind=<Connection> (the rolled-back test transaction) must use that connection instead."""
    if bind is None and isinstance(self.bind, Connection):
        return self.bind
    return _flask_sqlalchemy_get_bind(self, mapper=mapper, clause=clause, bind=bind, **kwargs)


_flask_sqlalchemy_get_bind = FlaskSQLAlchemySession.get_bind
FlaskSQLAlchemySession.get_bind = _bound_connection  # type: ignore[method-assign]


@event.listens_for(Engine, "connect")
def _unsynced_sqlite(dbapi_connection, _record) -> None:
    """Every SQLite database of the tests (the suite's, the migration tests' own, the live
    server's connections): no fsync per commit. Locking and isolation are unchanged."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def _worker_database(url: str) -> str:
    """PostgreSQL under xdist: the worker's own database (created if missing); SQLite files are
    already one per process (config.TestConfig)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    parsed = make_url(url)
    if not worker or not parsed.drivername.startswith("postgresql"):
        return url
    name = f"{parsed.database}_{worker}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = _worker_database(config.SQLALCHEMY_DATABASE_URI)
    app = create_app(config)
    _suite["app"] = app
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        _demo["count_rows"] = _counting_statement()
    yield app
    with app.app_context():
        db.engine.dispose()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    shutil.rmtree(app.config["UPLOAD_DIR"], ignore_errors=True)


def _wipe() -> None:
    """Every table emptied, through the session: inside a rolled-back test this is rolled back too."""
    conn = db.session.connection()
    existing = set(inspect(conn).get_table_names())  # a model without its migration is caught by test_migrations_match_the_models
    for table in reversed(db.metadata.sorted_tables):
        if table.name in existing:
            conn.execute(table.delete())
    db.session.commit()


def _counting_statement() -> tuple[list[str], str]:
    """(tables, one SELECT of every table's row count): built once after the migrations, since
    asking for each table in turn after every test cost as much as many tests themselves."""
    with db.engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())  # a model without its migration is caught by test_migrations_match_the_models
    names = [t.name for t in db.metadata.sorted_tables if t.name in existing]
    quote = db.engine.dialect.identifier_preparer.quote
    return names, "SELECT " + ", ".join(f"(SELECT count(*) FROM {quote(name)})" for name in names)


def _row_counts() -> dict[str, int]:
    """The number of rows of every table: a rolled-back test must leave them as they were."""
    names, statement = _demo["count_rows"]
    with db.engine.connect() as conn:
        return dict(zip(names, conn.exec_driver_sql(statement).one(), strict=True))


_suite: dict[str, Flask] = {}  # the session's app, once the `app` fixture has made it


@pytest.fixture(autouse=True)
def _queue_stays_with_the_suite_app() -> Iterator[None]:
    """After a test that built an app of its own (migrations, production settings, a backup drill),
    the task queue is bound to the suite's app again: create_app binds the one global Huey to the
    newest app, whose tasks would otherwise run against that test's (by then deleted) database."""
    yield
    from services import queue

    suite = _suite.get("app")
    if suite is not None and queue.bound_app_or_none() is not suite:
        queue.init_app(suite)


_demo: dict = {"pristine": False, "counts": {}}  # is the committed database exactly the demo province?


def _reload_demo() -> None:
    from cli.demo import load_demo

    _wipe()
    load_demo(pupils=70)
    db.session.remove()


def extend_demo(app: Flask, build: t.Callable[[], T]) -> T:
    """For a module-scoped fixture: the demo province plus what `build` makes, committed once, so
    that the module's tests (each still rolled back) need not build it each time. The next test of
    another module gets a freshly reloaded demo (call end_extended_demo() at the fixture's end)."""
    with app.test_request_context():
        _reload_demo()
        value = build()
        db.session.commit()
        _demo["counts"] = _row_counts()
        _demo["pristine"] = True
    return value


def end_extended_demo() -> None:
    _demo["pristine"] = False


def _is_committing(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("committing") is not None or any(
        d in str(request.node.path) for d in COMMITTING_DIRS)


@pytest.fixture(autouse=True)
def demo(request: pytest.FixtureRequest) -> Iterator[None]:
    """The demo province for every test outside tests/unit: rolled back after the test, or, for a
    `committing` test, wiped and reloaded before it."""
    if any(d in str(request.node.path) for d in NO_DATABASE_DIRS):
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from admin import list_frames

    list_frames.clear()  # kept per account and URL: a test's data must not meet the last one's
    if _is_committing(request):
        with app.app_context():
            _reload_demo()
            _demo["pristine"] = False
        yield
        with app.app_context():
            db.session.remove()
        return
    with app.app_context():
        if not _demo["pristine"]:
            _reload_demo()
            _demo["pristine"] = True
            _demo["counts"] = _row_counts()
        connection = db.engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # pysqlite's own transaction handling breaks SAVEPOINT: SQLAlchemy's documented workaround
        connection.connection.dbapi_connection.isolation_level = None  # type: ignore[union-attr]
    outer = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    factory_kw = dict(db.session.session_factory.kw)
    db.session.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session.session_factory.kw.clear()
        db.session.session_factory.kw.update(factory_kw)
        outer.rollback()
        if sqlite:
            connection.connection.dbapi_connection.isolation_level = ""  # type: ignore[union-attr]
        connection.close()
        with app.app_context():
            counts = _row_counts()
        leaked = sorted(name for name, n in counts.items() if n != _demo["counts"].get(name))
        if leaked:  # something committed outside the test's transaction: the next test gets a fresh demo
            _demo["pristine"] = False
            pytest.fail(f"{request.node.nodeid} committed outside its transaction (rows of {', '.join(leaked)}): "
                        "mark it @pytest.mark.committing", pytrace=False)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield
        db.session.rollback()


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


class Client(FlaskClient):
    """A test client that can fetch a form's CSRF token before posting it.

    Responses are buffered: a streamed export left unread would otherwise keep its database
    connection (and, on SQLite, its lock) open into the next test.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)

    def csrf(self, url: str = "/login") -> str:
        return csrf_from(self.get(url).get_data(as_text=True))

    def post_form(self, url: str, data: dict, token_from: str | None = None, **kw):
        """Post as a browser would from the page `token_from` (default: `url`): with the page's CSRF
        token and, when the page gives one, its one-time submission token (services/submission_tokens.py)."""
        data = dict(data)
        if "csrf_token" not in data:
            html = self.get(token_from or url).get_data(as_text=True)
            data["csrf_token"] = csrf_from(html)
            once = ONCE_RE.search(html)
            if once and "_once" not in data:
                data["_once"] = once.group(1)
        return self.post(url, data=data, **kw)


def totp_code(app: Flask, email: str) -> str:
    """The code an authenticator app shows now for this account's stored TOTP secret."""
    from sqlalchemy import func, select

    from models.people import User
    from services.two_factor import next_unused_code

    with app.app_context():
        user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        assert user is not None and user.tf_totp_secret, f"{email} has no two-factor secret"
        return next_unused_code(user)


def login(app: Flask, email: str, password: str = DEMO_PASSWORD) -> Client:
    """Log in; an account with two-factor (authority accounts: issue 13) also passes the code step."""
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    resp = client.post_form("/login", {"email": email, "password": password})
    assert resp.status_code == 302, f"login of {email} failed"
    if "/tf-validate" in resp.headers["Location"]:
        resp = client.post_form("/tf-validate", {"code": totp_code(app, email)})
        assert resp.status_code == 302 and "/tf-validate" not in resp.headers["Location"], f"code step of {email} failed"
    return client


@pytest.fixture
def as_user(app: Flask):
    """as_user("heping") → a client logged in as heping@xueji.demo."""
    def _login(who: str) -> Client:
        return login(app, who if "@" in who else f"{who}@xueji.demo")
    return _login
