"""What every part of the backup shares: the archive's names, its manifest, the error, the database's address."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.engine import URL, make_url

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


def database_url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def database_kind() -> str:
    name = database_url().get_backend_name()
    if name not in DUMP:
        raise BackupError(f"不支持备份此类数据库：{name}")
    return name


def sqlite_path() -> Path:
    database = database_url().database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复。")
    return Path(database)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])
