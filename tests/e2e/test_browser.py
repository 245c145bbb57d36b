"""End-to-end browser tests: the real app served over HTTP, driven by headless chromium.

The fixtures (live_server, browser, page, new_page) are in conftest.py.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from cli import DEMO_PASSWORD
from extensions import db
from models.org import OrgUnit
from models.student import Student
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e

REGISTRAR = "school-heping1@xueji.demo"
OWN_SCHOOL = "2121000001"    # 沈阳市和平区第一小学, the registrar's school
OTHER_SCHOOL = "2121000003"  # 沈阳市沈河区第一小学, outside the registrar's scope
SCREENSHOT = "/tmp/e2e-student-list.png"


def _names_of_school(app: Flask, code: str) -> set[str]:
    with app.app_context():
        names = set(db.session.scalars(
            select(Student.name).join(OrgUnit, Student.school_id == OrgUnit.id).where(OrgUnit.code == code)
        ))
        db.session.remove()
    return names


def test_registrar_logs_in_and_sees_chinese_student_list(app: Flask, page) -> None:
    own = _names_of_school(app, OWN_SCHOOL)
    other = _names_of_school(app, OTHER_SCHOOL)
    assert own, f"demo data has no pupil in school {OWN_SCHOOL}"
    # Two-character names can repeat across schools; only names unique to the other school prove scoping.
    foreign = other - own
    assert foreign, f"every pupil name of school {OTHER_SCHOOL} also occurs in {OWN_SCHOOL}"

    log_in(page, REGISTRAR, DEMO_PASSWORD)
    assert "/login" not in page.url, f"login failed, still at {page.url}"
    assert page.url.rstrip("/").endswith("/admin"), page.url

    resp = page.goto("/admin/student/")
    assert resp is not None and resp.status == 200
    page.wait_for_selector("table.model-list")
    body = page.inner_text("body")
    page.screenshot(path=SCREENSHOT, full_page=True)

    assert "列表" in body
    assert "搜索" in body or page.locator("input[placeholder*='搜索']").count() > 0
    cells = set(page.locator("table.model-list tbody td").all_inner_texts())
    cells = {c.strip() for c in cells}
    shown_own = own & cells
    assert shown_own, f"none of the school's pupils {sorted(own)} is listed"
    shown_foreign = foreign & cells
    assert not shown_foreign, f"pupils of school {OTHER_SCHOOL} leak into the list: {sorted(shown_foreign)}"
    assert "沈阳市沈河区第一小学" not in body


def test_login_with_wrong_password_stays_on_login(page) -> None:
    log_in(page, REGISTRAR, "not-the-password")
    assert "/login" in page.url, f"wrong password should not log in, but landed at {page.url}"
    assert page.locator("input[name=password]").count() == 1
    body = page.inner_text("body")
    # Flask-Security's messages (Chinese catalogue, or English if untranslated), shown in the form or as a flash.
    errors = ("密码不正确", "密码错误", "密码无效", "不正确", "无效", "错误", "Invalid password", "Invalid")
    assert any(e in body for e in errors), f"no error message on the login page:\n{body}"
