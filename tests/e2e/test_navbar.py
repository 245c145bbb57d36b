"""The navbar in chromium (issue 14, point 3): who is logged in, their unit and role, the 待我处理
badge, and the menu grouped by what a registrar does. Screenshots of the navbar as a school
registrar and as a county official go to tests/e2e/screenshots/ (git-ignored), for review."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import log_in

SHOTS = Path(__file__).parent / "screenshots"
GROUPS = ["学生", "学籍变动", "待我处理", "名册与报表", "证书", "统计"]


@pytest.mark.parametrize(("who", "unit", "role"), [
    ("school-heping1", "沈阳市和平区第一小学", "学籍管理员"),
    ("heping", "和平区教育局", "县级教育行政部门"),
])
def test_the_navbar_says_who_is_logged_in(new_page, who, unit, role):
    page = new_page()
    log_in(page, f"{who}@xueji.demo")
    page.goto("/admin/")
    nav = page.locator("nav.navbar")
    assert page.locator("#navbar-unit").inner_text() == unit
    assert page.locator("#navbar-roles").inner_text() == role
    assert page.locator("#navbar-name").inner_text().strip()
    badge = page.locator("#navbar-waiting-count")
    assert badge.is_visible() and badge.inner_text().isdigit()
    assert badge.inner_text() == page.locator("#queue-waiting").inner_text()  # the home page's 待我核办
    shown = [t.strip() for t in nav.locator("ul.mr-auto > li > a.dropdown-toggle").all_inner_texts()]
    assert [g for g in shown if g in GROUPS] == GROUPS
    # The navbar fits on one line: the menu, the badge, the user's box and the logout button.
    box = page.locator("#navbar-who").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1400
    assert nav.bounding_box()["height"] < 80, nav.bounding_box()
    # Open 学籍变动 to show its entries in the screenshot.
    nav.locator("a.dropdown-toggle", has_text="学籍变动").click()
    page.locator("ul.dropdown-menu.show").first.wait_for(state="visible")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"navbar-{who}.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 620})
    assert page.title() == "首页 - 学籍通"
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith("/favicon.ico")
