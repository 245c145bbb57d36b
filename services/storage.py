"""Where stored files live: a directory (UPLOAD_DIR, shared by every app server and worker) or an
S3-compatible object store (STORAGE_URL=s3://bucket/prefix; S3_ENDPOINT_URL for MinIO, Ceph or a
cloud's own endpoint; credentials from the usual AWS_* variables or the instance's role).

Both hold the same keys: content-addressed files ("ab/abcdef…", written once, never changed) and a
few small records ("certificate-jobs/<id>.json"). With S3, UPLOAD_DIR is a local cache of the
content-addressed files: since they never change, a cached copy is always right, and the views keep
sending files from a local path (send_file) without knowing where the file lives.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlparse

from flask import current_app

from services.errors import RuleViolation
from services.faults import DISK_FULL_ERRNOS

EXTENSION_KEY = "xueji_storage"


class StorageUnavailable(RuleViolation):
    """The object store refused or did not answer: a refusal like a full disk (the caller's
    transaction is rolled back and the form says why), never a 500."""

    def __init__(self) -> None:
        from flask_babel import lazy_gettext as _l

        super().__init__(str(_l("The file storage is not reachable: the file was not saved. Please try again later "
                                "and tell the system administrator.")))


class DiskFull(OSError):
    """A local write failed for lack of space (services/uploads.StorageFull tells the user)."""


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def exists(self, key: str) -> bool: ...
    def local_path(self, key: str) -> Path: ...
    def read(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None: ...
    def stored(self) -> Iterator[tuple[str, int]]: ...
    def records(self, folder: str) -> list[tuple[str, float]]: ...
    def open(self, key: str) -> IO[bytes]: ...
    def replace_all(self, source: Path) -> None: ...


def _part_name(target: Path) -> Path:
    # A part name of this host, process and thread: two app servers (or two threads) writing the same
    # key on shared storage must not write into one part and rename it from under each other.
    return target.with_name(f"{target.name}.{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}.part")


def write_atomic(target: Path, data: bytes) -> None:
    """Write to a synced part file, then rename: a reader never sees half a file."""
    tmp = _part_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)  # the row that names the file is committed after this returns
        finally:
            os.close(fd)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFull(exc.errno, exc.strerror) from exc
        raise


class LocalStorage:
    """The files under one directory (a local disk, or a shared NFS/CIFS volume)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        write_atomic(self.root / key, data)

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def open(self, key: str) -> IO[bytes]:
        return (self.root / key).open("rb")

    def stored(self) -> Iterator[tuple[str, int]]:
        """(key, size) of every stored file; `.part` files are writes still under way."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(self.root).as_posix(), path.stat().st_size

    def records(self, folder: str) -> list[tuple[str, float]]:
        """(key, modified time) of the files directly in `folder`, newest first."""
        found = [(f"{folder}/{p.name}", p.stat().st_mtime) for p in (self.root / folder).glob("*")
                 if p.is_file() and not p.name.endswith(".part")]
        return sorted(found, key=lambda r: r[1], reverse=True)

    def replace_all(self, source: Path) -> None:
        """The directory's contents become `source`'s (a restore): two renames on one file system,
        or, when the directory is a mount point of its own, its contents replaced in place."""
        source.mkdir(parents=True, exist_ok=True)
        root = self.root.resolve()
        if root.is_mount():
            for child in root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            for child in source.iterdir():
                shutil.move(child, root / child.name)
            return
        old = root.with_name(f".{root.name}-replaced")
        shutil.rmtree(old, ignore_errors=True)
        if root.exists():
            os.replace(root, old)
        os.replace(source, root)
        shutil.rmtree(old, ignore_errors=True)


class S3Storage:
    """The files as objects of one bucket under a prefix; content-addressed ones cached locally."""

    def __init__(self, bucket: str, prefix: str, cache: Path, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.cache = bucket, prefix.strip("/"), cache
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None,
                                   config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                                 connect_timeout=5, read_timeout=30))

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _errors(self) -> tuple[type[BaseException], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def _missing(self, exc: BaseException) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except self._errors() as exc:
            raise StorageUnavailable() from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors() as exc:
            if self._missing(exc):
                return False
            raise StorageUnavailable() from exc
        return True

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self._errors() as exc:
            if self._missing(exc):
                return None
            raise StorageUnavailable() from exc

    def local_path(self, key: str) -> Path:
        """The cached copy, fetched on first use; a path that does not exist when the object doesn't."""
        path = self.cache / key
        if not path.is_file():
            data = self.read(key)
            if data is not None:
                write_atomic(path, data)
        return path

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors() as exc:
            raise StorageUnavailable() from exc
        (self.cache / key).unlink(missing_ok=True)

    def open(self, key: str) -> IO[bytes]:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]

    def stored(self) -> Iterator[tuple[str, int]]:
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(start):], obj["Size"]

    def records(self, folder: str) -> list[tuple[str, float]]:
        start = self._key(folder) + "/"
        found = [(obj["Key"][len(start) - len(folder) - 1:], obj["LastModified"].timestamp())
                 for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
                 for obj in page.get("Contents", [])]
        return sorted(found, key=lambda r: r[1], reverse=True)

    def replace_all(self, source: Path) -> None:
        """A restore: the restored files are uploaded first, then the objects the backup does not
        have are removed, so a restore that fails half-way leaves every restored file in place."""
        restored = {p.relative_to(source).as_posix(): p for p in source.rglob("*") if p.is_file()}
        for key, path in sorted(restored.items()):
            self.client.upload_file(str(path), self.bucket, self._key(key))
        for key, _size in list(self.stored()):
            if key not in restored:
                self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        shutil.rmtree(self.cache, ignore_errors=True)


def from_config(config: dict) -> Storage:
    url = (config.get("STORAGE_URL") or "").strip()
    root = Path(config["UPLOAD_DIR"])
    if not url:
        return LocalStorage(root)
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"STORAGE_URL must be s3://bucket[/prefix], not {url!r}")
    return S3Storage(parsed.netloc, parsed.path, root, config.get("S3_ENDPOINT_URL"))


def current() -> Storage:
    """The app's storage, made once per app (its S3 client is thread-safe and reused)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = (app.config["UPLOAD_DIR"], app.config.get("STORAGE_URL"), app.config.get("S3_ENDPOINT_URL"))
    made = app.extensions.get(EXTENSION_KEY)
    if made is None or made[0] != settings:  # made once; again only when a test changes the settings
        made = (settings, from_config(app.config))
        app.extensions[EXTENSION_KEY] = made
    return made[1]
