"""The audit log is append-only and tamper-evident (issue 13, point 16): a hash chain, `flask audit
verify` names the first broken link, and `flask audit purge` never deletes rows younger than 180 days."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import delete, func, select, text

from extensions import db
from models.audit import GENESIS, AuditLog, AuditLogIsAppendOnly, row_digest
from models.people import User
from services import audit, clock
from services.audit_chain import verify


def _user(email: str = "heping@xueji.demo") -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _rows(n: int, action: str = "student.view") -> list[AuditLog]:
    actor = _user()
    rows = [audit.record(actor, action, "student", i, f"第 {i} 次") for i in range(n)]
    db.session.flush()
    return rows


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def test_every_row_links_to_the_one_before(ctx):
    before = db.session.scalar(select(AuditLog.row_hash).order_by(AuditLog.id.desc()).limit(1)) or GENESIS
    first, second, third = _rows(3)
    assert first.prev_hash == before
    assert second.prev_hash == first.row_hash and third.prev_hash == second.row_hash
    assert len({first.row_hash, second.row_hash, third.row_hash}) == 3
    # The hash covers the row's content and its predecessor.
    assert third.row_hash == row_digest({f: getattr(third, f) for f in (
        "at", "user_id", "user_email", "unit_id", "scope_path", "action", "object_type", "object_id", "detail", "ip",
        "prev_hash")})
    # Rows flushed separately chain on as well.
    (fourth,) = _rows(1)
    assert fourth.prev_hash == third.row_hash


def test_verify_reports_an_intact_log(app, ctx):
    _rows(3)
    db.session.commit()
    total = db.session.scalar(select(func.count()).select_from(AuditLog))
    result = _cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert f"审计日志完整：{total} 行" in result.output


def test_the_orm_refuses_update_and_delete(ctx):
    (row,) = _rows(1)
    row.detail = "改过"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    (row,) = _rows(1)
    db.session.delete(row)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_verify_finds_a_changed_row(app, ctx):
    rows = _rows(4)
    db.session.commit()
    db.session.execute(text("UPDATE audit_log SET detail = '没看过' WHERE id = :id"), {"id": rows[1].id})
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"第 {rows[1].id} 行" in result.output and "本行内容被改动" in result.output


def test_verify_finds_a_changed_row_whose_hash_was_recomputed(app, ctx):
    rows = _rows(4)
    db.session.commit()
    values = {f: getattr(rows[1], f) for f in ("at", "user_id", "user_email", "unit_id", "scope_path", "action",
                                                "object_type", "object_id", "ip", "prev_hash")}
    forged = row_digest({**values, "detail": "没看过"})
    db.session.execute(text("UPDATE audit_log SET detail = '没看过', row_hash = :h WHERE id = :id"),
                       {"h": forged, "id": rows[1].id})
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"第 {rows[2].id} 行" in result.output and f"前一行（第 {rows[1].id} 行）" in result.output


def test_verify_finds_a_deleted_row(app, ctx):
    rows = _rows(4)
    db.session.commit()
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": rows[1].id})
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"第 {rows[2].id} 行" in result.output
    assert f"第 {rows[0].id} 行与第 {rows[2].id} 行之间的行被删除" in result.output


def test_verify_finds_reordered_rows(app, ctx):
    rows = _rows(4)
    db.session.commit()
    a, b = rows[1].id, rows[2].id
    db.session.execute(text("UPDATE audit_log SET id = -1 WHERE id = :a"), {"a": a})
    db.session.execute(text("UPDATE audit_log SET id = :a WHERE id = :b"), {"a": a, "b": b})
    db.session.execute(text("UPDATE audit_log SET id = :b WHERE id = -1"), {"b": b})
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"第 {a} 行" in result.output and "行序被调换" in result.output


def test_verify_finds_the_oldest_rows_deleted_without_a_purge(app, ctx):
    rows = _rows(3)
    db.session.commit()
    db.session.execute(delete(AuditLog).where(AuditLog.id < rows[1].id))  # Core: past the ORM guard
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"第 {rows[1].id} 行" in result.output and "最早的行被删除" in result.output


def _old_and_new_log(days_old: int) -> tuple[list[AuditLog], list[AuditLog]]:
    """An audit log whose first rows were written `days_old` days ago, the rest today."""
    db.session.execute(delete(AuditLog))
    old = _rows(3, "login")
    # Written long ago: the test cannot wait, so the rows' time and hashes are rewritten in place.
    long_ago = clock.now() - timedelta(days=days_old)
    head = GENESIS
    for row in old:
        values = {f: getattr(row, f) for f in ("user_id", "user_email", "unit_id", "scope_path", "action",
                                                "object_type", "object_id", "detail", "ip")}
        digest = row_digest({**values, "at": long_ago, "prev_hash": head})
        db.session.execute(text("UPDATE audit_log SET at = :at, prev_hash = :p, row_hash = :h WHERE id = :id"),
                           {"at": long_ago, "p": head, "h": digest, "id": row.id})
        head = digest
    db.session.expire_all()
    new = _rows(2)
    assert new[0].prev_hash == head
    db.session.commit()
    return old, new


def test_purge_refuses_rows_younger_than_180_days(app, ctx):
    _old_and_new_log(days_old=100)
    total = db.session.scalar(select(func.count()).select_from(AuditLog))
    for before in (clock.today(), clock.today() - timedelta(days=179), clock.today() - timedelta(days=90)):
        result = _cli(app, "purge", "--before", before.isoformat())
        assert result.exit_code != 0
        assert "至少保留 180 天" in result.output
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == total


def test_purge_refuses_a_retention_setting_under_180_days(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    total = db.session.scalar(select(func.count()).select_from(AuditLog))
    result = _cli(app, "purge", "--before", (clock.today() - timedelta(days=400)).isoformat())
    assert result.exit_code != 0 and "不得少于 180 天" in result.output
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == total


def test_purge_of_old_rows_keeps_the_chain_verifiable(app, ctx):
    _old, new = _old_and_new_log(days_old=200)
    result = _cli(app, "purge", "--before", (clock.today() - timedelta(days=181)).isoformat())
    assert result.exit_code == 0, result.output
    assert "3 行" in result.output
    remaining = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [r.id for r in remaining[:2]] == [r.id for r in new]  # the young rows are all kept
    purge_row = remaining[-1]
    assert purge_row.action == "audit.purge" and purge_row.object_id == str(new[0].id)
    result = _cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert "审计日志完整：3 行" in result.output
    # Without the purge's record, the missing start is tampering again.
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": purge_row.id})
    db.session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1 and "最早的行被删除" in result.output


@pytest.mark.committing
def test_concurrent_writers_keep_one_linear_chain(app):
    """Requests on several threads (each its own session and connection) write at once: every new
    row chains onto a different predecessor and the whole log verifies."""
    with app.app_context():
        start_id = db.session.scalar(select(func.max(AuditLog.id))) or 0
        user_id = _user().id
    writers, per_writer = 4, 5
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with app.app_context():
                actor = db.session.get(User, user_id)
                barrier.wait()
                for i in range(per_writer):
                    audit.record(actor, "student.view", "student", i)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.id > start_id).order_by(AuditLog.id)).all()
        assert len(rows) == writers * per_writer
        prevs = [r.prev_hash for r in rows]
        assert len(set(prevs)) == len(prevs)  # no two rows chained onto the same predecessor
        for earlier, later in pairwise(rows):
            assert later.prev_hash == earlier.row_hash
        verdict = verify()
        assert verdict.intact, verdict.message()
        db.session.remove()


def test_a_row_made_directly_verifies_whatever_types_it_was_given(app, ctx):
    """object_id given as a number is stored as text; the hash is the same either way."""
    db.session.add(AuditLog(action="student.view", object_type="student", object_id=5, unit_id="3"))  # type: ignore[arg-type]
    db.session.commit()
    verdict = verify()
    assert verdict.intact, verdict.message()
