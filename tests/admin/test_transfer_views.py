"""The transfer screens through the test client: every role, every path, and the scope matrix
(a school outside both ends sees nothing)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.changes import ApprovalStep, Attachment, ChangeRequest, PrintedDocument
from services import pdf
from services.pupil_identity import mask_name
from tests.helpers import HEPING1, pupil_of
from tests.transfer_helpers import TOKEN_RE, approve, lookup_token, png_bytes, start

FOUR = ("school-shenhe1", "shenhe", "school-heping1", "heping")
OUTSIDERS = ("school-xigang1", "school-heping2", "xigang", "dalian", "school-kangping1")


@pytest.fixture
def transfer_id(app):
    with app.test_request_context():
        req = start()
        return req.id


def _step_id(app, request_id: int) -> int:
    with app.app_context():
        return db.session.get(ChangeRequest, request_id).current_step.id


def _decide(client, request_id: int, step_id: int, decision: str = "approve", comment: str = "同意"):
    return client.post_form(f"/admin/requests/{request_id}/decide",
                            {"step_id": step_id, "decision": decision, "comment": comment},
                            token_from=f"/admin/requests/{request_id}/")


def test_receiving_registrar_starts_a_transfer_through_the_form(as_user, app):
    with app.app_context():
        pupil = pupil_of(HEPING1)
        xjh, name, number = pupil.xjh, pupil.name, pupil.id_number
    c = as_user("school-shenhe1")
    page = c.post_form("/admin/requests/transfer/new", {"lookup-term": xjh, "lookup-name": name}).get_data(as_text=True)
    # Only what confirms the match: the masked name, school and grade; no ID number, not even masked.
    assert mask_name(name) in page and number not in page and number[-4:] + "<" not in page
    token = TOKEN_RE.search(page).group(1)
    data = {
        "start-pupil": token, "start-reason_code": "hukou_moved", "start-reason_text": "随父母迁居", "start-hukou_changed": "y",
        "start-contact_form": (io.BytesIO(png_bytes()), "联系表.png"),
        "start-student_info": (io.BytesIO(png_bytes()), "基本信息表.png"),
        "start-hukou": (io.BytesIO(png_bytes()), "户口簿.png"),
    }
    resp = c.post_form("/admin/requests/transfer/new", data, token_from="/admin/requests/transfer/new",
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.to_school.code == "2121000003" and len(req.attachments) == 3
        assert {a.filename for a in req.attachments} == {"联系表.png", "基本信息表.png", "户口簿.png"}
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "student.lookup"))
    assert f"/admin/requests/{req.id}/" in resp.headers["Location"]


def test_lookup_of_an_unknown_number_says_so(as_user):
    c = as_user("school-shenhe1")
    html = c.post_form("/admin/requests/transfer/new", {"lookup-term": "G210102200001010000", "lookup-name": "张三"}).get_data(as_text=True)
    assert 'id="pupil-found"' not in html


def test_a_wrong_type_upload_in_the_start_form_writes_nothing(as_user, app):
    with app.app_context():
        pupil = pupil_of(HEPING1)
        number, name = pupil.id_number, pupil.name
    c = as_user("school-shenhe1")
    data = {"start-pupil": lookup_token(c, "/admin/requests/transfer/new", number, name),
            "start-reason_code": "hukou_moved", "start-hukou_changed": "y",
            "start-contact_form": (io.BytesIO(b"#!/bin/sh\necho hi\n"), "联系表.png")}
    resp = c.post_form("/admin/requests/transfer/new", data, token_from="/admin/requests/transfer/new",
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 0
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_four_parties_decide_through_the_request_page(as_user, app, transfer_id):
    for who in FOUR:
        c = as_user(who)
        page = c.get(f"/admin/requests/{transfer_id}/").get_data(as_text=True)
        assert 'id="decide"' in page
        assert _decide(c, transfer_id, _step_id(app, transfer_id)).status_code == 302
    with app.app_context():
        req = db.session.get(ChangeRequest, transfer_id)
        assert req.status == "approved" and [s.decision for s in req.steps] == ["approved"] * 4
    c = as_user("school-shenhe1")
    assert c.post_form(f"/admin/requests/{transfer_id}/report", {}, token_from=f"/admin/requests/{transfer_id}/").status_code == 302
    with app.app_context():
        assert db.session.get(ChangeRequest, transfer_id).student.school.code == "2121000003"


def test_the_same_decision_posted_twice_decides_once(as_user, app, transfer_id):
    c = as_user("school-shenhe1")
    step = _step_id(app, transfer_id)
    _decide(c, transfer_id, step)
    page = c.get(_decide(c, transfer_id, step, "reject", "重复提交").headers["Location"]).get_data(as_text=True)
    assert "已" in page or "already" in page
    with app.app_context():
        s = db.session.get(ApprovalStep, step)
        assert s.decision == "approved" and s.comment == "同意"


def test_reject_without_a_reason_changes_nothing(as_user, app, transfer_id):
    c = as_user("school-shenhe1")
    _decide(c, transfer_id, _step_id(app, transfer_id), "reject", "")
    with app.app_context():
        assert db.session.get(ChangeRequest, transfer_id).steps[0].decision is None


def test_the_wrong_party_cannot_decide(as_user, app, transfer_id):
    step = _step_id(app, transfer_id)
    for who in ("shenhe", "school-heping1", "heping"):
        _decide(as_user(who), transfer_id, step)
    with app.app_context():
        assert db.session.get(ApprovalStep, step).decision is None


def test_batch_approve_refuses_transfers(as_user, app, transfer_id):
    c = as_user("school-shenhe1")
    resp = c.post_form("/admin/requests/action/", {"action": "approve", "rowid": [str(transfer_id)]},
                       token_from=f"/admin/requests/{transfer_id}/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(ChangeRequest, transfer_id).steps[0].decision is None


def test_queues_show_the_request_to_the_party_whose_turn_it_is(as_user, app, transfer_id):
    assert f"/admin/requests/{transfer_id}/" in as_user("school-shenhe1").get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert f"/admin/requests/{transfer_id}/" not in as_user("shenhe").get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert f"/admin/requests/{transfer_id}/" in as_user("school-shenhe1").get("/admin/requests/?queue=requested").get_data(as_text=True)
    with app.test_request_context():
        approve(db.session.get(ChangeRequest, transfer_id), "school-shenhe1")
    assert f"/admin/requests/{transfer_id}/" in as_user("shenhe").get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert f"/admin/requests/{transfer_id}/" in as_user("school-shenhe1").get("/admin/requests/?queue=decided").get_data(as_text=True)


def test_transfer_contact_form_pdf_has_chinese_text_and_an_embedded_font(as_user, app, transfer_id):
    resp = as_user("school-shenhe1").get(f"/admin/requests/{transfer_id}/print/transfer_contact")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf.extract_text(resp.data)
    assert "转学联系表" in text and "沈阳市沈河区第一小学" in text and "沈阳市和平区第一小学" in text
    assert pdf.embedded_fonts(resp.data) and "STSong-Light" not in pdf.embedded_fonts(resp.data)
    with app.app_context():
        doc = db.session.scalar(select(PrintedDocument))
        assert doc.number.startswith("ZX") and doc.verify_code in text and doc.number in text
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print"))


def test_basic_information_sheet_is_printed_by_the_school_holding_the_record(as_user, app, transfer_id):
    resp = as_user("school-heping1").get(f"/admin/requests/{transfer_id}/print/student_info")
    assert resp.status_code == 200 and "学生基本信息表" in pdf.extract_text(resp.data)
    resp = as_user("school-shenhe1").get(f"/admin/requests/{transfer_id}/print/student_info")
    assert resp.status_code == 302  # refused with a message: the receiving school does not hold the record yet


def test_attachment_download_is_scoped_and_audited(as_user, app, transfer_id):
    with app.app_context():
        att = db.session.scalar(select(Attachment))
    resp = as_user("school-heping1").get(f"/admin/requests/attachment/{att.id}")
    assert resp.status_code == 200 and resp.data == png_bytes() and resp.headers["X-Content-Type-Options"] == "nosniff"
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "attachment.view"))


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_school_outside_both_ends_sees_nothing(as_user, app, transfer_id, who):
    with app.app_context():
        req = db.session.get(ChangeRequest, transfer_id)
        name, att, step = req.student.name, req.attachments[0].id, req.current_step.id
    c = as_user(who)
    for url in (f"/admin/requests/{transfer_id}/", f"/admin/requests/attachment/{att}",
                f"/admin/requests/{transfer_id}/print/transfer_contact", f"/admin/requests/{transfer_id}/print/student_info"):
        resp = c.get(url)
        assert resp.status_code == 404, url
        assert name not in resp.get_data(as_text=True)
    for url, data in ((f"/admin/requests/{transfer_id}/decide", {"step_id": step, "decision": "approve"}),
                      (f"/admin/requests/{transfer_id}/withdraw", {"reason": "x"}),
                      (f"/admin/requests/{transfer_id}/report", {}),
                      (f"/admin/requests/{transfer_id}/provisional", {}),
                      (f"/admin/requests/{transfer_id}/attach", {"material": "hukou"})):
        assert c.post_form(url, data, token_from="/admin/student/").status_code == 404, url
    for queue in ("all", "waiting", "overdue", "decided", "requested"):
        assert name not in c.get(f"/admin/requests/?queue={queue}").get_data(as_text=True)
    resp = c.post_form("/admin/requests/action/", {"action": "approve", "rowid": [str(transfer_id)]}, token_from="/admin/student/")
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(ApprovalStep, step).decision is None
        assert db.session.scalar(select(func.count()).select_from(PrintedDocument)) == 0


def test_township_central_school_sees_a_rural_transfer_read_only(as_user, app):
    with app.test_request_context():
        req = start("school-heping1", pupil_school="2121000007")
        rid = req.id
    page = as_user("school-kangping1").get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert 'id="change-request"' in page and 'id="decide"' not in page


def test_own_school_opens_a_transfer_out_of_the_province(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    assert "out-of-province/new" in c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    url = f"/admin/requests/out-of-province/new?student_id={sid}"
    resp = c.post_form(url, {"external_school": "北京市海淀区中关村第一小学", "reason_code": "guardian_job",
                             "contact_form": (io.BytesIO(png_bytes()), "联系表.png"),
                             "receiving_proof": (io.BytesIO(png_bytes()), "接收证明.png")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "transfer_out_province" and req.external_school.startswith("北京") and len(req.steps) == 2
    assert as_user("school-shenhe1").get(url).status_code == 404


def test_pupil_from_another_province_waits_for_our_two_steps(as_user, app):
    from tests.helpers import student_form

    c = as_user("school-heping1")
    resp = c.post_form("/admin/student/new/", student_form(arrival_from="吉林省长春市南关区第一小学", arrival_reason="hukou_moved"))
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "transfer_in_province" and req.student.status == "pending"
        assert [s.unit.code for s in req.steps] == [HEPING1, "210102"]
        rid = req.id
    with app.test_request_context():
        from services import workflows
        from tests.transfer_helpers import upload, user

        req = db.session.get(ChangeRequest, rid)
        for m in ("contact_form", "release_proof"):
            workflows.attach(req, m, upload(), user("school-heping1"))
        approve(req, "school-heping1", "heping")
        assert req.status == "completed" and req.student.status == "enrolled"


def test_rejected_arrival_from_another_province_ends_the_record_by_status(app):
    from services import workflows
    from tests.helpers import school
    from tests.services.test_students import new_student
    from tests.transfer_helpers import upload, user

    with app.test_request_context():
        from changes.transfer import record_arrival_from_other_province

        actor = user("school-heping1")
        student = new_student()
        req = record_arrival_from_other_province(student, actor, school(HEPING1), "吉林省某小学", "hukou_moved")
        for m in ("contact_form", "release_proof"):
            workflows.attach(req, m, upload(), actor)
        approve(req, "school-heping1")
        workflows.decide(req.current_step.id, user("heping"), False, "材料不实")
        db.session.commit()
        assert req.status == "rejected" and student.status == "cancelled"
