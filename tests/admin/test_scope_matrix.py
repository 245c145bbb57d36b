"""The scope matrix: a user outside a row's subtree can't see, edit, export, act on or look it up.

Each path of STACK-FACTS.md is tried by URL and by POST; out of scope answers 404 and the
pupil's name never appears in the response.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import labels
from tests.helpers import CITYDIRECT, HEPING1, SHENHE1, XIGANG1, pupil_of, school, student_form

# (who, a pupil they must not reach): registrar → other school; county → other county;
# city → other city; and a school user → the city-direct school standing elsewhere.
OUTSIDERS = [
    ("school-heping1", SHENHE1),
    ("school-heping1", CITYDIRECT),
    ("school-shenhe1", HEPING1),
    ("heping", SHENHE1),
    ("xigang", HEPING1),
    ("dalian", SHENHE1),
    ("shenyang", XIGANG1),
]


@pytest.fixture
def target(app, request):
    who, code = request.param
    with app.app_context():
        s = pupil_of(code)
        return who, {"id": s.id, "name": s.name, "xjh": s.xjh, "version": s.version_id, "phone": s.phone,
                     "school_id": s.school_id, "school_name": s.school.name}


def _approved_file(app, who: str, kind: str, query: str = "") -> str:
    """The student list as an approved export request (with the ID numbers) produces it."""
    from models.export_request import APPROVED, READY, ExportRequest
    from services import export_requests, uploads

    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.email == f"{who}@xueji.demo"))
        req = export_requests.create(actor, "student_list", "范围测试", ["id_number"], "student.export",
                                     {"export_type": kind}, query)
        req.status = APPROVED
        db.session.commit()
        export_requests.produce(app, req.id)
        req = db.session.get(ExportRequest, req.id)
        assert req.status == READY, req.error
        return uploads.path_of(req.file_sha256).read_bytes().decode("utf-8-sig")


def _unchanged(app, t) -> None:
    with app.app_context():
        s = db.session.get(Student, t["id"])
        assert (s.version_id, s.phone, s.school_id) == (t["version"], t["phone"], t["school_id"])


@pytest.mark.parametrize("target", OUTSIDERS, indirect=True, ids=[f"{w}->{c}" for w, c in OUTSIDERS])
class TestStudentPaths:
    def test_list_and_search_do_not_show_it(self, as_user, target):
        who, t = target
        c = as_user(who)
        for url in ("/admin/student/?page_size=100", f"/admin/student/?search={t['xjh']}",
                    f"/admin/student/?search={t['name']}"):
            html = c.get(url).get_data(as_text=True)
            assert t["xjh"][-4:] + "</" not in html or t["name"] not in html
            assert f"id={t['id']}&" not in html and f"id={t['id']}\"" not in html

    def test_details_and_edit_answer_404(self, as_user, target):
        who, t = target
        c = as_user(who)
        for url in (f"/admin/student/details/?id={t['id']}", f"/admin/student/edit/?id={t['id']}"):
            resp = c.get(url)
            assert resp.status_code == 404
            assert t["name"] not in resp.get_data(as_text=True)

    def test_edit_by_post_answers_404_and_changes_nothing(self, as_user, app, target):
        who, t = target
        c = as_user(who)
        resp = c.post_form(f"/admin/student/edit/?id={t['id']}", student_form(phone="13000000000"), token_from="/admin/student/new/")
        assert resp.status_code == 404
        _unchanged(app, t)

    def test_delete_and_actions_by_post_change_nothing(self, as_user, app, target):
        who, t = target
        c = as_user(who)
        resp = c.post_form("/admin/student/delete/", {"id": t["id"]}, token_from="/admin/student/new/")
        assert resp.status_code in (302, 404)
        resp = c.post_form("/admin/student/action/", {"action": "delete", "rowid": [str(t["id"])]}, token_from="/admin/student/new/")
        assert resp.status_code == 404
        resp = c.post_form("/admin/student/ajax/update/", {"list_form_pk": t["id"], "phone": "1"}, token_from="/admin/student/new/")
        assert resp.status_code == 404
        _unchanged(app, t)
        with app.app_context():
            assert db.session.get(Student, t["id"]) is not None

    def test_export_leaves_it_out(self, app, as_user, target):
        """第二十八条: a school exports directly (IDs masked), an official's export is a request; the
        file of an approved request with the full ID numbers still leaves the pupil out."""
        who, t = target
        c = as_user(who)
        for kind in ("csv", "xlsx"):
            resp = c.get(f"/admin/student/export/{kind}/")
            if who.startswith("school-"):
                assert resp.status_code == 200
            else:
                assert resp.status_code == 302 and "/admin/export_requests/new" in resp.headers["Location"]
        assert t["xjh"] not in _approved_file(app, who, "csv")
        csv = _approved_file(app, who, "csv", f"search={t['xjh']}")
        assert csv.strip().count("\n") == 1  # the watermark line and the header only

    def test_school_lookup_and_filter_options_leave_its_school_out(self, as_user, target):
        who, t = target
        c = as_user(who)
        lookup = c.get(f"/admin/student/ajax/lookup/?name=school&query={t['school_name'][:4]}").get_data(as_text=True)
        assert t["school_name"] not in lookup
        page = c.get("/admin/student/").get_data(as_text=True)
        assert t["school_name"] not in page
        assert t["name"] not in c.get(f"/admin/student/?flt0_0={t['school_id']}").get_data(as_text=True)

    def test_school_details_answer_404(self, as_user, target):
        who, t = target
        resp = as_user(who).get(f"/admin/school/details/?id={t['school_id']}")
        assert resp.status_code == 404


def test_official_cannot_create_a_pupil_in_a_school_outside_the_county(as_user, app):
    with app.app_context():
        foreign, foreign_name = school(SHENHE1).id, school(SHENHE1).name
        before = db.session.scalar(select(func.count()).select_from(Student))
    resp = as_user("heping").post_form("/admin/student/new/", student_form(school=str(foreign)))
    # The scoped lookup does not know the school: the form says so and the service would 404.
    assert resp.status_code in (200, 404)
    assert foreign_name not in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == before


def test_registrar_posting_another_school_id_still_creates_in_own_school(as_user, app):
    with app.app_context():
        foreign = school(SHENHE1).id
    resp = as_user("school-heping1").post_form("/admin/student/new/", student_form(school=str(foreign)))
    assert resp.status_code == 302
    with app.app_context():
        s = db.session.scalar(select(Student).where(Student.name == "测试学生"))
        assert s.school.code == HEPING1


def test_county_official_may_create_in_own_county(as_user, app):
    with app.app_context():
        own = school(HEPING1).id
    resp = as_user("heping").post_form("/admin/student/new/", student_form(school=str(own)))
    assert resp.status_code == 302


def test_county_sees_city_direct_school_standing_in_it_but_not_others(as_user, app):
    """第十二条: a directly-managed school's data also goes to the county where it stands."""
    with app.app_context():
        direct = pupil_of(CITYDIRECT)  # stands in 沈河区, supervised by 沈阳市
        sid = direct.id
    assert as_user("shenhe").get(f"/admin/student/details/?id={sid}").status_code == 200
    assert as_user("shenyang").get(f"/admin/student/details/?id={sid}").status_code == 200
    assert as_user("heping").get(f"/admin/student/details/?id={sid}").status_code == 404


def test_upper_levels_see_the_pupil(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    for who in ("school-heping1", "heping", "shenyang", "province"):
        assert as_user(who).get(f"/admin/student/details/?id={sid}").status_code == 200, who
    assert as_user("admin").get(f"/admin/student/details/?id={sid}").status_code == 403  # 三员分立
    for who in ("school-heping2", "shenhe", "dalian", "xigang"):
        assert as_user(who).get(f"/admin/student/details/?id={sid}").status_code == 404, who


# --- schools, authorities, users, audit -------------------------------------------------


def test_school_list_is_scoped(as_user, app):
    with app.app_context():
        names = {c: school(c).name for c in (HEPING1, SHENHE1, XIGANG1)}
    html = as_user("heping").get("/admin/school/").get_data(as_text=True)
    assert names[HEPING1] in html and names[SHENHE1] not in html and names[XIGANG1] not in html
    html = as_user("school-heping1").get("/admin/school/").get_data(as_text=True)
    assert names[HEPING1] in html and names[SHENHE1] not in html


def test_school_edit_outside_scope_answers_404(as_user, app):
    with app.app_context():
        sid, name = school(SHENHE1).id, school(SHENHE1).name
    c = as_user("heping")
    assert c.get(f"/admin/school/edit/?id={sid}").status_code == 404
    resp = c.post_form(f"/admin/school/edit/?id={sid}", {"name": "改名"}, token_from="/admin/student/new/")
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(OrgUnit, sid).name == name


def test_registrar_cannot_create_or_edit_schools(as_user, app):
    with app.app_context():
        sid = school(HEPING1).id
    c = as_user("school-heping1")
    assert c.get("/admin/school/new/").status_code in (302, 403)
    c.post_form(f"/admin/school/edit/?id={sid}", {"name": "改名"}, token_from="/admin/student/new/")
    with app.app_context():
        assert db.session.get(OrgUnit, sid).name != "改名"


def test_authority_view_is_scoped_and_closed_to_schools(as_user, app):
    with app.app_context():
        shenhe = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "210103"))
    c = as_user("heping")
    html = c.get("/admin/authority/").get_data(as_text=True)
    assert "和平区教育局" in html and "沈河区教育局" not in html
    assert c.get(f"/admin/authority/details/?id={shenhe.id}").status_code == 404
    assert as_user("school-heping1").get("/admin/authority/").status_code == 403


def test_user_list_shows_only_units_below(as_user):
    html = as_user("heping").get("/admin/users/").get_data(as_text=True)
    assert "school-heping1@xueji.demo" in html
    assert "school-shenhe1@xueji.demo" not in html
    assert "shenyang@xueji.demo" not in html
    assert "heping@xueji.demo</td>" not in html  # own unit's accounts are managed from above


def test_user_edit_outside_scope_answers_404(as_user, app):
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.email == "school-shenhe1@xueji.demo"))
    c = as_user("heping")
    assert c.get(f"/admin/users/edit/?id={uid}").status_code == 404
    resp = c.post_form(f"/admin/users/edit/?id={uid}", {"email": "x@y.cn", "active": "y"}, token_from="/admin/student/new/")
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(User, uid).email == "school-shenhe1@xueji.demo"


def test_registrar_cannot_open_users_or_audit(as_user):
    c = as_user("school-heping1")
    for url in ("/admin/users/", "/admin/audit/", "/admin/users/new/"):
        assert c.get(url).status_code == 403


def test_audit_screen_shows_only_the_officials_subtree(as_user, app):
    as_user("school-shenhe1")  # writes a login audit row in 沈河区
    as_user("school-heping1")
    html = as_user("heping").get("/admin/audit/?page_size=100").get_data(as_text=True)
    with app.app_context():  # the screen names users by name and unit (issue 13, point 16)
        names = {u.email: labels.person(u) for u in db.session.scalars(
            select(User).where(User.email.in_(("school-heping1@xueji.demo", "school-shenhe1@xueji.demo"))))}
    assert names["school-heping1@xueji.demo"] in html
    assert names["school-shenhe1@xueji.demo"] not in html


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/student/", "/admin/student/details/?id=1", "/admin/student/export/csv/", "/admin/school/",
     "/admin/authority/", "/admin/users/", "/admin/audit/", "/admin/student/ajax/lookup/?name=school&query=沈"],
)
def test_anonymous_is_sent_to_login(client_anon, url):
    resp = client_anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.fixture
def client_anon(app):
    return app.test_client()


def test_service_refuses_a_school_outside_scope_even_if_the_view_let_it_through(app, ctx):
    from services.errors import NotInScope
    from services.students import save_student
    from tests.services.test_students import new_student

    actor = db.session.scalar(select(User).where(User.email == "heping@xueji.demo"))
    with pytest.raises(NotInScope):
        save_student(new_student(), actor, school(SHENHE1))
