"""Passwords (issue 13, point 6): one rule wherever a password is set, a forced change when someone
else chose it, and every 180 days for authority accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from cli import DEMO_PASSWORD
from extensions import db
from models.people import Role, User
from services import clock, passwords
from tests.conftest import login
from tests.helpers import school

HEPING1 = "2121000001"
GOOD = "Huangshan#Lake77"
RULES = [  # (password, the words of the rule it breaks)
    ("Ab1#xyz", "至少需要 10 个字符"),
    ("abcdefghijk123", "四类中的三类"),  # lower case and digits only
    ("ABCDEFGHIJKL", "四类中的三类"),
    ("School-heping1!", "不得包含账号名称"),  # the e-mail's local part
    ("Password123", "最常见的 10000 个密码"),
]


def _change(client, new: str, current: str = DEMO_PASSWORD):
    return client.post_form("/change", {"password": current, "new_password": new, "new_password_confirm": new})


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.mark.parametrize("password, words", RULES)
def test_each_rule_is_refused_on_the_change_password_page(as_user, app: Flask, password: str, words: str) -> None:
    c = as_user("school-heping1")
    resp = _change(c, password)
    assert resp.status_code == 200 and words in resp.get_data(as_text=True)
    assert login(app, "school-heping1@xueji.demo").get("/admin/").status_code == 200  # unchanged


def test_a_good_password_is_accepted_and_restarts_the_age(as_user, app: Flask) -> None:
    c = as_user("school-heping1")
    resp = _change(c, GOOD)
    assert resp.status_code == 302
    with app.app_context():
        user = _user("school-heping1@xueji.demo")
        assert user.must_change_password is False and clock.now() - user.password_changed_at < timedelta(minutes=1)
    assert login(app, "school-heping1@xueji.demo", GOOD).get("/admin/").status_code == 200


def test_the_demo_password_passes_the_rule(ctx) -> None:
    assert passwords.problems(DEMO_PASSWORD, "heping@xueji.demo", "和平区教育局学籍股") == []
    assert DEMO_PASSWORD.lower() not in passwords.common_passwords() and len(passwords.common_passwords()) == 10_000


def test_the_users_name_is_refused_too(ctx) -> None:
    assert passwords.problems("Wanglili#2026", "school-x@xueji.demo", "wanglili") == [
        "密码不得包含账号名称（邮箱 @ 前的部分或姓名）。"]


def _new_registrar(as_user, app: Flask, password: str, email: str = "new.one@xueji.demo"):
    with app.app_context():
        unit = school(HEPING1).id
        rid = db.session.scalar(select(Role.id).where(Role.name == "registrar"))
    return as_user("heping").post_form("/admin/users/new/", {
        "email": email, "name": "新来的", "unit": str(unit), "roles": str(rid), "active": "y", "new_password": password,
    })


@pytest.mark.parametrize("password, words", RULES[:2] + RULES[4:])
def test_the_user_admin_applies_the_same_rule(as_user, app: Flask, password: str, words: str) -> None:
    resp = _new_registrar(as_user, app, password)
    assert resp.status_code == 200 and words in resp.get_data(as_text=True)
    with app.app_context():
        assert _user("new.one@xueji.demo") is None


def test_the_user_admin_refuses_the_new_accounts_own_name(as_user, app: Flask) -> None:
    resp = _new_registrar(as_user, app, "Li.Xiaoming#2026", email="li.xiaoming@xueji.demo")
    assert resp.status_code == 200 and "不得包含账号名称" in resp.get_data(as_text=True)


def test_an_account_made_by_someone_else_changes_its_password_first(as_user, app: Flask) -> None:
    assert _new_registrar(as_user, app, GOOD).status_code == 302
    c = login(app, "new.one@xueji.demo", GOOD)
    for url in ("/admin/", "/admin/student/", "/admin/requests/"):
        resp = c.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/change"), url
    page = c.get("/change").get_data(as_text=True)
    assert "您的密码由他人设置" in page
    assert _change(c, GOOD, current=GOOD).status_code == 200  # the same password again is refused
    assert _change(c, "Eigenes#Passwort9", current=GOOD).status_code == 302
    assert c.get("/admin/student/").status_code == 200
    with app.app_context():
        assert _user("new.one@xueji.demo").must_change_password is False


def test_a_password_reset_by_an_administrator_is_changed_at_next_login(as_user, app: Flask) -> None:
    with app.app_context():
        uid = _user("school-heping2@xueji.demo").id
    admin = as_user("admin")
    form = admin.get(f"/admin/users/edit/?id={uid}").get_data(as_text=True)
    assert "new_password" in form
    with app.app_context():
        user = _user("school-heping2@xueji.demo")
        data = {"email": user.email, "name": user.name, "unit": str(user.unit_id),
                "roles": [str(r.id) for r in user.roles], "active": "y", "new_password": GOOD}
    assert admin.post_form(f"/admin/users/edit/?id={uid}", data).status_code == 302
    c = login(app, "school-heping2@xueji.demo", GOOD)
    assert c.get("/admin/").headers["Location"].endswith("/change")


def _age_password(app: Flask, email: str, days: int) -> None:
    with app.app_context():
        _user(email).password_changed_at = clock.now() - timedelta(days=days)
        db.session.commit()


def test_an_officials_password_expires_after_180_days(as_user, app: Flask) -> None:
    _age_password(app, "heping@xueji.demo", 179)
    assert as_user("heping").get("/admin/").status_code == 200
    _age_password(app, "heping@xueji.demo", 181)
    c = as_user("heping")
    resp = c.get("/admin/student/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/change")
    assert "超过 180 天未更换" in c.get("/change").get_data(as_text=True)
    assert _change(c, GOOD).status_code == 302
    assert c.get("/admin/student/").status_code == 200


def test_a_school_registrars_password_does_not_expire(as_user, app: Flask) -> None:
    _age_password(app, "school-heping1@xueji.demo", 400)
    assert as_user("school-heping1").get("/admin/student/").status_code == 200


def test_the_demo_accounts_are_loaded_as_already_changed(app: Flask) -> None:
    with app.app_context():
        users = db.session.scalars(select(User).where(User.email.like("%@xueji.demo"))).all()
        assert users and all(not u.must_change_password and u.password_changed_at for u in users)


def test_moving_the_school_calendar_does_not_expire_passwords(as_user, monkeypatch) -> None:
    """The tests (and demos) travel to next summer with services.clock; a password's age is real time."""
    later = clock.now() + timedelta(days=400)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert as_user("heping").get("/admin/student/").status_code == 200
