"""问题学籍 screens: the queue of the school and its authority, the resolve page, and the scope matrix.

Out of scope answers 404 by URL and by POST, and the pupil's name never appears in the response.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.problems import ProblemRecord
from models.student import Student
from services.students import save_student
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of, school
from tests.transfer_helpers import png_bytes, user


@pytest.fixture(scope="module")
def app(app: Flask) -> Iterator[Flask]:
    """The session's app, or — until admin/__init__.py registers the queue — a twin with it."""
    if "problems" in app.blueprints:
        yield app
        return
    from admin.problems import MENU_NAME, ProblemRecordView
    from app import create_app
    from config import TestConfig

    twin = create_app(TestConfig())
    if "problems" not in twin.blueprints:
        twin.extensions["admin"][0].add_view(ProblemRecordView(name=MENU_NAME, endpoint="problems"))
    yield twin
    with twin.app_context():
        db.session.remove()
        db.engine.dispose()


def duplicate_in(code: str, of: str) -> dict:
    """A new record at school `code` with the name, gender and birth date of the first pupil of `of`."""
    existing = pupil_of(of)
    seq = 991 if existing.gender == "1" else 992
    new = Student(
        name=existing.name, gender=existing.gender, birth_date=existing.birth_date, id_type="1",
        id_number=make_id("210102", existing.birth_date, seq), ethnicity="01",
        nationality="156", overseas="0", health="1", grade=min(existing.grade, 6), left_behind="0", disability="0",
    )
    registrar = {HEPING1: "school-heping1", SHENHE1: "school-shenhe1"}[code]
    save_student(new, user(registrar), school(code))
    db.session.commit()
    problem = db.session.scalar(select(ProblemRecord).where(ProblemRecord.student_id == new.id))
    return {"problem": problem.id, "student": new.id, "name": new.name, "other": existing.id,
            "other_school": existing.school.name, "school": new.school.name}


@pytest.fixture
def shenhe_problem(app) -> dict:
    """A problem of 沈河 school 1 (its pupil duplicates a 和平 pupil)."""
    with app.test_request_context():
        return duplicate_in(SHENHE1, HEPING1)


@pytest.fixture
def heping_problem(app) -> dict:
    """A problem of 和平 school 1 whose other record is at 沈河 school 1."""
    with app.test_request_context():
        return duplicate_in(HEPING1, SHENHE1)


def _problem(app, pid: int) -> ProblemRecord:
    with app.app_context():
        p = db.session.get(ProblemRecord, pid)
        db.session.expunge(p)
        return p


# --- the queue ----------------------------------------------------------------------------------------


def test_queue_is_visible_to_the_school_and_its_county(as_user, heping_problem):
    t = heping_problem
    link = f"/admin/problems/{t['problem']}/"
    for who in ("school-heping1", "heping", "shenyang", "province"):
        html = as_user(who).get("/admin/problems/").get_data(as_text=True)
        assert link in html, who
    for who in ("school-shenhe1", "shenhe", "school-heping2", "dalian"):
        resp = as_user(who).get("/admin/problems/")
        assert resp.status_code == 200
        assert link not in resp.get_data(as_text=True), who


def test_queue_filters_by_kind_and_status(as_user, heping_problem):
    c = as_user("school-heping1")
    link = f"/admin/problems/{heping_problem['problem']}/"
    assert link in c.get("/admin/problems/?flt0_0=soft_name_birth").get_data(as_text=True)
    assert link not in c.get("/admin/problems/?flt0_0=invalid_id").get_data(as_text=True)
    assert link in c.get("/admin/problems/?flt0_1=open").get_data(as_text=True)
    assert link not in c.get("/admin/problems/?flt0_1=resolved").get_data(as_text=True)


def test_the_other_record_is_named_only_inside_the_users_scope(as_user, heping_problem):
    t = heping_problem
    other_name_link = f"/admin/student/details/?id={t['other']}"
    school_page = as_user("school-heping1").get(f"/admin/problems/{t['problem']}/").get_data(as_text=True)
    school_list = as_user("school-heping1").get("/admin/problems/").get_data(as_text=True)
    for html in (school_page, school_list):
        assert t["other_school"] not in html and other_name_link not in html  # a school: only that another record exists
    county_page = as_user("heping").get(f"/admin/problems/{t['problem']}/").get_data(as_text=True)
    assert t["other_school"] in county_page and other_name_link not in county_page  # an official: its school
    city_page = as_user("shenyang").get(f"/admin/problems/{t['problem']}/").get_data(as_text=True)
    assert other_name_link in city_page  # both records are in the city's scope


# --- resolving through the page ---------------------------------------------------------------------------


def test_page_offers_three_resolutions_with_confirmation(as_user, heping_problem):
    html = as_user("school-heping1").get(f"/admin/problems/{heping_problem['problem']}/").get_data(as_text=True)
    for action in ("evidence", "correction", "cancellation"):
        assert f"/admin/problems/{heping_problem['problem']}/{action}" in html
    assert html.count("data-confirm=") >= 3 and 'name="csrf_token"' in html


def test_resolution_by_evidence_through_the_page_and_its_download(as_user, app, heping_problem):
    t = heping_problem
    c = as_user("school-heping1")
    page = f"/admin/problems/{t['problem']}/"
    resp = c.post_form(f"{page}evidence", {"note": "双胞胎", "file": (io.BytesIO(png_bytes()), "出生证明.png")},
                       token_from=page, content_type="multipart/form-data")
    assert resp.status_code == 302
    p = _problem(app, t["problem"])
    assert (p.status, p.resolution, p.evidence_filename) == ("resolved", "evidence", "出生证明.png")
    download = c.get(f"{page}evidence-file")
    assert download.status_code == 200 and download.data == png_bytes()
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "problem.evidence.view"))


def test_cancellation_through_the_page_needs_a_reason(as_user, app, heping_problem):
    t = heping_problem
    c = as_user("school-heping1")
    page = f"/admin/problems/{t['problem']}/"
    c.post_form(f"{page}cancellation", {"note": ""}, token_from=page)
    assert _problem(app, t["problem"]).status == "open"
    resp = c.post_form(f"{page}cancellation", {"note": "重复建籍"}, token_from=page)
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Student, t["student"]).status == "cancelled"


def test_correction_through_the_page_is_refused_while_the_collision_holds(as_user, app, heping_problem):
    t = heping_problem
    c = as_user("school-heping1")
    page = f"/admin/problems/{t['problem']}/"
    resp = c.post_form(f"{page}correction", {"note": ""}, token_from=page, follow_redirects=True)
    assert resp.status_code == 200 and "变更" in resp.get_data(as_text=True)
    assert _problem(app, t["problem"]).status == "open"


def test_a_post_without_csrf_token_is_refused(as_user, app, heping_problem):
    t = heping_problem
    resp = as_user("school-heping1").post(f"/admin/problems/{t['problem']}/cancellation", data={"note": "重复"})
    assert resp.status_code == 400
    assert _problem(app, t["problem"]).status == "open"


# --- the scope matrix -------------------------------------------------------------------------------------


OUTSIDERS = ("school-heping1", "heping", "dalian")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_an_outsider_cannot_see_or_resolve_a_problem_of_another_school(as_user, app, shenhe_problem, who):
    """A registrar of 和平 school 1 (and 和平's county, and 大连) against a problem of 沈河 school 1."""
    t = shenhe_problem
    # The pupil's school resolves it with evidence, so that there is a file to try to download.
    owner = as_user("school-shenhe1")
    page = f"/admin/problems/{t['problem']}/"
    owner.post_form(f"{page}evidence", {"file": (io.BytesIO(png_bytes()), "证明.png")}, token_from=page,
                    content_type="multipart/form-data")
    with app.app_context():
        db.session.execute(db.update(ProblemRecord).where(ProblemRecord.id == t["problem"]).values(status="open"))
        db.session.commit()  # open again, with its evidence file still recorded
    c = as_user(who)
    for url in (page, f"{page}evidence-file", "/admin/problems/?flt0_1=open"):
        resp = c.get(url)
        assert resp.status_code in ((200,) if "?" in url else (404,)), url
        assert t["name"] not in resp.get_data(as_text=True) and t["school"] not in resp.get_data(as_text=True), url
    token_page = "/admin/problems/"
    for action, data in (("evidence", {"file": (io.BytesIO(png_bytes()), "x.png")}),
                         ("correction", {"note": "x"}), ("cancellation", {"note": "x"})):
        kw = {"content_type": "multipart/form-data"} if action == "evidence" else {}
        resp = c.post_form(f"{page}{action}", data, token_from=token_page, **kw)
        assert resp.status_code == 404, action
        assert t["name"] not in resp.get_data(as_text=True)
    p = _problem(app, t["problem"])
    assert (p.status, p.resolved_by_id) == ("open", user_id(app, "school-shenhe1"))
    with app.app_context():
        assert db.session.get(Student, t["student"]).status == "enrolled"


def user_id(app, who: str) -> int:
    with app.app_context():
        return user(who).id


def test_ids_that_do_not_exist_answer_404(as_user):
    c = as_user("province")
    assert c.get("/admin/problems/999999/").status_code == 404
    assert c.post_form("/admin/problems/999999/cancellation", {"note": "x"}, token_from="/admin/problems/").status_code == 404


def test_problem_list_is_not_a_student_editor(as_user, heping_problem):
    c = as_user("school-heping1")
    for url in ("/admin/problems/new/", f"/admin/problems/edit/?id={heping_problem['problem']}",
                f"/admin/problems/details/?id={heping_problem['problem']}"):
        assert c.get(url).status_code in (302, 403, 404), url


def test_pupil_page_warns_of_an_open_problem_record(as_user, app):
    from extensions import db as _db
    from services.enrollment_records import enroll
    from tests.helpers import HEPING1, make_id, pupil_of, school
    from tests.services.test_students import new_student
    from tests.transfer_helpers import user

    with app.test_request_context():
        twin = pupil_of(HEPING1)
        s = enroll(new_student(name=twin.name, gender=twin.gender, birth_date=twin.birth_date,
                               id_number=make_id("210102", twin.birth_date, 901 if twin.gender == "1" else 902)),
                   user("school-heping1"), school(HEPING1))
        _db.session.commit()
        sid = s.id
    html = as_user("school-heping1").get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert 'id="problem-alert"' in html and 'id="request-alert"' in html
