"""Dormant accounts (issue 13 point 9, 等保 level 3): an account nobody has logged in with for 90
days is disabled.

Two ways in, one rule:
- `disable_dormant` disables every dormant account at once: nightly in the queue worker
  (services/sweeps.py), or by hand with `flask --app app accounts disable-dormant`.
- `refuse_dormant_login` runs before a login is checked (app.py registers it), so that a dormant
  account cannot log in even on a day the job has not run: it is disabled there and then, and
  Flask-Security refuses it with the same words as any failed login.

"Last seen" is the latest login (`current_login_at`, else `last_login_at`), or the account's
creation (`created_at`) when it never logged in: a freshly loaded demo, or a new account, has its
90 days. The login times are written by Flask-Security (its clock is UTC) and `created_at` by ours
(China time, the wall clock, not the tests' time travel); eight hours do not matter against 90 days.
Each disabling writes an audit row with the reason, filed under the account's own unit so that the
authorities above it and the audit administrator see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import request
from sqlalchemy import func, select

from extensions import db
from models.clock import system_now
from models.people import User
from services import audit

DORMANT_DAYS = 90
ACTION = "user.disable_dormant"


def _last_seen() -> object:
    return func.coalesce(User.current_login_at, User.last_login_at, User.created_at)


def last_seen(user: User) -> datetime | None:
    return user.current_login_at or user.last_login_at or user.created_at


def cutoff(now: datetime | None = None) -> datetime:
    return (now or system_now()) - timedelta(days=DORMANT_DAYS)


def is_dormant(user: User, now: datetime | None = None) -> bool:
    seen = last_seen(user)
    return bool(user.active) and seen is not None and seen < cutoff(now)


def _disable(user: User) -> None:
    seen = last_seen(user)
    user.active = False
    row = audit.record(None, ACTION, "user", user.id,
                       f"{user.email}：{DORMANT_DAYS} 天以上未登录，已自动停用（最后登录或创建：{seen:%Y-%m-%d %H:%M}）")
    row.unit_id, row.scope_path = user.unit_id, user.scope_path  # filed under the account's unit


def disable_dormant(now: datetime | None = None) -> list[User]:
    """Disable every active account unseen for 90 days; the caller commits. Returns them."""
    users = list(db.session.scalars(
        select(User).where(User.active.is_(True), _last_seen() < cutoff(now)).order_by(User.id)
    ))
    for user in users:
        _disable(user)
    return users


def disable_if_dormant(user: User | None, now: datetime | None = None) -> bool:
    """The login-time check: disable `user` (and commit) when dormant; True when it was."""
    if user is None or not is_dormant(user, now):
        return False
    _disable(user)
    db.session.commit()
    return True


def refuse_dormant_login() -> None:
    """before_request: on a login POST, a dormant account is disabled before its password is checked."""
    if request.method != "POST" or request.endpoint != "security.login":
        return
    data = request.form if request.form else request.get_json(silent=True)
    if not hasattr(data, "get"):
        return
    email = str(data.get("email") or "").strip().lower()
    if email:
        disable_if_dormant(db.session.scalar(select(User).where(func.lower(User.email) == email)))
