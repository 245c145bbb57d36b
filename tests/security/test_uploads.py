"""Uploads (issue 13, point 14), through the HTTP client: the type is decided by the content (magic
bytes and structure), the size is limited (5 MB per file, with a Chinese message; a body over the
server's limit gets the Chinese 413 page), files are stored outside static/ under names that are
never the uploaded name, and they are served only through the scope check, as downloads
(Content-Disposition: attachment) with X-Content-Type-Options: nosniff and the sniffed type.

Stored names: the SHA-256 of the content (services/uploads.store), not a random token. The name is
not chosen by the uploader and has no extension; content addressing lets a request's evidence be
filed into the archive without a copy, and lets a submitted roster prove it was not altered
(services/rosters/submissions.py).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models.changes import Attachment
from services import uploads
from tests.transfer_helpers import at, pdf_bytes, png_bytes, start

TERM_DAY = date(2026, 11, 10)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture
def request_id(app, monkeypatch) -> int:
    at(monkeypatch, TERM_DAY)
    with app.test_request_context():
        return start(materials=False).id  # a transfer 和平一小 → 沈河一小, opened by school-shenhe1


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def _attach(client, request_id: int, data: bytes, name: str, mimetype: str | None = None, follow: bool = True):
    upload = (io.BytesIO(data), name, mimetype) if mimetype else (io.BytesIO(data), name)
    return client.post_form(f"/admin/requests/{request_id}/attach", {"material": "hukou", "file": upload},
                            token_from=f"/admin/requests/{request_id}/", content_type="multipart/form-data",
                            follow_redirects=follow)


def _attachments(app, request_id: int) -> list[Attachment]:
    with app.app_context():
        rows = db.session.scalars(select(Attachment).where(Attachment.request_id == request_id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.mark.parametrize("name,data", [
    ("证明.pdf", HTML),  # HTML named .pdf
    ("证明.png", HTML),
    ("证明.jpg", b"\xff\xd8\xff" + HTML),  # a JPEG's magic bytes, then HTML: not a JPEG
    ("证明.png", b"\x89PNG\r\n\x1a\n" + HTML),
    ("证明.pdf", b"%PDF-1.4\n" + HTML),  # a PDF header without a PDF's end
    ("证明.pdf", b"MZ\x90\x00" + b"\x00" * 200),  # an executable
])
def test_the_type_is_decided_by_the_content(as_user, app, request_id, name, data):
    html = _attach(as_user("school-shenhe1"), request_id, data, name, "application/pdf").get_data(as_text=True)
    assert "仅接受 JPG、PNG 或 PDF 格式的文件" in html
    assert _attachments(app, request_id) == []


@pytest.mark.parametrize("name,data,ctype", [
    ("联系表.pdf", pdf_bytes(), "application/pdf"),
    ("户口簿.jpg", jpeg_bytes(), "image/jpeg"),
    ("户口簿.png", png_bytes(), "image/png"),
    ("居住证明.txt", png_bytes(), "image/png"),  # the name does not matter either way
])
def test_real_pdf_jpeg_and_png_pass_with_the_sniffed_type(as_user, app, request_id, name, data, ctype):
    _attach(as_user("school-shenhe1"), request_id, data, name, "text/html")  # the browser's claim is ignored
    (row,) = _attachments(app, request_id)
    assert (row.content_type, row.size, row.filename) == (ctype, len(data), name)


def test_over_five_mb_is_refused_with_a_chinese_message_and_nothing_stored(as_user, app, request_id):
    big = pdf_bytes()[:-7] + b"\n" * (uploads.MAX_UPLOAD_BYTES + 10) + b"%%EOF\n"
    html = _attach(as_user("school-shenhe1"), request_id, big, "大文件.pdf").get_data(as_text=True)
    assert "文件不得超过 5 MB" in html and _attachments(app, request_id) == []


def test_a_body_over_the_server_limit_gets_the_chinese_413_page(as_user, app, request_id):
    huge = b"%PDF-1.4\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    resp = _attach(as_user("school-shenhe1"), request_id, huge, "巨大.pdf", follow=False)
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "文件过大" in html and "Request Entity Too Large" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_files_are_stored_outside_static_under_a_name_that_is_not_the_uploaded_one(as_user, app, request_id):
    _attach(as_user("school-shenhe1"), request_id, png_bytes(), "../../static/evil.png")
    (row,) = _attachments(app, request_id)
    assert row.filename == "evil.png"  # shown without any path
    with app.app_context():
        stored = uploads.path_of(row.sha256).resolve()
        static = Path(app.static_folder).resolve()  # type: ignore[arg-type]
    assert stored.exists() and static not in stored.parents
    assert stored.name == row.sha256 and "." not in stored.name and "evil" not in str(stored)
    assert not any(static.rglob("evil*"))


def test_files_are_served_as_downloads_with_nosniff_and_only_in_scope(as_user, app, request_id):
    _attach(as_user("school-shenhe1"), request_id, pdf_bytes(), "联系表.pdf")
    (row,) = _attachments(app, request_id)
    url = f"/admin/requests/attachment/{row.id}"
    for who in ("school-shenhe1", "heping"):  # the receiving school; the sending school's county
        resp = as_user(who).get(url)
        assert resp.status_code == 200 and resp.data == pdf_bytes()
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.mimetype == "application/pdf"
    for who in ("school-xigang1", "xigang", "dalian", "school-heping2"):  # another county, another city, another school
        resp = as_user(who).get(url)
        assert resp.status_code == 404 and resp.data != pdf_bytes()


def test_archive_documents_are_served_the_same_way(as_user, app):
    from tests.helpers import HEPING1, pupil_of

    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    resp = c.post_form(f"/admin/archive/{sid}/documents/add", {"documents-kind": "other", "documents-file": (io.BytesIO(HTML), "证明.pdf")},
                       token_from=f"/admin/student/details/?id={sid}", content_type="multipart/form-data", follow_redirects=True)
    assert "仅接受 JPG、PNG 或 PDF 格式的文件" in resp.get_data(as_text=True)
    png = (io.BytesIO(png_bytes()), "户口簿.png")
    c.post_form(f"/admin/archive/{sid}/documents/add", {"documents-kind": "other", "documents-file": png},
                token_from=f"/admin/student/details/?id={sid}", content_type="multipart/form-data")
    from models.archive import ArchiveDocument

    with app.app_context():
        (doc,) = db.session.scalars(select(ArchiveDocument).where(ArchiveDocument.student_id == sid)).all()
        doc_id = doc.id
    resp = c.get(f"/admin/archive/document/{doc_id}")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.mimetype == "image/png"
    assert as_user("shenhe").get(f"/admin/archive/document/{doc_id}").status_code == 404
