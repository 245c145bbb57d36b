"""The pupils' list served from its kept frame (admin/list_frames.py) in chromium: on the second view
of a URL the page is the kept frame around rows read again, with this request's CSRF token and CSP
nonce in its holes. The registrar of 和平一小 reloads the list, then on the kept page opens the
filter menu, shows a masked ID number (a POST with the page's token) and edits a phone in its cell.
Any script error, a script or stylesheet refused by the Content-Security-Policy, or a 400 (a token
that did not match) fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from admin import list_frames
from extensions import db
from models.student import Student
from tests.e2e.helpers import log_in, watch
from tests.helpers import HEPING1, school

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"
SLOW_MS = 20_000
URL = "/admin/student/?sort=0&desc=1"


def test_the_kept_list_page_works_like_a_fresh_one(app: Flask, page) -> None:
    with app.app_context():
        pupil = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled",
                                                        Student.id_number.is_not(None)).order_by(Student.id.desc()))
        pid, number = pupil.id, pupil.id_number
        db.session.remove()
    problems = watch(page, bad_status=(400, 403, 404, 500), resource_types=None)
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/")
    page.goto(URL)
    kept = len(list_frames._frames)
    page.reload()  # the same URL again: served from the kept frame
    assert len(list_frames._frames) == kept >= 1

    # the filter menu (Flask-Admin's script, under the page's nonce) adds a filter row
    page.locator("a.nav-link.dropdown-toggle", has_text="添加筛选器").click()
    page.locator("a.dropdown-item.filter").first.click()
    page.locator("#filter_form tr").first.wait_for()

    # the masked ID number's 显示 button posts the page's token and shows the number
    row = page.locator("tr", has=page.locator(f'a[name="phone"][data-pk="{pid}"]'))
    row.locator("button.reveal-id").first.click()
    expect(row.locator("[data-masked-id]").first).to_have_text(number, timeout=SLOW_MS)

    # a quick edit from the kept page: its cells carry this request's token
    cell = page.locator(f'a[name="phone"][data-pk="{pid}"]')
    cell.click()
    page.locator(".editable-popup .editable-input input.form-control").fill("13700137000")
    page.locator(".editable-popup .editable-submit").click()
    expect(cell).to_have_text("13700137000", timeout=SLOW_MS)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "kept_list_after_edit.png"), full_page=True)
    with app.app_context():
        assert db.session.get(Student, pid).phone == "13700137000"
        db.session.remove()
    assert not problems, problems
