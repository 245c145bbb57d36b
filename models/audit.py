"""History of every change to a student, and the append-only, hash-chained audit log (第二十八条).

Tamper evidence: every audit row carries `prev_hash` (the `row_hash` of the row before it in id
order, GENESIS for the first) and `row_hash` (SHA-256 over `canonical(row)`, which includes
prev_hash). Changing, deleting or reordering rows breaks the chain, and `flask --app app audit
verify` (services/audit_chain.py) names the first broken link.

Why the guard against UPDATE/DELETE is here, at the ORM, and not a database trigger: the test
suite empties every table between tests (tests/conftest._wipe, a Core DELETE), and the one
sanctioned deletion, `audit purge` of rows past the retention period, is a Core DELETE too; a
trigger would have to tell those apart from tampering, which it cannot. Whoever bypasses the ORM
with raw SQL is not stopped but is caught: the chain no longer verifies.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, FetchedValue, ForeignKey, Index, Integer, String, Text, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User
from models.types import ScopePath


class StudentHistory(db.Model):
    """One changed field of one student: old → new, who, when, why."""

    __tablename__ = "student_history"
    __table_args__ = (
        Index("ix_student_history_student", "student_id", "id"),
        # The data API's change feed reads in (writing transaction, id) order: see `txid`.
        Index("ix_student_history_feed", func.coalesce(text("txid"), 0), "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(Integer)  # the change request, when there was one
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # PostgreSQL: the id of the transaction that wrote the row (server default txid_current(), migration
    # w_feed). Ids are taken when a row is inserted but become visible when its transaction commits, so
    # a long import can commit ids below those a reader has already passed; the change feed therefore
    # orders by (txid, id) and reads only transactions older than every running one (services/api_data).
    # NULL on SQLite, where one writer at a time commits ids in order, and on rows from before w_feed.
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())  # never sent: the server's

    changed_by: Mapped[User | None] = relationship()
    student = relationship("Student")  # lets a new record's first row be written before its id exists


class AuditLog(db.Model):
    """Who read or sent out what, from where. Rows are never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    user_email: Mapped[str | None] = mapped_column(String(120))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    # The actor's unit path: an official sees the audit rows of users in their subtree.
    scope_path: Mapped[str | None] = mapped_column(ScopePath())
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    # The chain (see the module's docstring); set by _chain_on_insert, never by callers.
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    # For the audit screen: who and which unit (the actor's unit when the row was written).
    user: Mapped[User | None] = relationship(viewonly=True)
    unit = relationship("OrgUnit", primaryjoin="foreign(AuditLog.unit_id) == OrgUnit.id", viewonly=True)


GENESIS = "0" * 64  # the prev_hash of the first row ever written
# The fields a row's hash covers, in this order. Not `id`: the database assigns it during the
# INSERT, after the hash is made; the row's place is fixed by prev_hash instead.
HASHED_FIELDS = ("at", "user_id", "user_email", "unit_id", "scope_path", "action", "object_type",
                 "object_id", "detail", "ip", "prev_hash")
# pg_advisory_xact_lock key: "AUDITLOG" read as a 64-bit integer; any constant no other code uses.
CHAIN_LOCK_KEY = int.from_bytes(b"AUDITLOG", "big") & 0x7FFFFFFFFFFFFFFF


INTEGER_FIELDS = ("user_id", "unit_id")


def _canonical_value(field: str, value: Any) -> Any:
    """Each value as the database gives it back: the time to the second, ids as integers, the rest
    as text (a caller that sets object_id=5 gets the same hash as the "5" that is stored)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return int(value) if field in INTEGER_FIELDS else str(value)


def canonical(values: dict[str, Any]) -> bytes:
    """The bytes a row's hash is taken over: its HASHED_FIELDS as a JSON array (UTF-8, no spaces)."""
    return json.dumps([_canonical_value(f, values.get(f)) for f in HASHED_FIELDS], ensure_ascii=False,
                      separators=(",", ":")).encode()


def row_digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


class AuditLogIsAppendOnly(Exception):
    pass


def lock_chain(connection: Connection) -> None:
    """Serialise writers of the chain until this transaction ends, so two requests writing at once
    cannot both chain onto the same last row.

    PostgreSQL: a transaction-level advisory lock (released at commit or rollback). SQLite has one
    writer at a time, but pysqlite starts its transaction only at the first write, so the read of
    the last hash could happen before the lock: a write that matches no row takes SQLite's write
    lock first (it waits for, and then sees, any other writer's commit)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        connection.exec_driver_sql("UPDATE audit_log SET id = id WHERE 0")


def last_hash(connection: Connection) -> str:
    """The row_hash of the newest row (GENESIS on an empty log): one primary-key lookup."""
    value = connection.scalar(select(AuditLog.row_hash).order_by(AuditLog.id.desc()).limit(1))
    return value or GENESIS


def _link(row: AuditLog, head: str) -> str:
    """Fix the row's time, join it after `head` and hash it; the new head (its row_hash)."""
    if row.at is None:
        row.at = now()
    row.prev_hash = head
    row.row_hash = row_digest({f: getattr(row, f) for f in HASHED_FIELDS})
    return row.row_hash


def insert_chained(connection: Connection, rows: list[AuditLog]) -> None:
    """Chain `rows` onto the log and insert them in one statement (executemany), in their order.

    For the many rows a long transaction keeps for its end (services/audit.chained_at_the_end: an
    import's one row per pupil). The chain's lock is held from here until the transaction ends,
    and every request that audits waits for it meanwhile: through the unit of work, one object and
    one before_insert at a time, 10,000 rows held it ~5 s under load and all five web workers
    queued behind it. The chain rule is _chain_on_insert's: the same lock, head and _link."""
    if not rows:
        return
    lock_chain(connection)
    head = last_hash(connection)
    values = []
    for row in rows:
        head = _link(row, head)
        values.append({c.key: getattr(row, c.key) for c in AuditLog.__mapper__.column_attrs if c.key != "id"})
    connection.execute(AuditLog.__table__.insert(), values)


_HEAD = "audit_chain_head"  # Session.info key: the chain's head as this flush has moved it


@event.listens_for(AuditLog, "before_insert")
def _chain_on_insert(mapper, connection, target: AuditLog) -> None:
    """Link the new row to the chain. SQLAlchemy calls this for every row of a flush before it
    inserts any, so rows of the same flush chain onto each other through Session.info."""
    session = Session.object_session(target)
    info = session.info if session is not None else {}
    head = info.get(_HEAD)
    if head is None:
        lock_chain(connection)
        head = last_hash(connection)
    info[_HEAD] = _link(target, head)


@event.listens_for(Session, "before_flush")
@event.listens_for(Session, "after_flush_postexec")
@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, *args: Any) -> None:
    """The head is only trusted within one flush: the next flush reads it again (after a rollback
    to a savepoint the rows it pointed at may be gone)."""
    session.info.pop(_HEAD, None)


@event.listens_for(AuditLog, "before_update")
def _no_update(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit rows are append-only")


@event.listens_for(AuditLog, "before_delete")
def _no_delete(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit rows are append-only")
