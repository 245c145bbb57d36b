"""Login failures (等保 level 3; issue 13, point 5): count them per account, lock, audit.

After LOGIN_MAX_FAILURES wrong passwords in a row the account is locked for LOGIN_LOCK_MINUTES;
while locked, even the right password does not log in (models.people.User.is_locked, asked by
Flask-Security after the password matched). A successful password resets the count. Every failed
attempt is audited, with the attempted address when no account has it. The page shows the same
generic message in every case (SECURITY_RETURN_GENERIC_RESPONSES); the audit row says which.

The failures are committed at once: Flask-Security commits only after a successful login.
Per-address throttling is public/account_security.py (Flask-Limiter).
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask import current_app
from flask_login import user_logged_in
from flask_security.signals import user_failed_authn
from flask_security.tf_plugin import tf_clean_session

from extensions import db
from services import audit, clock

if t.TYPE_CHECKING:
    from flask import Flask

    from models.people import User

UNKNOWN, WRONG_PASSWORD, LOCKED, DISABLED = "unknown_account", "wrong_password", "locked", "disabled"
WRONG_CODE = "wrong_code"  # the second factor (TOTP code) after a right password
COUNTED = (WRONG_PASSWORD, WRONG_CODE)
EMAIL_IN_AUDIT = 120  # an attempted address is kept this long at most (the column holds 500)


def _lock_window() -> tuple[int, timedelta]:
    cfg = current_app.config
    return int(cfg.get("LOGIN_MAX_FAILURES", 5)), timedelta(minutes=int(cfg.get("LOGIN_LOCK_MINUTES", 15)))


def wrong_password(user: User) -> None:
    """Count one more failure; the last allowed one locks the account."""
    now = clock.now()
    if user.locked_until is not None and user.locked_until <= now:  # an expired lock starts a fresh count
        user.locked_until, user.failed_login_count = None, 0
    user.failed_login_count = (user.failed_login_count or 0) + 1
    limit, duration = _lock_window()
    if user.failed_login_count >= limit and user.locked_until is None:
        user.locked_until = now + duration
        detail = f"连续 {user.failed_login_count} 次密码错误，锁定至 {user.locked_until:%Y-%m-%d %H:%M}"
        audit.record(user, "login.locked", "user", user.id, detail)


def failed(kind: str, user: User | None, attempted: str | None) -> None:
    """Audit one failed login (and count it when the password was wrong), then commit."""
    if kind in COUNTED and user is not None:
        wrong_password(user)
    detail = kind if user is not None else f"{kind}: {(attempted or '').strip()[:EMAIL_IN_AUDIT]}"
    audit.record(user, "login.failed", "user", user.id if user is not None else None, detail)
    db.session.commit()


def succeeded(user: User) -> None:
    """A complete login (password and, where required, the code): the count starts again. Called
    from Flask-Login's signal; Flask-Security's view commits afterwards. Not at the password step:
    else wrong codes, each followed by the right password again, would never lock."""
    user.failed_login_count = 0
    user.locked_until = None


def init_app(app: Flask) -> None:
    """Wrong two-factor codes count like wrong passwords (Flask-Security signals them; wrong
    passwords are counted by forms/login.py). When they lock the account, the half-finished
    login is dropped: the next attempt starts again at the password, which the lock refuses."""

    @user_logged_in.connect_via(app)
    def _on_login(sender: t.Any, user: User, **extra: t.Any) -> None:
        succeeded(user)

    @user_failed_authn.connect_via(app)
    def _on_failed(sender: t.Any, user: User, auth_type: str, tfa: bool = False, **extra: t.Any) -> None:
        if not tfa:
            return
        failed(WRONG_CODE, user, None)
        if user.is_locked():
            tf_clean_session()
