"""A registrar's main journey in chromium (issue 14, point 10): enroll a new pupil with a guardian
(新建学生), correct a core field by a correction request (更正基础信息), and, at the receiving
school, start a transfer of a pupil of another school, found by ID number and name (issue 13).
Assertions lean on element ids, field names and the data, not on the wording of our labels."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from extensions import db
from models.changes import ChangeRequest
from models.org import OrgUnit
from models.student import Student
from services.ids import make_check_digit
from tests.e2e.helpers import log_in, log_out

pytestmark = pytest.mark.e2e

REGISTRAR = "school-heping1@xueji.demo"  # 沈阳市和平区第一小学
SCHOOL = "2121000001"
RECEIVING = "school-shenhe1@xueji.demo"  # 沈阳市沈河区第一小学
NAME = "王𠮷"  # 𠮷: outside the BMP, as on many household registers
BIRTH = date(2019, 3, 14)  # grade 1 in 2026–27
BODY = f"210102{BIRTH:%Y%m%d}123"  # 和平区, odd sequence: a boy
ID_NUMBER = BODY + make_check_digit(BODY)
GUARDIAN, GUARDIAN_PHONE = "王建华", "13840001234"
TERM_DAY = date(2026, 11, 10)  # a Tuesday in the autumn term: transfers are opened in term time


def _errors(page) -> list[str]:
    return [e.strip() for e in page.locator(".alert-danger, .invalid-feedback, .help-block.text-danger").all_inner_texts()
            if e.strip()]


def _png(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    Image.new("RGB", (64, 48), (30, 120, 200)).save(path, format="PNG")
    return str(path)


def _select(page, name: str, value: str) -> None:
    """A drop-down, also one that select2 has dressed (the real <select> stays in the form)."""
    page.locator(f"select[name='{name}']").select_option(value, force=True)


def _created(app: Flask) -> dict | None:
    with app.app_context():
        pupil = db.session.scalars(select(Student).where(Student.id_number == ID_NUMBER)).first()
        out = None if pupil is None else {
            "id": pupil.id, "name": pupil.name, "birth_date": pupil.birth_date, "school": pupil.school.code,
            "guardians": [(g.name, g.phone) for g in pupil.guardians], "status": pupil.status,
            "requests": [(r.type, r.status) for r in db.session.scalars(
                select(ChangeRequest).where(ChangeRequest.student_id == pupil.id))]}
        db.session.remove()
    return out


def _identify_and_choose(page, id_number: str, name: str) -> None:
    """Find the pupil by ID number and name and choose the reason 户口迁移 (household moved)."""
    page.fill("#lookup-term", id_number)
    page.fill("#lookup-name", name)
    with page.expect_navigation():
        page.click("#lookup-pupil")
    assert not _errors(page), _errors(page)
    page.locator("#pupil-found").wait_for()
    assert "沈阳市和平区第一小学" in page.locator("#pupil-found").inner_text()
    _select(page, "start-reason_code", "hukou_moved")
    page.check("input[name=start-hukou_changed]")


def _enrolled(app: Flask, school: str) -> tuple[int, str]:
    with app.app_context():
        s = db.session.scalars(
            select(Student).join(OrgUnit, Student.school_id == OrgUnit.id)
            .where(OrgUnit.code == school, Student.status == "enrolled").order_by(Student.id)
        ).first()
        assert s is not None
        out = (s.id, s.name)
        db.session.remove()
    return out


def _pupil_of(app: Flask, school: str) -> tuple[str, str]:
    """(ID number, name) of a primary pupil of the school, as the family's papers show them."""
    with app.app_context():
        s = db.session.scalars(
            select(Student).join(OrgUnit, Student.school_id == OrgUnit.id)
            .where(OrgUnit.code == school, Student.grade <= 5, Student.status == "enrolled",
                   Student.id_number.is_not(None))
            .order_by(Student.id.desc())
        ).first()
        assert s is not None
        out = (s.id_number, s.name)
        db.session.remove()
    return out


def test_registrar_enrolls_a_pupil_and_corrects_a_name(app: Flask, new_page, tmp_path: Path) -> None:
    page = new_page()
    log_in(page, REGISTRAR)
    assert "/login" not in page.url

    # 1. 新建学生: the record with a guardian.
    page.goto("/admin/student/new/")
    page.fill("#name", NAME)
    _select(page, "gender", "1")
    page.fill("#birth_date", BIRTH.isoformat())
    _select(page, "id_type", "1")
    page.fill("#id_number", ID_NUMBER)
    _select(page, "grade", "1")
    page.fill("#class_name", "1班")
    page.fill("#current_address", "沈阳市和平区南京南街12号")
    page.fill("#phone", GUARDIAN_PHONE)
    page.click("#guardians-button")
    guardian = page.locator(".inline-field-list .inline-field").last
    guardian.locator("select[name$='-relation']").select_option(index=1, force=True)
    guardian.locator("input[name$='-name']").fill(GUARDIAN)
    guardian.locator("input[name$='-phone']").fill(GUARDIAN_PHONE)
    with page.expect_navigation():
        page.locator("form.admin-form input[type=submit]").first.click()
    assert not _errors(page), _errors(page)
    pupil = _created(app)
    assert pupil is not None, f"no pupil was created; the page says: {page.inner_text('body')[:500]}"
    assert (pupil["name"], pupil["birth_date"], pupil["school"]) == (NAME, BIRTH, SCHOOL)
    assert pupil["guardians"] == [(GUARDIAN, GUARDIAN_PHONE)]
    # A new record waits for the authority's check (第七条): the enrollment goes to 和平区教育局 at once.
    assert pupil["status"] == "pending" and pupil["requests"] == [("enrollment", "pending")], pupil

    # 2. 更正基础信息 from the page of an enrolled pupil: the name, as the household register has it.
    pupil_id, old_name = _enrolled(app, SCHOOL)
    new_name = old_name[0] + "𠮷"
    page.goto(f"/admin/student/details/?id={pupil_id}")
    assert old_name in page.inner_text("body")
    with page.expect_navigation():
        page.click(f"a[href*='/correction/new?student_id={pupil_id}']")
    page.fill("input[name=name]", new_name)
    page.fill("textarea[name=reason]", "户口簿上的名为“𠮷”，入学登记时录错")
    page.set_input_files("input[name=evidence]", _png(tmp_path, "户口簿.png"))
    with page.expect_navigation():
        page.locator("#student-request-form form button").click()
    assert not _errors(page), _errors(page)
    page.locator("#change-request").wait_for()
    m = re.search(r"/admin/requests/(\d+)/?$", page.url)
    assert m, f"not on a request page: {page.url}"
    shown = page.locator("#change-request").inner_text()
    assert old_name in shown and new_name in shown, f"the request page does not show the name old → new: {shown[:300]}"
    with app.app_context():
        req = db.session.get(ChangeRequest, int(m.group(1)))
        assert req.type == "correction" and req.status == "pending" and req.student_id == pupil_id
        assert [a.material for a in req.attachments] == ["hukou"]
        db.session.remove()
    log_out(page)
    page.context.close()


def test_receiving_registrar_starts_a_transfer_with_its_materials(app: Flask, new_page, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """发起转学 at the receiving school: the pupil is found by ID number and name together; the form
    names the documents the reason needs before anything is opened (第十四条), not at step 1."""
    from tests.transfer_helpers import at

    at(monkeypatch, TERM_DAY)
    id_number, name = _pupil_of(app, SCHOOL)
    page = new_page()
    log_in(page, RECEIVING)
    page.goto("/admin/requests/transfer/new")
    _identify_and_choose(page, id_number, name)
    with app.app_context():
        before = db.session.query(ChangeRequest).filter_by(type="transfer").count()
        db.session.remove()
    try:  # without the materials: the browser may refuse to send the form, or the server answers
        with page.expect_navigation(timeout=3000):
            page.click("#open-transfer")
    except PlaywrightTimeout:
        pass
    with app.app_context():
        assert db.session.query(ChangeRequest).filter_by(type="transfer").count() == before, \
            "a transfer was opened without its materials"
        db.session.remove()
    # Named next to the form (an error), or marked required so that the browser names each one.
    said = " ".join(_errors(page))
    for field, document in (("start-contact_form", "转学联系表"), ("start-hukou", "户口")):
        required = page.locator(f"input[name={field}]:invalid").count() == 1
        assert document in said or required, f"the form does not say that {document} is missing: {said!r}"
    if page.locator("#open-transfer").count() == 0 or page.locator("#pupil-found").count() == 0:
        _identify_and_choose(page, id_number, name)
    else:
        _select(page, "start-reason_code", "hukou_moved")
        page.check("input[name=start-hukou_changed]")
    for field, fname in (("start-contact_form", "转学联系单.png"), ("start-student_info", "学籍信息表.png"),
                         ("start-hukou", "户口簿.png")):
        page.set_input_files(f"input[name={field}]", _png(tmp_path, fname))
    with page.expect_navigation():
        page.click("#open-transfer")
    assert not _errors(page), _errors(page)
    page.locator("#change-request").wait_for()
    assert re.search(r"/admin/requests/\d+/?$", page.url), page.url
    with app.app_context():
        assert db.session.query(ChangeRequest).filter_by(type="transfer").count() == before + 1
        db.session.remove()
    page.context.close()
