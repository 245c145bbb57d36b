"""三员分立 (issue 13 point 10): the system administrator manages accounts and units without
reading pupils, the security administrator alone changes roles, the audit administrator reads the
audit log and nothing else, the confidentiality officer sees only what is theirs, and nobody
changes or deletes audit rows."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog, AuditLogIsAppendOnly
from models.people import ADMIN, AUDIT_ADMIN, PROVINCE_OFFICIAL, REGISTRAR, SECURITY_ADMIN, Role, User
from models.student import Student
from services import scope
from services.errors import NotInScope
from tests.helpers import HEPING1, pupil_of, school

DUTY_ACCOUNTS = ("admin", "security-admin", "audit-admin", "baomi-heping")
# The pages (Flask-Admin endpoints) each one may open; every other page answers 403.
# Every account has its own 我的消息 ("messages", issue 16 point 6): personal, and nothing about a pupil
# reaches an account without row scope (services/notifications.py tells only those who see the request).
ALLOWED_PAGES = {
    # api_tokens: the data API's tokens (issue 16, point 5), issued like the accounts of the systems that read a unit.
    "admin": {"admin", "users", "school", "authority", "calendar", "calendar_notices", "api_tokens", "messages"},
    "security-admin": {"admin", "users", "messages"},
    "audit-admin": {"admin", "audit", "messages"},
    "baomi-heping": {"admin", "export_requests", "messages"},  # approves export requests (第二十八条)
}
PASSWORD = "Xueji#2026-new"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == (email if "@" in email else f"{email}@xueji.demo")))


def _role_id(name: str) -> int:
    return db.session.scalar(select(Role.id).where(Role.name == name))


def _views(app: Flask) -> list:
    return [v for v in app.extensions["admin"][0]._views]


# --- what each of them can open ---------------------------------------------------------


@pytest.mark.parametrize("who", DUTY_ACCOUNTS)
def test_each_duty_account_opens_its_own_pages_and_no_other(app, as_user, who):
    c = as_user(who)
    opened = set()
    for view in _views(app):
        status = c.get(view.url + "/" if not view.url.endswith("/") else view.url).status_code
        assert status in (200, 403), (view.endpoint, status)
        if status == 200:
            opened.add(view.endpoint)
    assert opened == ALLOWED_PAGES[who]


@pytest.mark.parametrize("who", DUTY_ACCOUNTS)
def test_the_menu_has_no_dead_links(as_user, who):
    c = as_user(who)
    html = c.get("/admin/").get_data(as_text=True)
    nav = html.split('<nav', 1)[1].split('</nav>', 1)[0]
    links = {h for h in re.findall(r'href="(/admin/[^"#]*)"', nav.replace("&amp;", "&"))}
    assert links, "the menu shows nothing"
    for link in links:
        assert c.get(link).status_code == 200, link


@pytest.mark.parametrize("who", DUTY_ACCOUNTS)
def test_the_home_page_shows_no_pupil_figures(as_user, who):
    html = as_user(who).get("/admin/").get_data(as_text=True)
    assert 'id="home-duties"' in html
    assert "/admin/student/" not in html and "/admin/requests/" not in html and 'id="queues"' not in html


@pytest.mark.parametrize("who", ("admin", "security-admin", "audit-admin"))
def test_no_administrator_reads_pupils_requests_or_exports(app, as_user, who):
    with app.app_context():
        sid, name = pupil_of(HEPING1).id, pupil_of(HEPING1).name
    c = as_user(who)
    for url in ("/admin/student/", f"/admin/student/details/?id={sid}", f"/admin/student/edit/?id={sid}",
                "/admin/requests/", "/admin/student/export/csv/", "/admin/student/export/xlsx/",
                "/admin/imports/", "/admin/problems/", "/admin/archive/", "/admin/statistics/",
                "/admin/student/ajax/lookup/?name=school&query=沈"):
        resp = c.get(url)
        assert resp.status_code in (403, 404), (url, resp.status_code)
        assert name not in resp.get_data(as_text=True)


def test_the_row_scope_gives_an_administrator_no_pupils(ctx):
    admin, province = _user("admin"), _user("province")
    sid = pupil_of(HEPING1).id
    assert db.session.scalar(select(func.count()).select_from(Student).where(scope.filter_for(admin, Student.scope_path))) == 0
    assert db.session.scalar(select(func.count()).select_from(Student).where(scope.filter_for(province, Student.scope_path))) > 0
    with pytest.raises(NotInScope):
        scope.load_scoped(admin, Student, sid)
    assert not scope.covers(admin, school(HEPING1).path)
    # … but it still reaches the accounts and units it manages
    assert db.session.scalar(select(func.count()).select_from(User).where(scope.filter_for(admin, User.scope_path))) > 0
    assert scope.covers_unit(admin, school(HEPING1).path)


# --- accounts: the administrator creates, the security administrator grants ----------------


def test_administrator_creates_an_account_but_cannot_grant_it_a_role(app, as_user):
    with app.app_context():
        unit, registrar = school(HEPING1).id, _role_id(REGISTRAR)
    c = as_user("admin")
    page = c.get("/admin/users/new/").get_data(as_text=True)
    assert 'name="roles"' not in page  # the field is not there
    resp = c.post_form("/admin/users/new/", {"email": "new.one@xueji.demo", "name": "新账号", "unit": str(unit),
                                             "roles": str(registrar), "active": "y", "new_password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    with app.app_context():
        made = _user("new.one@xueji.demo")
        assert made is not None and made.role_names == set()  # roleless until the security administrator grants
        made.must_change_password = False  # the forced first change (tests/security/test_passwords.py) is not this test's point
        db.session.commit()
    from tests.conftest import login

    assert login(app, "new.one@xueji.demo", PASSWORD).get("/admin/student/").status_code == 403


def test_administrator_cannot_change_an_accounts_roles(app, as_user):
    with app.app_context():
        target = _user("school-heping1")
        uid, unit = target.id, target.unit_id
    resp = as_user("admin").post_form(f"/admin/users/edit/?id={uid}", {
        "email": "school-heping1@xueji.demo", "name": "王丽（学籍管理员）", "unit": str(unit), "active": "y",
        "roles": [str(_role_id_in(app, PROVINCE_OFFICIAL)), str(_role_id_in(app, ADMIN))]})
    assert resp.status_code == 302
    with app.app_context():
        assert _user("school-heping1").role_names == {REGISTRAR}


def _role_id_in(app, name: str) -> int:
    with app.app_context():
        return _role_id(name)


def test_official_creating_a_school_account_gives_it_the_registrar_role_only(app, as_user):
    with app.app_context():
        unit = school(HEPING1).id
    resp = as_user("heping").post_form("/admin/users/new/", {
        "email": "helper@xueji.demo", "unit": str(unit), "roles": str(_role_id_in(app, "principal")),
        "active": "y", "new_password": PASSWORD})
    assert resp.status_code == 302
    with app.app_context():
        assert _user("helper@xueji.demo").role_names == {REGISTRAR}


def test_security_administrator_grants_a_role_and_it_is_audited(app, as_user):
    with app.app_context():
        uid = _user("school-heping2").id
    c = as_user("security-admin")
    page = c.get(f"/admin/users/edit/?id={uid}").get_data(as_text=True)
    assert 'name="roles"' in page and 'name="email"' not in page and 'name="new_password"' not in page
    assert "school-heping2@xueji.demo" in page  # whose roles these are
    resp = c.post_form(f"/admin/users/edit/?id={uid}", {"roles": [str(_role_id_in(app, REGISTRAR)),
                                                                  str(_role_id_in(app, "deputy"))]})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    with app.app_context():
        assert _user("school-heping2").role_names == {REGISTRAR, "deputy"}
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.roles", AuditLog.object_id == str(uid)))
        assert row is not None and row.user_email == "security-admin@xueji.demo" and "分管校领导" in row.detail


def test_security_administrator_creates_no_account_and_reads_no_pupils(app, as_user):
    c = as_user("security-admin")
    assert c.get("/admin/users/new/").status_code in (302, 403)
    with app.app_context():
        unit = school(HEPING1).id
    c.post_form("/admin/users/new/", {"email": "sneaky@xueji.demo", "unit": str(unit), "new_password": PASSWORD},
                token_from="/admin/users/")
    with app.app_context():
        assert _user("sneaky@xueji.demo") is None
    assert c.get("/admin/student/").status_code == 403


def test_security_administrator_cannot_change_their_own_roles(app, as_user):
    with app.app_context():
        me = _user("security-admin").id
    resp = as_user("security-admin").post_form(f"/admin/users/edit/?id={me}", {"roles": []})
    assert resp.status_code == 200
    assert "自己" in resp.get_data(as_text=True)
    with app.app_context():
        assert _user("security-admin").role_names == {SECURITY_ADMIN}


@pytest.mark.parametrize("roles", [(ADMIN, AUDIT_ADMIN), (SECURITY_ADMIN, AUDIT_ADMIN), (ADMIN, PROVINCE_OFFICIAL)],
                         ids=["admin+audit", "security+audit", "admin+business"])
def test_an_account_holds_no_two_duty_roles_nor_one_with_a_business_role(app, as_user, roles):
    with app.app_context():
        uid = _user("province").id
    resp = as_user("security-admin").post_form(f"/admin/users/edit/?id={uid}",
                                               {"roles": [str(_role_id_in(app, r)) for r in roles]})
    assert resp.status_code == 200
    assert "不得兼任" in resp.get_data(as_text=True)
    with app.app_context():
        assert _user("province").role_names == {PROVINCE_OFFICIAL}


# --- the audit log: read by the audit administrator, changed by nobody -------------------------


def test_audit_administrator_reads_the_whole_audit_log(as_user):
    as_user("school-xigang1")  # a login row in 大连
    html = as_user("audit-admin").get("/admin/audit/?page_size=100").get_data(as_text=True)
    assert "周静（大连市西岗区实验学校）" in html  # the audit screen names people by name and unit (issue 14)


@pytest.mark.parametrize("who", ("heping", "province", "admin", "security-admin", "audit-admin"))
def test_nobody_creates_edits_or_deletes_an_audit_row(app, as_user, who):
    as_user("school-heping1")  # leaves a login row
    with app.app_context():
        row = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
        rid, before = row.id, (row.action, row.user_email, row.detail)
        count = db.session.scalar(select(func.count()).select_from(AuditLog))
    c = as_user(who)
    token_page = "/admin/"
    c.post_form(f"/admin/audit/edit/?id={rid}", {"action": "forged", "detail": "x"}, token_from=token_page)
    c.post_form("/admin/audit/delete/", {"id": str(rid)}, token_from=token_page)
    c.post_form("/admin/audit/action/", {"action": "delete", "rowid": [str(rid)]}, token_from=token_page)
    c.post_form("/admin/audit/ajax/update/", {"list_form_pk": str(rid), "detail": "x"}, token_from=token_page)
    c.post_form("/admin/audit/new/", {"action": "forged"}, token_from=token_page)
    with app.app_context():
        row = db.session.get(AuditLog, rid)
        assert row is not None and (row.action, row.user_email, row.detail) == before
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "forged")) == 0
        # the logins of this test add rows; none was taken away
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) >= count


def test_the_audit_view_offers_no_create_edit_or_delete(app):
    view = next(v for v in _views(app) if v.endpoint == "audit")
    assert not (view.can_create or view.can_edit or view.can_delete)


def test_audit_rows_refuse_orm_updates_and_deletes(ctx):
    from services import audit

    row = audit.record(None, "login", "user", 1)
    db.session.flush()
    row.detail = "forged"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    row = audit.record(None, "login", "user", 1)
    db.session.flush()
    db.session.delete(row)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()


def test_administrator_manages_units_but_does_not_move_pupils(app, as_user):
    from models.org import OrgUnit

    with app.app_context():
        county = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "210102"))
        heping1 = school(HEPING1).id
    c = as_user("admin")
    resp = c.post_form("/admin/school/new/", {"code": "2121000099", "name": "沈阳市和平区新建小学", "school_kind": "primary",
                                              "parent": str(county), "active": "y"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    with app.app_context():
        made = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "2121000099"))
        assert made is not None and made.supervisor_id == county
    # a merger or closure moves pupils' records: not the system administrator's
    assert c.get(f"/admin/school/{heping1}/merge").status_code == 403
    assert 'id="school-actions"' not in c.get(f"/admin/school/details/?id={heping1}").get_data(as_text=True)
