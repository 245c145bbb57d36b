"""Login failures (issue 13, point 5; the fault "30 wrong passwords in 4 seconds meet no throttling or
lockout"): 5 wrong passwords lock an account for 15 minutes, the login form is rate-limited per
client address, every failure kind shows one generic message and is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from cli import DEMO_PASSWORD
from config import Config
from extensions import db
from models.audit import AuditLog
from models.people import User
from public import limiter
from services import clock
from tests.conftest import Client

SCHOOL = "school-heping1@xueji.demo"  # no two-factor: a right password logs straight in
GENERIC = "登录失败：邮箱或密码不正确。"
ERRORS_RE = re.compile(r'class="[^"]*fs-error-msg[^"]*">([^<]*)<')


def _client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def _attempt(c: Client, email: str, password: str, ip: str = "127.0.0.1"):
    return c.post_form("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def _errors(resp) -> list[str]:
    return [m.strip() for m in ERRORS_RE.findall(resp.get_data(as_text=True))]


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def login_limit(app: Flask, monkeypatch):
    """The production limit instead of TestConfig's unthrottled one; counters cleared around the test."""
    def set_limit(value: str) -> None:
        monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", value)
        limiter.reset()
    yield set_limit
    limiter.reset()


def test_thirty_wrong_passwords_are_locked_out_and_throttled(app: Flask, login_limit) -> None:
    """The fault: 30 quick posts. The 6th onward is refused even with the right password, and the
    address is throttled after LOGIN_RATE_LIMIT (10 per minute) posts with the Chinese 429 page."""
    login_limit(Config.LOGIN_RATE_LIMIT)
    assert Config.LOGIN_RATE_LIMIT == "10 per minute"
    c = _client(app)
    codes = []
    for n in range(1, 31):
        password = DEMO_PASSWORD if n == 6 else f"wrong-{n}"
        resp = _attempt(c, SCHOOL, password)
        codes.append(resp.status_code)
        if n <= 10:
            assert resp.status_code == 200 and _errors(resp) == [GENERIC], n  # the form again, never a login
    assert codes[:10] == [200] * 10 and codes[10:] == [429] * 20
    blocked = _attempt(c, SCHOOL, DEMO_PASSWORD)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "请求过于频繁" in blocked.get_data(as_text=True)  # the Chinese 429 page (app.py)
    assert c.get("/login").status_code == 200  # showing the page is not counted
    assert c.get("/admin/").status_code == 302  # never logged in
    # From another address (not throttled), the right password still meets the lock.
    other = _client(app)
    resp = _attempt(other, SCHOOL, DEMO_PASSWORD, ip="10.0.0.9")
    assert resp.status_code == 200 and _errors(resp) == [GENERIC]
    assert other.get("/admin/").status_code == 302
    with app.app_context():
        user = _user(SCHOOL)
        assert user.locked_until is not None and user.locked_until > clock.now() + timedelta(minutes=14)


def test_lock_lasts_fifteen_minutes_and_a_success_resets_the_count(app: Flask, monkeypatch) -> None:
    c = _client(app)
    for n in range(4):
        _attempt(c, SCHOOL, f"wrong-{n}")
    with app.app_context():
        assert _user(SCHOOL).failed_login_count == 4 and _user(SCHOOL).locked_until is None
    assert _attempt(c, SCHOOL, DEMO_PASSWORD).status_code == 302  # the 5th try is right: in, count reset
    with app.app_context():
        assert _user(SCHOOL).failed_login_count == 0
    c = _client(app)
    for n in range(5):
        _attempt(c, SCHOOL, f"wrong-{n}")
    assert _attempt(c, SCHOOL, DEMO_PASSWORD).status_code == 200  # locked: the right password is refused
    later = clock.now() + timedelta(minutes=14)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert _attempt(c, SCHOOL, DEMO_PASSWORD).status_code == 200  # 14 minutes on: still locked
    later = clock.now() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    resp = _attempt(c, SCHOOL, DEMO_PASSWORD)  # 16 minutes on: the lock has ended
    assert resp.status_code == 302 and c.get("/admin/").status_code == 200
    with app.app_context():
        user = _user(SCHOOL)
        assert user.failed_login_count == 0 and user.locked_until is None


def test_the_login_form_is_rate_limited_per_address(app: Flask, login_limit) -> None:
    login_limit("3 per minute")
    c = _client(app)
    assert [_attempt(c, SCHOOL, "wrong").status_code for _ in range(3)] == [200, 200, 200]
    resp = _attempt(c, SCHOOL, DEMO_PASSWORD)
    assert resp.status_code == 429
    body = resp.get_data(as_text=True)
    assert "Too many" not in body and "您的地址请求过于频繁" in body  # the Chinese error page (app.py)
    assert c.get("/login").status_code == 200  # GET is not limited
    assert _attempt(_client(app), SCHOOL, DEMO_PASSWORD, ip="10.0.0.7").status_code == 302  # another address


def test_every_failure_kind_shows_the_same_message_and_is_audited(app: Flask) -> None:
    c = _client(app)
    with app.app_context():
        before = db.session.scalar(select(func.max(AuditLog.id))) or 0
        disabled = _user("school-heping2@xueji.demo")
        disabled.active = False
        db.session.commit()
    unknown = _attempt(c, "nobody-here@xueji.demo", DEMO_PASSWORD)
    wrong = _attempt(c, SCHOOL, "wrong-password")
    off = _attempt(c, "school-heping2@xueji.demo", DEMO_PASSWORD)
    for n in range(5):
        _attempt(c, "school-shenhe1@xueji.demo", f"wrong-{n}")
    locked = _attempt(c, "school-shenhe1@xueji.demo", DEMO_PASSWORD)
    for resp in (unknown, wrong, off, locked):
        assert resp.status_code == 200 and _errors(resp) == [GENERIC]
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.id > before, AuditLog.action.like("login.%"))
                                  .order_by(AuditLog.id)).all()
        failed = [(r.user_email, r.detail) for r in rows if r.action == "login.failed"]
        assert failed[0] == (None, "unknown_account: nobody-here@xueji.demo")
        assert failed[1] == (SCHOOL, "wrong_password")
        assert failed[2] == ("school-heping2@xueji.demo", "disabled")
        assert failed[3:8] == [("school-shenhe1@xueji.demo", "wrong_password")] * 5
        assert failed[8] == ("school-shenhe1@xueji.demo", "locked")
        assert [r.user_email for r in rows if r.action == "login.locked"] == ["school-shenhe1@xueji.demo"]
        assert all(r.ip == "127.0.0.1" for r in rows)


def test_an_attempted_address_is_kept_short_in_the_audit(app: Flask) -> None:
    c = _client(app)
    long_address = "a" * 60 + "@" + "b" * 60 + ".example.com"  # 133 characters, a valid address
    _attempt(c, long_address, "whatever-1")
    with app.app_context():
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "login.failed").order_by(AuditLog.id.desc())).first()
        assert row is not None and row.user_id is None and len(row.detail) < 150
