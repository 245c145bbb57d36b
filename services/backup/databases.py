"""The database side of a backup: pg_dump / SQLite's online backup API out, pg_restore + psql / an atomic file
replacement in, the alembic revision and the row count of every table."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection

from extensions import db
from services.backup.common import BackupError, Manifest, database_url, sqlite_path


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL (postgresql+psycopg://…) as a libpq connection string for pg_dump,
    pg_restore and psql, and the environment that carries the password (never the command line,
    which every user of the machine can read in `ps`)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    query = {k: v for k, v in url.query.items() if k != "options" or v}
    plain = url.set(drivername="postgresql", password=None, query=query)
    return plain.render_as_string(hide_password=False), env


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（主版本不低于数据库服务器的版本），并确认它在 PATH 中。")
    return found


def run_tool(args: list[str], env: dict[str, str], what: str, **kw: Any) -> None:
    done = subprocess.run(args, env=env, capture_output=True, **kw)
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise BackupError(f"{what}失败：" + " / ".join(detail))


def revision_of(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def row_counts(conn: Connection) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    names = sorted(inspect(conn).get_table_names())
    return {name: int(conn.scalar(text(f"SELECT count(*) FROM {quote(name)}")) or 0) for name in names}


def dump_postgresql(out: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump in custom format from an exported snapshot: the row counts of the manifest are
    counted in the very snapshot that is dumped, even while the app keeps writing."""
    pg_dump = tool("pg_dump")
    dsn, env = libpq_target(database_url())
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        revision, counts = revision_of(conn), row_counts(conn)
        run_tool([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={out}", f"--dbname={dsn}"], env, "pg_dump 导出")
    return revision, counts


def dump_sqlite(out: Path) -> tuple[str | None, dict[str, int]]:
    source = sqlite_path()
    if not source.exists():
        raise BackupError(f"数据库文件 {source} 不存在。")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)  # the online backup API: consistent even while the app writes
    finally:
        src.close()
    dst.close()
    engine = create_engine(f"sqlite:///{out}")
    try:
        with engine.connect() as conn:
            return revision_of(conn), row_counts(conn)
    finally:
        engine.dispose()


# Everything of the schema goes first, inside the same transaction as the restore (psql
# --single-transaction): a restore that fails half-way leaves the database as it was.
_DROP_ALL = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP VIEW IF EXISTS %I CASCADE', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.sequence_name);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype = 'e' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
  -- The schema's own functions (the migrations' search helpers), not those of an extension
  -- (pg_trgm's live in the schema too): the dump creates its extensions with IF NOT EXISTS.
  FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema()
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.signature);
  END LOOP;
END $$;
"""


def restore_postgresql(dump: Path) -> None:
    dsn, env = libpq_target(database_url())
    env["PGOPTIONS"] = "-c client_min_messages=warning"  # no NOTICE per cascaded drop in the error text
    drops = dump.with_name("drop-all.sql")
    drops.write_text(_DROP_ALL)
    # pg_restore writes the dump as SQL; psql runs it after the drops, all in one transaction.
    script = subprocess.Popen(
        [tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_tool([tool("psql"), "-X", "-q", "--set=ON_ERROR_STOP=1", "--single-transaction", f"--dbname={dsn}",
              f"--file={drops}", "--file=-"], env, "恢复 PostgreSQL 数据库", stdin=script.stdout)
    finally:
        if script.stdout:
            script.stdout.close()
        err = script.stderr.read().decode("utf-8", "replace").strip() if script.stderr else ""
        script.wait()
    if script.returncode != 0:
        raise BackupError(f"pg_restore 读取导出文件失败：{err[-300:]}")


def restore_sqlite(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError("备份中的 SQLite 数据库未通过完整性检查，未做任何恢复。")
    finally:
        conn.close()
    target = sqlite_path().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(copy, staged)  # same directory as the target: the replace below is atomic
    for suffix in ("-wal", "-shm", "-journal"):  # the old database's logs must not replay onto the new one
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def check_counts(manifest: Manifest) -> None:
    with db.engine.connect() as conn:
        counts = row_counts(conn)
    wrong = sorted(t for t, n in manifest.row_counts.items() if counts.get(t) != n)
    if wrong:
        raise BackupError(f"恢复后行数与备份清单不符：{', '.join(wrong[:5])}。")
