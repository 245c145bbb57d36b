"""A guardian's ID number (GB 11643) on a real roster: adults of any age since 1930 are accepted;
a stored number that fails the check never blocks saving other fields."""

from datetime import date

import pytest
from sqlalchemy import select, update

from extensions import db
from models.audit import StudentHistory
from models.people import User
from models.student import Guardian, Student
from services.errors import RuleViolation
from services.students import save_student
from tests.form_values import form_values
from tests.helpers import HEPING1, make_id, pupil_of, school, student_form
from tests.services.test_students import new_student, registrar

BAD_CHECK_DIGIT = "210102197001010010"  # the right check digit is 8


def _with_stored_guardian_id(number: str) -> tuple[int, int]:
    """A pupil of 和平一校 whose first guardian holds `number`, written straight to the table
    (as an older import or data migration left it)."""
    s = pupil_of(HEPING1)
    g = s.guardians[0]
    db.session.execute(update(Guardian).where(Guardian.id == g.id).values(id_number=number, id_type="1"))
    db.session.commit()
    return s.id, g.id


def test_guardian_born_1950_is_accepted_for_a_new_pupil(ctx):
    s = new_student()
    s.guardians = [Guardian(relation="1", name="张老三", id_type="1", id_number=make_id("210102", date(1950, 6, 1), 123))]
    assert save_student(s, registrar(), school(HEPING1)).id


@pytest.mark.parametrize("division, birth", [
    ("210120", date(1968, 4, 2)),   # 沈阳市市区, abolished 1983
    ("210121", date(1979, 11, 30)),  # 新民县, became a city in 1993
    ("210102", date(1982, 12, 31)),  # 和平区, dated "[1983-]" by stdnum
    ("210112", date(1930, 1, 1)),   # 东陵区 → 浑南区
])
def test_guardian_with_an_old_or_abolished_division_code_is_accepted(ctx, division, birth):
    s = new_student()
    s.guardians = [Guardian(relation="2", name="王秀英", id_type="1", id_number=make_id(division, birth, 224))]
    assert save_student(s, registrar(), school(HEPING1)).id


def test_guardian_born_in_the_future_is_refused_with_a_message(ctx):
    s = new_student()
    s.guardians = [Guardian(relation="1", name="张三", id_type="1", id_number=make_id("210102", date(2030, 1, 1), 11))]
    with pytest.raises(RuleViolation, match=r"张三: "):
        save_student(s, registrar(), school(HEPING1))


def test_stored_invalid_guardian_id_does_not_block_editing_the_phone(ctx):
    sid, gid = _with_stored_guardian_id(BAD_CHECK_DIGIT)
    s = db.session.get(Student, sid)
    own = s.school
    s.guardians[0].phone = "13700001111"
    save_student(s, registrar(), own)
    db.session.commit()
    assert db.session.get(Guardian, gid).phone == "13700001111"
    assert db.session.get(Guardian, gid).id_number == BAD_CHECK_DIGIT


def test_newly_typed_invalid_guardian_id_is_refused(ctx):
    s = pupil_of(HEPING1)
    own = s.school
    s.guardians[0].id_number = BAD_CHECK_DIGIT
    with pytest.raises(RuleViolation, match="校验码"):
        save_student(s, registrar(), own)


def test_replacing_a_stored_invalid_guardian_id_with_another_invalid_one_is_refused(ctx):
    sid, _gid = _with_stored_guardian_id(BAD_CHECK_DIGIT)
    s = db.session.get(Student, sid)
    own = s.school
    s.guardians[0].id_number = "21010219700101001"  # 17 characters
    with pytest.raises(RuleViolation, match="18 位"):
        save_student(s, registrar(), own)


# --- through the screens ---------------------------------------------------------


def test_edit_form_warns_beside_a_stored_invalid_guardian_id_and_saves_the_phone(as_user, app):
    with app.app_context():
        sid, gid = _with_stored_guardian_id(BAD_CHECK_DIGIT)
    c = as_user("school-heping1")
    url = f"/admin/student/edit/?id={sid}"
    html = c.get(url).get_data(as_text=True)
    assert "guardian-id-warning" in html and "已登记的身份证件号未通过校验" in html
    data = form_values(html)
    assert data["guardians-0-id_number"] == BAD_CHECK_DIGIT
    data["guardians-0-phone"] = "13700002222"
    resp = c.post(url, data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        g = db.session.get(Guardian, gid)
        assert (g.phone, g.id_number) == ("13700002222", BAD_CHECK_DIGIT)
        fields = db.session.scalars(select(StudentHistory.field).where(StudentHistory.student_id == sid)).all()
        assert "guardian1.phone" in fields and "guardian1.id_number" not in fields
    details = c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert "guardian-id-warning" in details


def test_edit_form_refuses_a_newly_typed_invalid_guardian_id_with_a_message(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    url = f"/admin/student/edit/?id={sid}"
    data = form_values(c.get(url).get_data(as_text=True))
    old = data["guardians-0-id_number"]
    data["guardians-0-id_number"] = BAD_CHECK_DIGIT
    resp = c.post(url, data=data)
    assert resp.status_code == 200
    assert "身份证件号的校验码不正确" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Student, sid).guardians[0].id_number == old


def test_new_pupil_form_accepts_a_guardian_born_1975(as_user, app):
    form = student_form(**{"guardians-0-relation": "1", "guardians-0-name": "测试家长", "guardians-0-id_type": "1",
                           "guardians-0-id_number": make_id("210102", date(1975, 5, 5), 17)})
    resp = as_user("school-heping1").post_form("/admin/student/new/", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def test_every_pupil_of_the_demo_roster_saves_after_a_guardian_phone_change(ctx):
    """The demo roster's parents were born 1980–1993 with the codes of their counties: all valid adults."""
    from services.ids import check_guardian_id

    refused = []
    pupils = db.session.scalars(select(Student).where(Student.status == "enrolled").order_by(Student.id)).all()
    for s in pupils:
        actor = db.session.scalar(select(User).where(User.unit_id == s.school_id, User.email.like("school-%")))
        if actor is None or not s.guardians:
            continue
        for g in s.guardians:
            check_guardian_id(g.id_number)  # each one is valid when typed anew, too
        own = s.school
        s.guardians[0].phone = "13600000000"
        try:
            save_student(s, actor, own)
        except RuleViolation as exc:
            refused.append((s.id, exc.problems))
        db.session.rollback()
    assert pupils and refused == []
