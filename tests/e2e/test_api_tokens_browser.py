"""数据接口令牌 in chromium (issue 16, point 5): the system administrator issues a token for 和平区,
copies the secret shown once, the API answers to it (and not to the browser's own session), and
the token is revoked after the confirmation page. Screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services import clock
from tests.e2e.helpers import log_in

SHOTS = Path(__file__).parent / "screenshots"
pytestmark = pytest.mark.e2e


def test_the_administrator_issues_uses_and_revokes_a_token(new_page, live_server):
    import urllib.request

    page = new_page()
    log_in(page, "admin@xueji.demo")
    page.goto("/admin/api_tokens/")
    assert "尚未签发令牌" in page.inner_text("#token-list")
    page.click("#issue-token")
    page.fill("#name", "和平区智慧教育平台")
    page.select_option("#scope_unit", label="和平区教育局")
    page.fill("#expires_on", (clock.today() + timedelta(days=180)).isoformat())
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "api-token-new.png"), full_page=True)
    with page.expect_navigation():
        page.click("#submit-token")
    secret = page.inner_text("#token-secret").strip()
    assert secret.startswith("xjt_") and "只显示这一次" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "api-token-issued.png"), full_page=True)

    def call(headers: dict[str, str]) -> int:
        req = urllib.request.Request(f"{live_server}/api/v1/pupils?limit=1", headers=headers)
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    assert call({"Authorization": f"Bearer {secret}"}) == 200
    assert call({"Cookie": cookies}) == 401  # the administrator's session is no token

    page.goto("/admin/api_tokens/")
    row = page.locator("#token-list tbody tr").first
    assert "和平区智慧教育平台" in row.inner_text() and secret not in page.content()
    page.screenshot(path=str(SHOTS / "api-tokens.png"), full_page=True)
    row.locator("a", has_text="吊销").click()
    assert "确定吊销" in page.inner_text("body")
    with page.expect_navigation():
        page.click("#confirm-revoke")
    assert "已吊销" in page.inner_text("#token-list")
    assert call({"Authorization": f"Bearer {secret}"}) == 401
