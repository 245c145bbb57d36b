"""Dormant accounts (issue 13 point 9): 90 days without a login and the account is disabled — by
the daily command, and at the login itself when the command has not run yet. Each disabling is
audited with its reason; a freshly loaded demo is not dormant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cli import DEMO_PASSWORD
from cli.demo import ACCOUNTS
from extensions import db
from models.audit import AuditLog
from models.clock import system_now
from models.people import User
from services import dormant_accounts
from tests.conftest import Client


def _user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@xueji.demo"))


def _last_login(app, who: str, days_ago: int | None, *, created_days_ago: int | None = None) -> None:
    """Set the account's login times (None: never logged in) and, optionally, its creation."""
    with app.app_context():
        user = _user(who)
        when = None if days_ago is None else system_now() - timedelta(days=days_ago)
        user.current_login_at = user.last_login_at = when
        if created_days_ago is not None:
            user.created_at = system_now() - timedelta(days=created_days_ago)
        db.session.commit()


def _try_login(app, who: str) -> int:
    app.test_client_class = Client
    client = app.test_client()
    return client.post_form("/login", {"email": f"{who}@xueji.demo", "password": DEMO_PASSWORD}).status_code


def _run_command(app) -> str:
    result = app.test_cli_runner().invoke(args=["accounts", "disable-dormant"])
    assert result.exit_code == 0, result.output
    return result.output


def _active(app, who: str) -> bool:
    with app.app_context():
        return _user(who).active


def _dormant_rows(app, who: str) -> list[AuditLog]:
    with app.app_context():
        uid = _user(who).id
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == dormant_accounts.ACTION,
                                                              AuditLog.object_id == str(uid))))


def test_an_account_idle_91_days_is_disabled_by_the_command_and_cannot_log_in(app):
    _last_login(app, "school-heping2", 91)
    output = _run_command(app)
    assert "school-heping2@xueji.demo" in output
    assert not _active(app, "school-heping2")
    assert _try_login(app, "school-heping2") == 200  # the login form again, not the way in
    rows = _dormant_rows(app, "school-heping2")
    assert len(rows) == 1
    assert "90 天以上未登录" in rows[0].detail and rows[0].user_id is None  # done by the system, not a person
    with app.app_context():
        assert rows[0].scope_path == _user("school-heping2").scope_path  # the authorities above it see it


def test_an_account_idle_89_days_is_not_disabled(app):
    _last_login(app, "school-heping2", 89)
    output = _run_command(app)
    assert "school-heping2@xueji.demo" not in output
    assert _active(app, "school-heping2")
    assert _try_login(app, "school-heping2") == 302
    assert _dormant_rows(app, "school-heping2") == []


def test_a_dormant_account_cannot_log_in_even_before_the_command_runs(app):
    _last_login(app, "school-shenhe1", 120)
    assert _active(app, "school-shenhe1")
    assert _try_login(app, "school-shenhe1") == 200
    assert not _active(app, "school-shenhe1")
    assert len(_dormant_rows(app, "school-shenhe1")) == 1


def test_a_wrong_password_on_a_dormant_account_disables_it_too_and_says_nothing_more(app):
    _last_login(app, "school-shenhe1", 100)
    app.test_client_class = Client
    resp = app.test_client().post_form("/login", {"email": "school-shenhe1@xueji.demo", "password": "wrong"})
    assert resp.status_code == 200
    assert not _active(app, "school-shenhe1")


def test_an_account_never_logged_in_counts_from_its_creation(app):
    _last_login(app, "school-xigang1", None, created_days_ago=91)
    _last_login(app, "school-kangping1", None, created_days_ago=10)
    output = _run_command(app)
    assert "school-xigang1@xueji.demo" in output and "school-kangping1@xueji.demo" not in output
    assert not _active(app, "school-xigang1") and _active(app, "school-kangping1")


def test_the_login_check_uses_the_latest_login(app):
    """An old previous login does not count once the account has logged in since."""
    with app.app_context():
        user = _user("school-heping1")
        user.last_login_at = system_now() - timedelta(days=300)
        user.current_login_at = system_now() - timedelta(days=3)
        db.session.commit()
    assert _try_login(app, "school-heping1") == 302


def test_a_freshly_loaded_demo_is_not_dormant(app):
    output = _run_command(app)
    assert "已停用" not in output
    for email, *_rest in ACCOUNTS:
        with app.app_context():
            assert db.session.scalar(select(User.active).where(User.email == email)), email


def test_a_disabled_account_is_left_alone(app):
    with app.app_context():
        user = _user("school-heping2")
        user.active = False
        user.current_login_at = system_now() - timedelta(days=400)
        db.session.commit()
    _run_command(app)
    assert _dormant_rows(app, "school-heping2") == []


@pytest.mark.parametrize("days, dormant", [(89, False), (90, False), (91, True)])
def test_is_dormant_at_the_boundary(ctx, days, dormant):
    user = _user("school-heping1")
    now = system_now()
    user.current_login_at = now - timedelta(days=days) + timedelta(minutes=1 if days == 90 else 0)
    assert dormant_accounts.is_dormant(user, now) is dormant
