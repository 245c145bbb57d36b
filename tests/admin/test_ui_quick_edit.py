"""Issue 14, point 6 (quick editing): the volatile fields of 第十二条 edited in the pupils' list
through Flask-Admin's ajax/update/ endpoint, with the full form's validation, history and scope."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import StudentHistory
from models.people import User
from models.student import Student
from tests.helpers import HEPING1, school

UPDATE = "/admin/student/ajax/update/"
CSRF_IN_CELL = re.compile(r'data-csrf="([^"]+)"')


@pytest.fixture
def pupil_id(app) -> int:
    with app.test_request_context():
        return db.session.scalar(select(Student.id).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled")
                                 .order_by(Student.id))


def _token(c) -> str:
    """The token the list's editable cells carry (data-csrf), which Flask-Admin's form.js posts."""
    page = c.get("/admin/student/").get_data(as_text=True)
    found = CSRF_IN_CELL.search(page)
    assert found, "the list has no editable cell"
    return html.unescape(found.group(1))


def _post(c, token: str, pk: int, **field: str):
    return c.post(UPDATE, data={"list_form_pk": str(pk), **field, "csrf_token": token})


@pytest.mark.parametrize(("field", "posted", "stored"), [
    ("phone", "13912345678", "13912345678"),
    ("current_address", "沈阳市和平区南京北街 1 号", "沈阳市和平区南京北街 1 号"),
    ("left_behind", "2", "2"),
    ("migrant_child", "1", True),
    ("hukou_location", "210103", "210103"),
])
def test_each_volatile_field_is_saved_with_its_history(app, as_user, pupil_id, field, posted, stored):
    c = as_user("school-heping1")
    resp = _post(c, _token(c), pupil_id, **{field: posted})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():
        assert getattr(db.session.get(Student, pupil_id), field) == stored
        registrar = db.session.scalar(select(User.id).where(User.email == "school-heping1@xueji.demo"))
        row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == pupil_id, StudentHistory.field == field)
                                .order_by(StudentHistory.id.desc()))
        assert row is not None and row.changed_by_id == registrar
    if field == "hukou_location":
        assert "沈河区" in resp.get_json()["display"]  # the cell then shows the division's name
    if field == "migrant_child":
        assert resp.get_json()["display"] == "是"


def test_the_list_shows_editable_cells_by_name(as_user):
    page = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    for name in ("phone", "current_address", "left_behind", "migrant_child", "hukou_location"):
        assert f'name="{name}"' in page and 'data-role="x-editable' in page
    assert 'name="name" data-' not in page  # the name is a core field: not editable in the list
    assert "未填写" in page or "辽宁省" in page
    assert ">True<" not in page and ">False<" not in page


def test_an_invalid_phone_is_refused_in_chinese(app, as_user, pupil_id):
    with app.app_context():
        before = db.session.get(Student, pupil_id).phone
    c = as_user("school-heping1")
    resp = _post(c, _token(c), pupil_id, phone="12ab")
    assert resp.status_code == 400
    assert resp.get_data(as_text=True) == "联系电话应为 5–20 位数字。"
    assert _post(c, _token(c), pupil_id, hukou_location="999999").status_code == 400
    assert _post(c, _token(c), pupil_id, migrant_child="也许").status_code == 400
    with app.app_context():
        assert db.session.get(Student, pupil_id).phone == before


def test_a_core_field_is_not_editable_inline(app, as_user, pupil_id):
    with app.app_context():
        before = db.session.get(Student, pupil_id).name
    c = as_user("school-heping1")
    resp = _post(c, _token(c), pupil_id, name="张三")
    assert resp.status_code == 400 and "不能在列表中修改" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Student, pupil_id).name == before


def test_without_the_token_nothing_is_saved(app, as_user, pupil_id):
    c = as_user("school-heping1")
    assert c.post(UPDATE, data={"list_form_pk": str(pupil_id), "phone": "13800000000"}).status_code == 400
    with app.app_context():
        assert db.session.get(Student, pupil_id).phone != "13800000000"


@pytest.mark.parametrize(("who", "status"), [("heping", 403), ("shenyang", 403), ("school-heping2", 404), ("school-shenhe1", 404)])
def test_officials_and_other_schools_cannot(app, as_user, pupil_id, who, status):
    c = as_user(who)
    token = c.csrf("/admin/student/")
    assert _post(c, token, pupil_id, phone="13700000000").status_code == status
    with app.app_context():
        assert db.session.get(Student, pupil_id).phone != "13700000000"


def test_officials_see_neither_the_cells_nor_the_families_contacts(as_user):
    """An official's list of a whole county carries no phones or addresses (PIPL minimum necessary):
    the quick-edit columns are the pupil's own school's."""
    page = as_user("heping").get("/admin/student/").get_data(as_text=True)
    table = page.split("model-list", 1)[-1].split("</table>", 1)[0]  # the list itself, not the filters' table
    assert "x-editable" not in table and 'name="phone"' not in page
    for header in ("联系电话", "现住址", "户口所在地"):
        assert header not in table, header
    school = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    assert "联系电话" in school.split("model-list", 1)[-1].split("</table>", 1)[0]
