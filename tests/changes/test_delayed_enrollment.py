"""延缓入学 (第四条) for a new pupil who has no 学籍号 yet — the usual case: the school files the
guardian's application while the enrollment request still waits at the authority."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from changes import enrollment
from extensions import db
from models.changes import ChangeRequest
from models.student import Student
from services import enrollment_records, workflows
from services.errors import RuleViolation
from tests.helpers import HEPING1, make_id, pupil_of, student_form
from tests.transfer_helpers import approve, png_bytes, upload, user

BIRTH = date(2020, 5, 1)


def _new_grade1_through_the_form(c, app) -> int:
    form = student_form(grade="1", birth_date=BIRTH.isoformat(), id_number=make_id("210102", BIRTH, 11), class_name=None)
    assert c.post_form("/admin/student/new/", form).status_code == 302
    with app.app_context():
        s = db.session.scalar(select(Student).where(Student.id_number == make_id("210102", BIRTH, 11)))
        assert s.status == "pending" and s.xjh is None  # no 学籍号 until the authority approves
        return s.id


def test_delayed_enrollment_is_possible_for_a_child_without_xjh(as_user, app):
    school = as_user("school-heping1")
    sid = _new_grade1_through_the_form(school, app)
    page = school.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert "/admin/requests/delay/new" in page
    url = f"/admin/requests/delay/new?student_id={sid}"
    assert school.get(url).status_code == 200
    resp = school.post_form(url, {"start_date": "2027-09-01", "reason": "身体原因，医嘱休养一年",
                                  "application": (io.BytesIO(png_bytes()), "申请书.png")},
                            content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        delay = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == sid,
                                                              ChangeRequest.type == enrollment.DELAYED))
        delay_id = delay.id
    assert resp.headers["Location"].endswith(f"/admin/requests/{delay_id}/")
    request_page = school.get(f"/admin/requests/{delay_id}/")
    assert request_page.status_code == 200 and "延缓入学" in request_page.get_data(as_text=True)

    # The school consents (第四条: 经学校同意); the enrollment request waiting at the authority ends.
    principal = as_user("principal-heping1")
    resp = principal.post_form(f"/admin/requests/{delay_id}/decide", {"step_id": str(_step(app, delay_id)), "decision": "approve"},
                               token_from=f"/admin/requests/{delay_id}/")
    assert resp.status_code == 302
    with app.app_context():
        s = db.session.get(Student, sid)
        assert s.status == "delayed" and s.xjh is None
        kinds = {r.type: r.status for r in db.session.scalars(select(ChangeRequest).where(ChangeRequest.student_id == sid))}
        assert kinds == {"enrollment": "withdrawn", "delayed_enrollment": "completed"}
    page = school.get(f"/admin/student/details/?id={sid}")
    assert page.status_code == 200 and "/admin/requests/delay/start" in page.get_data(as_text=True)
    assert school.get(f"/admin/requests/{delay_id}/").status_code == 200

    # The child starts school: the record goes to the authority again, which decides and issues the 学籍号.
    resp = school.post_form(f"/admin/requests/delay/start?student_id={sid}", {}, token_from=f"/admin/student/details/?id={sid}")
    assert resp.status_code == 302
    with app.test_request_context():
        again = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == sid, ChangeRequest.status == "pending"))
        assert again.type == "enrollment" and db.session.get(Student, sid).status == "pending"
        approve(again, "heping")
        s = db.session.get(Student, sid)
        assert s.status == "enrolled" and s.xjh == "G" + s.id_number


def _step(app, req_id: int) -> int:
    with app.app_context():
        return db.session.get(ChangeRequest, req_id).current_step.id


def test_delay_for_a_waiting_record_through_the_services(ctx):
    s = enrollment_records.enroll(_grade1(), user("school-heping1"), pupil_of(HEPING1).school)
    db.session.commit()
    delay = enrollment.request_delay(s, user("school-heping1"), date(2027, 9, 1), "身体原因")
    workflows.attach(delay, "application", upload(), user("school-heping1"))
    db.session.commit()
    approve(delay, "principal-heping1")
    assert s.status == "delayed" and s.xjh is None


def test_delay_is_refused_beside_another_open_request(ctx):
    s = pupil_of(HEPING1)
    s.grade = 1
    db.session.commit()
    enrollment.request_correction(s, user("school-heping1"), {"name": "更正姓名"}, "户口簿为准")
    db.session.commit()
    with pytest.raises(RuleViolation, match="正在办理的申请"):
        enrollment.request_delay(s, user("school-heping1"), date(2027, 9, 1), "身体原因")


def test_delay_with_a_past_start_date_is_refused_in_the_form_and_writes_nothing(as_user, app):
    school = as_user("school-heping1")
    sid = _new_grade1_through_the_form(school, app)
    resp = school.post_form(f"/admin/requests/delay/new?student_id={sid}", {"start_date": "2020-01-01", "reason": "身体原因"})
    assert resp.status_code == 200
    assert "请填写儿童将来入学的日期" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ChangeRequest).where(ChangeRequest.type == enrollment.DELAYED)) is None


def _grade1() -> Student:
    from tests.services.test_students import new_student

    return new_student(grade=1, birth_date=BIRTH, id_number=make_id("210102", BIRTH, 13))
