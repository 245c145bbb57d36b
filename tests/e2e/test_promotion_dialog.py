"""The promotion's confirmation dialog in a real browser: it appears (the form has a checkbox that
was once named `confirm` and hid window.confirm), dismissing it sends nothing, accepting it runs."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from extensions import db
from models.promotion import PromotionRun
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def _runs(app: Flask) -> list[int]:
    with app.app_context():
        promoted = list(db.session.scalars(select(PromotionRun.promoted)))
        db.session.remove()
    return promoted


def test_promotion_asks_before_it_runs(app: Flask, new_page, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.transfer_helpers import at

    at(monkeypatch, date(2027, 7, 20))  # the school year has ended: the window is open
    page = new_page()
    log_in(page, "heping@xueji.demo")
    page.goto("/admin/promotion/?unit_code=210102&school_year=2027")
    page.locator("#promotion-preview").wait_for()
    total = int(page.locator("#preview-total").inner_text())
    assert total > 0
    page.check("#checked")
    messages: list[str] = []

    def dismiss(dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#run-promotion")
    page.wait_for_timeout(500)
    assert len(messages) == 1 and str(total) in messages[0], messages
    assert _runs(app) == []  # dismissed: nothing sent
    assert page.locator("#checked").is_checked()

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.click("#run-promotion")
    assert len(messages) == 2
    assert _runs(app) == [total]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PromotionRun)) == 1
        db.session.remove()
