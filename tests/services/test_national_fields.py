"""The national form's own fields on the record (services/national_fields.py, asked by
services/students.validate): 姓名拼音, 身份证件有效期, 邮政编码 and the rest, each bad value a clear
Chinese message on its field; the edit form shows them with Chinese labels."""

from __future__ import annotations

import pytest

from extensions import db
from models.student import Guardian, Student
from services.students import validate
from tests.form_values import form_values
from tests.helpers import HEPING1, pupil_of, school


@pytest.mark.parametrize(("field", "value", "words"), [
    ("postal_code", "11000", "邮政编码为6位数字"),
    ("postal_code", "11000A", "邮政编码为6位数字"),
    ("name_pinyin", "Zhang3 San", "姓名拼音只能包含拉丁字母"),
    ("name_pinyin", "张三", "姓名拼音只能包含拉丁字母"),
    ("id_valid_period", "2020-06-01至2030-06-01", "2020.06.01-2030.06.01"),
    ("id_valid_period", "2020.02.30-2030.02.28", "日期不存在"),
    ("id_valid_period", "2030.06.01-2020.06.01", "截止日期须晚于起始日期"),
    ("email", "not-an-address", "电子信箱格式不正确"),
    ("homepage", "example.cn", "http://"),
    ("school_distance", "两公里", "以公里为单位"),
    ("transport_mode", "7", "7"),
])
def test_a_bad_national_field_is_refused_on_its_field_in_chinese(ctx, field, value, words):
    pupil = pupil_of(HEPING1)
    setattr(pupil, field, value)
    problems = dict(validate(pupil, school(HEPING1)))
    assert field in problems and words in problems[field]


@pytest.mark.parametrize(("field", "value"), [
    ("postal_code", "110001"), ("name_pinyin", "Lü Xiao Ming"), ("id_valid_period", "2020.06.01-2030.06.01"),
    ("id_valid_period", "2019.12.31-长期"), ("email", "a@b.cn"), ("homepage", "https://x.cn/"), ("school_distance", "2.5"),
    ("political_status", "13"), ("inclusive_class", "3"),
])
def test_a_good_national_field_passes(ctx, field, value):
    pupil = pupil_of(HEPING1)
    setattr(pupil, field, value)
    assert field not in dict(validate(pupil, school(HEPING1)))


def test_a_family_members_ethnicity_and_hukou_are_checked(ctx):
    pupil = pupil_of(HEPING1)
    pupil.guardians = [Guardian(relation="1", name="王强", id_type="9", ethnicity="99", hukou_location="999999")]
    messages = [m for f, m in validate(pupil, school(HEPING1)) if f == "guardians"]
    assert any("99" in m for m in messages) and any("999999" in m for m in messages)


def test_the_edit_form_and_the_details_show_the_national_fields_in_chinese(app, as_user):
    with app.app_context():
        pupil_id = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    form = c.get(f"/admin/student/edit/?id={pupil_id}").get_data(as_text=True)
    for label in ("姓名拼音", "身份证件有效期", "邮政编码", "通信地址", "随班就读", "上下学交通方式", "是否监护人", "职务"):
        assert label in form, label
    details = c.get(f"/admin/student/details/?id={pupil_id}").get_data(as_text=True)
    assert "班内学号" in details and "是否需要乘坐校车" in details


def test_the_edit_form_refuses_a_bad_postal_code_and_saves_the_national_fields(app, as_user):
    with app.app_context():
        pupil = pupil_of(HEPING1)
        pupil_id, has_guardian = pupil.id, bool(pupil.guardians)
    c = as_user("school-heping1")
    url = f"/admin/student/edit/?id={pupil_id}"
    data = form_values(c.get(url).get_data(as_text=True))
    data.update({"postal_code": "1100", "name_pinyin": "Shao Chen"})
    resp = c.post(url, data=data)
    assert resp.status_code == 200 and "邮政编码为6位数字" in resp.get_data(as_text=True)
    data.update({"postal_code": "110001", "id_valid_period": "2020.06.01-2030.06.01", "political_status": "13"})
    if has_guardian:
        data["guardians-0-ethnicity"] = "03"
        data["guardians-0-job_title"] = "教师"
    resp = c.post(url, data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        saved = db.session.get(Student, pupil_id)
        assert (saved.postal_code, saved.name_pinyin, saved.id_valid_period, saved.political_status) == (
            "110001", "Shao Chen", "2020.06.01-2030.06.01", "13")
        if has_guardian:
            assert (saved.guardians[0].ethnicity, saved.guardians[0].job_title) == ("03", "教师")
