"""建立学籍, 延缓入学, 学籍信息更正, 学籍接续 (第四–六条, 第十一条)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from changes import enrollment
from extensions import db
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.lifecycle import arranging
from services import enrollment_records, workflows
from services.errors import NotInScope, RuleViolation
from tests.helpers import HEPING1, HEPING2, make_id, pupil_of, school, student_form
from tests.services.test_students import new_student
from tests.transfer_helpers import approve, lookup_token, start, upload, user


def _new_pupil(**kw):
    return enrollment_records.enroll(new_student(**kw), user("school-heping1"), school(HEPING1))


def test_new_record_waits_for_the_authority_and_approval_issues_the_xjh(ctx):
    s = _new_pupil()
    db.session.commit()
    assert s.status == "pending" and s.xjh is None
    req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == s.id))
    assert req.type == "enrollment" and [st.unit.code for st in req.steps] == ["210102"]
    approve(req, "heping")
    assert s.status == "enrolled" and s.xjh == "G" + s.id_number


def test_pupil_without_mainland_id_gets_a_j_number_on_approval(ctx):
    s = _new_pupil(id_type="5", id_number="E7654321", nationality="840", overseas="5")
    db.session.commit()
    approve(db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == s.id)), "heping")
    assert s.xjh.startswith("J21")


def test_waiting_record_cannot_be_transferred(ctx):
    s = _new_pupil()
    db.session.commit()
    from changes import transfer

    with pytest.raises(RuleViolation):
        transfer.start_transfer(s, user("school-shenhe1"), reason_code="hukou_moved", reason_text=None, hukou_changed=True)


def test_authority_may_approve_enrollments_in_a_batch(as_user, app):
    with app.test_request_context():
        ids = []
        for seq in (201, 203):
            s = _new_pupil(id_number=make_id("210102", date(2017, 3, 15), seq))
            db.session.commit()
            ids.append(str(db.session.scalar(select(ChangeRequest.id).where(ChangeRequest.student_id == s.id))))
    c = as_user("heping")
    resp = c.post_form("/admin/requests/action/", {"action": "approve", "rowid": ids}, token_from="/admin/requests/")
    assert resp.status_code == 302
    with app.app_context():
        assert {r.status for r in db.session.scalars(select(ChangeRequest))} == {"completed"}


def test_school_creating_a_pupil_through_the_form_submits_it(as_user, app):
    assert as_user("school-heping1").post_form("/admin/student/new/", student_form()).status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "enrollment" and req.student.status == "pending"


def test_rejected_enrollment_can_be_submitted_again(ctx):
    s = _new_pupil()
    db.session.commit()
    req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == s.id))
    workflows.decide(req.current_step.id, user("heping"), False, "出生日期请核对")
    db.session.commit()
    assert s.status == "pending"
    again = enrollment_records.submit_enrollment(s, user("school-heping1"))
    assert again.id != req.id and again.status == "pending"


def test_delayed_enrollment_needs_a_future_start_date_and_the_schools_consent(ctx):
    s = _new_pupil(grade=1, birth_date=date(2020, 5, 1), id_number=make_id("210102", date(2020, 5, 1), 11))
    db.session.commit()
    req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == s.id))
    workflows.withdraw(req, user("school-heping1"))
    db.session.commit()
    with pytest.raises(RuleViolation):
        enrollment.request_delay(s, user("school-heping1"), date.today() - timedelta(days=1), "身体原因")
    db.session.rollback()
    delay = enrollment.request_delay(s, user("school-heping1"), date(2027, 9, 1), "身体原因，医嘱休养一年")
    workflows.attach(delay, "application", upload(), user("school-heping1"))
    approve(delay, "principal-heping1")
    assert s.status == "delayed" and delay.payload["start_date"] == "2027-09-01"
    back = enrollment.start_after_delay(s, user("school-heping1"))
    db.session.commit()
    assert s.status == "pending" and back.type == "enrollment"


def test_correction_keeps_old_value_in_history(ctx):
    s = pupil_of(HEPING1)
    old_name = s.name
    req = enrollment.request_correction(s, user("school-heping1"), {"name": "更正后姓名"}, "户口簿姓名为准")
    workflows.attach(req, "hukou", upload(), user("school-heping1"))
    db.session.commit()
    assert s.name == old_name  # nothing changes before both approvals
    approve(req, "school-heping1", "heping")
    assert s.name == "更正后姓名" and req.status == "completed"
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == s.id, StudentHistory.field == "name"))
    assert (row.old_value, row.new_value, row.request_id) == (old_name, "更正后姓名", req.id)
    assert row.changed_by.email == "heping@xueji.demo"


def test_correction_to_an_invalid_or_taken_id_is_refused(ctx):
    s, other = pupil_of(HEPING1), pupil_of("2121000003")
    with pytest.raises(RuleViolation):
        enrollment.request_correction(s, user("school-heping1"), {"id_number": "210102201703151110"}, "x")
    db.session.rollback()
    with pytest.raises(RuleViolation, match="一人一籍"):
        enrollment.request_correction(s, user("school-heping1"), {"id_number": other.id_number, "birth_date": other.birth_date,
                                                                   "gender": other.gender}, "x")


def test_correction_needs_the_household_register_copy(ctx):
    s = pupil_of(HEPING1)
    req = enrollment.request_correction(s, user("school-heping1"), {"ethnicity": "03"}, "民族更正")
    db.session.commit()
    with pytest.raises(RuleViolation):
        approve(req, "school-heping1")


def test_nothing_to_correct_is_refused(ctx):
    s = pupil_of(HEPING1)
    with pytest.raises(RuleViolation):
        enrollment.request_correction(s, user("school-heping1"), {"name": s.name}, "x")


def test_junior_school_continues_a_primary_graduates_record(ctx):
    s = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        s.grade, s.status = 6, "graduated"
    db.session.commit()
    xjh, sid = s.xjh, s.id
    req = enrollment.continue_record(s, user("school-heping2"), school(HEPING2))
    approve(req, "school-heping2")
    assert (s.id, s.xjh, s.grade, s.status, s.school.code) == (sid, xjh, 7, "enrolled", HEPING2)


def test_primary_pupil_who_failed_the_assessment_is_continued_too(ctx):
    """结业 in primary school: still of compulsory-school age, the junior school continues the record."""
    s = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        s.grade, s.status = 6, "completed"
    db.session.commit()
    req = enrollment.continue_record(s, user("school-heping2"), school(HEPING2))
    approve(req, "school-heping2")
    assert (s.grade, s.status, s.school.code) == (7, "enrolled", HEPING2)


def test_a_pupil_in_school_is_not_continued(ctx):
    with pytest.raises(RuleViolation):
        enrollment.continue_record(pupil_of(HEPING1), user("school-heping2"), school(HEPING2))


def test_correction_form_through_the_pupils_page(as_user, app):
    import io

    from tests.transfer_helpers import png_bytes

    with app.app_context():
        s = pupil_of(HEPING1)
        sid, birth, gender, idt, idn, eth = s.id, s.birth_date, s.gender, s.id_type, s.id_number, s.ethnicity
    c = as_user("school-heping1")
    assert "correction/new" in c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    resp = c.post_form(f"/admin/requests/correction/new?student_id={sid}", {
        "name": "新名字", "gender": gender, "birth_date": birth.isoformat(), "id_type": idt, "id_number": idn, "ethnicity": eth,
        "reason": "户口簿姓名已变更", "evidence": (io.BytesIO(png_bytes()), "户口簿.png"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "correction" and req.payload == {"changes": {"name": "新名字"}} and len(req.attachments) == 1
    assert as_user("school-shenhe1").get(f"/admin/requests/correction/new?student_id={sid}").status_code == 404


def test_edit_form_of_an_approved_record_has_no_core_fields(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    html = as_user("school-heping1").get(f"/admin/student/edit/?id={sid}").get_data(as_text=True)
    assert 'name="phone"' in html and 'name="name"' not in html and 'name="id_number"' not in html


def test_open_transfer_blocks_a_correction(ctx):
    req = start()
    with pytest.raises(RuleViolation, match="#"):
        enrollment.request_correction(req.student, user("school-heping1"), {"ethnicity": "03"}, "x")


def test_continuation_page_for_the_junior_school(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            s.grade, s.status = 6, "graduated"
        db.session.commit()
        number, name = s.id_number, s.name
    c = as_user("school-heping2")
    token = lookup_token(c, "/admin/requests/continuation/new", number, name)
    resp = c.post_form("/admin/requests/continuation/new", {"confirm-pupil": token})
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "continuation" and req.to_school.code == HEPING2
    assert as_user("heping").get("/admin/requests/continuation/new").status_code == 403


def test_correction_and_delay_are_filed_by_the_pupils_school(ctx):
    """第十一条 / 第四条: the school records the guardian's application; its authority decides, it
    does not file for it (and another school cannot)."""
    s = pupil_of(HEPING1)
    with pytest.raises(RuleViolation, match=r"学籍所在学校|holds the pupil's record"):
        enrollment.request_correction(s, user("heping"), {"name": "更正后姓名"}, "户口簿姓名为准")
    db.session.rollback()
    with pytest.raises(NotInScope):  # another school: outside its scope, as if the pupil did not exist
        enrollment.request_correction(s, user("school-heping2"), {"name": "更正后姓名"}, "户口簿姓名为准")
    db.session.rollback()
    s.grade = 1
    db.session.commit()
    with pytest.raises(RuleViolation, match=r"学籍所在学校|holds the pupil's record"):
        enrollment.request_delay(s, user("heping"), date(2027, 9, 1), "身体原因")
