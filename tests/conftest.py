"""Test fixtures: one app per session, schema built by the real migrations, a fresh demo
province for every test (small: 70 pupils), and logged-in clients per demo account.

TEST_DATABASE_URL selects PostgreSQL; the default is a SQLite file under instance/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from app import create_app
from cli import DEMO_PASSWORD
from config import TestConfig
from extensions import db

CSRF_RE = re.compile(r'(?:name="[\w-]*csrf_token" type="hidden" value|name="csrf-token" content)="([^"]+)"')


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app(TestConfig())
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    shutil.rmtree(app.config["UPLOAD_DIR"], ignore_errors=True)


def _wipe() -> None:
    with db.engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())  # a model without its migration is caught by test_migrations_match_the_models
        for table in reversed(db.metadata.sorted_tables):
            if table.name in existing:
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def demo(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fresh demo province for every test outside tests/unit (which need no database)."""
    if "/unit/" in str(request.node.path):
        yield
        return
    from cli.demo import load_demo

    app = request.getfixturevalue("app")
    with app.app_context():
        _wipe()
        load_demo(pupils=70)
        db.session.remove()
    yield
    with app.app_context():
        db.session.remove()


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
        data = dict(data)
        data.setdefault("csrf_token", self.csrf(token_from or url))
        return self.post(url, data=data, **kw)


def login(app: Flask, email: str, password: str = DEMO_PASSWORD) -> Client:
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    resp = client.post_form("/login", {"email": email, "password": password})
    assert resp.status_code == 302, f"login of {email} failed"
    return client


@pytest.fixture
def as_user(app: Flask):
    """as_user("heping") → a client logged in as heping@xueji.demo."""
    def _login(who: str) -> Client:
        return login(app, who if "@" in who else f"{who}@xueji.demo")
    return _login
