"""消息 (issue 16 point 6): what the system tells one user (我的消息) and how that user wants to hear it.

`UserNotification` is personal: it names one recipient (unlike `models.changes.Notification`, a
message to a whole unit shown on the request page and the home page). The navbar counts the unread
ones with one COUNT over `ix_user_notification_unread` (user_id, read_at).

`mail_mode` is the recipient's preference for the kind when the row was written ("off", "instant",
"daily"): a change of preference later does not mail old items. `mailed_at` marks what went out
(instantly, or in a daily digest), so that a worker running twice sends each once.

`NotificationPreference` holds one row per (user, kind) the user changed; a kind without a row is
in-app only (the default: nobody is mailed without asking for it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User

MAIL_OFF, MAIL_INSTANT, MAIL_DAILY = "off", "instant", "daily"
MAIL_MODES = (MAIL_OFF, MAIL_INSTANT, MAIL_DAILY)


class UserNotification(db.Model):
    __tablename__ = "user_notification"
    __table_args__ = (
        Index("ix_user_notification_unread", "user_id", "read_at"),
        Index("ix_user_notification_user_id", "user_id", "id"),
        Index("ix_user_notification_mail", "mail_mode", "mailed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    link: Mapped[str | None] = mapped_column(String(300))  # a path inside the app (the request, the job, the file)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    mail_mode: Mapped[str] = mapped_column(String(10), default=MAIL_OFF)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class NotificationPreference(db.Model):
    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_notification_preference_user_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(30))
    mail: Mapped[str] = mapped_column(String(10), default=MAIL_OFF)
