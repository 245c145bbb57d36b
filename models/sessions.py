"""Login sessions kept on the server (等保: logout, idle and absolute expiry, one session per account).

Flask's session is a signed cookie: a copy of it stays valid after logout unless the server keeps
its own record. The cookie carries only this row's random id; the row says whether the session is
still open. Several web workers share the table, so the web tier stays stateless.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.clock import now

# Why a session ended: the login page tells the user (services/sessions.py).
END_REASONS = ("logout", "idle", "expired", "replaced", "disabled")


class LoginSession(db.Model):
    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # secrets.token_urlsafe: unguessable
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))

    # "the open sessions of this account", asked at every login
    __table_args__ = (Index("ix_login_session_user_open", "user_id", "ended_at"),)
