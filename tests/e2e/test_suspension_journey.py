"""休学 then 复学 (第十八–十九条) through the browser: the registrar files each from the pupil's
page with the evidence, the school and then 和平区教育局 approve, each by its own login.
Assertions lean on element ids and on the data, not on the wording of our labels."""

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
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e

SCHOOL = "2121000001"  # 沈阳市和平区第一小学
REGISTRAR, AUTHORITY = "school-heping1@xueji.demo", "heping@xueji.demo"
TERM_DAY = date(2026, 11, 10)  # a Tuesday of the autumn term: not the graduating grade's last term
SHOT = "/tmp/e2e-suspension-form.png"


def _pupil(app: Flask) -> tuple[int, int]:
    with app.app_context():
        s = db.session.scalars(
            select(Student).join(OrgUnit, Student.school_id == OrgUnit.id)
            .where(OrgUnit.code == SCHOOL, Student.grade < 6, Student.status == "enrolled").order_by(Student.id)
        ).first()
        assert s is not None
        out = (s.id, s.grade)
        db.session.remove()
    return out


def _state(app: Flask, pupil_id: int) -> tuple[str, int]:
    with app.app_context():
        s = db.session.get(Student, pupil_id)
        out = (s.status, s.grade)
        db.session.remove()
    return out


def _errors(page) -> list[str]:
    return [e.strip() for e in page.locator(".alert-danger").all_inner_texts()]


def _file(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    Image.new("RGB", (64, 48), (30, 120, 200)).save(path, format="PNG")
    return str(path)


def _open_from_pupil_page(new_page, pupil_id: int, kind: str, fill, files: dict[str, str]) -> str:
    page = new_page()
    log_in(page, REGISTRAR)
    page.goto(f"/admin/student/details/?id={pupil_id}")
    with page.expect_navigation():
        page.click(f"#status-{kind}")
    assert page.locator("#status-new").get_attribute("data-kind") == kind
    fill(page)
    for material, path in files.items():
        page.set_input_files(f"input[name=file_{material}]", path)
    if kind == "suspension":
        page.screenshot(path=SHOT, full_page=True)
    with page.expect_navigation():
        page.click("#open-request")
    assert not _errors(page), _errors(page)
    page.locator("#change-request").wait_for()
    m = re.search(r"/admin/requests/(\d+)/?$", page.url)
    assert m, page.url
    page.context.close()
    return f"/admin/requests/{m.group(1)}/"


def _approve(new_page, url: str, email: str) -> None:
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the decision form asks confirm()
    log_in(page, email)
    page.goto(url)
    page.check("#decide input[name=decision][value=approve]")
    page.fill("#decide textarea[name=comment]", "同意")
    with page.expect_navigation():
        page.click("#submit-decision")
    assert not _errors(page), _errors(page)
    page.context.close()


def test_suspension_then_resumption(app: Flask, new_page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.transfer_helpers import at

    at(monkeypatch, TERM_DAY)
    pupil_id, grade = _pupil(app)

    def suspension_form(page) -> None:
        # Only the materials of the chosen reason are offered (illness: the hospital's papers).
        page.select_option("select[name=reason_kind]", "other")
        assert page.locator("input[name=file_reason_proof]").is_visible()
        assert not page.locator("input[name=file_hospital_certificate]").is_visible()
        page.select_option("select[name=reason_kind]", "illness")
        assert not page.locator("input[name=file_reason_proof]").is_visible()
        assert page.locator("input[name=file_hospital_certificate]").is_visible()
        page.fill("input[name=starts_on]", "2026-11-10")
        page.fill("textarea[name=reason_text]", "肺炎住院治疗")

    evidence = {m: _file(tmp_path, f"{m}.png") for m in ("application", "hospital_certificate", "medical_records", "receipts")}
    url = _open_from_pupil_page(new_page, pupil_id, "suspension", suspension_form, evidence)
    _approve(new_page, url, REGISTRAR)
    assert _state(app, pupil_id) == ("enrolled", grade)  # the authority has not decided yet
    _approve(new_page, url, AUTHORITY)
    assert _state(app, pupil_id) == ("suspended", grade)
    with app.app_context():
        req = db.session.get(ChangeRequest, int(url.rstrip("/").split("/")[-1]))
        assert req.type == "suspension" and req.status == "completed"
        assert (req.payload["starts_on"], req.payload["ends_on"]) == ("2026-11-10", "2027-11-09")  # one school year
        db.session.remove()

    # Back into the grade left; after an illness the recovery certificate is part of the request.
    evidence = {m: _file(tmp_path, f"{m}.png") for m in ("application", "recovery_certificate")}
    url = _open_from_pupil_page(new_page, pupil_id, "resumption", lambda page: None, evidence)
    _approve(new_page, url, REGISTRAR)
    _approve(new_page, url, AUTHORITY)
    assert _state(app, pupil_id) == ("enrolled", grade)
