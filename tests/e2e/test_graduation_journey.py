"""毕业 (第二十四条) through the browser: graduating a class and verifying one certificate on the public page.

沈阳市和平区第二中学 compiles its 毕业生花名册 in early July, marks the assessment results with the
page's three controls (a row's button, the checked rows, "the rest"), submits it before 30 July
(第十二条); 和平区教育局 approves it from its queue; the school issues the class's certificates and
prints them as one PDF; anybody checks one diploma on the public /verify page, without login.
Assertions lean on element ids and on the data, not on the wording of our labels.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select, update

from extensions import db
from models.changes import ChangeRequest
from models.graduation import COMPLETED, COMPLETION, DIPLOMA, FAILED, GRADUATED, PASSED, Certificate, GraduationRecord
from models.org import OrgUnit
from models.student import Student
from services import change_codes, graduation
from services.certificates import verification
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e

SCHOOL = "2221000002"  # 沈阳市和平区第二中学, a junior school: grade 9 graduates
REGISTRAR, AUTHORITY = "school-heping2@xueji.demo", "heping@xueji.demo"
DAY = date(2027, 7, 5)  # a Monday of the summer of 2027, before the 30 July deadline
YEAR = 2027
CLASS_SIZE = 3
SHOT_ROSTER = "/tmp/e2e-roster.png"
SHOT_REQUEST = "/tmp/e2e-graduation-request.png"
SHOT_CLASS = "/tmp/e2e-certificate-class.png"
SHOT_JOB = "/tmp/e2e-certificate-job.png"
SHOT_VERIFY = "/tmp/e2e-verify.png"
SHOT_UNKNOWN = "/tmp/e2e-verify-unknown.png"
CLASS_PDF = "/tmp/e2e-certificates.pdf"  # kept for a look at the printed pages


def _graduating_class(app: Flask) -> tuple[int, list[int]]:
    """(school id, pupil ids): CLASS_SIZE pupils of the school put into grade 9 and in school, every
    other grade-9 pupil of the school moved to grade 8, so that the roster is small."""
    with app.app_context():
        school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == SCHOOL))
        assert school is not None and graduation.graduating_grade(school) == 9
        ids = list(db.session.scalars(
            select(Student.id).where(Student.school_id == school.id).order_by(Student.id).limit(CLASS_SIZE)))
        assert len(ids) == CLASS_SIZE, f"demo data has fewer than {CLASS_SIZE} pupils in {SCHOOL}"
        db.session.execute(update(Student).where(Student.school_id == school.id, Student.grade == 9, Student.id.not_in(ids))
                           .values(grade=8))
        db.session.execute(update(Student).where(Student.id.in_(ids))
                           .values(grade=9, status="enrolled", promotion_run_id=None, version_id=Student.version_id + 1))
        db.session.commit()
        out = (school.id, ids)
        db.session.remove()
    return out


def _errors(page) -> list[str]:
    return [e.strip() for e in page.locator(".alert-danger").all_inner_texts()]


def _accepting_dialogs(page) -> list[str]:
    """Accept every confirm() (Playwright dismisses them by default) and keep their messages."""
    messages: list[str] = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return messages


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)
    assert not _errors(page), f"after {selector}: {_errors(page)}"


def _count(page, element_id: str) -> int:
    return int(page.locator(f"#{element_id}").inner_text().strip())


def _lines(page) -> dict[int, str]:
    """line id → its assessment (data-assessment), as the roster shows them."""
    rows = page.locator("#roster-lines tbody tr[id^=line-]")
    return {int(rows.nth(i).get_attribute("id").removeprefix("line-")): rows.nth(i).get_attribute("data-assessment") or ""
            for i in range(rows.count())}


def test_graduate_a_class_and_verify_a_diploma(app: Flask, new_page, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.transfer_helpers import at

    at(monkeypatch, DAY)
    with app.app_context():  # the calendar is the province's configuration
        assert graduation.graduation_year() == YEAR and graduation.days_to_deadline(YEAR) > 0
    school_id, pupil_ids = _graduating_class(app)
    roster_url = f"/admin/graduation/{school_id}/{YEAR}/"

    # 1. The school compiles its roster, marks the results with the page's three controls, submits it.
    page = new_page()
    dialogs = _accepting_dialogs(page)
    log_in(page, REGISTRAR)
    assert "/login" not in page.url, f"login of {REGISTRAR} failed"
    resp = page.goto("/admin/graduation/")  # a school goes straight to this summer's roster
    assert resp is not None and resp.status == 200
    assert page.url.endswith(roster_url), page.url
    assert page.locator("#roster-empty").count() == 1 and _count(page, "roster-total") == 0
    _submit(page, "#compile-roster")
    lines = _lines(page)
    assert len(lines) == CLASS_SIZE and set(lines.values()) == {""}, lines
    assert (_count(page, "roster-total"), _count(page, "roster-unassessed")) == (CLASS_SIZE, CLASS_SIZE)
    with app.app_context():
        listed = dict(db.session.execute(select(GraduationRecord.id, GraduationRecord.student_id)
                                         .where(GraduationRecord.school_id == school_id, GraduationRecord.year == YEAR)).all())
        db.session.remove()
    assert set(listed) == set(lines) and sorted(listed.values()) == sorted(pupil_ids)
    failing, batch, rest = list(lines)

    _submit(page, f"#line-{failing} button[name=one][value='{failing}:failed']")  # a row's own button
    page.check(f"#line-{batch} input.line-check")  # the checked rows
    _submit(page, "#mark-passed")
    assert len(dialogs) == 0
    _submit(page, "#mark-rest-passed")  # the rest, after a confirm()
    assert len(dialogs) == 1 and dialogs[0].strip(), dialogs
    assert _lines(page) == {failing: FAILED, batch: PASSED, rest: PASSED}
    assert [_count(page, i) for i in ("roster-total", "roster-passed", "roster-failed", "roster-unassessed")] == [3, 2, 1, 0]
    assert page.locator("#mark-rest-passed").count() == 0
    page.screenshot(path=SHOT_ROSTER, full_page=True)

    with page.expect_navigation():
        page.click("#submit-roster")  # confirm(), then the request page
    assert len(dialogs) == 2 and dialogs[1].strip(), dialogs
    assert not _errors(page), _errors(page)
    page.locator("#change-request").wait_for()
    m = re.search(r"/admin/requests/(\d+)/?$", page.url)
    assert m, f"not on a request page: {page.url}"
    request_id = int(m.group(1))
    assert page.locator("#decide").count() == 0, "the school may not decide its own roster"
    page.goto(roster_url)  # locked while the authority decides
    assert page.locator("#compile-roster, #submit-roster, #mark-rest-passed, #batch-assess, .line-check").count() == 0
    assert f"#{request_id}" in page.locator("#roster-request").inner_text()
    page.context.close()

    # 2. 和平区教育局 opens the request from its queue of rosters and approves it.
    page = new_page()
    dialogs = _accepting_dialogs(page)
    log_in(page, AUTHORITY)
    assert "/login" not in page.url, f"login of {AUTHORITY} failed"
    page.goto("/admin/graduation/")
    waiting = page.locator(f"#rosters-waiting #waiting-{request_id}")
    assert waiting.count() == 1, page.locator("#rosters-waiting").inner_text()
    with page.expect_navigation():
        waiting.locator(f"a[href$='/requests/{request_id}/']").click()
    page.locator("#change-request").wait_for()
    assert page.locator("#request-subject").get_attribute("href").rstrip("/").endswith(roster_url.rstrip("/"))
    # 第二十四条: the county organises the assessment; it confirms the results on the roster, then decides.
    page.goto(roster_url)
    with page.expect_navigation():
        page.click("#confirm-results")  # confirm()
    assert not _errors(page), _errors(page)
    assert page.locator("#confirm-results").count() == 0 and "和平区教育局" in page.locator("#roster-lines").inner_text()
    page.goto(f"/admin/requests/{request_id}/")
    page.locator("#change-request").wait_for()
    page.check("#decide input[name=decision][value=approve]")
    page.fill("#decide textarea[name=comment]", "同意")
    with page.expect_navigation():
        page.click("#submit-decision")
    assert len(dialogs) == 2 and all(d.strip() for d in dialogs), dialogs
    assert not _errors(page), _errors(page)
    assert page.locator("#decide").count() == 0, "a decision form is still offered after the approval"
    page.screenshot(path=SHOT_REQUEST, full_page=True)
    page.context.close()

    # 3. The data: 毕业 for who passed, 结业 for who failed, the request completed.
    outcome_of = {failing: COMPLETED, batch: GRADUATED, rest: GRADUATED}
    with app.app_context():
        req = db.session.get(ChangeRequest, request_id)
        assert (req.type, req.status, req.from_school_id) == (change_codes.GRADUATION, "completed", school_id)
        assert [s.decision for s in req.steps] == ["approved"]
        records = {r.id: r for r in db.session.scalars(select(GraduationRecord).where(GraduationRecord.id.in_(lines)))}
        assert {i: r.outcome for i, r in records.items()} == outcome_of
        assert {r.request_id for r in records.values()} == {request_id}
        statuses = dict(db.session.execute(select(Student.id, Student.status).where(Student.id.in_(pupil_ids))).all())
        assert statuses == {listed[i]: outcome_of[i] for i in lines}
        db.session.remove()

    # 4. The school issues the class's certificates and prints them as one PDF.
    page = new_page()
    dialogs = _accepting_dialogs(page)
    log_in(page, REGISTRAR)
    resp = page.goto("/admin/certificates/class/")
    assert resp is not None and resp.status == 200
    page.locator("#certificate-class").wait_for()
    assert page.locator("#print-class-form button").is_disabled(), "printing is offered before anything was issued"
    with page.expect_navigation():
        page.click("#issue-class-form button")
    assert len(dialogs) == 1 and dialogs[0].strip(), dialogs
    assert not _errors(page), _errors(page)
    assert page.locator("#issue-class-form button").is_disabled(), "certificates are still due after issuing the class"
    with app.app_context():
        certs = list(db.session.scalars(select(Certificate).where(Certificate.graduation_record_id.in_(lines))
                                        .order_by(Certificate.id)))
        kinds = {c.graduation_record_id: c.kind for c in certs}
        assert kinds == {failing: COMPLETION, batch: DIPLOMA, rest: DIPLOMA}
        assert all(c.status == "valid" and c.principal_name == "张伟" for c in certs)
        numbers = {c.id: c.number for c in certs}
        diploma = next(c for c in certs if c.kind == DIPLOMA)
        diploma_id, code, holder = diploma.id, diploma.verify_code, diploma.student.name
        db.session.remove()
    for cert_id, number in numbers.items():  # each row links to its certificate
        assert page.locator(f"#roster a[href$='/certificates/{cert_id}/']").inner_text().strip() == number
    page.screenshot(path=SHOT_CLASS, full_page=True)

    with page.expect_navigation():
        page.click("#print-class-form button")
    page.locator("#certificate-job").wait_for()
    page.wait_for_selector("#job-done, #job-failed", timeout=30_000)  # a large class prints in the background
    assert page.locator("#job-failed").count() == 0, page.locator("#job-failed").inner_text()
    assert page.locator("#job-progress").get_attribute("data-finished") == "true"
    assert page.locator("#job-count").inner_text().replace(" ", "") == f"{CLASS_SIZE}/{CLASS_SIZE}"
    page.screenshot(path=SHOT_JOB, full_page=True)
    href = page.locator("#download-batch").get_attribute("href")
    pdf = page.context.request.get(href)  # the page's own cookies
    assert pdf.status == 200 and pdf.headers["content-type"].split(";")[0] == "application/pdf", pdf.headers
    body = pdf.body()
    assert body.startswith(b"%PDF-")
    Path(CLASS_PDF).write_bytes(body)
    assert len(PdfReader(io.BytesIO(body)).pages) == CLASS_SIZE
    with page.expect_download() as download:  # the button itself downloads it
        page.click("#download-batch")
    assert download.value.suggested_filename.endswith(".pdf")
    page.context.close()

    # 5. Anybody checks the diploma on the public page, without login.
    page = new_page()
    resp = page.goto("/verify")
    assert resp is not None and resp.status == 200
    assert page.locator("#verify-result").count() == 0
    page.fill("#verify-form input[name=code]", verification.code_words(code).lower())  # as read out from the paper
    with page.expect_navigation():
        page.click("#verify-form button")
    assert page.url.endswith(f"/verify/{code}"), page.url
    assert page.locator("#verify-result").get_attribute("data-status") == "valid"
    assert "alert-success" in (page.locator("#verify-result").get_attribute("class") or "")
    facts = page.locator("#verify-facts").inner_text()
    assert verification.mask_name(holder) in facts and numbers[diploma_id] in facts and "沈阳市和平区第二中学" in facts
    assert holder not in page.content(), "the public page shows the full name"
    assert "/login" not in page.url and page.locator("#logout-form").count() == 0
    page.screenshot(path=SHOT_VERIFY, full_page=True)

    unknown = next(c for c in iter(verification.new_code, None) if c != code)
    resp = page.goto(f"/verify/{unknown}")
    assert resp is not None and resp.status == 404
    assert page.locator("#verify-result").get_attribute("data-status") == "not-found"
    assert page.locator("#verify-facts").count() == 0
    page.screenshot(path=SHOT_UNKNOWN, full_page=True)
