"""我的消息 in chromium (issue 16 point 6): a transfer approved by the receiving school reaches the
sending school's registrar; the badge beside the name counts it, the inbox lists it, 查看 opens the
request and marks it read. Screenshots go to tests/e2e/screenshots/ (git-ignored), for review."""

from __future__ import annotations

from pathlib import Path

from extensions import db
from tests.e2e.helpers import log_in
from tests.transfer_helpers import approve, start

SHOTS = Path(__file__).parent / "screenshots"


def test_a_registrar_reads_a_message_and_opens_its_request(app, new_page):
    with app.test_request_context():
        req = start()
        approve(req, "school-shenhe1", "shenhe")  # 和平一小: the other school agreed, and step 3 waits for it
        request_id = req.id
        db.session.remove()
    page = new_page()
    log_in(page, "school-heping1@xueji.demo")
    page.goto("/admin/")
    assert page.locator("#navbar-unread-count").inner_text() == "2"
    page.locator("#navbar-who").click()
    page.locator("#navbar-messages").click()
    page.wait_for_selector("#inbox-list")
    rows = page.locator("#inbox-list tbody tr")
    assert rows.count() == 2
    assert "待您审批" in rows.nth(0).inner_text() and "同意转入" in rows.nth(1).inner_text()  # newest first
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)
    with page.expect_navigation():
        rows.nth(0).locator("button[name=open]").click()
    assert page.url.endswith(f"/admin/requests/{request_id}/")
    assert page.locator("#navbar-unread-count").inner_text() == "1"
    page.goto("/admin/messages/preferences")
    page.select_option("#mail-step_waiting", "daily")
    with page.expect_navigation():
        page.click("#prefs-form button[type=submit]")
    assert "提醒方式已保存" in page.content()
    assert page.locator("#mail-step_waiting").input_value() == "daily"
    page.screenshot(path=str(SHOTS / "inbox-preferences.png"), full_page=True)
