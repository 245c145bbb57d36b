"""The whole four-party transfer (第十三–十六条) through the browser, one login per party.

沈阳市沈河区第一小学 (receiving) takes a pupil of 沈阳市和平区第一小学 (sending):
receiving school → 沈河区教育局 → sending school → 和平区教育局, then 报到 at the receiving school.
Assertions lean on element ids and on the data, not on the wording of our own labels.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from extensions import db
from models.changes import ChangeRequest
from models.org import OrgUnit
from models.student import Student
from services.ids import mask_xjh
from services.pupil_identity import mask_name
from tests.e2e.helpers import log_in, log_out

pytestmark = pytest.mark.e2e

SENDING_SCHOOL = "2121000001"  # 沈阳市和平区第一小学
RECEIVING_SCHOOL_NAME = "沈阳市沈河区第一小学"
RECEIVING_REGISTRAR = "school-shenhe1@xueji.demo"
RECEIVING_AUTHORITY = "shenhe@xueji.demo"
SENDING_REGISTRAR = "school-heping1@xueji.demo"
SENDING_AUTHORITY = "heping@xueji.demo"
DECIDERS = (  # step → (account, the name shown as decider)
    (1, RECEIVING_REGISTRAR, "孙莉（学籍管理员）"),
    (2, RECEIVING_AUTHORITY, "沈河区教育局学籍股"),
    (3, SENDING_REGISTRAR, "王丽（学籍管理员）"),
    (4, SENDING_AUTHORITY, "和平区教育局学籍股"),
)
WORKING_DAYS = re.compile(r"\d+\s*个工作日|working days?")
SHOT_FORM = "/tmp/e2e-transfer-start-form.png"
SHOT_REQUEST = "/tmp/e2e-transfer-request-after-step4.png"
SHOT_STEP1 = "/tmp/e2e-transfer-request-step1.png"
TERM_DAY = date(2026, 11, 10)  # a Tuesday in the autumn term, for runs outside the transfer window


@pytest.fixture
def in_term_time(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Transfers are only opened in term time (第十五条): on a vacation day, move the clock into the autumn term."""
    from services import clock
    from services.terms import in_transfer_window
    from tests.transfer_helpers import at

    with app.app_context():
        if not in_transfer_window(clock.today()):
            at(monkeypatch, TERM_DAY)


def _pupil(app: Flask) -> tuple[int, str, str]:
    """(id, 学籍号, name) of a primary pupil of the sending school: the receiving school finds the
    pupil by the full number and the name together, as on the family's papers (第十四条)."""
    with app.app_context():
        s = db.session.scalars(
            select(Student).join(OrgUnit, Student.school_id == OrgUnit.id)
            .where(OrgUnit.code == SENDING_SCHOOL, Student.grade <= 6, Student.status == "enrolled")
            .order_by(Student.id)
        ).first()
        assert s is not None, f"demo data has no primary pupil in {SENDING_SCHOOL}"
        out = (s.id, s.xjh, s.name)
        db.session.remove()
    return out


def _evidence(tmp_path: Path) -> list[str]:
    files = []
    for i, name in enumerate(("转学联系单.png", "学籍信息表.png", "户口簿.png")):
        path = tmp_path / name
        Image.new("RGB", (64, 48), (200, 40 * i, 30)).save(path, format="PNG")
        files.append(str(path))
    return files


def _errors(page) -> list[str]:
    return [e.strip() for e in page.locator(".alert-danger").all_inner_texts()]


def _row(page, seq: int):
    return page.locator("#steps tbody tr").nth(seq - 1)


def _accepting_dialogs(page) -> list[str]:
    """Accept every confirm() (Playwright dismisses them by default) and keep their messages."""
    messages: list[str] = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return messages


def _decide_step(new_page, request_url: str, seq: int, email: str, decider: str) -> None:
    page = new_page()
    dialogs = _accepting_dialogs(page)  # the decision form asks confirm()
    log_in(page, email)
    assert "/login" not in page.url, f"login of {email} failed"
    resp = page.goto(request_url)
    assert resp is not None and resp.status == 200, f"{email} cannot open {request_url}"
    row = _row(page, seq)
    cells = row.locator("td")
    assert cells.nth(0).inner_text().strip() == str(seq)
    assert "table-primary" in (row.get_attribute("class") or ""), f"step {seq} is not highlighted as current"
    due = cells.nth(4).inner_text()
    assert re.search(r"\d{4}-\d{2}-\d{2}", due), f"step {seq} shows no due date: {due!r}"
    assert WORKING_DAYS.search(due), f"step {seq} shows no working-day countdown: {due!r}"
    assert cells.nth(5).inner_text().strip() == "", f"step {seq} already shows a decision"
    if seq == 1:
        page.screenshot(path=SHOT_STEP1, full_page=True)

    page.check("#decide input[name=decision][value=approve]")
    page.fill("#decide textarea[name=comment]", f"第{seq}步同意")
    with page.expect_navigation():
        page.click("#submit-decision")
    assert len(dialogs) == 1 and dialogs[0].strip(), f"step {seq}: expected one confirm(), got {dialogs}"
    assert not _errors(page), f"step {seq} by {email}: {_errors(page)}"
    assert page.locator("#change-request").count() == 1, page.url

    cells = _row(page, seq).locator("td")
    assert cells.nth(5).inner_text().strip(), f"step {seq}: no decision shown"
    assert decider in cells.nth(6).inner_text(), f"step {seq}: decider {decider} not shown"
    assert cells.nth(7).inner_text().strip() == f"第{seq}步同意"
    if seq < 4:
        nxt = _row(page, seq + 1)
        assert "table-primary" in (nxt.get_attribute("class") or ""), f"step {seq + 1} did not open"
        assert WORKING_DAYS.search(nxt.locator("td").nth(4).inner_text()), f"step {seq + 1} shows no countdown"
    else:
        assert page.locator("#decide").count() == 0, "a decision form is still offered after the last step"
        assert page.locator("tr.table-primary").count() == 0
        page.screenshot(path=SHOT_REQUEST, full_page=True)
    log_out(page)
    page.context.close()


def test_whole_transfer_by_four_logins(app: Flask, new_page, tmp_path: Path, in_term_time: None) -> None:
    pupil_id, xjh, name = _pupil(app)

    # 1. The receiving registrar finds the pupil and opens the request with the three materials.
    page = new_page()
    log_in(page, RECEIVING_REGISTRAR)
    assert "/login" not in page.url
    resp = page.goto("/admin/requests/transfer/new")
    assert resp is not None and resp.status == 200
    page.fill("#lookup-term", xjh)
    page.fill("#lookup-name", name)
    with page.expect_navigation():
        page.click("#lookup-pupil")
    assert not _errors(page), _errors(page)
    found = page.locator("#pupil-found")
    found.wait_for()
    assert mask_name(name) in found.inner_text() and name not in found.inner_text()  # only what confirms the match
    assert "沈阳市和平区第一小学" in found.inner_text()
    page.select_option("select[name=start-reason_code]", "hukou_moved")
    page.check("input[name=start-hukou_changed]")
    for field, path in zip(("start-contact_form", "start-student_info", "start-hukou"), _evidence(tmp_path), strict=True):
        page.set_input_files(f"input[name={field}]", path)
    page.screenshot(path=SHOT_FORM, full_page=True)
    with page.expect_navigation():
        page.click("#open-transfer")
    assert not _errors(page), _errors(page)
    page.locator("#change-request").wait_for()
    m = re.search(r"/admin/requests/(\d+)/?$", page.url)
    assert m, f"not on a request page: {page.url}"
    request_url = f"/admin/requests/{m.group(1)}/"
    with app.app_context():
        req = db.session.get(ChangeRequest, int(m.group(1)))
        assert req.student_id == pupil_id and req.status == "pending" and req.current_seq == 1
        assert sorted(a.material for a in req.attachments) == ["contact_form", "hukou", "student_info"]
        db.session.remove()
    materials = page.locator("#materials").inner_text()
    for fname in ("转学联系单.png", "学籍信息表.png", "户口簿.png"):
        assert fname in materials
    log_out(page)
    page.context.close()

    # 2.–3. Four decisions, each by its own login.
    for seq, email, decider in DECIDERS:
        _decide_step(new_page, request_url, seq, email, decider)
    with app.app_context():
        req = db.session.get(ChangeRequest, int(m.group(1)))
        assert req.status == "approved" and req.current_seq is None
        assert [s.decision for s in req.steps] == ["approved"] * 4
        db.session.remove()

    # 4. 报到 at the receiving school: the record moves.
    page = new_page()
    dialogs = _accepting_dialogs(page)
    log_in(page, RECEIVING_REGISTRAR)
    page.goto(request_url)
    with page.expect_navigation():
        page.click("#report-arrival")
    assert len(dialogs) == 1 and dialogs[0].strip(), f"报到: expected one confirm(), got {dialogs}"
    assert not _errors(page), _errors(page)
    assert page.locator("#report-arrival").count() == 0
    resp = page.goto(f"/admin/student/?search={xjh}")
    assert resp is not None and resp.status == 200
    texts = page.locator("table.model-list tbody tr").all_inner_texts()
    shown = mask_xjh(xjh)  # lists mask the ID number inside a G-number
    assert len(texts) == 1 and shown in texts[0], f"pupil {shown} not listed once at the receiving school: {texts}"
    assert name in texts[0] and RECEIVING_SCHOOL_NAME in texts[0], texts[0]
    page.context.close()

    # The sending school no longer lists the pupil, but was told on its home page.
    page = new_page()
    log_in(page, SENDING_REGISTRAR)
    resp = page.goto(f"/admin/student/?search={xjh}")
    assert resp is not None and resp.status == 200
    listed = page.locator("table.model-list tbody tr").all_inner_texts()
    assert not any(mask_xjh(xjh) in row for row in listed), f"the pupil is still listed at the sending school: {listed}"
    page.goto("/admin/")
    notes = page.locator("#notifications")
    assert notes.count() == 1, "no notifications on the sending school's home page"
    assert name in notes.inner_text() and f"#{m.group(1)}" in notes.inner_text(), notes.inner_text()
    page.context.close()
