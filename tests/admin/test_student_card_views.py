"""学生学籍卡 on screen (issue 16, point 2): the button on the pupil's page, the gate for each role, a
class's and selected pupils' cards made in the background, the full card through an export request,
and the public check of a card's code."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cli.realistic import HEPING1, HEPING2, make_guardian, make_pupil, school
from extensions import db
from models.audit import AuditLog
from models.changes import PrintedDocument
from models.export_request import READY, ExportDownload, ExportRequest
from services import export_requests, pdf, student_card_batch, uploads
from services.ids import make_check_digit
from tests.security.test_export_requests import NEW_URL, ask, decide, produce, status_of

PUPIL_ID = "21010220160412567" + make_check_digit("21010220160412567")
MASKED = PUPIL_ID[:6] + "*" * 8 + PUPIL_ID[-4:]


@pytest.fixture(autouse=True)
def no_export_thread(monkeypatch):
    monkeypatch.setattr(export_requests, "start", lambda req: None)  # the test produces the file itself


def pupil(app, **kw) -> int:
    """A pupil of 和平一小 with a G-学籍号, a guardian and rare characters, committed (inside the test's transaction)."""
    with app.test_request_context():
        kw.setdefault("guardians", [make_guardian("2", name="李㛃", phone="13800000009")])
        row = make_pupil(kw.pop("school_code", HEPING1), id_number=PUPIL_ID, xjh="G" + PUPIL_ID, **kw)
        db.session.commit()
        return row.id


def pupils(app, names: tuple[str, ...], code: str = HEPING1, **kw) -> tuple[list[int], int]:
    """Pupils of one school (committed inside the test's transaction): their ids and the school's id."""
    with app.test_request_context():
        ids = [make_pupil(code, name=n, **kw).id for n in names]
        db.session.commit()
        return ids, school(code).id


def pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def test_the_school_prints_its_pupils_card_from_the_details_page(app, as_user):
    sid = pupil(app, name="王𠮷㛃", current_address="和平区南京北街1号")
    c = as_user("school-heping1")
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert 'id="student-card"' in page and ">学籍卡<" in page and "申请完整学籍卡" in page
    resp = c.get(f"/admin/student_cards/{sid}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith('inline; filename="XK')
    text = pdf.extract_text(resp.data)
    assert "学生学籍卡" in text and "李㛃" in text and MASKED in text and PUPIL_ID not in text
    assert "和平区南京北街" not in text and "13800000009" not in text and "须经导出审批" in text
    with app.app_context():
        doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.student_id == sid))
        assert doc.kind == "student_card" and doc.number in resp.headers["Content-Disposition"]
        row = db.session.scalar(select(ExportDownload).order_by(ExportDownload.id.desc()))
        assert row.kind == "student_card_pdf" and row.user.email == "school-heping1@xueji.demo"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_id == str(sid)))


@pytest.mark.parametrize("who", ["school-heping2", "school-shenhe1", "shenhe", "dalian"])
def test_a_pupil_outside_the_scope_is_not_found(app, as_user, who):
    sid = pupil(app)
    assert as_user(who).get(f"/admin/student_cards/{sid}.pdf").status_code == 404


@pytest.mark.parametrize("who", ["heping", "shenyang", "province"])
def test_an_authority_asks_for_a_card(app, as_user, who):
    sid = pupil(app)
    resp = as_user(who).get(f"/admin/student_cards/{sid}.pdf")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(NEW_URL)


@pytest.mark.parametrize("who", ["admin", "audit-admin", "security-admin", "baomi-heping"])
def test_the_administrators_get_no_card(app, as_user, who):
    sid = pupil(app)
    resp = as_user(who).get(f"/admin/student_cards/{sid}.pdf")
    assert resp.status_code in (403, 404) and resp.mimetype != "application/pdf"


def test_the_full_card_is_requested_approved_and_made_with_the_id_number(app, as_user):
    sid = pupil(app, current_address="和平区南京北街1号")
    c = as_user("school-heping1")
    request_id = ask(c, f"/admin/student_cards/{sid}.pdf?full=1", purpose="为学生办理转学，打印完整学籍卡存档")
    req = status_of(app, request_id)
    assert req.kind == "student_card_pdf" and set(req.field_codes) == {"id_number", "address", "guardian", "health"}
    assert decide(as_user("heping"), request_id).status_code == 302
    done = produce(app, request_id)
    assert done.status == READY
    with app.app_context():
        text = pdf.extract_text(uploads.path_of(db.session.get(ExportRequest, request_id).file_sha256).read_bytes())
    assert PUPIL_ID in text and "和平区南京北街" in text and "13800000009" in text


def test_a_class_is_printed_in_the_background_one_card_per_pupil(app, as_user):
    _ids, school_id = pupils(app, ("甲𠮷", "乙㛃", "丙三"), grade=5, class_name="<b>卡</b>班")
    c = as_user("school-heping1")
    page = c.get("/admin/student_cards/").get_data(as_text=True)
    assert (
        "按班打印学籍卡" in page
        and "&lt;b&gt;卡&lt;/b&gt;班" in page
        and "<b>卡</b>" not in page
        and "五年级" in page
        and "打印学籍卡" in page
    )
    assert not re.search(r">\s*[A-Za-z][a-z]+ [a-z]+", page.split('id="student-card-class"', 1)[1])  # no English words
    resp = c.post_form(
        "/admin/student_cards/class/print",
        {"school_id": school_id, "grade": 5, "class_name": "<b>卡</b>班"},
        token_from="/admin/student_cards/",
    )
    assert resp.status_code == 302 and "/admin/student_cards/job/" in resp.headers["Location"]
    job_url = resp.headers["Location"]
    page = c.get(job_url).get_data(as_text=True)
    assert 'id="job-done"' in page and "3 张学籍卡已生成" in page and "下载 PDF" in page and "正在打印学籍卡" in page
    assert not re.search(r">\s*[A-Za-z][a-z]+ [a-z]+", page.split('id="student-card-job"', 1)[1])  # no English words
    state = c.get(job_url + ".json").get_json()
    assert state["status"] == "done" and state["percent"] == 100 and state["pdf_url"]
    pdf_resp = c.get(state["pdf_url"])
    assert pdf_resp.status_code == 200 and pages(pdf_resp.data) == 3
    assert as_user("school-heping2").get(job_url).status_code == 404  # another user's job
    assert as_user("school-heping2").get(state["pdf_url"]).status_code == 404


def test_a_class_of_another_school_is_not_found(app, as_user):
    _ids, other = pupils(app, ("丁四",), HEPING2, grade=5, class_name="1班")
    c = as_user("school-heping1")
    assert c.get(f"/admin/student_cards/?school_id={other}").status_code == 404
    resp = c.post_form(
        "/admin/student_cards/class/print", {"school_id": other, "grade": 5, "class_name": "1班"}, token_from="/admin/student_cards/"
    )
    assert resp.status_code == 404


def test_selected_pupils_from_the_list(app, as_user):
    ids, _school_id = pupils(app, ("戊五", "己六"))
    c = as_user("school-heping1")
    resp = c.post_form("/admin/student/action/", {"action": "student_cards", "rowid": [str(i) for i in ids]}, token_from="/admin/student/")
    assert resp.status_code == 302 and "/admin/student_cards/job/" in resp.headers["Location"]
    state = c.get(resp.headers["Location"] + ".json").get_json()
    assert state["status"] == "done" and pages(c.get(state["pdf_url"]).data) == 2


def test_a_county_selecting_pupils_is_led_to_the_request_form(app, as_user):
    ids, _school_id = pupils(app, ("子一", "丑二"))
    c = as_user("heping")
    resp = c.post_form("/admin/student/action/", {"action": "student_cards", "rowid": [str(i) for i in ids]}, token_from="/admin/student/")
    assert resp.status_code == 302 and "/admin/student_cards/batch.pdf?ids=" in resp.headers["Location"]
    resp = c.get(resp.headers["Location"])
    assert resp.status_code == 302 and resp.headers["Location"].startswith(NEW_URL)
    assert "kind=student_card_batch" in resp.headers["Location"]


def test_a_county_requests_a_class_and_the_worker_makes_it(app, as_user):
    _ids, school_id = pupils(app, ("庚七", "辛八"), grade=4, class_name="县查班")
    c = as_user("heping")
    page = c.get(f"/admin/student_cards/?school_id={school_id}").get_data(as_text=True)
    assert "县查班" in page and "申请完整学籍卡" in page
    resp = c.post_form(
        "/admin/student_cards/class/print",
        {"school_id": school_id, "grade": 4, "class_name": "县查班"},
        token_from=f"/admin/student_cards/?school_id={school_id}",
    )
    assert resp.status_code == 302 and "/admin/student_cards/batch.pdf" in resp.headers["Location"]
    request_id = ask(c, resp.headers["Location"], purpose="核查县查班学籍", fields=[])
    assert decide(as_user("shenyang"), request_id).status_code == 302
    done = produce(app, request_id)
    assert done.status == READY
    with app.app_context():
        data = uploads.path_of(db.session.get(ExportRequest, request_id).file_sha256).read_bytes()
    assert pages(data) == 2 and "庚七" in pdf.extract_text(data)


def test_the_batch_view_does_not_render_a_direct_batch_in_the_request(app, as_user):
    _ids, school_id = pupils(app, ("壬九",), grade=4, class_name="直印班")
    resp = as_user("school-heping1").get(f"/admin/student_cards/batch.pdf?school_id={school_id}&grade=4&class_name=直印班")
    assert resp.status_code == 302 and resp.mimetype != "application/pdf"


def test_a_failed_batch_is_retried(app, as_user, monkeypatch):
    _ids, school_id = pupils(app, ("癸十",), grade=4, class_name="重试班")
    real = student_card_batch.render_batch

    def broken(*a, **kw):
        raise OSError("disk")

    monkeypatch.setattr(student_card_batch, "render_batch", broken)
    c = as_user("school-heping1")
    resp = c.post_form(
        "/admin/student_cards/class/print", {"school_id": school_id, "grade": 4, "class_name": "重试班"}, token_from="/admin/student_cards/"
    )
    job_url = resp.headers["Location"]
    page = c.get(job_url).get_data(as_text=True)
    assert 'id="job-failed"' in page and "意外错误" in page and 'id="retry-batch"' in page
    monkeypatch.setattr(student_card_batch, "render_batch", real)
    job_id = job_url.rsplit("/", 1)[1]
    c.post_form(f"/admin/student_cards/job/{job_id}/retry", {}, token_from=job_url)
    assert c.get(job_url + ".json").get_json()["status"] == "done"


def test_the_public_check_resolves_a_printed_card_without_personal_data(app, as_user):
    sid = pupil(app, name="王𠮷㛃")
    c = as_user("school-heping1")
    c.get(f"/admin/student_cards/{sid}.pdf")
    with app.app_context():
        code = db.session.scalar(select(PrintedDocument.verify_code).where(PrintedDocument.student_id == sid))
    page = app.test_client().get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-status="card"' in html and "王*㛃" in html and "学生学籍卡" in html
    assert PUPIL_ID not in html and MASKED not in html and re.search(r"XK\d{4}\d{7}", html)
