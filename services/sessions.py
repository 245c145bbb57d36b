"""Server-side login sessions (issue 13, point 8): logout ends the session for every copy of its
cookie, an idle session ends after SESSION_IDLE_MINUTES, any session after SESSION_MAX_HOURS, and a
login on another device ends the earlier session of the same account.

Flask's session is a signed cookie that the server cannot revoke; it carries only the id of a
`login_session` row (models/sessions.py), and every request checks that row. The row lives in the
database, not in process memory, so any number of web workers agree on it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import user_logged_in, user_logged_out
from flask_security import current_user, logout_user
from sqlalchemy import select

from extensions import db
from models.people import User
from models.sessions import LoginSession
from services import audit, clock

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

SESSION_KEY = "login_sid"
# last_seen_at is written at most this often per session: not a database write on every request.
TOUCH_EVERY = timedelta(minutes=1)
# Requests that are never refused: static files, and the pages that end or start a session.
EXEMPT_ENDPOINTS = {"static", "admin.static", "security.login", "security.logout", "set_language"}

MESSAGES = {
    "logout": _l("This session has ended. Please log in again."),
    "idle": _l("The session expired after 30 minutes without activity. Please log in again."),
    "expired": _l("The session reached its maximum length of 12 hours. Please log in again."),
    "replaced": _l("Your account has logged in on another device; this session has ended."),
    "disabled": _l("Your account has been disabled; this session has ended."),
    "missing": _l("This session is no longer valid. Please log in again."),
}


def _end(row: LoginSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at = clock.now()
        row.end_reason = reason


def start(user: User) -> LoginSession:
    """A new session for `user`; any session still open elsewhere ends ("replaced"). The caller's
    commit (Flask-Security commits after a login) makes it durable."""
    for row in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                             LoginSession.ended_at.is_(None))):
        _end(row, "replaced")
    now = clock.now()
    row = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, last_seen_at=now)
    db.session.add(row)
    session[SESSION_KEY] = row.id
    return row


def end_current(reason: str = "logout") -> None:
    """End this request's session (logout)."""
    sid = session.pop(SESSION_KEY, None)
    row = db.session.get(LoginSession, sid) if sid else None
    if row is not None:
        _end(row, reason)
    db.session.commit()  # the session's end and the logout's audit row


def end_all(user_id: int, reason: str = "disabled") -> int:
    """End every open session of an account (disabled, locked, password reset); the caller commits.
    Returns how many were open."""
    rows = list(db.session.scalars(select(LoginSession).where(LoginSession.user_id == user_id,
                                                              LoginSession.ended_at.is_(None))))
    for row in rows:
        _end(row, reason)
    return len(rows)


def refusal(user_id: int, sid: str | None, now: datetime) -> str | None:
    """Why the session `sid` of `user_id` may not be used at `now` (a key of MESSAGES), or None.
    An expired session is ended here; a live one has its last_seen_at refreshed (once a minute)."""
    row = db.session.get(LoginSession, sid) if sid else None
    if row is None or row.user_id != user_id:
        return "missing"  # e.g. a remember-me cookie, which carries no session of ours
    if row.ended_at is not None:
        return row.end_reason or "logout"
    cfg = current_app.config
    if now - row.created_at >= timedelta(hours=cfg["SESSION_MAX_HOURS"]):
        _end(row, "expired")
    elif now - row.last_seen_at >= timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        _end(row, "idle")
    elif now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    else:
        return None  # nothing to write
    db.session.commit()
    return row.end_reason


def _check() -> Response | None:
    if request.endpoint in EXEMPT_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        reason = refusal(current_user.id, session.get(SESSION_KEY), clock.now())
        if reason is None:
            return None
        audit.record(current_user._get_current_object(), "session.end", "user", current_user.id, reason)
        db.session.commit()
        session.pop(SESSION_KEY, None)
        logout_user()
    elif SESSION_KEY in session:
        # The cookie names a session but no user loads from it: the account was disabled.
        row = db.session.get(LoginSession, session.pop(SESSION_KEY))
        if row is None or row.ended_at is not None:
            return None
        user = db.session.get(User, row.user_id)
        reason = "disabled" if user is None or not user.active else "missing"
        _end(row, reason)
        db.session.commit()
    else:
        return None
    flash(str(MESSAGES[reason]), "error")
    return redirect(url_for("security.login"))


def init_app(app: Flask) -> None:
    app.before_request(_check)

    @user_logged_in.connect_via(app)
    def _on_login(sender, user, **extra) -> None:
        # Sent only once the whole login (with its second factor) has succeeded.
        start(user)

    @user_logged_out.connect_via(app)
    def _on_logout(sender, user, **extra) -> None:
        if user is not None and getattr(user, "id", None) is not None and SESSION_KEY in session:
            audit.record(user, "logout", "user", user.id)  # committed by end_current
        end_current("logout")
