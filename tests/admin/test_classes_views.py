"""班级管理 on screen (issue 16, point 7): a school registrar lists, sets up and edits its classes,
opens a class roster (PDF and Excel through the export gate) and places the pupils of the grade who
have no class; the authorities read the classes of their area; anything elsewhere answers 404."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.school_class import SchoolClass
from models.student import Student
from services import classes, pdf
from services.change_codes import CLASS_CHANGE
from tests.builders import make_class, make_pupil
from tests.helpers import HEPING1, SHENHE1, school

URL = "/admin/classes/"
ENGLISH = re.compile(r">\s*[A-Z][a-z]+(?: [a-z]+)+\s*<")  # a sentence of English between tags


@pytest.fixture
def ids(app) -> dict[str, int]:
    """和平一小's 3年级 7班 (head teacher with a rare character) with two pupils, one without a
    学籍号; two third-graders in no class; a class of 沈河一小."""
    with app.app_context():
        mine = make_class(HEPING1, 3, "7班", head_teacher="吉𠮷老师")
        mine.head_teacher_phone = "13900001111"
        a = make_pupil(HEPING1, grade=3, name="㛃小红", male=False)
        b = make_pupil(HEPING1, grade=3, name="王明", xjh=None)
        for s in (a, b):
            classes.place(s, mine)
        free = [make_pupil(HEPING1, grade=3, name=n, class_name=None) for n in ("赵一", "钱二")]
        other = make_class(SHENHE1, 3, "7班")
        db.session.commit()
        return {"mine": mine.id, "a": a.id, "b": b.id, "free1": free[0].id, "free2": free[1].id, "other": other.id}


def _chinese_page(html: str) -> None:
    assert not ENGLISH.search(html), ENGLISH.search(html).group(0)
    assert "True" not in html and "False" not in html


# --- the list and setting up -------------------------------------------------------------------


def test_registrar_lists_the_classes_of_the_current_year_with_pupil_counts(as_user, ids):
    html = as_user("school-heping1").get(URL).get_data(as_text=True)
    assert "班级管理" in html and "2026—2027学年" in html and "新建班级" in html
    row = re.search(rf'<tr id="class-{ids["mine"]}">(.*?)</tr>', html, re.S).group(1)
    assert "7班" in row and "吉𠮷老师" in row and '<td class="pupils">2</td>' in row
    assert f'id="class-{ids["other"]}"' not in html  # another school's
    _chinese_page(html)


def test_registrar_sets_up_a_class(as_user, app):
    c = as_user("school-heping1")
    page = c.get(f"{URL}new").get_data(as_text=True)
    assert "班主任" in page and "班级名称" in page and "三年级" in page
    _chinese_page(page)
    resp = c.post_form(
        f"{URL}new", {"school_year": "2026", "grade": "3", "name": "8班", "head_teacher": "李老师", "head_teacher_phone": "13900002222"}
    )
    assert resp.status_code == 302
    with app.app_context():
        made = db.session.scalar(select(SchoolClass).where(SchoolClass.name == "8班", SchoolClass.school_id == school(HEPING1).id))
        assert (made.school_year, made.grade, made.head_teacher) == (2026, 3, "李老师")


def test_a_duplicate_class_name_is_a_clear_error_beside_the_name(as_user, app, ids):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(SchoolClass))
    resp = as_user("school-heping1").post_form(f"{URL}new", {"school_year": "2026", "grade": "3", "name": "7班", "head_teacher": "李老师"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "该年级已有班级“7班”" in html and 'value="李老师"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SchoolClass)) == before


def test_html_in_the_head_teacher_or_class_name_is_refused_and_shown_escaped(as_user, app):
    resp = as_user("school-heping1").post_form(
        f"{URL}new", {"school_year": "2026", "grade": "3", "name": "<i>9</i>", "head_teacher": "<script>alert(1)</script>"}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "班级名称只能包含" in html and "姓名只能包含" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<i>9</i>" not in html
    with app.app_context():
        assert db.session.scalar(select(SchoolClass).where(SchoolClass.name.contains("9"))) is None


def test_a_grade_the_school_does_not_teach_is_refused(as_user):
    resp = as_user("school-heping1").post_form(f"{URL}new", {"school_year": "2026", "grade": "8", "name": "1班"})
    assert resp.status_code == 200 and "本校没有此年级" in resp.get_data(as_text=True)


def test_registrar_edits_the_head_teacher(as_user, app, ids):
    c = as_user("school-heping1")
    page = c.get(f"{URL}{ids['mine']}/edit").get_data(as_text=True)
    assert 'value="吉𠮷老师"' in page and "本班有 2 名学生" in page
    resp = c.post_form(
        f"{URL}{ids['mine']}/edit", {"school_year": "2026", "grade": "3", "name": "7班", "head_teacher": "孙老师", "head_teacher_phone": ""}
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(SchoolClass, ids["mine"]).head_teacher == "孙老师"
    moved = c.post_form(f"{URL}{ids['mine']}/edit", {"school_year": "2026", "grade": "4", "name": "7班", "head_teacher": "孙老师"})
    assert moved.status_code == 200 and "不能更改其年级和学年" in moved.get_data(as_text=True)


def test_only_an_empty_class_is_deleted(as_user, app, ids):
    c = as_user("school-heping1")
    full = c.post_form(f"{URL}{ids['mine']}/delete", {}, token_from=f"{URL}{ids['mine']}/")
    assert full.status_code == 302 and "只能删除没有学生的班级" in c.get(full.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        empty = make_class(HEPING1, 2, "空班")
        db.session.commit()
        empty_id = empty.id
    page = c.get(f"{URL}{empty_id}/").get_data(as_text=True)
    assert "删除此空班级" in page
    assert c.post_form(f"{URL}{empty_id}/delete", {}, token_from=f"{URL}{empty_id}/").status_code == 302
    with app.app_context():
        assert db.session.get(SchoolClass, empty_id) is None and db.session.get(SchoolClass, ids["mine"]) is not None


# --- scope -------------------------------------------------------------------------------------


def test_another_schools_class_is_not_found_on_every_route(as_user, app, ids):
    c = as_user("school-heping1")
    other = ids["other"]
    for path in (f"{other}/", f"{other}/edit", f"{other}/roster.pdf", f"{other}/roster.xlsx", "999999/"):
        assert c.get(f"{URL}{path}").status_code == 404, path
    for path in (f"{other}/edit", f"{other}/delete", f"{other}/assign"):
        assert c.post_form(f"{URL}{path}", {"name": "x", "pupil": str(ids["free1"])}, token_from=URL).status_code == 404, path
    with app.app_context():
        assert db.session.get(SchoolClass, other).name == "7班"


def test_county_official_reads_its_areas_classes_only(as_user, ids):
    c = as_user("heping")
    html = c.get(URL).get_data(as_text=True)
    assert f'id="class-{ids["mine"]}"' in html and f'id="class-{ids["other"]}"' not in html
    assert "新建班级" not in html and "此处仅供查看" in html and "沈阳市和平区第一小学" in html
    _chinese_page(html)
    roster = c.get(f"{URL}{ids['mine']}/").get_data(as_text=True)
    assert "㛃小红" in roster and "本年级未分班的学生" not in roster and "删除此空班级" not in roster
    assert c.get(f"{URL}new").status_code == 403
    assert c.get(f"{URL}{ids['mine']}/edit").status_code == 403
    assert c.get(f"{URL}{ids['other']}/").status_code == 404  # 沈河区 is not 和平区's


@pytest.mark.parametrize("who", ["shenyang", "province"])
def test_city_and_province_officials_read_classes_read_only(as_user, ids, who):
    c = as_user(who)
    html = c.get(f"{URL}?school={SHENHE1}").get_data(as_text=True)
    assert f'id="class-{ids["other"]}"' in html and f'id="class-{ids["mine"]}"' not in html
    assert c.get(f"{URL}{ids['other']}/").status_code == 200
    assert c.post_form(f"{URL}{ids['other']}/delete", {}, token_from=URL).status_code == 403


def test_a_far_off_year_is_no_page(as_user):
    assert as_user("school-heping1").get(f"{URL}?year=1990").status_code == 404


# --- the roster ----------------------------------------------------------------------------------


def test_the_roster_lists_the_class_pupils_with_gender_number_and_status(as_user, ids):
    html = as_user("school-heping1").get(f"{URL}{ids['mine']}/").get_data(as_text=True)
    assert "㛃小红" in html and "王明" in html and "未分配学籍号" in html and "在籍" in html and "女" in html
    assert "吉𠮷老师" in html and '<span id="in-class">2</span>' in html
    _chinese_page(html)


def test_the_roster_pdf_and_excel_pass_the_gate_for_the_school(as_user, app, ids):
    c = as_user("school-heping1")
    resp = c.get(f"{URL}{ids['mine']}/roster.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf.extract_text(resp.data)
    # (The embedded font has no glyph for the rare 㛃 and 𠮷: the PDF's text carries the others.)
    assert "班级名册" in text and "王明" in text and "三年级 7班" in text and "未分配学籍号" in text and "共 2 人" in text
    x = c.get(f"{URL}{ids['mine']}/roster.xlsx")
    assert x.status_code == 200 and "attachment" in x.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(x.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["序号", "姓名", "性别", "全国学籍号", "学籍状态"]
    assert {r[1] for r in rows[1:]} == {"㛃小红", "王明"} and all(r[4] == "在籍" for r in rows[1:])


def test_an_official_asks_for_the_roster_through_an_export_request(as_user, ids):
    resp = as_user("heping").get(f"{URL}{ids['mine']}/roster.xlsx")
    assert resp.status_code == 302 and "/admin/export_requests/new" in resp.headers["Location"]
    assert "kind=class_roster" in resp.headers["Location"]


# --- placing pupils --------------------------------------------------------------------------------


def test_batch_placement_asks_first_then_moves_both_fields_with_history(as_user, app, ids):
    c = as_user("school-heping1")
    page = c.get(f"{URL}{ids['mine']}/").get_data(as_text=True)
    assert f'id="unassigned-{ids["free1"]}"' in page and f'id="unassigned-{ids["a"]}"' not in page
    chosen = [str(ids["free1"]), str(ids["free2"])]
    confirm = c.post_form(f"{URL}{ids['mine']}/assign", {"pupil": chosen}, token_from=f"{URL}{ids['mine']}/")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and html.count('id="assign-pupil-') == 2 and "分班到 7班" in html
    _chinese_page(html)
    with app.app_context():
        assert db.session.get(Student, ids["free1"]).class_id is None  # nothing before the confirmation
    no_reason = c.post_form(
        f"{URL}{ids['mine']}/assign", {"pupil": chosen, "confirmed": "1", "reason": ""}, token_from=f"{URL}{ids['mine']}/"
    )
    assert no_reason.status_code == 200
    done = c.post_form(
        f"{URL}{ids['mine']}/assign", {"pupil": chosen, "confirmed": "1", "reason": "新生分班"}, token_from=f"{URL}{ids['mine']}/"
    )
    assert done.status_code == 302
    assert "已将 2 名学生分到 7班" in c.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        for sid in (ids["free1"], ids["free2"]):
            s = db.session.get(Student, sid)
            assert (s.class_id, s.class_name) == (ids["mine"], "7班")
            row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == sid, StudentHistory.field == "class_name"))
            assert (row.old_value, row.new_value) == (None, "7班") and "新生分班" in row.reason and row.request_id
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(ChangeRequest)
                .where(ChangeRequest.type == CLASS_CHANGE, ChangeRequest.student_id.in_((ids["free1"], ids["free2"])))
            )
            == 2
        )


def test_batch_placement_with_a_foreign_pupil_is_refused_whole(as_user, app, ids):
    with app.app_context():
        foreign = db.session.scalar(select(Student).where(Student.school_id == school(SHENHE1).id)).id
    resp = as_user("school-heping1").post_form(
        f"{URL}{ids['mine']}/assign",
        {"pupil": [str(ids["free1"]), str(foreign)], "confirmed": "1", "reason": "分班"},
        token_from=f"{URL}{ids['mine']}/",
    )
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(Student, ids["free1"]).class_id is None


def test_a_pupil_already_in_the_class_is_reported_not_moved(as_user, ids):
    resp = as_user("school-heping1").post_form(
        f"{URL}{ids['mine']}/assign", {"pupil": [str(ids["a"]), str(ids["free1"])]}, token_from=f"{URL}{ids['mine']}/"
    )
    html = resp.get_data(as_text=True)
    assert "该学生已在此班级" in html and f'id="assign-pupil-{ids["a"]}"' in html
    assert re.search(r'id="assign-confirm-button"[^>]*>[^<]*1', html)


def test_class_change_page_offers_the_classes_of_the_pupils_grade(as_user, ids):
    page = as_user("school-heping1").get(f"/admin/status/class_change/new?student_id={ids['free1']}").get_data(as_text=True)
    assert '<option value="7班">7班（班主任 吉𠮷老师）</option>' in page and "请选择班级" in page


# --- the summer promotion's choice -------------------------------------------------------------------


def _promote(as_user, app, monkeypatch, ids, **extra) -> tuple[Student, Student]:
    from datetime import date

    from tests.transfer_helpers import at

    at(monkeypatch, date(2027, 7, 20))
    c = as_user("school-heping1")
    page = c.get(f"/admin/promotion/?unit_code={HEPING1}&school_year=2027").get_data(as_text=True)
    assert "重新编班" in page and "毕业年级不再顺延班级" in page
    data = {"unit_code": HEPING1, "school_year": "2027", "checked": "y", **extra}
    assert c.post_form("/admin/promotion/", data, token_from="/admin/promotion/").status_code == 302
    with app.app_context():
        a = db.session.get(Student, ids["a"])
        new_class = a.school_class
        db.session.expunge_all()
    return a, new_class


def test_the_promotion_screen_carries_the_classes_forward_by_default(as_user, app, monkeypatch, ids):
    a, new_class = _promote(as_user, app, monkeypatch, ids)
    assert (a.grade, a.class_name) == (4, "7班")
    assert (new_class.school_year, new_class.grade, new_class.head_teacher) == (2027, 4, "吉𠮷老师")


def test_the_promotion_screen_re_forms_the_classes_when_asked(as_user, app, monkeypatch, ids):
    a, new_class = _promote(as_user, app, monkeypatch, ids, re_form="y")
    assert (a.grade, a.class_id, a.class_name, new_class) == (4, None, None, None)
    with app.app_context():
        assert not db.session.scalar(
            select(func.count())
            .select_from(SchoolClass)
            .where(SchoolClass.school_year == 2027, SchoolClass.school_id == school(HEPING1).id)
        )
