"""我的消息 by e-mail (services/notifications.py decides who is told; this sends it): each row the
user wants at once in its own message, handed to the queue after the event's commit; the daily digest
at 07:30 with every unmailed item of the kinds a user wants daily. A failing mail server never loses
an item: it stays unmailed for the next try, and it is always in the app.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from extensions import db
from models.inbox import MAIL_DAILY, MAIL_INSTANT, UserNotification
from services import clock, mail
from services.queue import crontab, periodic, task

log = logging.getLogger(__name__)


def _absolute(link: str | None) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{link}" if link and base else (link or "")


def _mail_text(row: UserNotification) -> str:
    lines = [row.body or row.title, ""]
    if row.link:
        lines.append(f"查看：{_absolute(row.link)}")
    lines.append(f"时间：{row.created_at:%Y-%m-%d %H:%M}")
    lines += ["", "此邮件由学籍通自动发送。可在“我的消息 → 提醒方式”中更改邮件提醒。"]
    return "\n".join(lines)


def send_instant(ids: Iterable[int]) -> int:
    """Mail each of these rows still unmailed, one message each; how many went. A failed one stays
    unmailed and is logged; the others still go."""
    rows = db.session.scalars(select(UserNotification).where(UserNotification.id.in_(list(ids)), UserNotification.mail_mode == MAIL_INSTANT,
                                                             UserNotification.mailed_at.is_(None)).order_by(UserNotification.id)).all()
    sent = 0
    for row in rows:
        try:
            mail.send(row.user.email, f"【学籍通】{row.title}", _mail_text(row))
        except Exception:  # any failure of the mail server: the notification stays in the app
            log.exception("mail of notification %s failed", row.id)
            continue
        row.mailed_at = clock.now()
        db.session.commit()
        sent += 1
    return sent


@dataclass(frozen=True)
class Digest:
    user_id: int
    items: int


def send_daily_digests() -> list[Digest]:
    """One message per user with every unmailed item of the kinds they want daily; what was sent."""
    rows = db.session.scalars(select(UserNotification).where(UserNotification.mail_mode == MAIL_DAILY, UserNotification.mailed_at.is_(None))
                              .order_by(UserNotification.user_id, UserNotification.id)).all()
    by_user: dict[int, list[UserNotification]] = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    done: list[Digest] = []
    for user_id, items in by_user.items():
        user = items[0].user
        lines = [f"{user.name or user.email}，您好：", "", f"以下是学籍通的 {len(items)} 条消息：", ""]
        for n, row in enumerate(items, start=1):
            lines.append(f"{n}. {row.created_at:%m-%d %H:%M} {row.title}")
            if row.body:
                lines.append(f"   {row.body}")
            if row.link:
                lines.append(f"   查看：{_absolute(row.link)}")
        lines += ["", "此邮件由学籍通自动发送。可在“我的消息 → 提醒方式”中更改邮件提醒。"]
        try:
            mail.send(user.email, f"【学籍通】每日消息汇总（{len(items)} 条）", "\n".join(lines))
        except Exception:  # the mail server failed: these items go in the next digest
            log.exception("daily digest of user %s failed", user_id)
            continue
        now = clock.now()
        for row in items:
            row.mailed_at = now
        db.session.commit()
        done.append(Digest(user_id, len(items)))
    return done


@task()
def mail_instant(ids: list[int]) -> None:
    send_instant(ids)


@periodic(crontab(hour="7", minute="30"))
def daily_digest_sweep() -> None:
    """Before the working day: yesterday's and the night's sweeps' items in one message."""
    send_daily_digests()
