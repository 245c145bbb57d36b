"""致家长的通知书 (issue 16 point 6): printed for an approved transfer or a granted suspension only,
addressed to the guardians by name, numbered and audited; through the export gate on the page."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from changes import suspension
from cli.realistic import make_guardian, make_pupil
from extensions import db
from models.audit import AuditLog
from models.changes import PrintedDocument
from models.export_request import ExportDownload
from models.status import ILLNESS
from services import family_letter, pdf, workflows
from services.errors import RuleViolation
from tests.changes.helpers import decide_all, give_all, staff
from tests.helpers import HEPING1
from tests.transfer_helpers import approve, at, start, upload, user

MON = date(2026, 11, 2)


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


def text_of(data: bytes) -> str:
    """The PDF's text as poppler's pdftotext reads it (pypdf when poppler is not installed)."""
    if shutil.which("pdftotext") is None:
        return pdf.extract_text(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                              text=True).stdout


def flat(text: str) -> str:
    return "".join(text.split())


def transfer_of_a_new_pupil(name: str):
    """A second transfer 和平一小 → 沈河一小, of a pupil of its own (one open request per pupil)."""
    from changes import transfer

    pupil = make_pupil(HEPING1, name=name, grade=3)
    db.session.flush()
    req = transfer.start_transfer(pupil, user("school-shenhe1"), reason_code="hukou_moved", reason_text="随父母迁居",
                                  hukou_changed=True)
    for m in ("contact_form", "student_info", "hukou"):
        workflows.attach(req, m, upload(), user("school-shenhe1"))
    db.session.commit()
    return req


def approved_transfer():
    req = start()
    approve(req, "school-shenhe1", "shenhe", "school-heping1", "heping")
    return req


def granted_suspension(pupil, ends_on: date):
    req = suspension.request_suspension(pupil, staff(pupil.school_id), reason_kind=ILLNESS, starts_on=MON, ends_on=ends_on,
                                        reason_text="住院治疗")
    give_all(req)
    decide_all(req)
    return req


def test_an_approved_transfer_prints_the_pupil_the_two_schools_and_the_day(ctx):
    req = approved_transfer()
    data, doc = family_letter.print_letter(req, user("school-shenhe1"))
    db.session.commit()
    text = flat(text_of(data))
    assert "致家长的通知书" in text and req.student.name in text
    assert "沈阳市和平区第一小学" in text and "沈阳市沈河区第一小学" in text
    assert "2026年11月2日" in text  # approved on the day all four agreed
    assert "报到" in text and doc.number in text and doc.number.startswith("JZ2026")
    guardian = req.student.guardians[0].name if req.student.guardians else family_letter.NO_GUARDIAN
    assert guardian in text
    assert db.session.get(PrintedDocument, doc.id).kind == "family_letter"
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "print.family_letter"))
    assert row is not None and doc.number in row.detail


def test_a_completed_transfer_still_prints_with_the_day_the_pupil_reported(ctx):
    from services import arrivals

    req = approved_transfer()
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    text = flat(text_of(family_letter.print_letter(req, user("school-shenhe1"))[0]))
    assert "报到日期" in text and "学籍已转入" in text


def test_a_suspension_ending_before_the_spring_festival_returns_after_the_holiday(ctx):
    pupil = make_pupil(HEPING1, name="𠮷祥", grade=3, guardians=[make_guardian(name="𠮷大勇")])
    db.session.flush()
    req = granted_suspension(pupil, date(2027, 2, 4))  # 2027 春节 is 6 February: the holiday follows the last day
    data, _doc = family_letter.print_letter(req, user("school-heping1"))
    letter = family_letter.letter_context(req)
    assert letter.returns_on == date(2027, 2, 15) and letter.return_estimated  # 2027's notice is not out yet
    text = flat(text_of(data))
    assert "2026年11月2日至2027年2月4日" in text and "2027年2月15日" in text
    assert "估算" in text and "复学" in text and "延长" in text
    assert "祥" in text and "大勇" in text
    assert '<span style="font-family: xuejirare;">𠮷</span>' in str(family_letter.pdf_rare.rare(letter.pupil))


def test_rare_characters_are_drawn_in_the_fallback_face(ctx):
    pupil = make_pupil(HEPING1, name="王𠮷", grade=3, guardians=[make_guardian(name="王𠮷父")])
    db.session.flush()
    req = granted_suspension(pupil, date(2027, 1, 15))
    data, _doc = family_letter.print_letter(req, user("school-heping1"))
    fonts = pdf.embedded_fonts(data)
    if Path(family_letter.pdf_rare.DEFAULT_FONTS[1]).exists():
        assert any("Hana" in f for f in fonts), fonts
    assert "𠮷" in text_of(data) or any("Hana" in f for f in fonts)


def test_a_pupil_without_guardians_is_addressed_to_the_parents(ctx):
    pupil = make_pupil(HEPING1, name="无监护人", grade=3, guardians=[])
    db.session.flush()
    req = granted_suspension(pupil, date(2027, 1, 15))
    assert family_letter.guardian_names(req) == "学生家长（监护人）"
    assert "尊敬的学生家长（监护人）" in flat(text_of(family_letter.print_letter(req, user("school-heping1"))[0]))


def test_several_guardians_are_named_together(ctx):
    pupil = make_pupil(HEPING1, name="双亲", grade=3,
                       guardians=[make_guardian("1", name="张父"), make_guardian("2", name="李母")])
    db.session.flush()
    req = granted_suspension(pupil, date(2027, 1, 15))
    assert family_letter.guardian_names(req) == "张父、李母"


def test_no_letter_in_any_other_state(ctx):
    pending = start()
    with pytest.raises(RuleViolation, match="已批准"):
        family_letter.print_letter(pending, user("school-shenhe1"))
    db.session.rollback()
    assert not family_letter.offered(pending)
    refused = transfer_of_a_new_pupil("被拒转学")
    workflows.decide(refused.current_step.id, user("school-shenhe1"), False, "不予接收")
    db.session.commit()
    assert family_letter.letter_refusal(refused) is not None
    pupil = make_pupil(HEPING1, name="待批休学", grade=3)
    db.session.flush()
    waiting = suspension.request_suspension(pupil, staff(pupil.school_id), reason_kind=ILLNESS, starts_on=MON,
                                            ends_on=date(2027, 1, 15), reason_text="住院")
    assert family_letter.letter_refusal(waiting) is not None
    assert db.session.scalar(select(PrintedDocument).where(PrintedDocument.kind == "family_letter")) is None


def test_the_page_offers_the_letter_and_the_gate_registers_it(app, as_user, monkeypatch):
    with app.test_request_context():
        req = approved_transfer()
        pending = transfer_of_a_new_pupil("待批转学")
        ids = req.id, pending.id
    c = as_user("school-shenhe1")
    page = c.get(f"/admin/requests/{ids[0]}/").get_data(as_text=True)
    assert "打印致家长的通知书" in page and f"/admin/requests/{ids[0]}/family-letter.pdf" in page
    resp = c.get(f"/admin/requests/{ids[0]}/family-letter.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "沈阳市沈河区第一小学" in flat(text_of(resp.data))
    with app.app_context():
        line = db.session.scalar(select(ExportDownload).where(ExportDownload.kind == "family_letter"))
        assert line is not None
    assert "打印致家长的通知书" not in c.get(f"/admin/requests/{ids[1]}/").get_data(as_text=True)
    refused = c.get(f"/admin/requests/{ids[1]}/family-letter.pdf")
    assert refused.status_code == 302 and refused.mimetype != "application/pdf"
    followed = c.get(refused.headers["Location"]).get_data(as_text=True)
    assert "致家长的通知书只能为已批准的转学或已批准的休学打印" in followed
    with app.app_context():
        assert db.session.scalar(select(ExportDownload).where(ExportDownload.detail.contains(f"#{ids[1]} "))) is None
    # out of scope: 大连's registrar does not see the request at all
    assert as_user("school-xigang1").get(f"/admin/requests/{ids[0]}/family-letter.pdf").status_code == 404


def test_a_school_of_another_county_gets_no_letter_for_a_request_it_cannot_see(ctx):
    """The service checks the scope itself: a registrar of 大连 asking for a 沈阳 transfer's letter."""
    from services.errors import NotInScope

    req = approved_transfer()
    with pytest.raises(NotInScope):
        family_letter.print_letter(req, user("dalian"))
    assert db.session.scalar(select(PrintedDocument).where(PrintedDocument.request_id == req.id)) is None
