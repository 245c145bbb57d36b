"""学生卡 in chromium (issue 16, point 3): the registrar of 和平一小 issues a pupil's card from the
pupil's page (confirming the dialog), reads the card and its history, cancels it as lost with a
reason, and the public check of the card's QR address says 已作废. No script errors, nothing
refused by the CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.pupil_card import PupilCard
from tests.e2e.helpers import log_in
from tests.helpers import HEPING1, pupil_of

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "screenshots"


def test_a_registrar_issues_and_cancels_a_student_card(app: Flask, page) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "content security policy" in m.text.lower() else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    with app.app_context():
        sid = pupil_of(HEPING1).id
    log_in(page, "school-heping1@xueji.demo")
    page.goto(f"/admin/student/details/?id={sid}")
    assert "暂无有效学生卡" in page.locator("#pupil-card").inner_text()
    page.locator("#pupil-card-issue").click()
    page.locator("#pupil-card-current").wait_for()
    panel = page.locator("#pupil-card").inner_text()
    assert "有效" in panel and "XSK" in panel and "挂失作废" in panel and "补办" in panel
    SHOTS.mkdir(exist_ok=True)
    page.locator("#pupil-card").screenshot(path=str(SHOTS / "pupil_card_panel.png"))
    page.fill("#pupil-card-revoke-form input[name=reason]", "遗失")
    page.locator("#pupil-card-revoke").click()
    page.locator("#pupil-card-none").wait_for()
    history = page.locator("#pupil-card-history").inner_text()
    assert "已挂失作废" in history and "遗失" in history
    with app.app_context():
        token = db.session.scalar(select(PupilCard.token).where(PupilCard.student_id == sid))
        db.session.remove()
    page.goto(f"/verify/card/{token}")
    assert "已作废" in page.locator("#verify-result").inner_text()
    page.screenshot(path=str(SHOTS / "pupil_card_verify.png"))
    assert not problems, problems
