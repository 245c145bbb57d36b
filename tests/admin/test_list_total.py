"""The pupils' list reads a school's total with its rows, in one statement (admin/list_total.py,
issue 15, point 8): the same answer as Flask-Admin's two statements, for every kind of list URL."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_admin.contrib.sqla import ModelView
from flask_login import login_user
from sqlalchemy import func, select

from cli.realistic import _AUTO, HEPING1, school
from extensions import db
from models.student import Student
from tests.admin.test_request_account import statements
from tests.builders import DOT_NAMES, LEAP_DAYS, RARE_NAMES, make_pupil
from tests.transfer_helpers import user

# Query strings of the list: sorts, pages (the second, one past the end), page sizes, searches (a
# name, a rare character, a name with a dot, the last digits of an ID number, markup, nothing found)
# and filters (flt<position>_<filter>: 0 school, 1 grade, 2 class, 3 status, 4 statuses, 5 kind of
# school), alone and together. {school} is the school's id.
URLS = (
    "",
    "?sort=1",
    "?sort=1&desc=1",
    "?sort=3&desc=1&page=1",
    "?page=1",
    "?page=2",
    "?page=99",
    "?page_size=50",
    "?page_size=100&page=1",
    "?search=王",
    "?search=刘䶮",
    "?search=阿依古丽",
    "?search=<b>x</b>",
    "?search={digits}",
    "?search=没有这个人",
    "?flt0_0={school}",
    "?flt0_1=3&sort=2",
    "?flt0_1=3&page=1",
    "?flt0_2=2班",
    "?flt0_3=suspended",
    "?flt0_3=enrolled&search=王",
    "?flt0_4=enrolled,suspended&page=1",
    "?flt0_5=primary",
    "?flt0_5=junior&flt1_3=enrolled",
)
WHO = ("school-heping1", "school-heping2", "heping", "shenyang", "province", "principal-heping1")


def _view(app: Flask):
    return next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "student")


@pytest.fixture
def more_pupils(app: Flask) -> dict[str, str]:
    """30 more pupils at 和平一小 (two pages and a half): rare characters, dotted names, markup, no
    学籍号 or class, 休学 and 待核办 among them, a leap-day birthday. Committed inside the test's
    transaction (rolled back after it). The words the URLs take: the school's id, an ID's digits."""
    with app.test_request_context():
        unit = school(HEPING1)
        names = [*RARE_NAMES, *DOT_NAMES, "<b>x</b>", *(f"王{c}" for c in "子涵欣怡梓轩浩宇雨桐一诺俊熙思远佳琪")]
        made = []
        for i, name in enumerate(names):
            made.append(make_pupil(unit, name=name, grade=1 + i % 6, male=i % 2 == 0,
                                   status=("enrolled", "suspended", "pending")[i % 3] if i % 5 else "enrolled",
                                   xjh=None if i % 7 == 0 else _AUTO, class_name=None if i % 4 == 0 else f"{1 + i % 3}班",
                                   birth_date=LEAP_DAYS[0] if i == 3 else None))
        db.session.commit()
        return {"school": str(unit.id), "digits": made[5].id_number[-4:]}


def _both(app: Flask, who: str, query: str) -> tuple[tuple, tuple, list[str]]:
    """(this project's answer, Flask-Admin's answer, the statements of the first) for one URL."""
    view = _view(app)
    with app.test_request_context("/admin/student/" + query):
        login_user(user(who))
        args = view._get_list_extra_args()
        sort = view._get_column_by_idx(args.sort)
        asked = (args.page, sort[0] if sort is not None else None, args.sort_desc, args.search, args.filters)
        size = view.get_safe_page_size(args.page_size)
        with statements(app) as seen:
            count, rows = view.get_list(*asked, page_size=size)
        ours = (count, [r.id for r in rows])
        theirs_count, theirs_rows = ModelView.get_list(view, *asked, page_size=size)
        db.session.rollback()
        return ours, (theirs_count, [r.id for r in theirs_rows]), list(seen)


@pytest.mark.parametrize("who", WHO)
def test_the_answer_is_flask_admins_for_every_kind_of_list(app: Flask, more_pupils: dict[str, str], who: str) -> None:
    counted = found = 0
    for url in URLS:
        query = url.format(**more_pupils)
        ours, theirs, seen = _both(app, who, query)
        found += bool(ours[1])
        assert ours == theirs, (who, query)
        on_student = [s for s in seen if "FROM student" in s]
        if ours[0] is None:  # an official's list: no total, one statement, no COUNT
            assert len(on_student) == 1 and "count(" not in on_student[0].lower(), (who, query)
        elif ours[1]:  # a counted page with rows: rows and total in one statement
            counted += 1
            assert len(on_student) == 1 and "xueji_list_total" in on_student[0], (who, query)
        else:  # nothing on this page: the COUNT alone says how many there are
            assert len(on_student) == 2, (who, query)
    if who != "school-heping2":  # a school with ten pupils of its own
        assert found >= len(URLS) // 2, who  # most of the URLs above find pupils: the comparison is not of empty lists
    if who in ("school-heping1", "principal-heping1"):
        assert counted >= 15, who  # the school's URLs reach the counted path


def test_a_page_past_the_end_still_tells_the_total(app: Flask, more_pupils: dict[str, str]) -> None:
    ours, theirs, _seen = _both(app, "school-heping1", "?page=99")
    with app.app_context():
        school = user("school-heping1")
        total = db.session.scalar(select(func.count()).select_from(Student).where(Student.scope_path == school.unit.path))
    assert total and ours == theirs == (total, [])


def test_a_school_without_pupils_says_so(app: Flask, ctx) -> None:
    """A school whose every pupil has gone elsewhere (not committed: rolled back with the test)."""
    school = user("school-heping2")
    db.session.execute(Student.__table__.update().where(Student.scope_path == school.unit.path)
                       .values(scope_path="/elsewhere/"))
    view = _view(app)
    login_user(school)
    assert view.get_list(0, None, False, None, None) == (0, [])
    page = view.get_list(0, None, False, "王", None)
    assert page == (0, [])


def test_a_schools_rows_take_their_school_from_the_account(app: Flask, as_user, more_pupils: dict[str, str]) -> None:
    """A school's list reads no org_unit with its rows, and no school row by row: the pupils'
    school is the account's unit, already read. An official's list still joins it (many schools)."""
    school = as_user("school-heping1")
    school.get("/admin/student/")
    with statements(app) as seen:
        page = school.get("/admin/student/").get_data(as_text=True)
    seen = [s for s in seen if "SAVEPOINT" not in s]  # the suite's own, around each request
    assert len(seen) == 2, seen  # the account, then the rows with their total
    assert "org_unit" not in seen[1] and "xueji_list_total" in seen[1]
    with app.app_context():
        name = user("school-heping1").unit.name
    assert page.count(f'<td class="col-school">{name}</td>') == 20
    county = as_user("heping")
    county.get("/admin/student/")
    with statements(app) as seen:
        page = county.get("/admin/student/").get_data(as_text=True)
    rows = [s for s in seen if "FROM student" in s]
    assert len(rows) == 1 and "JOIN org_unit" in rows[0]
    assert not [s for s in seen if s.startswith("SELECT org_unit")]  # no school read row by row
