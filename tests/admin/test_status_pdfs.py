"""The 休学复学申请表 and the 出国（出境）申请表 through the request page's print URLs: the text of
the PDF, its embedded font, a rendering that is not blank, one page, and the same scope and
numbering rules as the transfer forms."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from pypdf import PdfReader
from sqlalchemy import func, select

from changes import departures, suspension, transfer
from extensions import db
from models.audit import AuditLog
from models.changes import ChangeRequest, PrintedDocument
from models.student import Student
from services import codes, documents, labels, pdf, workflows
from tests.helpers import HEPING1, pupil_of
from tests.transfer_helpers import approve, at, upload, user

SUSPENSION_TITLE = "辽宁省义务教育阶段学生休学复学申请表"
ABROAD_TITLE = "出国（出境）申请表"
OUTSIDERS = ("school-shenhe1", "school-heping2", "xigang")


def other_pupil(n: int = 1) -> Student:
    """Another pupil of 和平区第一小学 than pupil_of's, so that several requests can be open at once."""
    return db.session.scalars(select(Student).where(Student.school_id == pupil_of(HEPING1).school_id).order_by(Student.id)).all()[n]


def attach(req: ChangeRequest, *materials: str) -> None:
    for m in materials:
        workflows.attach(req, m, upload(), user("school-heping1"))
    db.session.commit()


def _suspend(name: str | None = None, reason_text: str = "肺炎住院治疗") -> ChangeRequest:
    pupil = pupil_of(HEPING1)
    if name is not None:
        pupil.name = name
        db.session.commit()
    req = suspension.request_suspension(pupil, user("school-heping1"), reason_kind="illness", starts_on=date(2026, 11, 2),
                                        ends_on=None, reason_text=reason_text)
    attach(req, "application", "hospital_certificate", "medical_records", "receipts")
    return req


@pytest.fixture
def clock(monkeypatch):
    at(monkeypatch, date(2026, 11, 2))


@pytest.fixture
def suspension_id(app, clock) -> int:
    """A suspension the school approved; the authority has not decided yet."""
    with app.test_request_context():
        req = _suspend()
        approve(req, "school-heping1")
        return req.id


@pytest.fixture
def abroad_id(app, clock) -> int:
    with app.test_request_context():
        req = departures.request_abroad(other_pupil(), user("school-heping1"), destination="日本", document="passport",
                                        leaves_on=date(2026, 12, 1), reason_text="随父母赴日工作")
        attach(req, "application", "travel_document")
        return req.id


def _print(client, request_id: int, kind: str) -> bytes:
    resp = client.get(f"/admin/requests/{request_id}/print/{kind}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.status_code
    return resp.data


def _compact(text: str) -> str:
    """Extracted text without the spaces the extraction puts around runs of text."""
    return "".join(text.split())


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def _render_png(data: bytes, out: Path) -> Image.Image:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    src = out / "form.pdf"
    src.write_bytes(data)
    subprocess.run([pdftoppm, "-png", "-r", "50", "-singlefile", str(src), str(out / "form")], check=True, timeout=60)
    return Image.open(out / "form.png").convert("L")


def _assert_printed_form(data: bytes, tmp_path: Path, prefix: str) -> str:
    """One A4 page in the embedded CJK face, numbered and audited, with ink from header to footer."""
    text = _compact(pdf.extract_text(data))
    assert _pages(data) == 1
    assert pdf.embedded_fonts(data) == {pdf.CJK_PDF_FONT_NAME}
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4 in points
    doc = db.session.scalar(select(PrintedDocument).order_by(PrintedDocument.id.desc()).limit(1))
    assert doc.number.startswith(prefix) and doc.number in text and doc.verify_code in text
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_type == "printed_document",
                                    AuditLog.object_id == str(doc.id)))
    image = _render_png(data, tmp_path)
    ink = ImageOps.invert(image).point(lambda v: 255 if v > 64 else 0)
    box = ink.getbbox()
    assert box is not None, "the rendered page is blank"
    left, top, right, bottom = box
    assert (bottom - top) > 0.8 * image.height and (right - left) > 0.7 * image.width, box
    dark = sum(ink.histogram()[255:]) / (image.width * image.height)
    assert dark > 0.02, dark
    return text


def test_suspension_form_prints_the_pupil_the_reason_the_term_and_the_schools_decision(as_user, app, suspension_id, tmp_path):
    data = _print(as_user("school-heping1"), suspension_id, "suspension_form")
    with app.app_context():
        text = _assert_printed_form(data, tmp_path, "XF")
        req = db.session.get(ChangeRequest, suspension_id)
        assert req.student.name in text and req.student.xjh in text
        assert SUSPENSION_TITLE in text and "■休学" in text and "□复学" in text and "■疾病" in text
        assert "肺炎住院治疗" in text and "自2026年11月2日至2027年11月1日" in text
        assert f"{req.steps[0].unit.name}：同意" in text and "主管教育行政部门意见" in text
        assert db.session.scalar(select(PrintedDocument.kind).where(PrintedDocument.request_id == suspension_id)) == "suspension_form"


def test_extension_and_resumption_print_the_suspension_they_are_about(as_user, app, clock, tmp_path):
    with app.test_request_context():
        req = _suspend()
        approve(req, "school-heping1", "heping")
        pupil = req.student
        ext = suspension.request_extension(pupil, user("school-heping1"), "仍需继续治疗")
        attach(ext, "application", "reason_proof")
        ext_id, name = ext.id, pupil.name
    client = as_user("school-heping1")
    text = _compact(pdf.extract_text(_print(client, ext_id, "suspension_form")))
    assert name in text and SUSPENSION_TITLE in text and "■延长休学" in text
    assert "自2026年11月2日至2027年11月1日" in text and "自2027年11月2日至2028年11月1日" in text and "仍需继续治疗" in text

    with app.test_request_context():
        ext = db.session.get(ChangeRequest, ext_id)
        approve(ext, "school-heping1", "heping")
        pupil = ext.student
        left = suspension.current(pupil).grade
        other = left - 1 if left > 1 else left + 1
        res = suspension.request_resumption(pupil, user("school-heping1"), grade=other, grade_reason="跟不上原年级进度",
                                            reason_text="已康复")
        attach(res, "application", "recovery_certificate")
        approve(res, "school-heping1", "heping")
        res_id = res.id
        left_label, other_label = codes.label("grade", str(left)), codes.label("grade", str(other))
    data = _print(client, res_id, "suspension_form")
    with app.app_context():
        text = _assert_printed_form(data, tmp_path, "XF")
    assert name in text and "■复学" in text and "□休学" in text
    assert f"休学时年级{left_label}复学年级{other_label}复学日期2026年11月2日" in text
    assert "跟不上原年级进度" in text and "已康复" in text and "肺炎住院治疗" in text
    # the extended term prints as the year first granted and the extension's year
    assert "自2026年11月2日至2027年11月1日" in text and "自2027年11月2日至2028年11月1日" in text
    # this request's decisions: the school's and the authority's
    assert text.count("：同意") == 2
    # the extension printed after it was granted shows the same two years
    text = _compact(pdf.extract_text(_print(client, ext_id, "suspension_form")))
    assert "自2026年11月2日至2027年11月1日" in text and "自2027年11月2日至2028年11月1日" in text


def test_abroad_form_prints_destination_document_and_departure(as_user, app, abroad_id, tmp_path):
    data = _print(as_user("school-heping1"), abroad_id, "abroad_form")
    with app.app_context():
        text = _assert_printed_form(data, tmp_path, "CG")
        name = db.session.get(ChangeRequest, abroad_id).student.name
    assert name in text and ABROAD_TITLE in text and "■出国（出境）" in text
    assert "前往国家（地区）日本" in text and "■护照" in text and "□签证" in text
    assert "出境日期2026年12月1日" in text and "随父母赴日工作" in text and "主管教育行政部门意见" not in text


def test_return_from_abroad_prints_the_departure_it_ends(as_user, app, abroad_id, tmp_path):
    with app.test_request_context():
        approve(db.session.get(ChangeRequest, abroad_id), "school-heping1")
        pupil = db.session.get(ChangeRequest, abroad_id).student
        back = departures.request_abroad_return(pupil, user("school-heping1"), grade=pupil.grade, reason_text="回国继续就读")
        attach(back, "application")
        back_id, name, grade = back.id, pupil.name, codes.label("grade", str(pupil.grade))
    data = _print(as_user("school-heping1"), back_id, "abroad_form")
    with app.app_context():
        text = _assert_printed_form(data, tmp_path, "CG")
    assert name in text and "■回国（入境）复学" in text and "□出国（出境）" in text
    assert "前往国家（地区）日本" in text and "出境日期2026年12月1日" in text
    assert f"复学年级{grade}" in text and "回国继续就读" in text


def test_a_long_reason_still_fits_one_page(as_user, app, clock):
    with app.test_request_context():
        req = _suspend(reason_text="因病需长期住院治疗，" * 50)  # the column's 500 characters
        workflows.decide(req.current_step.id, user("school-heping1"), True, "同意休学，" * 20)
        db.session.commit()
        req_id = req.id
    data = _print(as_user("school-heping1"), req_id, "suspension_form")
    assert _pages(data) == 1


def test_a_form_for_another_type_is_not_found(as_user, app, suspension_id, abroad_id):
    with app.test_request_context():
        transfer_id = transfer.start_transfer(other_pupil(2), user("school-shenhe1"), reason_code="hukou_moved", reason_text=None,
                                              hukou_changed=True).id
        db.session.commit()
    c = as_user("heping")
    for request_id, kind in ((suspension_id, "abroad_form"), (abroad_id, "suspension_form"), (transfer_id, "suspension_form"),
                             (transfer_id, "abroad_form"), (suspension_id, "transfer_contact"), (abroad_id, "transfer_contact"),
                             (suspension_id, "no_such_form")):
        assert c.get(f"/admin/requests/{request_id}/print/{kind}").status_code == 404, (request_id, kind)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintedDocument)) == 0


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_user_outside_the_pupils_scope_gets_404(as_user, app, suspension_id, abroad_id, who):
    with app.app_context():
        name = db.session.get(ChangeRequest, suspension_id).student.name
    c = as_user(who)
    for request_id, kind in ((suspension_id, "suspension_form"), (abroad_id, "abroad_form")):
        resp = c.get(f"/admin/requests/{request_id}/print/{kind}")
        assert resp.status_code == 404 and name not in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintedDocument)) == 0


def test_the_supervising_authority_prints_too(as_user, suspension_id):
    assert SUSPENSION_TITLE in _compact(pdf.extract_text(_print(as_user("heping"), suspension_id, "suspension_form")))


def test_html_in_a_name_prints_as_text(as_user, app, clock):
    name = '<b>王</b><img src="http://127.0.0.1:9/x.png">'
    with app.test_request_context():
        req_id = _suspend(name=name).id
    text = pdf.extract_text(_print(as_user("school-heping1"), req_id, "suspension_form"))
    assert "<b>王</b>" in text and "<img" in text


def test_request_page_offers_the_form_of_its_type(as_user, suspension_id, abroad_id):
    c = as_user("school-heping1")
    page = c.get(f"/admin/requests/{suspension_id}/").get_data(as_text=True)
    assert f"/admin/requests/{suspension_id}/print/suspension_form" in page and "/print/abroad_form" not in page
    page = c.get(f"/admin/requests/{abroad_id}/").get_data(as_text=True)
    assert f"/admin/requests/{abroad_id}/print/abroad_form" in page and "/print/suspension_form" not in page


def test_form_types_and_labels_match_the_services():
    """Each type names its printable forms (changes/<type>.py); together they are these."""
    printed = {kind: tuple(code for code, ctype in workflows.TYPES.items() if kind in ctype.printable_forms)
               for kind in documents.APPLICATION_FORMS}
    assert printed == {
        "transfer_contact": (transfer.TRANSFER, transfer.TRANSFER_OUT_OF_PROVINCE, transfer.TRANSFER_INTO_PROVINCE),
        "suspension_form": (suspension.SUSPENSION, suspension.SUSPENSION_EXTENSION, suspension.RESUMPTION),
        "abroad_form": (departures.ABROAD, departures.ABROAD_RETURN),
        "dropout_report": (departures.DROPOUT,),
    }
    assert {k for ctype in workflows.TYPES.values() for k in ctype.printable_forms} <= set(documents.KINDS)
    assert list(documents.TRAVEL_DOCUMENTS_CN) == list(labels.TRAVEL_DOCUMENTS)
    assert set(documents.REASON_KINDS_CN) == set(labels.SUSPENSION_REASONS)
