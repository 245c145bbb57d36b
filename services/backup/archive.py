"""The archive file: written with each member hashed as it is copied, read back with every size and
checksum checked against the manifest before anything is restored."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app

from services.backup.common import CHUNK, DUMP, FORMAT_VERSION, KIND_NAMES, MANIFEST, UPLOADS, BackupError, Manifest, database_kind
from services.backup.databases import run_tool, tool


class BytesReader:
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


def add_hashed(tar: tarfile.TarFile, name: str, fh: IO[bytes], size: int) -> dict[str, Any]:
    """Copy `size` bytes of `fh` into the archive as `name`, hashing them on the way."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(datetime.now().timestamp())
    reader = _HashingReader(fh)
    tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": size}


def add_stored_files(tar: tarfile.TarFile) -> dict[str, dict[str, Any]]:
    """Every stored file (services/storage.py: the upload directory, or the S3 bucket), under uploads/."""
    from services import storage

    files: dict[str, dict[str, Any]] = {}
    store = storage.current()
    for key, size in store.stored():
        try:
            fh = store.open(key)
        except FileNotFoundError:  # removed meanwhile (an expired export): nothing names it any more
            continue
        with contextlib.closing(fh):
            files[UPLOADS + key] = add_hashed(tar, UPLOADS + key, fh, size)
    return files


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


def known_revisions() -> tuple[set[str], str | None]:
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
    known, _head = known_revisions()
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
            run_tool([tool("pg_restore"), "--list", str(dump)], dict(os.environ), "读取 PostgreSQL 导出文件")
    return manifest
