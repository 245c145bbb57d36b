"""学籍档案 (第八条–第十条): the holding school fills the archive, everyone in scope reads it,
nobody outside the scope learns it exists, exports are real files, and the sending school keeps
a backup when the pupil transfers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models.archive import ArchiveBackup, ArchiveDocument, Award, FinancialAid, GradeRecord, HealthRecord, QualityReport
from models.audit import AuditLog
from models.changes import PrintedDocument
from models.student import Student
from services import archive, arrivals, clock, pdf, uploads
from services.errors import NotInScope, RuleViolation
from tests.export_helpers import open_gate
from tests.helpers import HEPING1, SHENHE1, pupil_of, school
from tests.transfer_helpers import approve, png_bytes, start, upload, user

FOUR = ("school-shenhe1", "shenhe", "school-heping1", "heping")
YESTERDAY = clock.today() - timedelta(days=1)
SHEETS = ["基本信息", "监护人", "证明材料", "综合素质", "体质健康", "获奖", "资助", "学业成绩", "变更记录"]


@pytest.fixture(scope="module")
def app(app):
    """admin/__init__.py registers ArchiveView at endpoint "archive"; until it does, a second app
    (same database) registers it here, before it serves a request."""
    if "archive" in app.blueprints:
        yield app
        return
    from flask_babel import lazy_gettext as _l

    from admin.archive import ArchiveView
    from app import create_app
    from config import TestConfig

    fresh = create_app(TestConfig())
    fresh.extensions["admin"][0].add_view(ArchiveView(name=_l("Archive backups"), endpoint="archive"))
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


@contextmanager
def service(app) -> Iterator[None]:
    """Work through the services, committed, in a context of its own: a test client's request must
    not share it (it would share flask.g, and with it the logged-in user)."""
    with app.test_request_context():
        yield
        db.session.commit()
        db.session.remove()


ENTRIES = {
    "quality": {"school_year": "2024-2025", "term": 2, "academic_tests": "期末测试全部合格", "sports_arts": "跳绳、钢琴四级",
                "community_service": "社区植树两次"},
    "health": {"kind": "vaccination", "date": YESTERDAY, "summary": "流感疫苗第一剂", "result": "已接种"},
    "awards": {"date": YESTERDAY, "name": "沈阳市小学生书法比赛一等奖", "level": "city", "issuer": "沈阳市教育局"},
    "aid": {"date": YESTERDAY, "kind": "家庭经济困难学生生活补助", "amount": "500.00", "funder": "和平区教育局"},
    "grades": {"school_year": "2024-2025", "term": 2, "subject": "语文", "score": "优秀", "evaluation": "书写工整，阅读积极"},
}


def fill(student: Student, who: str = "school-heping1") -> None:
    """A hukou proof and one entry of every other section, by the holding school."""
    actor = user(who)
    archive.add_document(student, actor, "hukou", upload(name="户口簿.png"), "户主页及本人页")
    for code, data in ENTRIES.items():
        archive.add_entry(student, actor, code, data)
    db.session.commit()


# --- the holding school fills the archive ---------------------------------------------------


def test_holding_school_adds_each_kind_of_entry(ctx):
    student = pupil_of(HEPING1)
    fill(student)
    rows = archive.entries(student)
    assert {code: len(r) for code, r in rows.items()} == {c: 1 for c in archive.SECTIONS}
    doc = rows["documents"][0]
    assert (doc.kind, doc.filename, doc.content_type, doc.size) == ("hukou", "户口簿.png", "image/png", len(png_bytes()))
    assert uploads.path_of(doc.sha256).read_bytes() == png_bytes()
    assert doc.uploaded_by_id == user("school-heping1").id and doc.uploaded_at is not None
    assert isinstance(rows["quality"][0], QualityReport) and rows["quality"][0].term == 2
    assert isinstance(rows["health"][0], HealthRecord) and rows["health"][0].date == YESTERDAY
    assert isinstance(rows["awards"][0], Award) and rows["awards"][0].level == "city"
    assert isinstance(rows["aid"][0], FinancialAid) and rows["aid"][0].amount == Decimal("500.00")
    assert isinstance(rows["grades"][0], GradeRecord) and rows["grades"][0].score == "优秀"
    for r in rows.values():
        assert r[0].created_by_id == user("school-heping1").id and r[0].created_at is not None
    added = db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "archive.add", AuditLog.object_type == "student", AuditLog.object_id == str(student.id)))
    assert added == 6


def test_principal_of_the_school_may_add_too(ctx):
    student = pupil_of(HEPING1)
    archive.add_entry(student, user("principal-heping1"), "awards", ENTRIES["awards"])


def test_holding_school_adds_through_the_tabs(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    for tab in ("archive-basic", "archive-documents", "archive-quality", "archive-health", "archive-awards", "archive-aid",
                "archive-grades"):
        assert f'href="#{tab}"' in page
    assert 'id="archive-awards-form"' in page and 'id="archive-incomplete"' in page
    resp = c.post_form(f"/admin/archive/{sid}/awards/add", {f"awards-{k}": str(v) for k, v in ENTRIES["awards"].items()},
                       token_from="/admin/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#archive-awards")
    token = c.csrf("/admin/")
    resp = c.post(f"/admin/archive/{sid}/documents/add", content_type="multipart/form-data", data={
        "csrf_token": token, "documents-kind": "hukou", "documents-note": "户口簿",
        "documents-file": (io.BytesIO(png_bytes()), "户口簿.png")})
    assert resp.status_code == 302
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert ENTRIES["awards"]["name"] in page and "户口簿.png" in page
    assert 'id="archive-complete"' in page
    with app.app_context():
        doc = db.session.scalar(select(ArchiveDocument).where(ArchiveDocument.student_id == sid))
    download = c.get(f"/admin/archive/document/{doc.id}")
    assert download.status_code == 200 and download.data == png_bytes()


def test_a_correction_keeps_old_and_new_and_nothing_is_deleted(as_user, app):
    with service(app):
        student = pupil_of(HEPING1)
        award = archive.add_entry(student, user("school-heping1"), "awards", ENTRIES["awards"])
        archive.edit_entry(award, user("school-heping1"), {"level": "province", "name": ENTRIES["awards"]["name"]})
        assert award.level == "province"
        db.session.flush()
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "archive.edit"))
        assert row.object_id == str(student.id) and "市级 → 省级" in row.detail
        with pytest.raises(RuleViolation):
            archive.edit_entry(award, user("heping"), {"level": "school"})
        sid, aid = student.id, award.id
    c = as_user("school-heping1")
    edit_url = f"/admin/archive/{sid}/awards/{aid}/edit"
    assert c.get(edit_url).status_code == 200
    resp = c.post_form(edit_url, {"edit-awards-date": str(YESTERDAY), "edit-awards-name": "改正后的奖项",
                                  "edit-awards-level": "national", "edit-awards-issuer": ""})
    assert resp.status_code == 302
    assert c.post_form(f"/admin/archive/{sid}/awards/{aid}/delete", {}, token_from="/admin/").status_code in (404, 405)
    with service(app):
        assert db.session.get(Award, aid).name == "改正后的奖项"
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "archive.edit")) == 2


@pytest.mark.parametrize(("code", "data", "field"), [
    ("awards", {**ENTRIES["awards"], "date": clock.today() + timedelta(days=1)}, "date"),
    ("awards", {**ENTRIES["awards"], "date": date(2000, 1, 1)}, "date"),  # before the pupil was born
    ("awards", {**ENTRIES["awards"], "level": "world"}, "level"),
    ("awards", {**ENTRIES["awards"], "name": "奖" * 101}, "name"),
    ("aid", {**ENTRIES["aid"], "amount": "-1"}, "amount"),
    ("aid", {**ENTRIES["aid"], "amount": "12.345"}, "amount"),
    ("aid", {**ENTRIES["aid"], "amount": "五百"}, "amount"),
    ("quality", {**ENTRIES["quality"], "sports_arts": "好" * 1001}, "sports_arts"),
    ("quality", {**ENTRIES["quality"], "school_year": "2024-2026"}, "school_year"),
    ("grades", {**ENTRIES["grades"], "term": 3}, "term"),
    ("health", {**ENTRIES["health"], "summary": ""}, "summary"),
])
def test_entries_are_validated(ctx, code, data, field):
    student = pupil_of(HEPING1)
    with pytest.raises(RuleViolation) as err:
        archive.add_entry(student, user("school-heping1"), code, data)
    assert [f for f, _ in err.value.problems] == [field]


def test_a_refused_entry_is_a_message_on_the_tab(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    data = {f"aid-{k}": str(v) for k, v in ENTRIES["aid"].items()} | {"aid-amount": "-5"}
    resp = c.post_form(f"/admin/archive/{sid}/aid/add", data, token_from="/admin/", follow_redirects=True)
    assert resp.status_code == 200 and "不能为负数" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FinancialAid)) == 0


# --- evidence uploads ---------------------------------------------------------------------------


def test_a_text_file_named_png_is_refused_before_storage(ctx):
    student = pupil_of(HEPING1)
    stored = set(uploads.upload_dir().rglob("*"))
    with pytest.raises(RuleViolation, match="JPG"):
        archive.add_document(student, user("school-heping1"), "hukou", upload(b"this is not an image", name="户口.png"))
    with pytest.raises(RuleViolation, match="5 MB"):
        archive.add_document(student, user("school-heping1"), "hukou",
                             upload(b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n", name="big.pdf"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ArchiveDocument)) == 0
    assert set(uploads.upload_dir().rglob("*")) == stored


def test_a_refused_upload_is_a_message_on_the_tab(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    resp = c.post(f"/admin/archive/{sid}/documents/add", content_type="multipart/form-data", follow_redirects=True, data={
        "csrf_token": c.csrf("/admin/"), "documents-kind": "hukou", "documents-file": (io.BytesIO(b"plain text"), "假图片.png")})
    assert "假图片.png：仅接受 JPG、PNG 或 PDF 格式的文件。" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ArchiveDocument)) == 0


# --- who may do what ----------------------------------------------------------------------------


def test_an_official_reads_but_cannot_add(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with service(app):
        student = pupil_of(HEPING1)
        fill(student)
        with pytest.raises(RuleViolation):
            archive.add_entry(student, user("heping"), "awards", ENTRIES["awards"])
        with pytest.raises(RuleViolation):
            archive.add_document(student, user("shenyang"), "hukou", upload())
        rows = archive.entries(student)
        sid, award, doc = student.id, rows["awards"][0].id, rows["documents"][0].id
    c = as_user("heping")
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert ENTRIES["awards"]["name"] in page and "archive-awards-form" not in page
    resp = c.post_form(f"/admin/archive/{sid}/awards/add", {f"awards-{k}": str(v) for k, v in ENTRIES["awards"].items()},
                       token_from="/admin/")
    assert resp.status_code == 403
    assert c.get(f"/admin/archive/{sid}/awards/{award}/edit").status_code == 403
    assert c.get(f"/admin/archive/{sid}/export.xlsx").status_code == 200
    assert c.get(f"/admin/archive/document/{doc}").status_code == 200
    with service(app):
        assert len(archive.entries(db.session.get(Student, sid))["awards"]) == 1


def test_another_school_of_the_same_county_is_outside_the_scope(ctx):
    student = pupil_of(HEPING1)
    with pytest.raises(NotInScope):
        archive.add_entry(student, user("school-heping2"), "awards", ENTRIES["awards"])
    with pytest.raises(NotInScope):
        archive.export_xlsx(student, user("school-heping2"))


@pytest.fixture
def foreign(app):
    """A 沈河 pupil with a full archive and a backup kept by 沈河一小, as seen by 和平一小's registrar."""
    with service(app):
        student = pupil_of(SHENHE1)
        fill(student, "school-shenhe1")
        req = SimpleNamespace(student=student, id=None, to_school=None, external_school="北京市某小学",
                              requested_by=user("school-shenhe1"))
        backup = archive.backup_on_leaving(req, user("school-shenhe1"))
        rows = archive.entries(student)
        seen = {"id": student.id, "name": student.name, "doc": rows["documents"][0].id, "award": rows["awards"][0].id,
                "backup": backup.id}
    return seen


def test_outside_the_scope_every_archive_path_answers_404(as_user, app, foreign):
    c = as_user("school-heping1")
    sid = foreign["id"]
    token = c.csrf("/admin/")
    posts = [
        (f"/admin/archive/{sid}/awards/add", {f"awards-{k}": str(v) for k, v in ENTRIES["awards"].items()}),
        (f"/admin/archive/{sid}/documents/add", {"documents-kind": "hukou", "documents-file": (io.BytesIO(png_bytes()), "a.png")}),
        (f"/admin/archive/{sid}/awards/{foreign['award']}/edit", {"edit-awards-name": "x"}),
        (f"/admin/archive/{heping_pupil(app)}/awards/{foreign['award']}/edit", {"edit-awards-name": "x"}),
    ]
    for url, data in posts:
        resp = c.post(url, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        assert resp.status_code == 404, url
        assert foreign["name"] not in resp.get_data(as_text=True)
    gets = [
        f"/admin/archive/{sid}/awards/{foreign['award']}/edit",
        f"/admin/archive/document/{foreign['doc']}",
        f"/admin/archive/{sid}/export.xlsx",
        f"/admin/archive/{sid}/export.pdf",
        f"/admin/archive/backup/{foreign['backup']}/pdf",
        f"/admin/archive/backup/{foreign['backup']}/xlsx",
        f"/admin/student/details/?id={sid}",
    ]
    for url in gets:
        resp = c.get(url)
        assert resp.status_code == 404, url
        assert foreign["name"] not in resp.get_data(as_text=True)
    listing = c.get("/admin/archive/backups")
    assert listing.status_code == 200 and foreign["name"] not in listing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Award)) == 1  # only the pupil's own
        assert db.session.get(Award, foreign["award"]).name == ENTRIES["awards"]["name"]


def heping_pupil(app) -> int:
    with app.app_context():
        return pupil_of(HEPING1).id


def test_unknown_sections_and_formats_answer_404(as_user, app, foreign, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    c = as_user("school-shenhe1")
    assert c.post_form(f"/admin/archive/{foreign['id']}/secrets/add", {}, token_from="/admin/").status_code == 404
    assert c.get(f"/admin/archive/backup/{foreign['backup']}/exe").status_code == 404
    assert c.get("/admin/archive/backup/999999/pdf").status_code == 404


# --- exports ------------------------------------------------------------------------------------


def test_xlsx_export_has_a_sheet_per_section_and_is_audited(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with service(app):
        student = pupil_of(HEPING1)
        fill(student)
        archive.edit_entry(archive.entries(student)["documents"][0], user("school-heping1"), {"note": "=1+1"})
        sid, name, xjh, guardians = student.id, student.name, student.xjh, len(student.guardians)
    resp = as_user("heping").get(f"/admin/archive/{sid}/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == SHEETS
    basic = {row[0]: row[1] for row in wb["基本信息"].iter_rows(min_row=2, values_only=True)}
    assert basic["姓名"] == name and basic["全国学籍号"] == xjh
    assert wb["监护人"].max_row == 1 + guardians
    assert wb["获奖"]["B2"].value == ENTRIES["awards"]["name"] and wb["获奖"]["C2"].value == "市级"
    assert wb["资助"]["C2"].value == 500
    assert wb["证明材料"]["A2"].value == "户籍证明"
    assert wb["证明材料"]["C2"].value == "=1+1" and wb["证明材料"]["C2"].data_type == "s"  # text, never a formula
    assert [c.value for c in wb["证明材料"][1]][-3:] == ["文件格式", "大小（字节）", "SHA-256"]
    assert wb["证明材料"]["F2"].value == "image/png" and len(wb["证明材料"]["H2"].value) == 64
    history = [row[1] for row in wb["变更记录"].iter_rows(min_row=2, values_only=True)]
    assert any("获奖" in (item or "") for item in history)
    with service(app):
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_id == str(sid)))


def test_pdf_export_is_chinese_with_an_embedded_font_and_numbered(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with service(app):
        student = pupil_of(HEPING1)
        fill(student)
        sid, name = student.id, student.name
    resp = as_user("school-heping1").get(f"/admin/archive/{sid}/export.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "".join(pdf.extract_text(resp.data).split())
    for expected in ("学生学籍档案", name, "二、学籍信息证明材料", "户籍证明", "五、在校期间的获奖信息",
                     ENTRIES["awards"]["name"], "500.00", "七、学业成绩及综合素质评价结果", "书写工整"):
        assert expected in text, expected
    assert pdf.embedded_fonts(resp.data) == {pdf.CJK_PDF_FONT_NAME}
    with service(app):
        doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.kind == "archive"))
        assert doc.number.startswith("DA") and doc.number in text and doc.student_id == sid
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.detail.contains(doc.number)))


# --- 第十条: the sending school keeps a backup ------------------------------------------------------


def test_after_a_transfer_the_sending_school_keeps_a_backup(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with service(app):
        req = start()
        student = req.student
        fill(student)
        approve(req, *FOUR)
        arrivals.report_arrival(req, user("school-shenhe1"))
        db.session.commit()
        assert student.school.code == SHENHE1
        backup = db.session.scalar(select(ArchiveBackup).where(ArchiveBackup.student_id == student.id))
        assert backup.from_school_id == school(HEPING1).id and backup.request_id == req.id
        assert backup.scope_path == school(HEPING1).path
        sid, name, bid, heping1_name = student.id, student.name, backup.id, school(HEPING1).name
    sender = as_user("school-heping1")
    listing = sender.get("/admin/archive/backups").get_data(as_text=True)
    assert name in listing and f"backup-{bid}" in listing
    pdf_file = sender.get(f"/admin/archive/backup/{bid}/pdf")
    assert pdf_file.status_code == 200 and name in "".join(pdf.extract_text(pdf_file.data).split())
    xlsx_file = sender.get(f"/admin/archive/backup/{bid}/xlsx")
    assert xlsx_file.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx_file.data))
    assert wb["获奖"]["B2"].value == ENTRIES["awards"]["name"]
    basic = {row[0]: row[1] for row in wb["基本信息"].iter_rows(min_row=2, values_only=True)}
    assert basic["学校名称"] == heping1_name  # the record as it left
    # The record itself has moved: the sender no longer reaches it, the receiver holds the archive.
    assert sender.get(f"/admin/student/details/?id={sid}").status_code == 404
    assert sender.get(f"/admin/archive/{sid}/export.pdf").status_code == 404
    with service(app):
        student = db.session.get(Student, sid)
        with pytest.raises(NotInScope):
            archive.add_entry(student, user("school-heping1"), "awards", ENTRIES["awards"])
        archive.add_entry(student, user("school-shenhe1"), "awards", ENTRIES["awards"])
        assert len(archive.entries(student)["awards"]) == 2  # the archive followed the pupil (籍随人走)
    receiver = as_user("school-shenhe1")
    assert name not in receiver.get("/admin/archive/backups").get_data(as_text=True)
    assert receiver.get(f"/admin/archive/backup/{bid}/pdf").status_code == 404
    assert as_user("heping").get(f"/admin/archive/backup/{bid}/xlsx").status_code == 200  # the sender's county


# --- completeness (第八条) -----------------------------------------------------------------------


def test_incomplete_archive_filter_finds_a_pupil_without_hukou_proof(ctx):
    student = pupil_of(HEPING1)
    incomplete = select(Student.id).where(Student.school_id == student.school_id, archive.incomplete_archive_filter())
    assert student.id in db.session.scalars(incomplete).all()
    assert archive.missing_sections(student) == [archive.MISSING_HUKOU] and not archive.archive_is_complete(student)
    archive.add_document(student, user("school-heping1"), "other", upload())
    db.session.commit()
    assert student.id in db.session.scalars(incomplete).all()  # any other evidence is not the 户籍证明
    archive.add_document(student, user("school-heping1"), "hukou", upload())
    db.session.commit()
    assert student.id not in db.session.scalars(incomplete).all()
    assert archive.archive_is_complete(student)
    student.guardians.clear()
    db.session.commit()
    assert student.id in db.session.scalars(incomplete).all()
    assert archive.missing_sections(student) == [archive.MISSING_GUARDIANS]
