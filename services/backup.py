"""Backup and restore of the whole site: the database and every file under UPLOAD_DIR, in one archive.

The archive is a plain tar (the dump is already compressed, the uploads are mostly JPG/PNG/PDF):

- ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite,
  copied with the online backup API, so a running app can be backed up);
- ``uploads/…``: every stored file (attachments, photos, reports, generated files);
- ``manifest.json``, last: format version, alembic revision, database kind, creation time, the
  row count of every table, and the sha256 and size of every other member.

The database is dumped before the files are copied: a file is stored before the row that names it
is committed, so every file a dumped row names is already on disk when the copy starts.

A restore checks the manifest (same database kind, a revision this program knows) and every
checksum before it touches anything, then replaces the whole database and the upload directory,
and upgrades the schema when the archive comes from an older revision.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection, make_url

from extensions import db
from models.clock import system_now
from services import audit

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads/"
DUMP = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
KIND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
# Names `backup create DIR` gives; `backup prune` only ever considers (and deletes) files named so.
NAME_FORMAT = "xueji-backup-%Y%m%d-%H%M%S.tar"
NAME_RE = re.compile(r"^xueji-backup-(\d{8}-\d{6})\.tar$")
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message (Chinese) says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("database_kind"))

    @property
    def revision(self) -> str | None:
        return self.data.get("alembic_revision")

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.data.get("files", {})

    @property
    def row_counts(self) -> dict[str, int]:
        return self.data.get("row_counts", {})

    def summary(self) -> list[str]:
        uploads = [n for n in self.files if n.startswith(UPLOADS)]
        size = sum(f["size"] for f in self.files.values())
        return [
            f"创建时间：{self.data.get('created_at')}",
            f"数据库：{KIND_NAMES.get(self.kind, self.kind)}，结构版本 {self.revision or '（未迁移）'}",
            f"数据表 {len(self.row_counts)} 张，共 {sum(self.row_counts.values())} 行；"
            f"学生 {self.row_counts.get('student', 0)} 人，审计日志 {self.row_counts.get('audit_log', 0)} 行",
            f"上传文件 {len(uploads)} 个；归档内容共 {size / 1_048_576:.1f} MB",
        ]


# --- the database's address ------------------------------------------------------------------

def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def database_kind() -> str:
    name = _url().get_backend_name()
    if name not in DUMP:
        raise BackupError(f"不支持备份此类数据库：{name}")
    return name


def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复。")
    return Path(database)


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


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（主版本不低于数据库服务器的版本），并确认它在 PATH 中。")
    return found


def _run(args: list[str], env: dict[str, str], what: str, **kw: Any) -> None:
    done = subprocess.run(args, env=env, capture_output=True, **kw)
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise BackupError(f"{what}失败：" + " / ".join(detail))


# --- facts of the database ------------------------------------------------------------------

def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _row_counts(conn: Connection) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    names = sorted(inspect(conn).get_table_names())
    return {name: int(conn.scalar(text(f"SELECT count(*) FROM {quote(name)}")) or 0) for name in names}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _upload_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every stored file; `.part` files are writes still under way."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):
            yield UPLOADS + path.relative_to(root).as_posix(), path


# --- create ------------------------------------------------------------------------------------

def archive_path(target: Path, now: datetime | None = None) -> Path:
    """A directory gets a dated file name (the one `prune` knows); anything else is the file itself."""
    if target.is_dir():
        return target / (now or system_now()).strftime(NAME_FORMAT)
    return target


def create(target: Path) -> tuple[Path, Manifest]:
    """Write the archive to `target` (a file, or a directory for a dated name). The archive is
    built beside it and renamed into place at the end: a failed backup leaves no half archive."""
    kind = database_kind()
    path = archive_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise BackupError(f"{path} 已存在；备份不会覆盖已有的文件。")
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=path.parent) as work:
        dump = Path(work) / DUMP[kind]
        db.session.remove()  # the CLI's own session holds nothing: the dump sees only committed rows
        revision, counts = _dump_postgresql(dump) if kind == "postgresql" else _dump_sqlite(dump)
        files = {DUMP[kind]: {"sha256": _sha256_file(dump), "size": dump.stat().st_size}}
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(dump, arcname=DUMP[kind], recursive=False)
            for name, source in _upload_files(_upload_dir()):
                entry = _add_hashed(tar, name, source)
                if entry is not None:
                    files[name] = entry
            manifest = Manifest({
                "format": FORMAT_VERSION, "app": "学籍通", "database_kind": kind, "alembic_revision": revision,
                "created_at": system_now().isoformat(timespec="seconds"), "row_counts": counts, "files": files,
            })
            body = json.dumps(manifest.data, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(datetime.now().timestamp()), 0o600
            tar.addfile(info, _BytesReader(body))
        partial.chmod(0o600)  # it holds every pupil's personal data
        os.replace(partial, path)
    audit.record(None, "backup.create", "backup", None, f"{path.name}：学生 {counts.get('student', 0)} 人，文件 {len(files) - 1} 个")
    db.session.commit()
    return path, manifest


class _BytesReader:
    def __init__(self, body: bytes) -> None:
        self.body, self.pos = body, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.body) if n < 0 else self.pos + n
        chunk, self.pos = self.body[self.pos:end], min(end, len(self.body))
        return chunk


class _HashingReader:
    """Hashes what tarfile copies, so each file is read once and the sum is of the bytes archived."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        chunk = self.fh.read(n)
        self.digest.update(chunk)
        return chunk


def _add_hashed(tar: tarfile.TarFile, name: str, source: Path) -> dict[str, Any] | None:
    try:
        fh = source.open("rb")
    except FileNotFoundError:  # removed meanwhile (an expired export): nothing names it any more
        return None
    with fh:
        info = tar.gettarinfo(fileobj=fh, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


def _dump_postgresql(out: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump in custom format from an exported snapshot: the row counts of the manifest are
    counted in the very snapshot that is dumped, even while the app keeps writing."""
    pg_dump = _tool("pg_dump")
    dsn, env = libpq_target(_url())
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        revision, counts = _revision(conn), _row_counts(conn)
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={out}", f"--dbname={dsn}"], env, "pg_dump 导出")
    return revision, counts


def _dump_sqlite(out: Path) -> tuple[str | None, dict[str, int]]:
    source = _sqlite_path()
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
            return _revision(conn), _row_counts(conn)
    finally:
        engine.dispose()


# --- read and check ----------------------------------------------------------------------------

def read_manifest(path: Path) -> Manifest:
    if not path.is_file():
        raise BackupError(f"备份文件 {path} 不存在。")
    try:
        with tarfile.open(path, "r:") as tar:
            fh = tar.extractfile(MANIFEST)
            if fh is None:
                raise KeyError(MANIFEST)
            data = json.loads(fh.read().decode())
    except (tarfile.TarError, KeyError, ValueError, EOFError):
        raise BackupError(f"{path} 不是学籍通的备份文件，或文件已损坏（缺少可读的 manifest.json）。") from None
    if not isinstance(data, dict) or data.get("app") != "学籍通" or not isinstance(data.get("files"), dict):
        raise BackupError(f"{path} 不是学籍通的备份文件。")
    if int(data.get("format", 0)) > FORMAT_VERSION:
        raise BackupError(f"备份文件的格式版本为 {data.get('format')}，本程序只认识 {FORMAT_VERSION} 及以下：请先升级程序。")
    return Manifest(data)


def _known_revisions() -> tuple[set[str], str | None]:
    from alembic.script import ScriptDirectory

    directory = current_app.extensions["migrate"].directory
    script = ScriptDirectory(directory)
    return {rev.revision for rev in script.walk_revisions()}, script.get_current_head()


def check_compatible(manifest: Manifest) -> None:
    """Refuse an archive of the other database kind, or of a schema this program does not know."""
    kind = database_kind()
    if manifest.kind != kind:
        raise BackupError(
            f"此备份来自 {KIND_NAMES.get(manifest.kind, manifest.kind)} 数据库，而当前配置的数据库是 "
            f"{KIND_NAMES[kind]}：无法恢复。请在使用同类数据库的环境中恢复。")
    known, _head = _known_revisions()
    if manifest.revision is not None and manifest.revision not in known:
        raise BackupError(
            f"此备份的数据库结构版本（{manifest.revision}）本程序不认识，可能来自更新版本的学籍通："
            "请先把程序升级到备份时的版本或更新的版本，再恢复。")


def _members(tar: tarfile.TarFile, manifest: Manifest) -> list[tarfile.TarInfo]:
    """The archive's members against the manifest: every listed file present, nothing else, no
    path that could leave the target directory."""
    members = [m for m in tar.getmembers() if m.name != MANIFEST]
    names = {m.name for m in members}
    missing = sorted(set(manifest.files) - names)
    extra = sorted(names - set(manifest.files))
    if missing or extra:
        raise BackupError(f"备份文件不完整：缺少 {len(missing)} 个文件，多出 {len(extra)} 个文件（{(missing + extra)[0]}）。")
    for m in members:
        parts = Path(m.name).parts
        if not m.isfile() or m.name.startswith("/") or ".." in parts:
            raise BackupError(f"备份文件中有不安全的条目：{m.name}")
    return members


def extract_checked(path: Path, manifest: Manifest, work: Path) -> None:
    """Extract every member under `work`, checking each size and sha256 against the manifest."""
    with tarfile.open(path, "r:") as tar:
        for member in _members(tar, manifest):
            expected = manifest.files[member.name]
            target = work / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # a regular file (checked in _members)
            digest = hashlib.sha256()
            with source, target.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected["sha256"] or target.stat().st_size != expected["size"]:
                raise BackupError(f"校验失败：{member.name} 的 SHA-256 与备份清单不符，备份文件已损坏。未做任何恢复。")


def verify(path: Path) -> Manifest:
    """Read the whole archive and check every checksum (`backup verify`); changes nothing."""
    manifest = read_manifest(path)
    with tempfile.TemporaryDirectory(prefix=".backup-verify-") as work:
        extract_checked(path, manifest, Path(work))
        dump = Path(work) / DUMP.get(manifest.kind, "")
        if manifest.kind == "sqlite":
            conn = sqlite3.connect(dump)
            try:
                if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                    raise BackupError("备份中的 SQLite 数据库未通过完整性检查。")
            finally:
                conn.close()
        elif manifest.kind == "postgresql":
            _run([_tool("pg_restore"), "--list", str(dump)], dict(os.environ), "读取 PostgreSQL 导出文件")
    return manifest


# --- restore -------------------------------------------------------------------------------------

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


def restore(path: Path) -> Manifest:
    """Replace the database and the upload directory with the archive's. Nothing is touched
    before the manifest and every checksum have been checked."""
    manifest = read_manifest(path)
    check_compatible(manifest)
    uploads = _upload_dir().resolve()
    uploads.parent.mkdir(parents=True, exist_ok=True)
    # Extracted beside the upload directory: the final swap is a rename on one file system.
    with tempfile.TemporaryDirectory(prefix=f".{uploads.name}-restore-", dir=uploads.parent) as work_dir:
        work = Path(work_dir)
        extract_checked(path, manifest, work)
        db.session.remove()
        db.engine.dispose()  # no pooled connection of this process may hold the old database
        if manifest.kind == "postgresql":
            _restore_postgresql(work / DUMP["postgresql"])
        else:
            _restore_sqlite(work / DUMP["sqlite"])
        db.engine.dispose()
        _check_counts(manifest)
        _swap_uploads(work / UPLOADS.rstrip("/"), uploads)
    _known, head = _known_revisions()
    if manifest.revision != head:  # an older schema (or none): brought up to this program's
        from flask_migrate import upgrade

        upgrade()
    audit.record(None, "backup.restore", "backup", None,
                 f"{path.name}（{manifest.data.get('created_at')}）：学生 {manifest.row_counts.get('student', 0)} 人")
    db.session.commit()
    return manifest


def _restore_postgresql(dump: Path) -> None:
    dsn, env = libpq_target(_url())
    env["PGOPTIONS"] = "-c client_min_messages=warning"  # no NOTICE per cascaded drop in the error text
    drops = dump.with_name("drop-all.sql")
    drops.write_text(_DROP_ALL)
    # pg_restore writes the dump as SQL; psql runs it after the drops, all in one transaction.
    script = subprocess.Popen(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _run([_tool("psql"), "-X", "-q", "--set=ON_ERROR_STOP=1", "--single-transaction", f"--dbname={dsn}",
              f"--file={drops}", "--file=-"], env, "恢复 PostgreSQL 数据库", stdin=script.stdout)
    finally:
        if script.stdout:
            script.stdout.close()
        err = script.stderr.read().decode("utf-8", "replace").strip() if script.stderr else ""
        script.wait()
    if script.returncode != 0:
        raise BackupError(f"pg_restore 读取导出文件失败：{err[-300:]}")


def _restore_sqlite(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError("备份中的 SQLite 数据库未通过完整性检查，未做任何恢复。")
    finally:
        conn.close()
    target = _sqlite_path().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(copy, staged)  # same directory as the target: the replace below is atomic
    for suffix in ("-wal", "-shm", "-journal"):  # the old database's logs must not replay onto the new one
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def _check_counts(manifest: Manifest) -> None:
    with db.engine.connect() as conn:
        counts = _row_counts(conn)
    wrong = sorted(t for t, n in manifest.row_counts.items() if counts.get(t) != n)
    if wrong:
        raise BackupError(f"恢复后行数与备份清单不符：{', '.join(wrong[:5])}。")


def _swap_uploads(restored: Path, uploads: Path) -> None:
    """Two renames when the upload directory is an ordinary directory. When it is a mount point
    of its own (a volume for the files: it cannot be renamed, and its parent is another file
    system), its contents are replaced in place instead."""
    restored.mkdir(parents=True, exist_ok=True)
    if uploads.is_mount():
        for child in uploads.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in restored.iterdir():
            shutil.move(child, uploads / child.name)
        return
    old = uploads.with_name(f".{uploads.name}-replaced")
    shutil.rmtree(old, ignore_errors=True)
    if uploads.exists():
        os.replace(uploads, old)
    os.replace(restored, uploads)
    shutil.rmtree(old, ignore_errors=True)


# --- retention --------------------------------------------------------------------------------

def backups_in(directory: Path) -> dict[Path, datetime]:
    """The archives `backup create DIR` named, with the time in their names."""
    found = {}
    for path in directory.iterdir() if directory.is_dir() else ():
        m = NAME_RE.match(path.name)
        if m and path.is_file():
            found[path] = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
    return found


def to_keep(stamps: Iterable[datetime], daily: int, weekly: int, monthly: int) -> set[datetime]:
    """Grandfather-father-son: the newest backup of each of the last `daily` days that have one,
    of the last `weekly` ISO weeks and of the last `monthly` months (the newest one always stays)."""
    ordered = sorted(stamps, reverse=True)
    keep: set[datetime] = set(ordered[:1])
    periods = ((daily, lambda d: d.date()), (weekly, lambda d: d.isocalendar()[:2]), (monthly, lambda d: (d.year, d.month)))
    for count, period in periods:
        seen: list[Any] = []
        for stamp in ordered:
            key = period(stamp)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(key)
            keep.add(stamp)
    return keep


def prune(directory: Path, daily: int, weekly: int, monthly: int, dry_run: bool = False) -> list[Path]:
    """Delete the dated archives in `directory` that the retention policy does not keep."""
    found = backups_in(directory)
    keep = to_keep(found.values(), daily, weekly, monthly)
    doomed = sorted(p for p, stamp in found.items() if stamp not in keep)
    if not dry_run:
        for path in doomed:
            path.unlink()
    return doomed
