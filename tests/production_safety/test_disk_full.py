"""A full disk during an upload (issue 15, point 6): a clear Chinese message, never a 500, and
nothing written — no half file in the upload directory, no attachment row, no import job.

The disk is "full" where the bytes really go: the upload store's own write (it gets half of the
file down, then ENOSPC), and Werkzeug's spooling of a large request body to a temporary file,
which happens while the form is read, before any view code runs.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from pathlib import Path

from extensions import db
from services import storage, uploads
from tests.admin.outcomes import table_counts
from tests.admin.outcomes import text as page_text
from tests.helpers import HEPING1
from tests.production_safety.helpers import attach, fresh_png, open_transfer

FULL_WORDS = "服务器存储空间已满"


def _stored_files(app) -> set[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _upload_writes_half_then_fills(monkeypatch) -> list[str]:
    """os.write into an upload's .part file: the first call writes half its bytes, the next finds
    the disk full. Writes to any other file go through untouched."""
    real_write, failed = os.write, []

    def write(fd: int, data) -> int:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if not path.endswith(".part"):
            return real_write(fd, data)
        if not failed:
            failed.append(path)
            return real_write(fd, bytes(data[: max(1, len(data) // 2)]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage.os, "write", write)  # services/storage.py writes the stored files
    return failed


def test_attachment_upload_on_a_full_disk_is_refused_in_chinese_and_leaves_nothing(app, as_user, monkeypatch):
    request_id = open_transfer(app, monkeypatch)
    client = as_user("school-shenhe1")
    before, files_before = table_counts(app), _stored_files(app)
    real_write = os.write
    failed = _upload_writes_half_then_fills(monkeypatch)
    png = fresh_png()

    resp = attach(client, request_id, png, follow_redirects=True)

    assert failed, "the upload never reached the disk"
    assert resp.status_code == 200  # the request page again, with the message, not an error page
    page = page_text(resp)
    assert "服务器存储空间已满，文件未保存" in page and "故障测试.png" not in page
    assert 'name="material"' in page  # the upload form is still there to try again
    assert table_counts(app) == before  # no attachment row, no audit row
    assert _stored_files(app) == files_before  # the half-written .part is gone too

    monkeypatch.setattr(os, "write", real_write)  # space again: the same upload now goes through
    resp = attach(client, request_id, png, follow_redirects=True)
    assert "故障测试.png" in page_text(resp)
    digest = uploads.hashlib.sha256(png).hexdigest()
    with app.app_context():
        assert uploads.path_of(digest).read_bytes() == png


def test_store_leaves_no_part_file_and_raises_storage_full(app, monkeypatch):
    failed = _upload_writes_half_then_fills(monkeypatch)
    data = b"%PDF-1.4\n" + os.urandom(300_000) + b"\n%%EOF\n"
    with app.test_request_context():
        try:
            uploads.store(data)
        except uploads.StorageFull as exc:
            assert FULL_WORDS in str(exc)
        else:
            raise AssertionError("a full disk must refuse the file")
        target = uploads.path_of(uploads.hashlib.sha256(data).hexdigest())
        # One part file of this process was written into, and it is gone with the target.
        assert len(failed) == 1 and failed[0].startswith(f"{target}.") and failed[0].endswith(".part")
        assert not target.exists() and not list(target.parent.glob(f"{target.name}.*.part"))


def test_excel_import_upload_on_a_full_disk_gets_the_chinese_page_and_imports_nothing(app, as_user, monkeypatch):
    """A workbook over 500 KB is spooled to a temporary file while the form is read: that write
    finds the disk full. The answer is the 507 page in Chinese; no job, no pupil."""
    client = as_user("school-heping1")
    token = client.csrf("/admin/imports/")
    before = table_counts(app)
    spooled = []

    def rollover(self) -> None:
        spooled.append(self)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
    big = io.BytesIO(b"PK\x03\x04" + os.urandom(600_000))
    resp = client.post("/admin/imports/upload", data={"csrf_token": token, "school": HEPING1, "file": (big, "新生名单.xlsx")},
                       content_type="multipart/form-data")

    assert spooled, "the upload was never spooled to disk"
    assert resp.status_code == 507
    page = page_text(resp)
    assert FULL_WORDS in page and "本次操作未保存" in page and "OSError" not in page
    assert table_counts(app) == before  # no import job, no pupil
    with app.app_context():
        db.session.remove()
