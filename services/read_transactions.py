"""A transaction that only read ends with COMMIT, so that psycopg keeps its prepared statements
(issue 15, points 7 and 8; PostgreSQL only).

psycopg 3 prepares a statement on the server once it has run five times on a connection, and
then skips its parsing and planning. But it forgets every prepared statement on ROLLBACK
(`Connection.rollback` clears its cache and deallocates them: a rolled-back transaction may have
dropped what they refer to). Every web request ends its transaction when the session is removed,
and SQLAlchemy ends it with ROLLBACK, even when the request only read. So nothing was ever
prepared, and each request parsed and planned all its statements again: 0.5 ms for the account's
statement alone, ~0.7 ms of a pupils' list page of 8 ms (bench/README.md).

Here a transaction whose every statement was a SELECT is committed instead, just before SQLAlchemy
rolls it back; SQLAlchemy's rollback then finds the connection idle and psycopg sends nothing.
For such a transaction COMMIT and ROLLBACK leave the same database: no row was written, and its
locks and `SET LOCAL` settings end either way. Anything else marks the transaction as one that
wrote, and it is rolled back as before, prepared statements and all: an INSERT, UPDATE or DELETE;
DDL; a session-level SET (kept by a COMMIT); a SAVEPOINT; any statement not seen to begin with
SELECT; a SELECT … INTO (it creates a table); and an executemany. So is a transaction in error,
or whose state psycopg cannot tell.

Every statement of the app goes through SQLAlchemy, where `before_cursor_execute` sees it; nothing
in the app writes through a raw DBAPI cursor (app.py's SET on connect commits by itself, before
any transaction of a request). tests/production_safety/test_read_transactions.py holds the rules.
"""

from __future__ import annotations

import re
import typing as t

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

WROTE = "xueji.transaction_wrote"
_READ = re.compile(r"\s*SELECT\s", re.IGNORECASE)
_INTO = re.compile(r"\sINTO\s", re.IGNORECASE)  # SELECT … INTO creates a table


def is_read(statement: str, context: t.Any, executemany: bool) -> bool:
    """A statement that writes nothing: a single SELECT, not a DML statement however compiled."""
    if executemany or not _READ.match(statement) or _INTO.search(statement):
        return False
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return False
    return ";" not in statement.rstrip().rstrip(";")  # one statement, never "SELECT 1; UPDATE …"


def install(engine: Engine) -> None:
    """On a PostgreSQL engine driven by psycopg 3 (the only driver that forgets on ROLLBACK here)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.info.pop(WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn: Connection, _cursor: t.Any, statement: str, _parameters: t.Any, context: t.Any,
              executemany: bool) -> None:
        if not conn.info.get(WROTE) and not is_read(statement, context, executemany):
            conn.info[WROTE] = True

    @event.listens_for(engine, "rollback")
    def _end_read(conn: Connection) -> None:
        if conn.closed or conn.invalidated:  # a dropped connection: SQLAlchemy replaces it (its info is gone)
            return
        if conn.info.pop(WROTE, None):
            return
        dbapi = conn.connection.dbapi_connection
        if dbapi is None or dbapi.closed:
            return
        from psycopg.pq import TransactionStatus

        if dbapi.info.transaction_status != TransactionStatus.INTRANS:  # idle, in error, or unknown
            return
        try:
            dbapi.commit()
        except Exception:  # the rollback that follows reports the connection's fault, as before
            return
