"""Stored files in S3-compatible storage (issue 15, point 3: "uploads and generated files in the
configured storage directory, or S3-compatible storage"), with the bucket played by moto.

STORAGE_URL=s3://bucket/prefix puts every stored file and job record into the bucket; UPLOAD_DIR
becomes a cache of the content-addressed files, so an app server that never saw a file still
sends it, and a backup and restore carry the bucket's files.
"""

from __future__ import annotations

import hashlib
import typing as t
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask import Flask
from flask_migrate import upgrade
from moto import mock_aws

import config
from services import queue, storage, uploads
from services.certificates import batch

BUCKET = "xueji-files"


@pytest.fixture(autouse=True)
def demo() -> Iterator[None]:
    """Overrides conftest's demo province: these apps have databases of their own."""
    yield


@pytest.fixture
def bucket(monkeypatch) -> Iterator[t.Any]:
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def make_app(tmp: Path, name: str, url: str = f"s3://{BUCKET}/site") -> Flask:
    from app import create_app

    cfg = config.TestConfig()
    cfg.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp / 'site.db'}"
    cfg.UPLOAD_DIR = str(tmp / f"cache-{name}")
    cfg.STORAGE_URL = url  # type: ignore[attr-defined]
    previous = queue._bound.get("app")
    app = create_app(cfg)
    if previous is not None:  # the suite's app stays the queue's app
        queue._bound["app"] = previous
    return app


def objects(client: t.Any) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}


def test_a_stored_file_goes_to_the_bucket_and_another_server_sends_it(bucket, tmp_path):
    one, two = make_app(tmp_path, "one"), make_app(tmp_path, "two")
    with one.app_context():
        digest = uploads.store(b"%PDF-1.4 evidence")
        assert uploads.store(b"%PDF-1.4 evidence") == digest  # written once
    assert objects(bucket) == {f"site/{digest[:2]}/{digest}": b"%PDF-1.4 evidence"}
    with two.app_context():  # its cache is empty: the file is fetched from the bucket on first use
        assert uploads.exists(digest)
        path = uploads.path_of(digest)
        assert path.read_bytes() == b"%PDF-1.4 evidence" and path.is_relative_to(tmp_path / "cache-two")
        assert not uploads.path_of("0" * 64).exists() and not uploads.exists("0" * 64)
        uploads.delete(digest)
        assert not uploads.exists(digest) and not path.exists()
    assert objects(bucket) == {}


def test_print_job_records_are_read_by_every_server(bucket, tmp_path):
    one, two = make_app(tmp_path, "one"), make_app(tmp_path, "two")
    job = batch.PrintJob(id="j" * 24, user_id=7, school_id=1, school_name="和平一小", year=2026, total=3)
    with one.test_request_context():
        batch._save(job)
    with two.test_request_context():
        seen = batch._load(job.id)
        assert seen is not None and seen.school_name == "和平一小" and seen.total == 3
        assert uploads.records(batch.JOB_FOLDER) == [f"{batch.JOB_FOLDER}/{job.id}.json"]
    assert f"site/{batch.JOB_FOLDER}/{job.id}.json" in objects(bucket)


def test_an_unreachable_store_is_a_clear_refusal_not_a_500(tmp_path, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    app = make_app(tmp_path, "down")
    app.config["S3_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    with app.test_request_context(), pytest.raises(storage.StorageUnavailable) as exc:
        uploads.store(b"x")
    assert "文件存储" in str(exc.value)


def test_a_wrong_storage_url_is_refused_at_once(tmp_path):
    app = make_app(tmp_path, "bad", url="ftp://files/x")
    with app.app_context(), pytest.raises(ValueError, match="s3://"):
        uploads.store(b"x")


def test_backup_and_restore_carry_the_buckets_files(bucket, tmp_path):
    from services.backup import site

    app = make_app(tmp_path, "one")
    with app.test_request_context():
        upgrade()
        kept = [uploads.store(f"文件 {i}".encode()) for i in range(3)]
        archive, manifest = site.create(tmp_path / "site.tar")
        assert {n for n in manifest.files if n.startswith("uploads/")} == {f"uploads/{d[:2]}/{d}" for d in kept}
        uploads.delete(kept[0])  # lost after the backup
        extra = uploads.store(b"written after the backup")
        site.restore(archive)
        assert {k.removeprefix("site/") for k in objects(bucket)} == {f"{d[:2]}/{d}" for d in kept}
        assert uploads.path_of(kept[0]).read_bytes() == "文件 0".encode()
        assert not uploads.exists(extra)
        assert hashlib.sha256(uploads.path_of(kept[2]).read_bytes()).hexdigest() == kept[2]

