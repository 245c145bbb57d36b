"""The pupil's photo in chromium (issue 16, point 1): the registrar of 和平一小 opens a pupil, picks a
photo, confirms nothing (the first photo replaces none), sees it in the ID-photo frame; the county
official sees the photo and no upload form. No script errors, nothing refused by the CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.student import Student
from tests.e2e.helpers import log_in
from tests.services.test_photos import jpeg

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"


def test_a_registrar_uploads_a_photo_and_the_county_sees_it(app: Flask, new_page, tmp_path) -> None:
    with app.app_context():
        pupil_id = db.session.scalar(select(Student.id).where(Student.xjh.is_not(None)).order_by(Student.id))
    photo = tmp_path / "照片.jpg"
    photo.write_bytes(jpeg(900, 1200, (30, 90, 200)))
    problems: list[str] = []
    page = new_page()
    page.on("console", lambda m: problems.append(m.text) if "content security policy" in m.text.lower() else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    log_in(page, "school-heping1@xueji.demo")
    page.goto(f"/admin/student/details/?id={pupil_id}")
    assert page.locator("#pupil-photo-missing").inner_text() == "暂无照片"
    page.set_input_files("#pupil-photo-file", str(photo))
    page.locator("#pupil-photo-upload").click()
    page.locator("#pupil-photo-image").wait_for()
    assert "照片已保存" in page.content()
    size = page.eval_on_selector("#pupil-photo-image", "img => [img.naturalWidth, img.naturalHeight]")
    assert size == [358, 441]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "pupil_photo_registrar.png"))
    official = new_page()
    log_in(official, "heping@xueji.demo")
    official.goto(f"/admin/student/details/?id={pupil_id}")
    official.locator("#pupil-photo-image").wait_for()
    assert official.locator("#pupil-photo-form").count() == 0
    assert official.eval_on_selector("#pupil-photo-image", "img => img.naturalWidth") == 358
    assert not problems, problems
