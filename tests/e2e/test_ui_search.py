"""The pupil list's search and saved filters in a real browser (issue 14, point 4): 王小明 is
found by 小明 from the search box, the filter is saved under a name, opened and deleted again.
Screenshots: tests/e2e/screenshots/search-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from extensions import db
from tests.builders import make_guardian, make_pupil
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]
SHOTS = Path(__file__).resolve().parent / "screenshots"


def test_search_by_part_of_the_name_and_save_the_filter(app: Flask, new_page) -> None:
    with app.app_context():
        make_pupil("2121000001", name="王小明", guardians=[make_guardian("1", name="王大明", phone="13912345678")])
        db.session.commit()
        db.session.remove()
    SHOTS.mkdir(exist_ok=True)
    page = new_page()
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/student/")
    box = page.locator("input[name=search]")
    assert box.get_attribute("placeholder") == "姓名、身份证件号或学籍号后4至6位、监护人电话"
    box.fill("小明")
    with page.expect_navigation():
        box.press("Enter")
    table = page.locator("table.model-list")
    assert "王小明" in table.inner_text()
    page.screenshot(path=str(SHOTS / "search-name.png"), full_page=True)

    page.fill("#saved-filter-name", "我校的小明")
    with page.expect_navigation():
        page.click("#saved-filters button:has-text('保存当前筛选和搜索')")
    assert "已保存筛选“我校的小明”" in page.inner_text("body")
    page.goto("/admin/student/")
    with page.expect_navigation():
        page.click("#saved-filters a:has-text('我校的小明')")
    assert "search=" in page.url and "王小明" in page.locator("table.model-list").inner_text()
    page.screenshot(path=str(SHOTS / "search-saved-filter.png"), full_page=True)

    with page.expect_navigation():
        page.click("#saved-filters button:has-text('删除')")
    assert "已删除筛选“我校的小明”" in page.inner_text("body")
    assert page.locator("#saved-filters a:has-text('我校的小明')").count() == 0

    box = page.locator("input[name=search]")
    box.fill("1391234 5678")
    with page.expect_navigation():
        box.press("Enter")
    assert "王小明" in page.locator("table.model-list").inner_text()
