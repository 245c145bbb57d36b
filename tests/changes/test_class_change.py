"""Grade and class are not typed in the edit form of an approved record: the grade moves by
promotion, retention or an approved change (第十八条), the class by 调班 — a change type of its own
without an approval step (changes/class_change.py). A transferred pupil arrives with no class (未分班)
until the new school assigns one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from changes.class_change import request_class_change
from extensions import db
from models.audit import AuditLog, StudentHistory
from models.changes import COMPLETED, ChangeRequest
from models.lifecycle import arranging
from models.student import Student
from services import arrivals, classes, enrollment_records, workflows
from services.change_codes import CLASS_CHANGE
from services.errors import NotInScope, RuleViolation
from services.students import save_student
from tests.builders import make_class
from tests.form_values import form_values
from tests.helpers import HEPING1, SHENHE1, pupil_of, student_form
from tests.transfer_helpers import approve, start, user

FOUR = ("school-shenhe1", "shenhe", "school-heping1", "heping")


@pytest.fixture(autouse=True)
def classes_set_up(app) -> None:
    """The demo sets up 1班–4班 of each grade (from its pupils' class names); these tests also move
    pupils into 5班–9班, which the school sets up first (班级管理)."""
    with app.app_context():
        first = pupil_of(HEPING1)
        for n in range(5, 10):
            make_class(HEPING1, first.grade, f"{n}班")
        db.session.commit()


def _pupil_id(app, code: str = HEPING1) -> int:
    with app.app_context():
        return pupil_of(code).id


# --- the edit form -------------------------------------------------------------------------


def test_edit_form_of_an_approved_record_has_no_grade_or_class(as_user, app):
    sid = _pupil_id(app)
    c = as_user("school-heping1")
    html = c.get(f"/admin/student/edit/?id={sid}").get_data(as_text=True)
    data = form_values(html)
    assert "grade" not in data and "class_name" not in data and "phone" in data


def test_grade_and_class_posted_to_the_edit_form_change_nothing(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        sid, grade, klass = s.id, s.grade, s.class_name
    c = as_user("school-heping1")
    url = f"/admin/student/edit/?id={sid}"
    data = form_values(c.get(url).get_data(as_text=True))
    data.update(grade=str(grade % 6 + 1), class_name="9班", phone="13911112222")
    assert c.post(url, data=data).status_code == 302
    with app.app_context():
        s = db.session.get(Student, sid)
        assert (s.grade, s.class_name, s.phone) == (grade, klass, "13911112222")


def test_grade_change_of_an_approved_record_is_refused_by_the_service(ctx):
    s = pupil_of(HEPING1)
    own = s.school
    s.grade = s.grade % 6 + 1
    with pytest.raises(RuleViolation, match="升级、留级") as exc:
        save_student(s, user("school-heping1"), own)
    assert [f for f, _m in exc.value.problems] == ["grade"]


def test_class_typed_into_an_approved_record_is_refused_by_the_service(ctx):
    s = pupil_of(HEPING1)
    own = s.school
    s.class_name = "9班"
    with pytest.raises(RuleViolation, match="调班") as exc:
        save_student(s, user("school-heping1"), own)
    assert [f for f, _m in exc.value.problems] == ["class_name"]


def test_new_pupil_form_still_sets_grade_and_class(as_user, app):
    assert as_user("school-heping1").post_form("/admin/student/new/", student_form(grade="4", class_name="3班")).status_code == 302
    with app.app_context():
        s = db.session.scalar(select(Student).where(Student.name == "测试学生"))
        assert (s.grade, s.class_name) == (4, "3班")


def test_new_pupil_with_markup_in_the_class_is_refused(as_user, app):
    resp = as_user("school-heping1").post_form("/admin/student/new/", student_form(class_name="<b>1</b>"))
    assert resp.status_code == 200 and "班级名称只能包含" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Student).where(Student.name == "测试学生")) is None


# --- 调班: the service -------------------------------------------------------------------------


def test_class_change_writes_history_with_the_reason_and_the_actor(ctx):
    s = pupil_of(HEPING1)
    old = s.class_name
    request_class_change(s, user("school-heping1"), "4班", "家长申请，与双胞胎同班")
    db.session.commit()
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == s.id, StudentHistory.field == "class_name"))
    assert (row.old_value, row.new_value) == (old, "4班")
    assert "家长申请" in row.reason and row.changed_by.email == "school-heping1@xueji.demo"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "student.class_change", AuditLog.object_id == str(s.id)))


def test_class_change_needs_a_reason_and_a_valid_class_name(ctx):
    s = pupil_of(HEPING1)
    with pytest.raises(RuleViolation) as exc:
        request_class_change(s, user("school-heping1"), "<script>x</script>", "")
    assert {f for f, _m in exc.value.problems} == {"class_name", "reason"}
    with pytest.raises(RuleViolation, match="20"):
        request_class_change(s, user("school-heping1"), "班" * 21, "理由")
    with pytest.raises(RuleViolation, match="已在此班级"):
        request_class_change(s, user("school-heping1"), s.class_name, "理由")


def test_class_change_is_for_the_pupils_own_school_only(ctx):
    s = pupil_of(HEPING1)
    with pytest.raises(NotInScope):
        request_class_change(s, user("school-shenhe1"), "4班", "理由")
    with pytest.raises(RuleViolation, match="所在学校"):
        request_class_change(s, user("heping"), "4班", "理由")  # the authority sees the pupil but does not place it


def test_graduated_pupil_is_not_placed_in_a_class(ctx):
    s = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        s.status = "graduated"
    db.session.commit()
    with pytest.raises(RuleViolation, match="在籍或休学"):
        request_class_change(s, user("school-heping1"), "4班", "理由")


# --- 调班: the screens -------------------------------------------------------------------------


def test_class_change_through_the_pupils_page(as_user, app):
    sid = _pupil_id(app)
    c = as_user("school-heping1")
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert f"/admin/status/class_change/new?student_id={sid}" in page and "调班" in page
    resp = c.post_form(f"/admin/status/class_change/new?student_id={sid}", {"class_name": "4班", "reason": "家长申请"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Student, sid).class_name == "4班"
    details = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert "4班" in details and "家长申请" in details


def test_class_change_without_csrf_token_is_refused(as_user, app):
    sid = _pupil_id(app)
    with app.app_context():
        before = db.session.get(Student, sid).class_name
    resp = as_user("school-heping1").post(f"/admin/status/class_change/new?student_id={sid}",
                                          data={"class_name": "4班", "reason": "x"})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.get(Student, sid).class_name == before


def test_bad_class_name_gives_a_message_and_keeps_what_was_typed(as_user, app):
    sid = _pupil_id(app)
    with app.app_context():
        before = db.session.get(Student, sid).class_name
    resp = as_user("school-heping1").post_form(f"/admin/status/class_change/new?student_id={sid}",
                                               {"class_name": "<b>4</b>", "reason": "家长申请"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "班级名称只能包含" in html
    assert "<b>4</b>" not in html and "家长申请" in html
    with app.app_context():
        assert db.session.get(Student, sid).class_name == before


def test_class_change_page_of_another_schools_pupil_is_not_found(as_user, app):
    sid = _pupil_id(app, SHENHE1)
    c = as_user("school-heping1")
    assert c.get(f"/admin/status/class_change/new?student_id={sid}").status_code == 404
    assert c.post_form(f"/admin/status/class_change/new?student_id={sid}", {"class_name": "4班", "reason": "x"},
                       token_from="/admin/student/").status_code == 404


def test_authority_sees_no_class_change_and_may_not_use_it(as_user, app):
    sid = _pupil_id(app)
    c = as_user("heping")
    assert "/admin/status/class_change/" not in c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert c.get(f"/admin/status/class_change/new?student_id={sid}").status_code == 403


def test_pupil_without_a_class_shows_no_class_yet_and_can_be_assigned_one(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        classes.place(s, None)
        db.session.commit()
        sid = s.id
    c = as_user("school-heping1")
    page = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert "未分班" in page and "分班" in page
    assert c.post_form(f"/admin/status/class_change/new?student_id={sid}", {"class_name": "1班", "reason": "转入后分班"}).status_code == 302
    with app.app_context():
        assert db.session.get(Student, sid).class_name == "1班"


# --- 报到: no class at the new school -------------------------------------------------------


def test_transferred_pupil_arrives_with_no_class(ctx):
    req = start()
    student = req.student
    old_class = student.class_name
    assert old_class
    approve(req, *FOUR)
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    assert student.class_name is None and student.school.code == SHENHE1
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == student.id,
                                                         StudentHistory.field == "class_name", StudentHistory.request_id == req.id))
    assert (row.old_value, row.new_value) == (old_class, None)
    assert req.archive_backup["class_name"] == old_class  # the sending school's backup keeps it
    request_class_change(student, user("school-shenhe1"), "2班", "转入分班")
    assert student.class_name == "2班"


def test_waiting_record_grade_and_class_can_still_be_corrected(ctx):
    """A record still waiting for the authority (待核办) is being created: the school fixes what was sent back."""
    from tests.services.test_students import new_student

    s = enrollment_records.enroll(new_student(class_name="1班"), user("school-heping1"), pupil_of(HEPING1).school)
    db.session.commit()
    own = s.school
    s.grade, s.class_name = 2, "2班"
    save_student(s, user("school-heping1"), own)
    db.session.commit()
    assert (s.grade, s.class_name) == (2, "2班")


# --- 调班 as a change type without an approval step ------------------------------------------------


def test_class_change_is_a_declared_type_done_when_opened(ctx):
    s = pupil_of(HEPING1)
    old = s.class_name
    req = request_class_change(s, user("school-heping1"), "4班", "家长申请")
    db.session.commit()
    assert workflows.TYPES[CLASS_CHANGE].steps == ()
    assert workflows.DECLARED_IN[CLASS_CHANGE] == "changes.class_change"
    assert req.type == CLASS_CHANGE and req.status == COMPLETED and req.steps == [] and req.current_seq is None
    assert req.finished_at is not None and req.reason_text == "家长申请"
    assert workflows.request_details(req) == [("原班级", old), ("新班级", "4班")]
    history = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == s.id,
                                                             StudentHistory.field == "class_name"))
    assert history.request_id == req.id and history.new_value == "4班"


def test_class_change_opens_beside_a_waiting_request_and_keeps_it(ctx):
    """A class is not a status: a transfer waiting for approval does not stop it, nor is it touched."""
    waiting = start()
    pupil = waiting.student
    request_class_change(pupil, user("school-heping1"), "9班", "分班调整")
    db.session.commit()
    assert pupil.class_name == "9班" and waiting.status == "pending"


def test_class_change_page_says_it_is_done_at_once_and_shows_the_request(as_user, app):
    sid = _pupil_id(app)
    c = as_user("school-heping1")
    page = c.get(f"/admin/status/class_change/new?student_id={sid}").get_data(as_text=True)
    assert "保存后班级立即变更" in page and "保存调班" in page and "提交申请" not in page
    resp = c.post_form(f"/admin/status/class_change/new?student_id={sid}", {"class_name": "5班", "reason": "家长申请"})
    assert resp.status_code == 302 and "/admin/requests/" in resp.headers["Location"]
    shown = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "调班" in shown and "5班" in shown and "原班级" in shown
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.type == CLASS_CHANGE))
        assert req is not None and req.status == COMPLETED


def test_double_submit_of_the_same_class_changes_once(as_user, app):
    sid = _pupil_id(app)
    c = as_user("school-heping1")
    url = f"/admin/status/class_change/new?student_id={sid}"
    assert c.post_form(url, {"class_name": "6班", "reason": "家长申请"}).status_code == 302
    again = c.post_form(url, {"class_name": "6班", "reason": "家长申请"})
    assert again.status_code == 200 and "已在此班级" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChangeRequest).where(ChangeRequest.type == CLASS_CHANGE)) == 1
