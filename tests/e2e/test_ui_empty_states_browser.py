"""Empty and first-run states in Chromium (issue 14, point 8): the registrar of a school with no
pupils sees what to do and follows the link to the import; an empty queue and a year with no
register submitted say what comes next. Screenshots in /tmp for review."""

from __future__ import annotations

from tests.e2e.helpers import log_in

SHOT_PUPILS = "/tmp/e2e-empty-pupils.png"
SHOT_QUEUE = "/tmp/e2e-empty-queue.png"
SHOT_ROSTERS = "/tmp/e2e-no-roster-yet.png"


def test_a_school_without_pupils_is_led_to_the_import(page):
    log_in(page, "school-special@xueji.demo")
    page.goto("/admin/student/")
    message = page.locator("#no-pupils")
    assert message.is_visible()
    assert message.inner_text().startswith("本校还没有学生。")
    page.screenshot(path=SHOT_PUPILS, full_page=True)
    with page.expect_navigation():
        message.get_by_role("link", name="从 Excel 导入学生").click()
    assert page.url.endswith("/admin/imports/")

    page.goto("/admin/requests/?queue=waiting")
    assert page.get_by_text("暂无待办。新的申请提交后会出现在这里。").is_visible()
    page.screenshot(path=SHOT_QUEUE, full_page=True)

    page.goto("/admin/rosters/")
    none = page.locator("#roster-none")
    assert none.is_visible() and "尚未报送" in none.inner_text()
    page.screenshot(path=SHOT_ROSTERS, full_page=True)
