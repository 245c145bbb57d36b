"""Issue 14, point 2 in the browser: the approver of a transfer's current step opens its request page
and sees the summary box at the top, in Chinese: 转出学校 → 转入学校, the reason, the dates, the
evidence as thumbnails, the steps with the working-day countdown and what to do now."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from tests.e2e.helpers import log_in
from tests.e2e.test_transfer_journey import in_term_time  # noqa: F401  (fixture: transfers open in term time)

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).parent / "screenshots"
ENGLISH = re.compile(r"\b(True|False|None|pending|approved|transfer|hukou_moved|From|To|Status)\b")


def test_the_approver_sees_the_summary_box_in_chinese(app: Flask, new_page, in_term_time: None) -> None:  # noqa: F811
    from tests.transfer_helpers import start

    with app.test_request_context():
        req = start()  # 沈河区第一小学 takes a pupil of 和平区第一小学, with the three materials (committed)
        rid, sending, receiving = req.id, req.from_school.name, req.to_school.name
    page = new_page()
    log_in(page, "school-shenhe1@xueji.demo")  # the receiving school decides step 1
    resp = page.goto(f"/admin/requests/{rid}/")
    assert resp is not None and resp.status == 200
    box = page.locator("#request-summary")
    assert box.is_visible()
    box_top = box.bounding_box()
    steps_top = page.locator("#steps").bounding_box()
    assert box_top is not None and steps_top is not None and box_top["y"] < steps_top["y"], "the summary is not at the top"
    text = box.inner_text()
    assert "申请摘要" in text
    assert re.search(rf"转出学校：\s*{sending}\s*→\s*转入学校：\s*{receiving}", text), text
    assert "随父母迁居" in text and re.search(r"\d+\s*个工作日", text)
    assert page.locator("#summary-next").inner_text().startswith("您可以：同意或驳回本步骤")
    thumbs = page.locator("#summary-evidence img.evidence-thumb")
    assert thumbs.count() == 3
    for i in range(3):  # each thumbnail loaded through the scoped route (a broken image has no width)
        assert thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert not ENGLISH.search(text), ENGLISH.findall(text)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "request-page-summary.png"), full_page=True)
