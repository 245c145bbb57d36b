"""Issue 14, point 2: every request page states at the top, in a summary box, what is asked (old →
new, from → to), the reason, the dates, the evidence with previews, the steps and what the current
user can do now, with labels of its own type; the request list's column is 申请状态; and a transfer
cannot be started without the materials 第十四条 requires (it is refused, naming each one)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from changes import enrollment, suspension, transfer
from extensions import db
from models.changes import ApprovalStep, ChangeRequest
from services import workflows
from tests.helpers import HEPING1, make_id, pupil_of
from tests.transfer_helpers import approve, lookup_token, pdf_bytes, png_bytes, start, upload, user

TRANSFER_URL = "/admin/requests/transfer/new"
TERM_DAY = date(2026, 11, 10)  # a Tuesday in the autumn term


@pytest.fixture(autouse=True)
def in_term_time(app, monkeypatch):
    """Transfers open in term time only (第十五条): on a vacation day, move the clock into the term."""
    from services import clock
    from services.terms import in_transfer_window
    from tests.transfer_helpers import at

    with app.app_context():
        if not in_transfer_window(clock.today()):
            at(monkeypatch, TERM_DAY)
TAG_RE = re.compile(r"<[^>]+>")


def _section(html: str, element_id: str) -> str:
    """The visible text of the element with this id (up to the next one of the summary's parts)."""
    at = html.index(f'id="{element_id}"')
    end = min(i for i in (html.find("</dd>", at), html.find("<dl", at), html.find("</section>", at)) if i > 0)
    return re.sub(r"\s+", " ", unescape(TAG_RE.sub(" ", html[html.index(">", at) + 1:end])))


def _summary(html: str) -> str:
    at = html.index('id="request-summary"')
    return re.sub(r"\s+", " ", unescape(TAG_RE.sub(" ", html[at:html.index("</section>", at)])))


def _page(client, rid: int) -> str:
    resp = client.get(f"/admin/requests/{rid}/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ChangeRequest.id)))


# --- what is asked ----------------------------------------------------------------------------


def test_a_correction_page_shows_old_and_new_for_each_field_with_id_numbers_masked(as_user, app):
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        old_name, old_birth, old_id = pupil.name, pupil.birth_date, pupil.id_number
        new_birth = old_birth + timedelta(days=1)
        new_id = make_id(old_id[:6], new_birth, 7)
        req = enrollment.request_correction(pupil, user("school-heping1"), {
            "name": "欧阳新名", "birth_date": new_birth, "id_number": new_id}, "户口簿信息已变更")
        db.session.commit()
        rid = req.id
    html = _page(as_user("school-heping1"), rid)
    asked = _section(html, "summary-changes")
    assert f"姓名：{old_name} → 欧阳新名" in asked
    assert f"出生日期：{old_birth.isoformat()} → {new_birth.isoformat()}" in asked
    assert "身份证件号" in asked and "→" in asked
    # ID numbers by the masking helper (each with its audited 显示 button), never in full on the page
    assert new_id not in html and old_id not in html
    assert html.count("显示") >= 2
    assert "户口簿信息已变更" in _section(html, "summary-reason")
    assert "转入学校" not in _summary(html) and "转出学校" not in _summary(html)


def test_an_approved_correction_still_shows_what_it_changed(as_user, app):
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        old_name = pupil.name
        req = enrollment.request_correction(pupil, user("school-heping1"), {"name": "欧阳新名"}, "户口簿姓名已变更")
        workflows.attach(req, "hukou", upload(), user("school-heping1"))
        db.session.commit()
        approve(req, "school-heping1", "heping")
        assert req.status == "completed" and req.student.name == "欧阳新名"
        rid = req.id
    assert f"姓名：{old_name} → 欧阳新名" in _section(_page(as_user("heping"), rid), "summary-changes")


def test_a_transfer_page_shows_from_and_to_with_the_transfer_labels(as_user, app):
    with app.test_request_context():
        req = start()
        rid, sending, receiving = req.id, req.from_school.name, req.to_school.name
    html = _page(as_user("school-shenhe1"), rid)
    move = _section(html, "summary-asked").replace("： ", "：")
    assert f"转出学校：{sending} → 转入学校：{receiving}" in move
    reason = _section(html, "summary-reason")
    with app.test_request_context():
        assert str(transfer.REASONS["hukou_moved"]) in reason
    assert "随父母迁居" in reason
    assert "申请摘要" in html


def test_a_suspension_page_shows_its_reason_and_dates_and_no_transfer_labels(as_user, app):
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        req = suspension.request_suspension(pupil, user("school-heping1"), reason_kind="illness",
                                            starts_on=date(2026, 11, 2), ends_on=date(2027, 6, 30), reason_text="肺炎住院治疗")
        db.session.commit()
        rid = req.id
    html = _page(as_user("heping"), rid)
    summary = _summary(html)
    dates = _section(html, "summary-dates")
    assert "2026-11-02" in dates and "2027-06-30" in dates
    reason = _section(html, "summary-reason")
    assert "疾病" in reason or "病" in reason
    assert "肺炎住院治疗" in reason
    assert "转入学校" not in html and "转出学校" not in html
    assert "summary-move" not in html and "休学" in summary


# --- evidence -----------------------------------------------------------------------------------


def test_evidence_previews_go_through_the_scoped_attachment_route(as_user, app):
    with app.test_request_context():
        req = start()
        workflows.attach(req, "reason_proof", upload(pdf_bytes(), "原因证明.pdf"), user("school-shenhe1"))
        db.session.commit()
        rid = req.id
        images = [a.id for a in req.attachments if a.content_type == "image/png"]
        pdf = next(a for a in req.attachments if a.content_type == "application/pdf")
        pdf_id, pdf_size = pdf.id, pdf.size
    html = _page(as_user("school-shenhe1"), rid)
    evidence = html[html.index('id="summary-evidence"'):html.index("</dd>", html.index('id="summary-evidence"'))]
    for att_id in images:  # a thumbnail inline, linking to the download; both the scoped route
        assert f'src="/admin/requests/attachment/{att_id}?preview=1"' in evidence
        assert f'href="/admin/requests/attachment/{att_id}"' in evidence
    # a PDF is a link with its name and size
    assert f'href="/admin/requests/attachment/{pdf_id}"' in evidence and "原因证明.pdf" in evidence
    assert f"（PDF，{-(-pdf_size // 1024)} KB）" in evidence
    c = as_user("shenhe")
    shown = c.get(f"/admin/requests/attachment/{images[0]}?preview=1")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    assert shown.data.startswith(b"\x89PNG")
    downloaded = c.get(f"/admin/requests/attachment/{pdf_id}?preview=1")  # a PDF is never shown inline
    assert downloaded.status_code == 200 and downloaded.headers["Content-Disposition"].startswith("attachment")
    # outside both ends of the transfer: the same answer as for a file that does not exist
    assert as_user("school-xigang1").get(f"/admin/requests/attachment/{images[0]}?preview=1").status_code == 404
    assert as_user("school-xigang1").get("/admin/requests/attachment/999999?preview=1").status_code == 404


def test_a_missing_material_is_said_in_words_not_by_colour_alone(as_user, app):
    with app.test_request_context():
        req = start(materials=False)
        rid = req.id
    evidence = _section(_page(as_user("school-shenhe1"), rid), "summary-evidence")
    assert evidence.count("缺少") >= 3


# --- the steps and what the current user can do ----------------------------------------------------


def test_what_you_can_do_now_differs_for_approver_requester_and_onlooker(as_user, app):
    with app.test_request_context():
        req = start()
        approve(req, "school-shenhe1")  # step 2 waits at 沈河区教育局
        rid, authority = req.id, req.current_step.unit.name
    approver = _section(_page(as_user("shenhe"), rid), "summary-next")
    requester = _section(_page(as_user("school-shenhe1"), rid), "summary-next")
    onlooker = _section(_page(as_user("school-heping1"), rid), "summary-next")  # the sending school, in scope
    assert approver.strip().startswith("您可以：同意或驳回本步骤（第2步")
    assert f"等待{authority}核办" in requester and "您无需操作" in requester and "撤回" in requester
    assert f"等待{authority}核办" in onlooker and "撤回" not in onlooker
    assert len({approver, requester, onlooker}) == 3
    steps = _section(_page(as_user("shenhe"), rid), "summary-steps")
    assert "同意" in steps and "办理中" in steps and "尚未开始" in steps and "个工作日" in steps


def test_a_finished_request_says_so(as_user, app):
    with app.test_request_context():
        req = start()
        workflows.decide(req.current_step.id, user("school-shenhe1"), False, "材料不符")
        db.session.commit()
        rid = req.id
    assert "本申请已办结" in _section(_page(as_user("school-heping1"), rid), "summary-next")


# --- the request list ----------------------------------------------------------------------------


def test_the_request_list_column_is_the_request_status(as_user, app):
    with app.test_request_context():
        start()
    html = as_user("school-shenhe1").get("/admin/requests/").get_data(as_text=True)
    head = html[html.index("<thead"):html.index("</thead>")]
    assert "申请状态" in head and "学籍状态" not in head


# --- starting a transfer ------------------------------------------------------------------------------


def _pupil(app) -> tuple[str, str]:
    with app.app_context():
        pupil = pupil_of(HEPING1)
        return pupil.xjh, pupil.name


def test_a_transfer_without_its_materials_is_refused_naming_them_and_keeps_what_was_typed(as_user, app):
    number, name = _pupil(app)
    c = as_user("school-shenhe1")
    data = {"start-pupil": lookup_token(c, TRANSFER_URL, number, name), "start-reason_code": "guardian_job",
            "start-reason_text": "父母工作调动到沈河区",
            "start-contact_form": (io.BytesIO(png_bytes()), "联系表.png")}
    resp = c.post_form(TRANSFER_URL, data, token_from=TRANSFER_URL, content_type="multipart/form-data")
    assert resp.status_code == 200 and _count(app) == 0
    html = unescape(resp.get_data(as_text=True))
    with app.test_request_context():
        missing = [str(m.label) for m in transfer.MATERIALS if m.code != "contact_form"]
        present = str(transfer.MATERIALS[0].label)
    assert "申请未提交" in html
    for label in missing:  # hukou not moved: the proof of the reason too
        assert f"必须上传此项材料：{label}" in html
    assert f"必须上传此项材料：{present}" not in html
    # what was typed stays: the reason text, the chosen reason, the pupil (the token, the masked pupil)
    assert "父母工作调动到沈河区" in html
    assert re.search(r'<option selected value="guardian_job"|<option value="guardian_job" selected', html)
    assert 'id="pupil-found"' in html and 'name="start-pupil"' in html


def test_a_transfer_with_its_materials_opens_and_step_1_can_be_approved(as_user, app):
    number, name = _pupil(app)
    c = as_user("school-shenhe1")
    files = {f"start-{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in ("contact_form", "student_info", "hukou")}
    data = {"start-pupil": lookup_token(c, TRANSFER_URL, number, name), "start-reason_code": "hukou_moved",
            "start-reason_text": "随父母迁居", "start-hukou_changed": "y", **files}
    resp = c.post_form(TRANSFER_URL, data, token_from=TRANSFER_URL, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        rid, step_id = req.id, req.current_step.id
        assert workflows.missing_materials(req) == []
    page = _page(c, rid)
    assert "您可以：同意或驳回本步骤（第1步" in page
    resp = c.post_form(f"/admin/requests/{rid}/decide", {"step_id": step_id, "decision": "approve", "comment": "同意"},
                       token_from=f"/admin/requests/{rid}/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(ApprovalStep, step_id).decision == "approved"
        assert db.session.get(ChangeRequest, rid).current_seq == 2


def test_a_bad_file_among_the_materials_is_refused_and_opens_nothing(as_user, app):
    number, name = _pupil(app)
    c = as_user("school-shenhe1")
    files = {f"start-{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in ("contact_form", "student_info")}
    files["start-hukou"] = (io.BytesIO(b"#!/bin/sh\necho hi\n"), "户口簿.png")
    data = {"start-pupil": lookup_token(c, TRANSFER_URL, number, name), "start-reason_code": "hukou_moved",
            "start-hukou_changed": "y", **files}
    resp = c.post_form(TRANSFER_URL, data, token_from=TRANSFER_URL, content_type="multipart/form-data")
    assert resp.status_code == 200 and _count(app) == 0


def test_a_suspension_without_its_materials_is_refused_naming_them(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    url = f"/admin/status/suspension/new?student_id={sid}"
    resp = c.post_form(url, {"reason_kind": "illness", "starts_on": "2026-11-02", "reason_text": "肺炎住院",
                             "file_application": (io.BytesIO(png_bytes()), "申请表.png")}, content_type="multipart/form-data")
    assert resp.status_code == 200 and _count(app) == 0
    html = unescape(resp.get_data(as_text=True))
    with app.test_request_context():
        needed = [str(m.label) for m in workflows.TYPES["suspension"].materials if m.code in
                  ("hospital_certificate", "medical_records", "receipts")]
    assert "申请未提交" in html and all(label in html for label in needed) and "肺炎住院" in html
