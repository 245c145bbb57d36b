"""Evidence uploads: photos or scans of originals (第十四条 "上传相关证明材料原件的电子照片").

The type is decided by the content, never by the name; files over 5 MB or of any other type
are refused before anything is stored. Stored content-addressed under UPLOAD_DIR.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from services.errors import RuleViolation
from services.faults import DISK_FULL_ERRNOS

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
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


class StorageFull(RuleViolation):
    """The disk (or the quota) is full: a refusal like any other, so that the caller's
    transaction is rolled back and the form shows why (admin/base.py `attempt`), not a 500."""

    def __init__(self) -> None:
        super().__init__(str(_l("The server's storage is full: the file was not saved. Please try again later "
                                "and tell the system administrator.")))


def store(data: bytes) -> str:
    """Write the bytes once (content-addressed); returns the sha256. The bytes go to a `.part`
    file that is synced and then renamed: a reader never sees a half file, and a write that
    fails (a full disk) removes its part and raises StorageFull."""
    digest = hashlib.sha256(data).hexdigest()
    target = upload_dir() / digest[:2] / digest
    if not target.exists():
        # A part name of this host and process: two app servers (or two threads) storing the same
        # file on shared storage must not write into one part and rename it from under each other.
        tmp = target.with_name(f"{digest}.{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(tmp, data)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in DISK_FULL_ERRNOS:
                raise StorageFull() from exc
            raise
    return digest


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)  # the row that names the file is committed after this returns
    finally:
        os.close(fd)


def path_of(sha256: str) -> Path:
    return upload_dir() / sha256[:2] / sha256


def clean_filename(name: str | None) -> str:
    """Keep the user's (possibly Chinese) file name for display, without any path."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload"
    return "".join(ch for ch in base if ch.isprintable())[:200]
