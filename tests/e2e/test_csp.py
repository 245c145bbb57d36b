"""The Content-Security-Policy breaks nothing (issue 13, point 11): a school registrar and a county
official open the main pages in chromium, use the widgets whose inline handlers static/js/csp.js
replaces, and log out through the navbar; any console message about the Content Security Policy,
or any script error, fails the test."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.changes import ChangeRequest
from tests.conftest import login
from tests.e2e.helpers import log_in, log_out
from tests.helpers import HEPING1, pupil_of, student_form

pytestmark = pytest.mark.e2e


def _watch(page) -> list[str]:
    problems: list[str] = []

    def console(msg) -> None:
        if "content security policy" in msg.text.lower() or "content-security-policy" in msg.text.lower():
            problems.append(f"console {msg.type} at {page.url} {msg.location}: {msg.text}")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def _open(page, url: str, problems: list[str]) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, (url, resp and resp.status)
    page.wait_for_load_state("load")
    assert "/login" not in page.url, f"{url} sent us to the login page"
    assert not problems, (url, problems)


def _setup(app: Flask) -> tuple[int, int]:
    """A pupil of 和平一小 and an open request (a new pupil's 新生注册, opened through the form)."""
    assert login(app, "school-heping1@xueji.demo").post_form("/admin/student/new/", student_form()).status_code == 302
    with app.app_context():
        sid = pupil_of(HEPING1).id
        req = db.session.scalar(select(ChangeRequest).order_by(ChangeRequest.id.desc()))
        assert req is not None
        rid = req.id
        db.session.remove()
    return sid, rid


def test_the_csp_breaks_no_page_of_a_school_registrar_or_a_county_official(app: Flask, new_page) -> None:
    sid, rid = _setup(app)

    # The school registrar (a fresh login: the set-up's session above is replaced, and done).
    page = new_page()
    problems = _watch(page)
    log_in(page, "school-heping1@xueji.demo")
    assert "/login" not in page.url
    for url in ("/admin/", "/admin/student/", f"/admin/student/details/?id={sid}", "/admin/requests/",
                f"/admin/requests/{rid}/", "/admin/imports/"):
        _open(page, url, problems)
    # The filter menu (Flask-Admin: onclick="return false;") adds a filter row.
    _open(page, "/admin/student/", problems)
    page.locator("a.nav-link.dropdown-toggle", has_text="添加筛选器").click()
    page.locator("a.dropdown-item.filter").first.click()
    page.locator("#filter_form tr").first.wait_for()
    assert "/admin/student/" in page.url and "javascript" not in page.url
    # The inline list of guardians (Flask-Admin: onclick="faForm.addInlineField(…)") adds a block.
    _open(page, f"/admin/student/edit/?id={sid}", problems)
    adders = page.locator(".inline-field > a[id$='-button']")
    assert adders.count(), "the edit form has no inline list"
    before = page.locator(".inline-field-list > .inline-field").count()
    adders.first.click()
    assert page.locator(".inline-field-list > .inline-field").count() == before + 1
    assert not problems, problems
    log_out(page)
    assert not problems, problems

    # The county official.
    page = new_page()
    problems = _watch(page)
    log_in(page, "heping@xueji.demo")
    assert "/login" not in page.url
    for url in ("/admin/", "/admin/student/", f"/admin/student/details/?id={sid}", "/admin/requests/",
                f"/admin/requests/{rid}/"):
        _open(page, url, problems)
    # "With selected" → an action (Flask-Admin: onclick="return modelActions.execute(…)"): with no row
    # selected it says so in a dialog, which proves the call ran.
    _open(page, "/admin/requests/", problems)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator("a.nav-link.dropdown-toggle", has_text="选中的").click()
    page.locator(".dropdown-menu a.dropdown-item", has_text="同意").click()
    page.wait_for_timeout(300)
    assert dialogs, "the action menu did nothing"
    assert not problems, problems
    log_out(page)
    assert not problems, problems
