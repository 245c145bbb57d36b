"""The bulk class assignment in chromium (issue 14, point 5): the registrar of 和平一小 ticks two
pupils, chooses 分班 under 选中的, sees the confirmation page listing them, confirms with a class
and a reason, and reads the report on the list. No script errors, nothing refused by the CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from extensions import db
from models.student import Student
from tests.builders import make_class
from tests.e2e.helpers import log_in
from tests.helpers import HEPING1

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"


def test_a_registrar_assigns_two_pupils_to_a_class(app: Flask, page) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "content security policy" in m.text.lower() else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/student/")
    boxes = page.locator("input.action-checkbox")
    ids = [boxes.nth(i).get_attribute("value") for i in range(2)]
    with app.app_context():  # the class the school has set up for each pupil's grade (班级管理)
        for i in ids:
            make_class(HEPING1, db.session.get(Student, int(i)).grade, "6班")
        db.session.commit()
    for i in range(2):
        boxes.nth(i).check()
    page.locator("a.dropdown-toggle", has_text="选中的").click()
    page.locator('a[data-action="assign_class"]').click()
    page.locator("#batch-confirm-form").wait_for()
    assert page.locator("tr[id^='batch-pupil-']").count() == 2
    assert "为所选学生分班" in page.locator("h3").inner_text()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "bulk_class_confirm.png"), full_page=True)
    page.select_option("#class_name", "6班")
    page.fill("#reason", "新学期重新分班")
    page.locator("#batch-confirm-button").click()
    page.wait_for_url("**/admin/student/**")
    assert "已将 2 名学生分到 6班。" in page.locator(".alert").first.inner_text()
    page.screenshot(path=str(SHOTS / "bulk_class_report.png"))
    with app.app_context():
        assert [db.session.get(Student, int(i)).class_name for i in ids] == ["6班", "6班"]
        db.session.remove()
    assert not problems, problems
