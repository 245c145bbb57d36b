"""Checking and trimming the audit log's hash chain (models/audit.py; issue 13, point 16).

`verify` walks the rows in id order and names the first broken link. `purge` is the only code
that deletes audit rows: only rows older than the retention period (AUDIT_RETENTION_DAYS, never
under 180 days), only a prefix of the chain, and it records itself; the purge row names the oldest
remaining row and its prev_hash, the anchor from which `verify` then starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from extensions import db
from models.audit import GENESIS, HASHED_FIELDS, AuditLog, lock_chain, row_digest
from services import audit, clock

MIN_RETENTION_DAYS = 180  # 等保 level 3: audit records are kept at least six months
PURGE_ACTION = "audit.purge"
BATCH = 5000


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken_id: int | None = None
    broken_at: datetime | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def message(self) -> str:
        if self.intact:
            return f"审计日志完整：{self.rows} 行"
        at = self.broken_at.isoformat(sep=" ") if self.broken_at else ""
        return f"审计日志在第 {self.broken_id} 行（{at}）断开：{self.reason}"


_COLUMNS = [AuditLog.id, AuditLog.row_hash, *(getattr(AuditLog, f) for f in HASHED_FIELDS)]


def _batches(conn: Connection):
    after = 0
    while True:
        rows = conn.execute(select(*_COLUMNS).where(AuditLog.id > after).order_by(AuditLog.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        yield from rows
        after = rows[-1]["id"]


def _anchored(conn: Connection, first_id: int, prev_hash: str) -> bool:
    """The oldest row may follow a purged one only when a purge row names it as its anchor."""
    details = conn.scalars(select(AuditLog.detail).where(
        AuditLog.action == PURGE_ACTION, AuditLog.object_type == "audit_log", AuditLog.object_id == str(first_id)))
    return any(prev_hash in (d or "") for d in details)


def _broken_link(conn: Connection, row, previous) -> str:
    """Why `row` does not follow `previous` (both hash-valid)."""
    moved = conn.scalar(select(AuditLog.id).where(AuditLog.row_hash == row["prev_hash"]).limit(1))
    if moved is not None:
        return f"行序被调换：本行原本接在第 {moved} 行之后，而不是第 {previous['id']} 行之后"
    if row["id"] != previous["id"] + 1:
        return f"第 {previous['id']} 行与第 {row['id']} 行之间的行被删除（前一行哈希不符）"
    return f"前一行（第 {previous['id']} 行）被改动后重算了哈希，或其后的行被删除（前一行哈希不符）"


def verify(conn: Connection | None = None) -> Verdict:
    conn = conn if conn is not None else db.session.connection()
    count, previous = 0, None
    for row in _batches(conn):
        if row_digest(dict(row)) != row["row_hash"]:
            return Verdict(count, row["id"], row["at"], "本行内容被改动（本行哈希不符）")
        if previous is None:
            if row["prev_hash"] != GENESIS and not _anchored(conn, row["id"], row["prev_hash"]):
                moved = conn.scalar(select(AuditLog.id).where(AuditLog.row_hash == row["prev_hash"]).limit(1))
                reason = (f"行序被调换：本行原本接在第 {moved} 行之后" if moved is not None
                          else "最早的行被删除，且没有清除记录")
                return Verdict(count, row["id"], row["at"], reason)
        elif row["prev_hash"] != previous["row_hash"]:
            return Verdict(count, row["id"], row["at"], _broken_link(conn, row, previous))
        count += 1
        previous = row
    return Verdict(count)


class PurgeRefused(ValueError):
    """A user-facing reason why a purge was not done."""


def retention_days() -> int:
    days = int(current_app.config.get("AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS))
    if days < MIN_RETENTION_DAYS:
        raise PurgeRefused(f"AUDIT_RETENTION_DAYS 为 {days}，不得少于 {MIN_RETENTION_DAYS} 天，未清除任何行。")
    return days


def earliest_purge_date(today: date | None = None) -> date:
    """Rows older than this day (strictly before it) may be purged; nothing younger, ever."""
    return (today or clock.today()) - timedelta(days=retention_days())


def purge(before: date) -> int:
    """Delete the rows written before `before` (a prefix of the chain) and record it; returns the
    number deleted. Refuses a day inside the retention period. The caller commits."""
    limit = earliest_purge_date()
    if before > limit:
        raise PurgeRefused(f"审计日志至少保留 {retention_days()} 天：只能清除 {limit.isoformat()} 之前的行，未清除任何行。")
    conn = db.session.connection()
    lock_chain(conn)
    cutoff = datetime.combine(before, datetime.min.time())
    # A prefix: every row below the first one written on or after the day (no holes in the chain).
    first_kept = conn.scalar(select(func.min(AuditLog.id)).where(AuditLog.at >= cutoff))
    upper = first_kept if first_kept is not None else (conn.scalar(select(func.max(AuditLog.id))) or 0) + 1
    deleted = conn.execute(delete(AuditLog).where(AuditLog.id < upper)).rowcount or 0
    anchor = conn.execute(select(AuditLog.id, AuditLog.prev_hash).order_by(AuditLog.id).limit(1)).first()
    detail = f"清除 {before.isoformat()} 之前的审计日志 {deleted} 行"
    if anchor is not None:
        detail += f"；锚点：第 {anchor.id} 行 {anchor.prev_hash}"
    audit.record(None, PURGE_ACTION, "audit_log", anchor.id if anchor is not None else None, detail)
    return deleted
