"""辍学 (第二十三条): a confirmed dropout reaches the county bureau where the school stands (and the
supervising authority when another), comes with a printed report to the township government
(no account here) listing the absences and every attempt to bring the pupil back, and the county
of the pupil's hukou is told when it is another county of the province."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from changes import departures
from extensions import db
from models.audit import AuditLog
from models.changes import ChangeRequest, Notification, PrintedDocument
from models.org import OrgUnit
from models.student import Student
from services import hukou, pdf, workflows
from tests.changes.helpers import MON, set_state, staff, truant
from tests.helpers import CITYDIRECT, HEPING1, pupil_of
from tests.transfer_helpers import at, upload, user

DROPOUTS_URL = "/admin/student/?flt0_3=dropped_out"


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


def _report(pupil: Student, township: str | None = "和平区南市场街道办事处") -> ChangeRequest:
    truant(pupil)
    req = departures.report_dropout(pupil, staff(pupil.school_id), "多次家访无效", township=township)
    db.session.commit()
    return req


def _approve(req: ChangeRequest) -> None:
    step = req.current_step
    workflows.decide(step.id, staff(step.unit_id), True, "同意，保留学籍")
    db.session.commit()


def _notified(req: ChangeRequest) -> set[str]:
    return set(db.session.scalars(select(OrgUnit.code).join(Notification, Notification.unit_id == OrgUnit.id)
                                  .where(Notification.request_id == req.id)))


def _unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def test_approved_dropout_goes_to_the_county_bureau_and_its_dropout_list(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(HEPING1), hukou_location="210102")  # hukou in the school's own county
        req = _report(pupil)
        assert req.current_step.unit.code == "210102"  # the county bureau decides
        _approve(req)
        assert pupil.status == "dropped_out" and _notified(req) == {HEPING1, "210102"}
        name = pupil.name
    assert name in as_user("heping").get(DROPOUTS_URL).get_data(as_text=True)
    assert name not in as_user("xigang").get(DROPOUTS_URL).get_data(as_text=True)


def test_dropout_of_a_city_managed_school_reaches_its_county_and_the_city(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(CITYDIRECT), hukou_location="210103")
        req = _report(pupil)
        assert req.current_step.unit.code == "2101"  # the supervising authority decides
        _approve(req)
        assert _notified(req) == {CITYDIRECT, "210103", "2101"}  # the county where the school stands is told too
        name = pupil.name
    assert name in as_user("shenhe").get(DROPOUTS_URL).get_data(as_text=True)
    assert name in as_user("shenyang").get(DROPOUTS_URL).get_data(as_text=True)
    home = as_user("shenhe").get("/admin/").get_data(as_text=True)  # the county's notifications
    assert f"学生{name}辍学" in home and "第二十三条" in home


def test_hukou_in_another_county_of_the_province_notifies_that_county(ctx):
    pupil = set_state(pupil_of(HEPING1), hukou_location="210203")  # 大连市西岗区
    req = _report(pupil)
    _approve(req)
    assert "210203" in _notified(req)
    note = db.session.scalar(select(Notification).where(Notification.request_id == req.id,
                                                        Notification.unit_id == _unit("210203").id))
    assert pupil.name in note.message
    assert req.payload["hukou_where"] == hukou.HUKOU_OTHER_COUNTY and req.payload["hukou_notified"] == "西岗区教育局"


def test_hukou_in_the_schools_own_county_notifies_no_other_county(ctx):
    pupil = set_state(pupil_of(HEPING1), hukou_location="210102")
    req = _report(pupil)
    _approve(req)
    assert _notified(req) == {HEPING1, "210102"} and req.payload["hukou_where"] == hukou.HUKOU_SAME_COUNTY


def _print(client, request_id: int) -> bytes:
    resp = client.get(f"/admin/requests/{request_id}/print/dropout_report")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.status_code
    return resp.data


def _text(data: bytes) -> str:
    return "".join(pdf.extract_text(data).split())


def test_dropout_report_prints_the_township_the_absences_and_every_contact(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(HEPING1), hukou_location="210203")
        req = _report(pupil)
        _approve(req)
        rid, name = req.id, pupil.name
    data = _print(as_user("school-heping1"), rid)
    text = _text(data)
    assert "辍学情况报告" in text and "和平区南市场街道办事处（乡镇人民政府/街道办事处）" in text
    assert name in text and "2026年9月28日至2026年10月30日" in text  # the run of absence
    assert "2026-09-28" in text and "2026-10-30" in text  # the absence recorded
    assert "2026-10-12" in text and "2026-10-20" in text and text.count("未返校") == 2  # both contacts, with outcome
    assert "电话" in text and "多次家访无效" in text
    assert "户籍在本省其他县区，已通知西岗区教育局" in text
    page = as_user("heping").get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert "和平区南市场街道办事处" in page and "户籍在本省其他县区：已通知西岗区教育局" in page
    assert "和平区教育局：同意" in text  # the authority's decision
    with app.app_context():
        doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.request_id == rid))
        assert doc.kind == "dropout_report" and doc.number.startswith("CX") and doc.number in text
        assert doc.verify_code in text
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_id == str(doc.id)))
    # The county bureau prints it too; each print has its own number.
    _print(as_user("heping"), rid)
    with app.app_context():
        assert len(db.session.scalars(select(PrintedDocument).where(PrintedDocument.request_id == rid)).all()) == 2


def test_dropout_report_of_a_pupil_with_hukou_outside_the_province_says_so(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(HEPING1), hukou_location="110105")  # 北京市朝阳区
        req = _report(pupil)
        _approve(req)
        rid = req.id
        assert _notified(req) == {HEPING1, "210102"} and req.payload["hukou_where"] == hukou.HUKOU_OTHER_PROVINCE
    text = _text(_print(as_user("school-heping1"), rid))
    assert "北京市朝阳区" in text and "户籍在省外" in text


def test_dropout_report_without_a_township_leaves_a_line_to_fill_in(as_user, app):
    with app.test_request_context():
        req = _report(set_state(pupil_of(HEPING1), hukou_location="210102"), township=None)
        rid = req.id
    text = _text(_print(as_user("school-heping1"), rid))
    assert "________（乡镇人民政府/街道办事处）" in text


def test_dropout_report_is_printed_only_for_a_dropout_and_only_in_scope(as_user, app):
    with app.test_request_context():
        req = _report(set_state(pupil_of(HEPING1), hukou_location="210102"))
        death = departures.report_death(pupil_of(CITYDIRECT), user("school-citydirect"), died_on=MON, reason_text=None)
        workflows.attach(death, "proof", upload(), user("school-citydirect"))
        db.session.commit()
        rid, did = req.id, death.id
    assert as_user("school-citydirect").get(f"/admin/requests/{did}/print/dropout_report").status_code == 404
    assert as_user("xigang").get(f"/admin/requests/{rid}/print/dropout_report").status_code == 404
    assert as_user("school-shenhe1").get(f"/admin/requests/{rid}/print/dropout_report").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(PrintedDocument.id)) is None
    page = as_user("heping").get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert "/print/dropout_report" in page


def test_dropout_form_records_the_township_and_offers_the_last_one(as_user, app):
    with app.test_request_context():
        first = _report(set_state(pupil_of(HEPING1), hukou_location="210102"))
        other = db.session.scalars(select(Student).where(Student.school_id == first.student.school_id)
                                   .order_by(Student.id)).all()[1]
        truant(other)
        sid = other.id
    client = as_user("school-heping1")
    url = f"/admin/status/dropout/new?student_id={sid}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="和平区南市场街道办事处"' in page  # the school's township, offered again
    resp = client.post_form(url, {"reason_text": "多次联系无效", "township": "和平区北市场街道办事处",
                                  "file_absence_record": (io.BytesIO(b""), "")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == sid))
        assert req.payload["township"] == "和平区北市场街道办事处"


def test_pending_report_says_the_hukou_county_is_told_on_approval(as_user, app):
    with app.test_request_context():
        rid = _report(set_state(pupil_of(HEPING1), hukou_location="210203")).id
    assert "户籍在本省其他县区，核准后通知西岗区教育局" in _text(_print(as_user("school-heping1"), rid))


def test_hukou_county_without_an_account_is_sent_the_printed_report(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(HEPING1), hukou_location="210104")  # 沈阳市大东区: no account in the demo
        req = _report(pupil)
        _approve(req)
        rid = req.id
        assert _notified(req) == {HEPING1, "210102"} and req.payload["hukou_where"] == hukou.HUKOU_OTHER_COUNTY
        assert "hukou_notified" not in req.payload
    assert "请将本报告抄送其户籍所在地县（区）教育行政部门" in _text(_print(as_user("school-heping1"), rid))
    page = as_user("heping").get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert "该县区在本系统中没有账号" in page


def test_a_township_name_too_long_is_refused_and_nothing_is_written(as_user, app):
    with app.test_request_context():
        pupil = set_state(pupil_of(HEPING1), hukou_location="210102")
        truant(pupil)
        sid = pupil.id
    resp = as_user("school-heping1").post_form(f"/admin/status/dropout/new?student_id={sid}",
                                               {"reason_text": "多次联系无效", "township": "街" * 51},
                                               content_type="multipart/form-data")
    assert resp.status_code == 200 and 'class="text-danger small"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ChangeRequest.id)) is None
