"""Quick editing in chromium (issue 14, point 6): the registrar of 和平一小 edits a pupil's phone in
its cell of the list (Flask-Admin's x-editable, under the strict Content-Security-Policy), sees the
saved value, then types an invalid one and sees the Chinese error in the cell's popover. Any
console message about the Content Security Policy, or any script error, fails the test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.student import Student
from tests.e2e.helpers import log_in, watch
from tests.helpers import HEPING1, school

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"
SLOW_MS = 20_000  # two cores shared with other runs: a save may take a while


def test_a_registrar_edits_a_phone_in_the_list(app: Flask, page) -> None:
    with app.app_context():
        pupil = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled")
                                  .order_by(Student.id.desc()))
        pid = pupil.id
        db.session.remove()
    problems = watch(page)
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/student/?sort=0&desc=1")
    assert page.locator(f'a[name="migrant_child"][data-pk="{pid}"]').inner_text().strip() in ("是", "否")  # not an icon
    cell = page.locator(f'a[name="phone"][data-pk="{pid}"]')
    cell.click()
    editor = page.locator(".editable-popup .editable-input input.form-control")
    editor.fill("13912345678")
    page.locator(".editable-popup .editable-submit").click()
    expect(cell).to_have_text("13912345678", timeout=SLOW_MS)
    expect(page.locator(".editable-popup")).to_have_count(0, timeout=SLOW_MS)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "quick_edit_saved.png"))
    with app.app_context():
        assert db.session.get(Student, pid).phone == "13912345678"
        db.session.remove()

    cell.click()
    editor.fill("12ab")
    page.locator(".editable-popup .editable-submit").click()
    error = page.locator(".editable-popup .editable-error-block")
    expect(error).to_have_text("联系电话应为 5–20 位数字。", timeout=SLOW_MS)
    page.screenshot(path=str(SHOTS / "quick_edit_error.png"))
    page.locator(".editable-popup .editable-cancel").click()
    expect(page.locator(".editable-popup")).to_have_count(0, timeout=SLOW_MS)
    with app.app_context():
        assert db.session.get(Student, pid).phone == "13912345678"
        db.session.remove()

    # A yes/no field through its drop-down (the choices by name), and 户口所在地 shown by name once saved.
    flag = page.locator(f'a[name="migrant_child"][data-pk="{pid}"]')
    target = "是" if flag.inner_text().strip() == "否" else "否"
    flag.click()
    page.locator(".select2-results li", has_text=target).first.click()
    page.locator(".editable-popup .editable-submit").click()
    expect(flag).to_have_text(target, timeout=SLOW_MS)
    expect(page.locator(".editable-popup")).to_have_count(0, timeout=SLOW_MS)  # the drop-down's popover is gone
    hukou = page.locator(f'a[name="hukou_location"][data-pk="{pid}"]')
    hukou.click()
    # The popover of this cell (aria-describedby), not any .editable-popup: on a slow machine the
    # previous drop-down's popover may still be in the page while this one opens.
    expect(hukou).to_have_attribute("aria-describedby", re.compile(r"^popover"), timeout=SLOW_MS)
    popover = page.locator(f"#{hukou.get_attribute('aria-describedby')}")
    expect(popover.locator(".editable-submit")).to_be_visible(timeout=SLOW_MS)  # shown, not still fading in
    field = popover.locator(".editable-input input.form-control")
    field.fill("210103")
    expect(field).to_have_value("210103")
    field.press("Enter")  # x-editable submits a text input on Enter, as a registrar would
    expect(hukou).to_contain_text("沈河区", timeout=SLOW_MS)  # the division's name, not the code typed
    page.screenshot(path=str(SHOTS / "quick_edit_names.png"))
    with app.app_context():
        saved = db.session.get(Student, pid)
        assert saved.migrant_child == (target == "是") and saved.hukou_location == "210103"
        db.session.remove()
    assert not problems, problems
