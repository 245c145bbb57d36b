"""`create` and `restore` of a whole site: the database and the upload directory, audited."""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from extensions import db
from models.clock import system_now
from services import audit
from services.backup.archive import BytesReader, add_stored_files, check_compatible, extract_checked, known_revisions, read_manifest
from services.backup.common import (
    DUMP,
    FORMAT_VERSION,
    MANIFEST,
    NAME_FORMAT,
    UPLOADS,
    BackupError,
    Manifest,
    database_kind,
    sha256_file,
    upload_dir,
)
from services.backup.databases import check_counts, dump_postgresql, dump_sqlite, restore_postgresql, restore_sqlite


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
        revision, counts = dump_postgresql(dump) if kind == "postgresql" else dump_sqlite(dump)
        files = {DUMP[kind]: {"sha256": sha256_file(dump), "size": dump.stat().st_size}}
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(dump, arcname=DUMP[kind], recursive=False)
            files.update(add_stored_files(tar))
            manifest = Manifest({
                "format": FORMAT_VERSION, "app": "学籍通", "database_kind": kind, "alembic_revision": revision,
                "created_at": system_now().isoformat(timespec="seconds"), "row_counts": counts, "files": files,
            })
            body = json.dumps(manifest.data, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(datetime.now().timestamp()), 0o600
            tar.addfile(info, BytesReader(body))
        partial.chmod(0o600)  # it holds every pupil's personal data
        os.replace(partial, path)
    audit.record(None, "backup.create", "backup", None, f"{path.name}：学生 {counts.get('student', 0)} 人，文件 {len(files) - 1} 个")
    db.session.commit()
    return path, manifest


def restore(path: Path) -> Manifest:
    """Replace the database and the upload directory with the archive's. Nothing is touched
    before the manifest and every checksum have been checked."""
    manifest = read_manifest(path)
    check_compatible(manifest)
    uploads = upload_dir().resolve()
    uploads.parent.mkdir(parents=True, exist_ok=True)
    # Extracted beside the upload directory: the final swap is a rename on one file system.
    with tempfile.TemporaryDirectory(prefix=f".{uploads.name}-restore-", dir=uploads.parent) as work_dir:
        work = Path(work_dir)
        extract_checked(path, manifest, work)
        db.session.remove()
        db.engine.dispose()  # no pooled connection of this process may hold the old database
        if manifest.kind == "postgresql":
            restore_postgresql(work / DUMP["postgresql"])
        else:
            restore_sqlite(work / DUMP["sqlite"])
        db.engine.dispose()
        check_counts(manifest)
        _swap_uploads(work / UPLOADS.rstrip("/"), uploads)
    _known, head = known_revisions()
    if manifest.revision != head:  # an older schema (or none): brought up to this program's
        from flask_migrate import upgrade

        upgrade()
    audit.record(None, "backup.restore", "backup", None,
                 f"{path.name}（{manifest.data.get('created_at')}）：学生 {manifest.row_counts.get('student', 0)} 人")
    db.session.commit()
    return manifest


def _swap_uploads(restored: Path, uploads: Path) -> None:
    """The stored files become the archive's (services/storage.py: renamed into the upload
    directory, or uploaded to the bucket)."""
    from services import storage

    store = storage.current()
    if isinstance(store, storage.LocalStorage) and store.root.resolve() != uploads:
        raise BackupError(f"上传目录 {store.root} 与 {uploads} 不一致。")
    store.replace_all(restored)
