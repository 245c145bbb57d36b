"""A city official's main journey in chromium (issue 14, point 10): 沈阳市教育局 reads its dashboard,
then exports the pupil list within the rules: at city level the list's export becomes an export
request (第二十八条, issue 13's gate), submitted with its purpose and listed under 我的申请.
No file leaves before the approval. Assertions lean on element ids and on the data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.export_request import PENDING, ExportRequest
from models.people import User
from tests.e2e.helpers import log_in, log_out

pytestmark = pytest.mark.e2e

OFFICIAL = "shenyang@xueji.demo"  # 沈阳市教育局学籍科
PURPOSE = "2026学年沈阳市在籍学生数据核查，报市教育局基础教育处"
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _requests_of(app: Flask, email: str) -> list[tuple[int, str, str, str]]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        out = [(r.id, r.kind, r.purpose, r.status) for r in db.session.scalars(
            select(ExportRequest).where(ExportRequest.requester_id == user.id).order_by(ExportRequest.id))]
        db.session.remove()
    return out


def test_city_official_reads_the_dashboard_and_asks_to_export(app: Flask, new_page) -> None:
    page = new_page()
    downloads: list[str] = []
    page.on("download", lambda d: downloads.append(d.suggested_filename))
    log_in(page, OFFICIAL)
    assert "/login" not in page.url

    # The dashboard: the city's pupils, by grade, and what waits.
    page.goto("/admin/")
    page.locator("#dashboard").wait_for()
    pupils = page.locator("#dash-pupils").inner_text()
    assert re.search(r"\d", pupils), f"the dashboard shows no number of pupils: {pupils!r}"
    assert page.locator("#dash-grade-table").count() == 1 and page.locator("#dash-queue-waiting").count() == 1
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard--shenyang.png"), full_page=True)

    # The pupil list's export: a city official gets the request form, not a file.
    page.goto("/admin/student/")
    link = page.locator("a[href*='/admin/student/export/csv/']").first
    href = link.get_attribute("href")
    assert href, "the pupil list offers no export"
    resp = page.goto(href)
    assert resp is not None and resp.status == 200 and "/admin/export_requests/new" in page.url, page.url
    assert not downloads, f"a file left without approval: {downloads}"
    page.fill("#purpose", PURPOSE)
    with page.expect_navigation():
        page.click("#submit-request")
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    m = re.search(r"/admin/export_requests/(\d+)/?$", page.url)
    assert m, f"not on the export request's page: {page.url}"
    assert PURPOSE in page.inner_text("body")
    mine = _requests_of(app, OFFICIAL)
    assert mine == [(int(m.group(1)), "student_list", PURPOSE, PENDING)], mine

    # 我的申请 lists it, waiting for approval; still no file.
    page.goto("/admin/export_requests/")
    row = page.locator(f"tr:has(a[href*='/admin/export_requests/{m.group(1)}/'])")
    assert row.count() == 1, "the request is not listed under 我的申请"
    assert "待审批" in row.inner_text(), row.inner_text()
    assert not downloads, f"a file left without approval: {downloads}"
    log_out(page)
