"""Evidence uploads: photos or scans of originals (第十四条 "上传相关证明材料原件的电子照片").

The type is decided by the content, never by the name; files over 5 MB or of any other type
are refused before anything is stored. Stored content-addressed under UPLOAD_DIR.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from services import storage
from services.errors import RuleViolation

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> str | None:
    """The content type by magic number and structure, or None when it is not JPG/PNG/PDF."""
    kind = next((ctype for magic, ctype in SIGNATURES if data.startswith(magic)), None)
    if kind == "application/pdf":
        return kind if b"%%EOF" in data[-2048:] else None
    if kind:
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            return None
    return kind


def read_checked(stream: IO[bytes], filename: str) -> tuple[bytes, str]:
    """Read an upload, refusing oversized or non-JPG/PNG/PDF content with a clear message."""
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if not data:
        raise RuleViolation([("", str(_l("%(name)s: the file is empty.", name=filename)))])
    if len(data) > MAX_UPLOAD_BYTES:
        raise RuleViolation([("", str(_l("%(name)s: a file may be at most 5 MB.", name=filename)))])
    ctype = sniff(data)
    if ctype is None:
        raise RuleViolation([("", str(_l("%(name)s: only JPG, PNG or PDF files are accepted.", name=filename)))])
    return data, ctype


def upload_dir() -> Path:
    """The local directory: the files themselves, or with S3 (services/storage.py) their cache."""
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


class StorageFull(RuleViolation):
    """The disk (or the quota) is full: a refusal like any other, so that the caller's
    transaction is rolled back and the form shows why (admin/base.py `attempt`), not a 500."""

    def __init__(self) -> None:
        super().__init__(str(_l("The server's storage is full: the file was not saved. Please try again later "
                                "and tell the system administrator.")))


def key_of(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def store(data: bytes) -> str:
    """Write the bytes once (content-addressed); returns the sha256. A reader never sees a half
    file; a write that fails for lack of space raises StorageFull (an unreachable object store,
    storage.StorageUnavailable), and the caller's row naming the file is not committed."""
    digest = hashlib.sha256(data).hexdigest()
    target = storage.current()
    if not target.exists(key_of(digest)):
        try:
            target.put(key_of(digest), data)
        except storage.DiskFull as exc:
            raise StorageFull() from exc
    return digest


def path_of(sha256: str) -> Path:
    """A local path with the file's bytes (with S3: the cached copy, fetched on first use); the
    path does not exist when no such file is stored."""
    return storage.current().local_path(key_of(sha256))


def exists(sha256: str) -> bool:
    return storage.current().exists(key_of(sha256))


def delete(sha256: str) -> None:
    storage.current().delete(key_of(sha256))


def write_record(name: str, data: bytes) -> None:
    """A small named file that changes (a print job's state), beside the stored files."""
    try:
        storage.current().put(name, data)
    except storage.DiskFull as exc:
        raise StorageFull() from exc


def read_record(name: str) -> bytes | None:
    return storage.current().read(name)


def records(folder: str) -> list[str]:
    """The names of the records in `folder`, newest first."""
    return [name for name, _mtime in storage.current().records(folder)]


def delete_record(name: str) -> None:
    storage.current().delete(name)


def clean_filename(name: str | None) -> str:
    """Keep the user's (possibly Chinese) file name for display, without any path."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload"
    return "".join(ch for ch in base if ch.isprintable())[:200]
