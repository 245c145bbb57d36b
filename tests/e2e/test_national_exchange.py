"""全国学籍对接 in chromium (issue 16, point 4): the registrar of 和平一小 uploads a national file in
which one pupil's phone differs, sees the difference side by side, ticks it, confirms, and the
change is done; no script errors, nothing refused by the CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from extensions import db
from models.student import Student
from tests.e2e.helpers import log_in
from tests.helpers import HEPING1, pupil_of, school
from tests.national_helpers import edited, exported, row_of
from tests.transfer_helpers import user

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"


def test_a_registrar_reconciles_with_the_national_system(app: Flask, new_page, tmp_path) -> None:
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        pupil_id = pupil.id
        data = exported(user("school-heping1"), school(HEPING1))
        file = tmp_path / "全国学籍.xlsx"
        file.write_bytes(edited(data, {(row_of(data, pupil_id), "联系电话"): "13755556666"}))
    problems: list[str] = []
    page = new_page()
    page.on("console", lambda m: problems.append(m.text) if "content security policy" in m.text.lower() else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda d: d.accept())
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/national/")
    assert "全国学籍对接" in page.content()
    page.set_input_files("#reconcile-file", str(file))
    page.locator("#start-reconcile").click()
    page.locator("#national-review-page").wait_for()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "national_review.png"), full_page=True)
    card = page.locator(f"#pupil-{pupil_id}")
    assert "13755556666" in card.inner_text() and "联系电话" in card.inner_text()
    card.locator(f'input[value="{pupil_id}:phone"]').check()
    page.locator("#apply-national").click()
    page.wait_for_url("**/admin/national/review")
    assert "已按全国系统修改1名学生的1项信息" in page.content()
    with app.app_context():
        assert db.session.get(Student, pupil_id).phone == "13755556666"
    assert problems == []
