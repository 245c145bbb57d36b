"""A county official's main journey in chromium (issue 14, point 10): 和平区教育局 opens 待我处理,
approves the last step of one request and refuses another with a reason; a refusal without a
reason is not taken. Assertions lean on element ids, field names and the data."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask

from cli.realistic import make_request
from extensions import db
from models.changes import ChangeRequest
from tests.e2e.helpers import log_in, log_out

pytestmark = pytest.mark.e2e

OFFICIAL = "heping@xueji.demo"  # 和平区教育局学籍股
TERM_DAY = date(2026, 11, 10)  # a Tuesday of the autumn term
REASON = "医院诊断证明未加盖公章，请补充后重新申请"


def _waiting_at_heping(app: Flask) -> dict[str, int]:
    """A correction and a suspension of pupils of 和平区第一小学, each at its authority's step."""
    with app.test_request_context():
        made = {code: make_request(code, "pending:2") for code in ("correction", "suspension")}
        for req in made.values():
            step = next(s for s in req.steps if s.seq == req.current_seq)
            assert step.role == "authority" and step.unit.code == "210102", (req.type, step.role, step.unit.name)
        out = {code: req.id for code, req in made.items()}
        db.session.commit()
        db.session.remove()
    return out


def _state(app: Flask, request_id: int) -> tuple[str, list[tuple[str | None, str | None]]]:
    with app.app_context():
        req = db.session.get(ChangeRequest, request_id)
        out = (req.status, [(s.decision, s.comment) for s in req.steps])
        db.session.remove()
    return out


def _decide(page, decision: str, comment: str) -> None:
    page.check(f"#decide input[name=decision][value={decision}]")
    page.fill("#decide textarea[name=comment]", comment)
    with page.expect_navigation():
        page.click("#submit-decision")


def test_county_official_approves_one_step_and_refuses_another_with_a_reason(
        app: Flask, new_page, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.transfer_helpers import at

    at(monkeypatch, TERM_DAY)
    ids = _waiting_at_heping(app)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the decision form asks confirm()
    log_in(page, OFFICIAL)
    assert "/login" not in page.url

    # 待我处理 lists both requests; the list leads to each request's page.
    resp = page.goto("/admin/requests/?queue=waiting")
    assert resp is not None and resp.status == 200
    for request_id in ids.values():
        assert page.locator(f"a[href*='/admin/requests/{request_id}/']").count() >= 1, \
            f"request #{request_id} is not in 待我处理"

    # Approve the correction: the last step, so the request is done.
    page.goto(f"/admin/requests/{ids['correction']}/")
    _decide(page, "approve", "材料齐全，同意更正")
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    status, steps = _state(app, ids["correction"])
    assert status == "completed" and steps[-1] == ("approved", "材料齐全，同意更正"), (status, steps)
    assert page.locator("#decide").count() == 0, "a decision form is still offered after the last step"

    # Refuse the suspension: without a reason it is not taken; with one it is, and the page shows it.
    page.goto(f"/admin/requests/{ids['suspension']}/")
    _decide(page, "reject", "")
    assert page.locator(".alert-danger").count() >= 1, "a refusal without a reason gave no error"
    assert _state(app, ids["suspension"])[0] == "pending", "a refusal without a reason was taken"
    page.goto(f"/admin/requests/{ids['suspension']}/")
    _decide(page, "reject", REASON)
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    status, steps = _state(app, ids["suspension"])
    assert status == "rejected" and steps[-1] == ("rejected", REASON), (status, steps)
    assert REASON in page.locator("#change-request").inner_text(), "the refusal's reason is not on the request page"
    assert re.search(r"/admin/requests/\d+/?$", page.url), page.url

    # Neither is waiting any more.
    page.goto("/admin/requests/?queue=waiting")
    for request_id in ids.values():
        assert page.locator(f"a[href*='/admin/requests/{request_id}/']").count() == 0, \
            f"request #{request_id} is still in 待我处理 after the decision"
    log_out(page)
