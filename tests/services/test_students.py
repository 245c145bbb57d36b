"""Rules on a student's basic data, through the service and through the screens."""

from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog, StudentHistory
from models.people import User
from models.student import Guardian, Student
from services.errors import RuleViolation
from services.students import save_student
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of, school, student_form


def registrar(email: str = "school-heping1@xueji.demo") -> User:
    return db.session.scalar(select(User).where(User.email == email))


def new_student(**kw) -> Student:
    birth = kw.pop("birth_date", date(2017, 3, 15))
    base = dict(
        name="测试学生", gender="1", birth_date=birth, id_type="1", id_number=make_id("210102", birth, 111),
        ethnicity="01", nationality="156", overseas="0", health="1", grade=3, left_behind="0", disability="0",
    )
    base.update(kw)
    return Student(**base)


def count_students() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


def test_new_student_gets_g_plus_id_and_a_creation_history_row(ctx):
    s = save_student(new_student(), registrar(), school(HEPING1))
    db.session.commit()
    assert s.xjh == "G" + s.id_number
    assert s.scope_path == school(HEPING1).path
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == s.id)).all()
    assert [r.field for r in rows] == ["_created"]


def test_same_id_twice_is_refused(ctx):
    existing = pupil_of(SHENHE1)
    before = count_students()
    with pytest.raises(RuleViolation, match="一人一籍"):
        save_student(new_student(id_number=existing.id_number, birth_date=existing.birth_date, gender=existing.gender),
                     registrar(), school(HEPING1))
    db.session.rollback()
    assert count_students() == before


def test_birth_date_mismatch_is_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(id_number=make_id("210102", date(2017, 3, 16), 111)), registrar(), school(HEPING1))
    assert [f for f, _ in exc.value.problems] == ["birth_date"]


def test_gender_parity_mismatch_is_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(gender="2"), registrar(), school(HEPING1))
    assert [f for f, _ in exc.value.problems] == ["gender"]


def test_html_in_a_name_is_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(name="<script>alert(1)</script>"), registrar(), school(HEPING1))
    assert ("name" in [f for f, _ in exc.value.problems])


def test_minority_name_with_middle_dot_is_accepted(ctx):
    s = save_student(new_student(name="买买提·艾力"), registrar(), school(HEPING1))
    assert s.id


def test_unknown_codes_are_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(ethnicity="77", health="8"), registrar(), school(HEPING1))
    assert {"ethnicity", "health"} <= {f for f, _ in exc.value.problems}


def test_unknown_division_code_is_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(hukou_location="999999"), registrar(), school(HEPING1))
    assert [f for f, _ in exc.value.problems] == ["hukou_location"]


def test_over_long_fields_are_refused(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(current_address="街" * 201), registrar(), school(HEPING1))
    assert [f for f, _ in exc.value.problems] == ["current_address"]


def test_primary_school_does_not_take_grade_8(ctx):
    with pytest.raises(RuleViolation) as exc:
        save_student(new_student(grade=8), registrar(), school(HEPING1))
    assert [f for f, _ in exc.value.problems] == ["grade"]


def test_more_than_two_guardians_are_refused(ctx):
    s = new_student()
    s.guardians = [Guardian(relation=r, name=n) for r, n in (("1", "张三"), ("2", "李四"), ("3", "王五"))]
    with pytest.raises(RuleViolation, match="两名监护人"):
        save_student(s, registrar(), school(HEPING1))


def test_guardian_with_invalid_id_is_refused(ctx):
    s = new_student()
    s.guardians = [Guardian(relation="1", name="张三", id_type="1", id_number="123")]
    with pytest.raises(RuleViolation, match="18 位"):
        save_student(s, registrar(), school(HEPING1))


def test_pupil_without_mainland_id_gets_unique_temporary_number_then_g(ctx):
    a = save_student(new_student(id_type="5", id_number="E1234567", nationality="840", overseas="5"), registrar(), school(HEPING1))
    b = save_student(new_student(id_type="5", id_number=None, nationality="840", overseas="5"), registrar(), school(HEPING1))
    db.session.commit()
    assert a.xjh.startswith("J21") and b.xjh.startswith("J21") and a.xjh != b.xjh
    old, actor, own = b.xjh, registrar(), b.school  # b had no ID number: recording one is not a correction
    b.id_type, b.id_number = "1", make_id("210102", date(2017, 3, 15), 113)
    save_student(b, actor, own)
    db.session.commit()
    assert b.xjh == "G" + b.id_number
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == b.id, StudentHistory.field == "xjh"))
    assert (row.old_value, row.new_value) == (old, b.xjh)


def test_core_data_of_an_approved_record_needs_a_correction_request(ctx):
    actor, s = registrar(), pupil_of(HEPING1)
    own = s.school
    s.name = "改个名字"
    with pytest.raises(RuleViolation, match="第十一条"):
        save_student(s, actor, own)
    db.session.rollback()
    s.phone = "13900001111"  # a volatile field (第十二条) is edited directly
    save_student(s, actor, own)


def test_edit_writes_old_and_new_value_with_who(ctx):
    actor, s = registrar(), pupil_of(HEPING1)
    old_phone, own_school = s.phone, s.school  # load before changing: a lazy load would flush early
    s.phone = "13912345678"
    save_student(s, actor, own_school, reason="家长来电")
    db.session.commit()
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == s.id, StudentHistory.field == "phone"))
    assert (row.old_value, row.new_value, row.reason) == (old_phone, "13912345678", "家长来电")
    assert row.changed_by.email == "school-heping1@xueji.demo"


def test_guardian_change_is_in_history(ctx):
    actor, s = registrar(), pupil_of(HEPING1)
    s.guardians[0].phone = "13700000000"
    save_student(s, actor, s.school)
    db.session.commit()
    fields = db.session.scalars(select(StudentHistory.field).where(StudentHistory.student_id == s.id)).all()
    assert "guardian1.phone" in fields


def test_registrar_cannot_save_a_pupil_of_another_school(ctx):
    from services.errors import NotInScope

    s = pupil_of(SHENHE1)
    s.phone = "13912345678"
    with pytest.raises(NotInScope):
        save_student(s, registrar(), s.school)


# --- through the screens ---------------------------------------------------------


def test_registrar_creates_a_student_through_the_form(as_user, app):
    c = as_user("school-heping1")
    form = student_form(**{"guardians-0-relation": "1", "guardians-0-name": "测试家长", "guardians-0-id_type": "1"})
    resp = c.post_form("/admin/student/new/", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        s = db.session.scalar(select(Student).where(Student.name == "测试学生"))
        assert s.school.code == HEPING1  # set by the server for a school user
        assert [g.name for g in s.guardians] == ["测试家长"]
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "student.create", AuditLog.object_id == str(s.id)))


def test_bad_id_in_the_form_gives_a_message_and_writes_nothing(as_user, app):
    c = as_user("school-heping1")
    with app.app_context():
        before = count_students()
    resp = c.post_form("/admin/student/new/", student_form(id_number="210102201703151110"))
    assert resp.status_code == 200
    assert "身份证件号的校验码不正确" in resp.get_data(as_text=True)
    with app.app_context():
        assert count_students() == before


def test_duplicate_id_in_the_form_is_refused_with_a_message(as_user, app):
    with app.app_context():
        other = pupil_of(SHENHE1)
        form = student_form(id_number=other.id_number, birth_date=other.birth_date.isoformat(), gender=other.gender,
                            grade=str(min(other.grade, 6)))
        before = count_students()
    resp = as_user("school-heping1").post_form("/admin/student/new/", form)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "一人一籍" in html
    assert other.name not in html  # the holder is not disclosed to a school
    with app.app_context():
        assert count_students() == before


def test_html_name_is_refused_and_never_rendered_raw(as_user, app):
    resp = as_user("school-heping1").post_form("/admin/student/new/", student_form(name="<b>x</b>"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<b>x</b>" not in html


def test_html_in_a_guardian_workplace_is_escaped_on_the_details_page(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        s.guardians[0].workplace = "<script>alert(1)</script>"
        db.session.commit()
        sid = s.id
    html = as_user("school-heping1").get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_missing_csrf_token_is_refused_and_writes_nothing(as_user, app):
    c = as_user("school-heping1")
    with app.app_context():
        before = count_students()
    resp = c.post("/admin/student/new/", data=student_form())
    assert resp.status_code in (200, 400)
    with app.app_context():
        assert count_students() == before


def test_list_masks_id_numbers_and_the_g_number_that_contains_them(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        number = s.id_number
    html = as_user("school-heping1").get("/admin/student/?page_size=100").get_data(as_text=True)
    assert number not in html
    assert number[:6] + "********" + number[-4:] in html
    assert "G" + number[:6] + "********" + number[-4:] in html


def test_search_by_xjh_and_by_id_number(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        xjh, number, name = s.xjh, s.id_number, s.name
    c = as_user("school-heping1")
    for term in (xjh, number, name):
        assert name in c.get(f"/admin/student/?search={term}").get_data(as_text=True)


def test_details_view_is_audited(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    as_user("school-heping1").get(f"/admin/student/details/?id={sid}")
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "student.view", AuditLog.object_id == str(sid)))
