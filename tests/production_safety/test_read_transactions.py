"""services/read_transactions.py: a transaction that only read ends with COMMIT, so psycopg keeps its
prepared statements; any other transaction is rolled back as before, whatever it did.

The engine tests use an engine of their own (one pooled connection, so that every transaction
meets the same server session) on a table of their own, created and dropped here."""

from __future__ import annotations

import typing as t
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from services import read_transactions
from services.read_transactions import is_read

pytestmark = pytest.mark.committing

PROBE = "xueji_read_tx_probe"
QUERY = f"SELECT id, note FROM {PROBE} WHERE id = :id"


def _dml(**flags: bool) -> t.Any:
    return SimpleNamespace(**{**dict(isinsert=False, isupdate=False, isdelete=False), **flags})


@pytest.mark.parametrize(("statement", "context", "many", "read"), [
    ("SELECT 1", None, False, True),
    ("  select id FROM student WHERE id = %(id)s", None, False, True),
    ("SELECT id FROM student FOR UPDATE", None, False, True),
    ("SELECT pg_advisory_xact_lock(%(key)s)", None, False, True),  # released at the end of the transaction either way
    ("SELECT 1;", None, False, True),
    ("SELECT 1; UPDATE student SET name = 'x'", None, False, False),
    ("INSERT INTO student (id) VALUES (%(id)s)", _dml(isinsert=True), False, False),
    ("UPDATE student SET name = %(n)s", _dml(isupdate=True), False, False),
    ("DELETE FROM student", _dml(isdelete=True), False, False),
    ("SELECT 1", _dml(isupdate=True), False, False),  # whatever the text, SQLAlchemy knows it is DML
    ("SELECT 1", None, True, False),  # executemany
    ("WITH x AS (UPDATE student SET name = 'y' RETURNING id) SELECT id FROM x", None, False, False),
    ("SET statement_timeout = 1000", None, False, False),  # a session setting: a COMMIT would keep it
    ("SET LOCAL statement_timeout = 1000", None, False, False),
    ("SAVEPOINT sa_savepoint_1", None, False, False),
    ("CREATE TABLE t (id int)", None, False, False),
    ("SELECT id\nINTO TEMP copied FROM student", None, False, False),  # SELECT … INTO creates a table
    ("/* a comment */ SELECT 1", None, False, False),  # not seen to begin with SELECT: counted as a write
    ("SELECTED", None, False, False),
])
def test_what_counts_as_a_read(statement: str, context: t.Any, many: bool, read: bool) -> None:
    assert is_read(statement, context, many) is read


@pytest.fixture
def engines(app) -> t.Iterator[tuple[Engine, Engine]]:
    """(an engine with read_transactions installed, a plain one), each with one pooled connection."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("psycopg's prepared statements: PostgreSQL only")
    kept = create_engine(url, pool_size=1, max_overflow=0)
    read_transactions.install(kept)
    plain = create_engine(url, pool_size=1, max_overflow=0)
    with plain.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        conn.execute(text(f"CREATE TABLE {PROBE} (id integer PRIMARY KEY, note text)"))
        conn.execute(text(f"INSERT INTO {PROBE} VALUES (1, '原值')"))
    try:
        yield kept, plain
    finally:
        kept.dispose()
        with plain.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        plain.dispose()


def _prepared(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT statement FROM pg_prepared_statements")))


def _note(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1"))


def test_a_statement_run_in_many_read_transactions_stays_prepared(engines) -> None:
    kept, plain = engines
    for engine in engines:
        for _ in range(7):  # psycopg prepares on the sixth run (prepare_threshold 5)
            with engine.connect() as conn:  # closed without a commit, as a web request's session is
                assert conn.execute(text(QUERY), {"id": 1}).one().note == "原值"
    assert any(PROBE in s for s in _prepared(kept))
    assert not any(PROBE in s for s in _prepared(plain))  # SQLAlchemy's ROLLBACK made psycopg forget it


def test_a_write_is_rolled_back_as_before(engines) -> None:
    kept, _plain = engines
    with kept.connect() as conn:
        conn.execute(text(QUERY), {"id": 1})
        conn.execute(text(f"UPDATE {PROBE} SET note = '改了' WHERE id = 1"))
        conn.execute(text(QUERY), {"id": 1})  # reads after the write do not clear the mark
    assert _note(kept) == "原值"


def test_an_orm_flush_then_rollback_saves_nothing(engines) -> None:
    kept, _plain = engines
    with Session(kept) as session:
        session.execute(text(f"INSERT INTO {PROBE} VALUES (2, '新行')"))
        session.flush()
        session.rollback()
        assert session.scalar(text(f"SELECT count(*) FROM {PROBE}")) == 1
    with Session(kept) as session:
        session.execute(text(f"UPDATE {PROBE} SET note = '会话' WHERE id = 1"))
    assert _note(kept) == "原值"  # closed without a commit: rolled back


def test_a_session_setting_is_not_kept(engines) -> None:
    kept, _plain = engines
    with kept.connect() as conn:
        before = conn.scalar(text("SHOW statement_timeout"))
    with kept.connect() as conn:
        conn.execute(text("SET statement_timeout = 4321"))
        conn.execute(text(QUERY), {"id": 1})
    with kept.connect() as conn:  # the same server session (one pooled connection)
        assert conn.scalar(text("SHOW statement_timeout")) == before


def test_a_transaction_in_error_is_rolled_back_and_the_connection_works(engines) -> None:
    kept, _plain = engines
    with kept.connect() as conn:
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(text("SELECT 1 / 0"))
    with kept.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1


def test_the_commit_happens_only_at_the_end(engines) -> None:
    """A read-only transaction's locks last until it ends, as with a ROLLBACK: another session's
    write waits for it (here: is refused at once by NOWAIT)."""
    kept, plain = engines
    with kept.connect() as reader:
        reader.execute(text(f"SELECT id FROM {PROBE} WHERE id = 1 FOR UPDATE"))
        with plain.connect() as other, pytest.raises(Exception, match="could not obtain lock"):
            other.execute(text(f"SELECT id FROM {PROBE} WHERE id = 1 FOR UPDATE NOWAIT"))
    with plain.connect() as other:
        assert other.execute(text(f"SELECT id FROM {PROBE} WHERE id = 1 FOR UPDATE NOWAIT")).one()


def test_the_apps_pages_keep_their_prepared_statements(app, as_user) -> None:
    """The app's engine has it installed: after a few loads of a page, the account's statement is
    prepared on the connection, and still is after the next load (no ROLLBACK made psycopg forget)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from extensions import db

    client = as_user("school-heping1")
    with app.app_context():
        db.engine.dispose()
    for _ in range(7):
        assert client.get("/admin/student/").status_code == 200
    with app.app_context():
        prepared = _prepared(db.engine)
    assert any("FROM student" in s for s in prepared)
    assert any('FROM "user"' in s for s in prepared)


def test_sqlite_is_left_alone(app) -> None:
    engine = create_engine("sqlite://")
    read_transactions.install(engine)
    assert not engine.dispatch.rollback and not engine.dispatch.before_cursor_execute  # nothing listens
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1


def test_prepared_statements_can_be_switched_off_for_an_old_pgbouncer(monkeypatch) -> None:
    """docs/deploy.md, section 3: DATABASE_PREPARED_STATEMENTS=0 gives psycopg no threshold; the
    default leaves psycopg's; SQLite takes no such argument."""
    from config import Config

    url = "postgresql+psycopg://xueji@pgbouncer:6432/xueji"
    config = Config()
    config.use_database(url)
    assert "connect_args" not in config.SQLALCHEMY_ENGINE_OPTIONS
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "0")
    config.use_database(url)
    assert config.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True, "connect_args": {"prepare_threshold": None}}
    config.use_database("sqlite:///x.db")
    assert config.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}
