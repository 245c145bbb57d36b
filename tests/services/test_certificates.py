"""Certificates of compulsory education (第二十四–二十五条): who gets which certificate, the principal
who signs it, numbering per issuing county, year and kind (also under concurrency), the public
check, revocation and reissue, the 学历证明书 that is valid only after the authority approves,
the printed page (text, embedded font, not blank, a QR code that decodes), the class printed as
one PDF, and the scope of every URL.

Roster lines (GraduationRecord) are written directly: the roster workflow is tested on its own.
和平区第二中学 (HEPING2) is a junior school of 和平区; its registrar is school-heping2 and its
principal principal-heping2 (张伟); the authority account of 和平区 is heping.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from pypdf import PdfReader
from sqlalchemy import func, select

from changes import record_proof
from extensions import db
from models.audit import AuditLog
from models.changes import ChangeRequest
from models.graduation import (
    COMPLETED,
    COMPLETION,
    DIPLOMA,
    FAILED,
    GRADUATED,
    PASSED,
    PENDING_APPROVAL,
    RECORD_PROOF,
    REVOKED,
    VALID,
    Certificate,
    GraduationRecord,
)
from models.org import OrgUnit
from models.people import PRINCIPAL, Role, User
from models.student import Student
from services import pdf, workflows
from services.certificates import batch as class_batch
from services.certificates import issuing, numbering, rendering, revocation, verification
from services.errors import NotInScope, RuleViolation
from tests.helpers import CITYDIRECT, HEPING1, HEPING2, XIGANG1, school
from tests.transfer_helpers import at, png_bytes, user

YEAR = 2027
NUMBER_RE = re.compile(r"^和平义毕字〔2027〕第(\d{6})号$")
OUTSIDERS = ("school-shenhe1", "shenhe", "school-xigang1", "school-heping1")


@pytest.fixture
def summer(monkeypatch):
    """Early July 2027: the roster of 2027 is approved and certificates are issued."""
    at(monkeypatch, date(YEAR, 7, 1))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app, summer):
    with app.test_request_context():
        yield
        db.session.rollback()


def pupils(code: str, n: int | None = None) -> list[Student]:
    rows = db.session.scalars(select(Student).join(Student.school).where(OrgUnit.code == code).order_by(Student.id)).all()
    return list(rows if n is None else rows[:n])


def roster(code: str = HEPING2, outcome: str | None = GRADUATED, *, n: int = 1, grade: int = 9, year: int = YEAR,
           skip: int = 0) -> list[GraduationRecord]:
    """Roster lines of the school's first pupils with this outcome (as after the authority's approval)."""
    unit = school(code)
    records = []
    for student in pupils(code)[skip:skip + n]:
        record = GraduationRecord(
            student_id=student.id, school_id=unit.id, scope_path=unit.path, year=year, grade=grade,
            assessment=None if outcome is None else (FAILED if outcome == COMPLETED else PASSED), outcome=outcome,
        )
        db.session.add(record)
        records.append(record)
    db.session.commit()
    return records


def issued(code: str = HEPING2, outcome: str = GRADUATED, *, n: int = 1, skip: int = 0) -> list[Certificate]:
    certs = [issuing.issue(r, user("school-heping2" if code == HEPING2 else "school-xigang1"))
             for r in roster(code, outcome, n=n, skip=skip)]
    db.session.commit()
    return certs


def add_principal(code: str, email: str, name: str) -> User:
    unit = school(code)
    role = db.session.scalar(select(Role).where(Role.name == PRINCIPAL))
    u = User(email=email, name=name, active=True, fs_uniquifier=email, unit=unit, scope_path=unit.path, roles=[role])
    db.session.add(u)
    db.session.commit()
    return u


def compact(text: str) -> str:
    return "".join(text.split())


# --- who gets which certificate -------------------------------------------------------------------


def test_passed_pupil_gets_diploma(ctx):
    (record,) = roster(HEPING2, GRADUATED)
    cert = issuing.issue(record, user("school-heping2"))
    db.session.commit()
    assert cert.kind == DIPLOMA and cert.status == VALID and cert.student_id == record.student_id
    assert cert.graduation_record_id == record.id and cert.school_id == record.school_id and cert.scope_path == record.scope_path
    assert NUMBER_RE.match(cert.number) and cert.serial == 1 and cert.year == YEAR
    assert cert.county_id == school(HEPING2).parent_id  # 和平区 numbers it
    assert re.fullmatch(f"[{verification.VERIFY_ALPHABET}]{{16}}", cert.verify_code)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.issue", AuditLog.object_id == str(cert.id)))


def test_failed_assessment_gets_xiuye_certificate(ctx):
    (record,) = roster(HEPING2, COMPLETED)
    cert = issuing.issue(record, user("school-heping2"))
    assert cert.kind == COMPLETION and cert.number == "和平义修字〔2027〕第000001号"
    # Its own series: the next diploma of the county is still 第000001号.
    (other,) = roster(HEPING2, GRADUATED, skip=1)
    assert issuing.issue(other, user("school-heping2")).number == "和平义毕字〔2027〕第000001号"


def test_primary_leaver_gets_no_certificate(ctx):
    (record,) = roster(HEPING1, GRADUATED, grade=6)  # 和平区第一小学 has a principal: 李建国
    with pytest.raises(RuleViolation, match=r"小学毕业生|primary school leaver"):
        issuing.issue(record, user("school-heping1"))
    assert class_batch.issue_class(school(HEPING1), YEAR, user("school-heping1")) == []
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_roster_not_approved_yet_gets_nothing(ctx):
    (record,) = roster(HEPING2, None)
    with pytest.raises(RuleViolation, match=r"尚未核准|not been approved"):
        issuing.issue(record, user("school-heping2"))


def test_a_second_issue_is_refused(ctx):
    (record,) = roster(HEPING2, GRADUATED)
    first = issuing.issue(record, user("school-heping2"))
    db.session.commit()
    with pytest.raises(RuleViolation, match=r"已持有|already holds"):
        issuing.issue(record, user("school-heping2"))
    db.session.rollback()
    assert class_batch.issue_class(school(HEPING2), YEAR, user("school-heping2")) == []  # nothing due
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1 and first.status == VALID


def test_only_the_graduating_school_issues(ctx):
    (record,) = roster(HEPING2, GRADUATED)
    with pytest.raises(RuleViolation, match=r"毕业学校|graduating school"):
        issuing.issue(record, user("heping"))  # the authority approves the roster; the school issues
    with pytest.raises(NotInScope):
        issuing.issue(record, user("school-heping1"))
    with pytest.raises(NotInScope):
        class_batch.issue_class(school(HEPING2), YEAR, user("shenhe"))


def test_principal_name_from_principal_account(ctx):
    (record,) = roster(HEPING2, GRADUATED)
    cert = issuing.issue(record, user("principal-heping2"))  # the principal may issue too
    assert cert.principal_name == "张伟"  # the account 张伟（校长）, without the note
    db.session.commit()
    principal = user("principal-heping2")
    principal.name = "王校长"
    db.session.commit()
    assert issuing.issue(roster(HEPING2, GRADUATED, skip=1)[0], user("school-heping2")).principal_name == "王校长"
    principal.active = False
    db.session.commit()
    with pytest.raises(RuleViolation, match=r"校长账号|no principal account"):
        issuing.issue(roster(HEPING2, GRADUATED, skip=2)[0], user("school-heping2"))
    db.session.rollback()
    with pytest.raises(RuleViolation, match=r"校长账号|no principal account"):
        class_batch.issue_class(school(HEPING2), YEAR, user("school-heping2"))


# --- numbering ------------------------------------------------------------------------------------


def test_serial_numbers_per_county_and_year_never_repeat(ctx, monkeypatch):
    heping = issued(HEPING2, n=3)
    assert [c.serial for c in heping] == [1, 2, 3]
    assert [c.number for c in heping] == [f"和平义毕字〔2027〕第00000{i}号" for i in (1, 2, 3)]
    # Another county (西岗区, a nine-year school) counts on its own.
    add_principal(XIGANG1, "principal-xigang1@xueji.demo", "刘校长")
    (xigang,) = issued(XIGANG1)
    assert xigang.number == "西岗义毕字〔2027〕第000001号" and xigang.county.code == "210203"
    # A city-direct school numbers with its supervisor, the city.
    add_principal(CITYDIRECT, "principal-citydirect@xueji.demo", "吴校长")
    (direct,) = roster(CITYDIRECT, GRADUATED)
    city = issuing.issue(direct, user("school-citydirect"))
    assert city.number == "沈阳义毕字〔2027〕第000001号" and city.county.code == "2101"
    # A new year starts again at 1; the class issued at once takes consecutive serials.
    at(monkeypatch, date(YEAR + 1, 7, 1))
    later = roster(HEPING2, GRADUATED, n=2, skip=3, year=YEAR + 1)
    batch = class_batch.issue_class(school(HEPING2), YEAR + 1, user("school-heping2"))
    db.session.commit()
    assert sorted(c.number for c in batch) == ["和平义毕字〔2028〕第000001号", "和平义毕字〔2028〕第000002号"]
    assert {c.graduation_record_id for c in batch} == {r.id for r in later}
    numbers = db.session.scalars(select(Certificate.number)).all()
    codes = db.session.scalars(select(Certificate.verify_code)).all()
    assert len(set(numbers)) == len(numbers) == 7 and len(set(codes)) == 7


def test_numbering_takes_the_next_serial_after_a_clash(ctx, monkeypatch):
    """A concurrent issuer took the serial read: the savepoint is rolled back and the next one is taken."""
    (first,) = issued(HEPING2)
    real = numbering._next_serial
    calls: list[int] = []

    def stale(*key):
        calls.append(1)
        return 1 if len(calls) == 1 else real(*key)  # the first read misses the certificate above

    monkeypatch.setattr(numbering, "_next_serial", stale)
    (record,) = roster(HEPING2, GRADUATED, skip=1)
    cert = issuing.issue(record, user("school-heping2"))
    db.session.commit()
    assert len(calls) == 2 and cert.serial == 2 and first.serial == 1
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2


@pytest.mark.committing
def test_concurrent_issuers_never_share_a_serial(app, summer, monkeypatch):
    """Two issuers of the same county at once, both reading the same highest serial (PostgreSQL)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers: run with TEST_DATABASE_URL=postgresql+psycopg://…")
        ids = [r.id for r in roster(HEPING2, GRADUATED, n=2)]
    barrier = threading.Barrier(2, timeout=10)
    seen = threading.local()
    real = numbering._next_serial

    reads: list[int] = []

    def in_step(*key):
        value = real(*key)
        reads.append(value)
        if not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait()  # both have read the same serial before either inserts
        return value

    monkeypatch.setattr(numbering, "_next_serial", in_step)
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def issue(record_id: int) -> None:
        with app.test_request_context():
            try:
                cert = issuing.issue(db.session.get(GraduationRecord, record_id), user("school-heping2"))
                db.session.commit()
                results[record_id] = cert.number
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert sorted(results.values()) == ["和平义毕字〔2027〕第000001号", "和平义毕字〔2027〕第000002号"]
    assert sorted(reads) == [1, 1, 2]  # both read 1; the loser's insert was refused and it read again


# --- revoking and reissuing -----------------------------------------------------------------------


def test_revoke_needs_the_authority_and_a_reason(ctx):
    (cert,) = issued()
    with pytest.raises(RuleViolation, match=r"主管部门|authority"):
        revocation.revoke(cert, user("school-heping2"), "弄错了")
    with pytest.raises(NotInScope):
        revocation.revoke(cert, user("shenhe"), "弄错了")
    with pytest.raises(RuleViolation):
        revocation.revoke(cert, user("heping"), "  ")
    revocation.revoke(cert, user("heping"), "考核成绩登记错误")
    db.session.commit()
    assert cert.status == REVOKED and cert.revoke_reason == "考核成绩登记错误" and cert.revoked_by.email == "heping@xueji.demo"
    assert db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "certificate.revoke")).endswith("考核成绩登记错误")
    with pytest.raises(RuleViolation, match=r"已作废|already revoked"):
        revocation.revoke(cert, user("heping"), "again")


def test_reissue_links_to_original(ctx):
    (old,) = issued()
    with pytest.raises(RuleViolation, match=r"毕业学校|graduating school"):
        revocation.reissue(old, user("heping"), "lost")
    new = revocation.reissue(old, user("school-heping2"), "damaged", "水浸")
    db.session.commit()
    assert new.replaces_id == old.id and new.replaces is old and revocation.replaced_by(old) is new
    assert old.status == REVOKED and old.revoke_reason == revocation.REISSUED and new.status == VALID
    assert new.kind == old.kind and new.student_id == old.student_id and new.graduation_record_id == old.graduation_record_id
    assert new.number != old.number and new.serial == old.serial + 1 and new.verify_code != old.verify_code
    assert "损毁：水浸" in db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "certificate.reissue"))
    with pytest.raises(RuleViolation, match=r"有效|valid"):
        revocation.reissue(old, user("school-heping2"), "lost")


# --- 学历证明书 (第二十五条) ------------------------------------------------------------------------


def _proof(reason: str = "搬家时遗失", skip: int = 0) -> tuple[ChangeRequest, Certificate]:
    (diploma,) = issued(skip=skip)
    req = record_proof.request_record_proof(diploma.student, user("school-heping2"), reason)
    db.session.commit()
    return req, record_proof.certificate_of_request(req)  # type: ignore[return-value]


def test_record_proof_valid_only_after_authority_approval(ctx, client):
    req, proof = _proof()
    diploma = proof.replaces
    assert req.type == RECORD_PROOF and req.student_id == proof.student_id and [s.unit.name for s in req.steps] == ["和平区教育局"]
    assert proof.kind == RECORD_PROOF and proof.status == PENDING_APPROVAL and proof.number == "和平学证字〔2027〕第000001号"
    assert diploma is not None and diploma.status == VALID
    page = client.get(f"/verify/{proof.verify_code}").get_data(as_text=True)
    assert 'data-status="pending"' in page
    with pytest.raises(RuleViolation, match=r"有效|valid"):
        rendering.render_certificate(proof, user("school-heping2"), "http://localhost")
    with pytest.raises(RuleViolation):
        workflows.decide(req.current_step.id, user("school-heping2"), True)  # the authority stamps, not the school
    db.session.rollback()
    workflows.decide(req.current_step.id, user("heping"), True, "已验印")
    db.session.commit()
    assert proof.status == VALID and req.status == "completed"
    assert diploma.status == REVOKED and "lost" in diploma.revoke_reason  # the lost diploma no longer checks as valid
    assert 'data-status="valid"' in client.get(f"/verify/{proof.verify_code}").get_data(as_text=True)
    assert 'data-status="revoked"' in client.get(f"/verify/{diploma.verify_code}").get_data(as_text=True)


def test_record_proof_rejected_or_withdrawn_is_never_valid(ctx):
    req, proof = _proof()
    workflows.decide(req.current_step.id, user("heping"), False, "材料不全")
    db.session.commit()
    assert proof.status == REVOKED and "材料不全" in proof.revoke_reason and proof.replaces.status == VALID
    # A second request, withdrawn by the school: its certificate is revoked when next looked at.
    again = record_proof.request_record_proof(proof.student, user("school-heping2"), "再次申请")
    db.session.commit()
    second = record_proof.certificate_of_request(again)
    workflows.withdraw(again, user("school-heping2"))
    db.session.commit()
    assert verification.lookup(second.verify_code).status == REVOKED


def test_system_revocation_reasons_are_shown_in_words(app, summer, as_user):
    """The reasons the system writes (reissued, not approved, withdrawn, lost) are codes: the page
    says them in the user's language, never the stored English."""
    from flask_babel import force_locale

    with app.test_request_context():
        req, proof = _proof()
        workflows.decide(req.current_step.id, user("heping"), False, "材料不全")
        again = record_proof.request_record_proof(proof.student, user("school-heping2"), "再次申请")
        db.session.commit()
        second = record_proof.certificate_of_request(again)
        workflows.withdraw(again, user("school-heping2"))
        third_req = record_proof.request_record_proof(proof.student, user("school-heping2"), "第三次")
        db.session.commit()
        workflows.decide(third_req.current_step.id, user("heping"), True, "已验印")
        db.session.commit()
        third, diploma = record_proof.certificate_of_request(third_req), proof.replaces
        assert diploma.status == REVOKED and second.status == REVOKED
        old = revocation.reissue(issued(skip=1)[0], user("school-heping2"), "lost").replaces
        db.session.commit()
        with force_locale("en"):
            assert revocation.revoke_reason_label(proof) == "Not approved by the supervising authority: 材料不全"
            assert revocation.revoke_reason_label(second) == "The request was withdrawn."
            assert revocation.revoke_reason_label(diploma) == f"Lost: replaced by the 学历证明书 {third.number}."
            assert revocation.revoke_reason_label(old) == "Reissued: replaced by a new certificate."
        revocation.revoke(third, user("heping"), "考核成绩登记错误")
        db.session.commit()
        assert revocation.revoke_reason_label(third) == "考核成绩登记错误"  # a person's reason as typed
        old_id, second_id = old.id, second.id
    a = as_user("heping")
    page = a.get(f"/admin/certificates/{old_id}/").get_data(as_text=True)
    shown = re.search(r'id="revoke-reason">([^<]*)<', page).group(1)  # type: ignore[union-attr]
    assert shown and shown != revocation.REISSUED
    assert "request withdrawn" not in a.get(f"/admin/certificates/{second_id}/").get_data(as_text=True)


def test_overlong_ids_are_404_not_a_database_error(as_user, targets):
    big = "9" * 25
    c = as_user("school-heping2")
    for url in (f"/admin/certificates/{big}/", f"/admin/certificates/record-proof/{big}",
                f"/admin/certificates/class/?school_id={big}&year={YEAR}"):
        assert c.get(url).status_code == 404, url
    token = c.csrf("/admin/certificates/class/")
    assert c.post(f"/admin/certificates/issue/{big}", data={"csrf_token": token}).status_code == 404
    assert c.post("/admin/certificates/class/issue", data={"school_id": big, "year": YEAR, "csrf_token": token}).status_code == 404


def test_record_proof_only_for_graduates_and_from_the_graduating_school(ctx):
    (xiuye,) = issued(outcome=COMPLETED)
    with pytest.raises(RuleViolation, match=r"毕业|graduated"):
        record_proof.request_record_proof(xiuye.student, user("school-heping2"))
    (diploma,) = issued(skip=1)
    with pytest.raises(RuleViolation, match=r"毕业学校|graduating school"):
        record_proof.request_record_proof(diploma.student, user("heping"))
    with pytest.raises(NotInScope):
        record_proof.request_record_proof(diploma.student, user("school-shenhe1"))
    db.session.rollback()
    record_proof.request_record_proof(diploma.student, user("school-heping2"))
    db.session.commit()
    with pytest.raises(RuleViolation):
        record_proof.request_record_proof(diploma.student, user("school-heping2"))  # one at a time


# --- the public check ------------------------------------------------------------------------------


def test_mask_name():
    assert verification.mask_name("张三明") == "张*明"
    assert verification.mask_name("张三") == "张*"
    assert verification.mask_name("欧阳娜娜") == "欧**娜"
    assert verification.mask_name("王") == "*"


def test_verify_page_shows_valid(app, client, summer):
    with app.test_request_context():
        (cert,) = issued()
        code, number, name, cert_id = cert.verify_code, cert.number, cert.student.name, cert.id
    resp = client.get(f"/verify/{code}")  # no login
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-status="valid"' in page
    assert number in page and "沈阳市和平区第二中学" in page and "2027" in page and "义务教育毕业证书" in page
    assert verification.mask_name(name) in page
    assert resp.headers["Cache-Control"] == "no-store" and "noindex" in resp.headers["X-Robots-Tag"]
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.verify"))
        assert row.user_id is None and row.object_id == str(cert_id)
    # Typed with spaces and in small letters: the form sends to the same page.
    spaced = " ".join(code[i:i + 4] for i in range(0, 16, 4)).lower()
    resp = client.get("/verify", query_string={"code": spaced})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/verify/{code}")
    assert client.get("/verify").status_code == 200


def test_verify_page_shows_revoked(app, client, summer):
    with app.test_request_context():
        (cert,) = issued()
        revocation.revoke(cert, user("heping"), "信息有误")
        db.session.commit()
        code = cert.verify_code
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'data-status="revoked"' in page and "2027-07-01" in page
    assert "信息有误" not in page  # the reason stays in the office


def test_verify_page_hides_personal_data(app, client, summer):
    with app.test_request_context():
        (cert,) = issued()
        s = cert.student
        s.name = "欧阳<b>娜</b>"
        db.session.commit()
        secrets_ = [s.id_number, s.xjh, s.birth_date.isoformat(), f"{s.birth_date.year}年{s.birth_date.month}月", s.phone,
                    s.current_address, s.name, s.guardians[0].name]
        code = cert.verify_code
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    for value in secrets_:
        assert value and value not in page, value
    assert "欧********&gt;" in page  # masked, and escaped


def test_unknown_code_is_404(app, client, summer):
    with app.test_request_context():
        issued()
    unknown = client.get("/verify/ABCDEFGHJKLMNPQR")
    malformed = client.get("/verify/%3Cscript%3E")
    typed = client.get("/verify", query_string={"code": "<script>x</script>"})
    for resp in (unknown, malformed, typed):
        page = resp.get_data(as_text=True)
        assert resp.status_code == 404 and 'data-status="not-found"' in page and "<script>x" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "certificate.verify", AuditLog.object_id.is_(None))) == 3


# --- the printed certificate ----------------------------------------------------------------------


def _render_png(data: bytes, out: Path, page: int = 1) -> Image.Image:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    src = out / "cert.pdf"
    src.write_bytes(data)
    subprocess.run([pdftoppm, "-png", "-r", "100", "-f", str(page), "-l", str(page), "-singlefile", str(src), str(out / "cert")],
                   check=True, timeout=60)
    return Image.open(out / "cert.png")


def test_certificate_pdf_text_font_page_and_qr(app, as_user, summer, tmp_path):
    with app.test_request_context():
        (cert,) = issued()
        cert_id, code, number, name = cert.id, cert.verify_code, cert.number, cert.student.name
    resp = as_user("school-heping2").get(f"/admin/certificates/{cert_id}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    data = resp.data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    assert pdf.embedded_fonts(data) == {pdf.CJK_PDF_FONT_NAME}
    text = compact(pdf.extract_text(data))
    for words in ("义务教育毕业证书", f"学生{name}", "在本校完成九年义务教育，经考核合格，准予毕业。", "特发此证。",
                  "校长：张伟（签章）", "沈阳市和平区第二中学（盖章）", "2027年7月1日", number, code,
                  f"http://localhost/verify/{code}", "沈阳市和平区教育局印制", "于2024年9月至2027年7月"):
        assert words in text, words
    image = _render_png(data, tmp_path)
    ink = ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 64 else 0)
    assert ink.getbbox() is not None, "the rendered page is blank"
    left, top, right, bottom = ink.getbbox()
    assert (right - left) > 0.85 * image.width and (bottom - top) > 0.8 * image.height  # the border frames the page
    zxingcpp = pytest.importorskip("zxingcpp")
    found = zxingcpp.read_barcodes(image)
    assert [b.text for b in found] == [f"http://localhost/verify/{code}"]
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_type == "certificate",
                                                        AuditLog.object_id == str(cert_id)))


def test_qr_address_from_config_or_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://xueji.example.cn/")
    with app.test_request_context(base_url="http://evil.example/"):
        assert verification.site_url() == "https://xueji.example.cn"
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    with app.test_request_context(base_url="http://xj.local:8000/"):
        assert verification.verify_url("ABCD", verification.site_url()) == "http://xj.local:8000/verify/ABCD"


def test_completion_and_record_proof_pages(ctx):
    (xiuye,) = issued(outcome=COMPLETED)
    text = compact(pdf.extract_text(rendering.render_certificate(xiuye, user("school-heping2"), "https://xj.example.cn")))
    assert "义务教育修业证明书" in text and "修业期满" in text and "特发此证明。" in text and "https://xj.example.cn/verify/" in text
    req, proof = _proof(skip=1)
    workflows.decide(req.current_step.id, user("heping"), True, "已验印")
    db.session.commit()
    data = rendering.render_certificate(proof, user("heping"), "https://xj.example.cn")
    text = compact(pdf.extract_text(data))
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    assert "学历证明书" in text and "其毕业证书已遗失，特此证明。" in text and proof.replaces.number in text
    assert "主管教育行政部门验印" in text and "和平区教育局（盖章）" in text and proof.number in text


def test_reissued_certificate_says_so(ctx):
    (old,) = issued()
    new = revocation.reissue(old, user("school-heping2"), "lost")
    text = compact(pdf.extract_text(rendering.render_certificate(new, user("school-heping2"), "http://localhost")))
    assert "（补发）" in text and new.number in text and old.number not in text


def test_a_long_name_keeps_to_one_page(ctx):
    (cert,) = issued()
    cert.student.name = "阿卜杜热合曼·买买提艾力" * 4  # 48 characters: the paragraph prints smaller
    db.session.commit()
    data = rendering.render_certificate(cert, user("school-heping2"), "http://localhost")
    assert len(PdfReader(io.BytesIO(data)).pages) == 1 and cert.number in compact(pdf.extract_text(data))


def test_html_in_names_prints_as_text(ctx):
    (cert,) = issued()
    cert.student.name = "<b>李</b>四&amp;"
    db.session.commit()
    text = compact(pdf.extract_text(rendering.render_certificate(cert, user("school-heping2"), "http://localhost")))
    assert "<b>李</b>四&amp;" in text


def test_lines_break_between_characters_but_never_inside_a_number():
    text = ("学生&#160;<span class=\"fill\">&#160;司马相如相如&#160;</span>，性别&#160;<span class=\"fill\">&#160;男&#160;</span>，"
            "2012年3月15日生，于2018年9月至2027年7月在本校完成九年义务教育，经考核合格，准予毕业。")
    for width in (120, 200, 300, 400, 480):
        lines = rendering.wrap_lines(text, width=width)
        plain = ["".join(re.sub(r"<[^>]+>", "", str(line)).replace("&#160;", "\xa0")) for line in lines]
        joined = "".join(plain)
        assert joined.replace("\xa0", "") == re.sub(r"<[^>]+>|&#160;", "", text)
        for line in plain[1:]:
            assert line[0] not in "，。、"
        for a, b in itertools.pairwise(plain):
            assert not (a[-1].isdigit() and b[0].isdigit()), (a, b)
        assert all('<span class="fill">' in str(line) for line in lines if "司" in str(line))
    number = "和平义毕字〔2027〕第000001号"
    for width in (250, 300, 350, 400):  # a certificate number is never broken
        lines = rendering.wrap_lines(f'原证书编号为<span class="keep">{number}</span>。其毕业证书已遗失。', width=width)
        assert any(number in str(line) for line in lines) and all("keep" not in str(line) for line in lines)


# --- the class in one PDF ---------------------------------------------------------------------------


def _class(n: int) -> tuple[int, int]:
    roster(HEPING2, GRADUATED, n=n - 1)
    roster(HEPING2, COMPLETED, skip=n - 1)
    roster(HEPING2, None, skip=n)  # not approved: no certificate
    return school(HEPING2).id, n


def test_class_is_issued_and_printed_as_one_pdf(app, as_user, summer):
    with app.test_request_context():
        school_id, n = _class(5)
    c = as_user("school-heping2")
    page = c.get(f"/admin/certificates/class/?school_id={school_id}&year={YEAR}").get_data(as_text=True)
    assert 'id="issue-class-form"' in page and page.count('id="record-') == 6
    resp = c.post_form("/admin/certificates/class/issue", {"school_id": school_id, "year": YEAR},
                       token_from=f"/admin/certificates/class/?school_id={school_id}")
    assert resp.status_code == 302
    with app.app_context():
        kinds = db.session.execute(select(Certificate.kind, func.count()).group_by(Certificate.kind)).all()
        assert dict(kinds) == {DIPLOMA: n - 1, COMPLETION: 1}
    resp = c.post_form("/admin/certificates/class/print", {"school_id": school_id, "year": YEAR},
                       token_from=f"/admin/certificates/class/?school_id={school_id}")
    assert resp.status_code == 302 and "/admin/certificates/job/" in resp.headers["Location"]
    job_url = resp.headers["Location"]
    assert 'id="job-done"' in c.get(job_url).get_data(as_text=True)  # a small class prints at once
    data = c.get(job_url + ".pdf").data
    assert len(PdfReader(io.BytesIO(data)).pages) == n
    assert pdf.embedded_fonts(data) == {pdf.CJK_PDF_FONT_NAME}
    with app.app_context():
        names = [s.name for s in pupils(HEPING2, n)]
    text = compact(pdf.extract_text(data))
    assert all(name in text for name in names) and text.count("证书编号") == n
    assert as_user("school-heping1").get(job_url).status_code == 404  # a job is its user's


@pytest.mark.committing
def test_large_class_prints_in_the_background_with_progress(app, as_user, summer, monkeypatch):
    monkeypatch.setattr(class_batch, "INLINE_PAGES", 0)
    monkeypatch.setattr(class_batch, "CHUNK_PAGES", 2)
    with app.test_request_context():
        school_id, n = _class(5)
        class_batch.issue_class(school(HEPING2), YEAR, user("school-heping2"))
        db.session.commit()
    c = as_user("school-heping2")
    resp = c.post_form("/admin/certificates/class/print", {"school_id": school_id, "year": YEAR},
                       token_from=f"/admin/certificates/class/?school_id={school_id}")
    job_url = resp.headers["Location"]
    assert 'id="job-progress"' in c.get(job_url).get_data(as_text=True)
    deadline = time.monotonic() + 60
    seen: list[int] = []
    while time.monotonic() < deadline:
        state = c.get(job_url + ".json").get_json()
        seen.append(state["processed"])
        if state["finished"]:
            break
        time.sleep(0.05)
    assert state["status"] == "done" and state["percent"] == 100 and state["processed"] == n, state
    assert state["pdf_url"].endswith(".pdf")
    assert len(PdfReader(io.BytesIO(c.get(state["pdf_url"]).data)).pages) == n
    assert seen == sorted(seen)
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.object_type == "certificate_batch"))


def test_a_print_whose_worker_died_shows_failed_and_its_user_retries_it(app, as_user, summer, monkeypatch):
    """The worker was killed mid-batch (its heartbeat stopped): the job shows 失败 with 重试; the
    retry enqueues the same job again (run at once here: QUEUE_IMMEDIATE) and it completes."""
    from tests.queue.heartbeat import dead_worker

    monkeypatch.setattr(class_batch, "INLINE_PAGES", 0)
    with app.test_request_context():
        _school_id, n = _class(3)
        class_batch.issue_class(school(HEPING2), YEAR, user("school-heping2"))
        db.session.commit()
        queued = class_batch.print_job_task
        monkeypatch.setattr(class_batch, "print_job_task", lambda *args: None)  # enqueued, but the worker dies
        job = class_batch.start_class_print(school(HEPING2), YEAR, user("school-heping2"), "http://localhost")
        job.status = class_batch.JOB_RUNNING
        class_batch._save(job)
        monkeypatch.setattr(class_batch, "print_job_task", queued)
    dead_worker(class_batch.PROGRESS_KIND, job.id)
    c = as_user("school-heping2")
    job_url = f"/admin/certificates/job/{job.id}"
    page = c.get(job_url).get_data(as_text=True)
    assert 'id="job-failed"' in page and "打印已中断" in page and 'id="retry-batch"' in page
    assert c.post(f"{job_url}/retry").status_code == 400  # no CSRF token
    assert as_user("school-heping1").post_form(f"{job_url}/retry", {}, token_from="/admin/certificates/class/").status_code == 404
    assert c.post_form(f"{job_url}/retry", {}, token_from=job_url).headers["Location"].endswith(job_url)
    state = c.get(job_url + ".json").get_json()
    assert state["status"] == "done" and state["processed"] == n, state
    assert len(PdfReader(io.BytesIO(c.get(state["pdf_url"]).data)).pages) == n
    again = c.post_form(f"{job_url}/retry", {}, token_from=job_url)  # a finished job is not printed twice
    assert again.status_code == 302 and c.get(job_url + ".json").get_json()["status"] == "done"


# --- screens and scope --------------------------------------------------------------------------------


def test_screens_issue_revoke_reissue_and_request(app, as_user, summer):
    with app.test_request_context():
        (record,) = roster(HEPING2, GRADUATED)
        record_id, student_id = record.id, record.student_id
    c = as_user("school-heping2")
    class_url = "/admin/certificates/class/"
    assert c.get(class_url).status_code == 200  # the own school by default
    resp = c.post_form(f"/admin/certificates/issue/{record_id}", {}, token_from=class_url)
    assert resp.status_code == 302
    with app.app_context():
        cert = db.session.scalar(select(Certificate))
        cert_id, number = cert.id, cert.number
    listing = c.get("/admin/certificates/").get_data(as_text=True)
    assert number in listing
    assert number in c.get("/admin/certificates/", query_string={"search": number}).get_data(as_text=True)
    assert number not in c.get("/admin/certificates/", query_string={"flt0_0": "completion"}).get_data(as_text=True)
    assert number in c.get("/admin/certificates/", query_string={"flt0_2": str(YEAR)}).get_data(as_text=True)
    assert number not in c.get("/admin/certificates/", query_string={"flt0_2": str(YEAR - 1)}).get_data(as_text=True)
    page = c.get(f"/admin/certificates/{cert_id}/").get_data(as_text=True)
    assert 'id="reissue-form"' in page and 'id="revoke-form"' not in page and 'id="request-proof"' in page
    # Reissue without the confirmation is refused; with it, the page of the new certificate.
    assert c.post_form(f"/admin/certificates/{cert_id}/reissue", {"reason": "lost"}, token_from=f"/admin/certificates/{cert_id}/") \
        .status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    resp = c.post_form(f"/admin/certificates/{cert_id}/reissue", {"reason": "lost", "checked": "y"},
                       token_from=f"/admin/certificates/{cert_id}/")
    with app.app_context():
        new = db.session.scalar(select(Certificate).where(Certificate.replaces_id == cert_id))
        new_id, new_number = new.id, new.number
    assert resp.headers["Location"].endswith(f"/admin/certificates/{new_id}/")
    # The authority revokes, with a reason and the confirmation.
    a = as_user("heping")
    page = a.get(f"/admin/certificates/{new_id}/").get_data(as_text=True)
    assert 'id="revoke-form"' in page and 'id="reissue-form"' not in page
    a.post_form(f"/admin/certificates/{new_id}/revoke", {"reason": "撤销测试", "checked": "y"}, token_from=f"/admin/certificates/{new_id}/")
    with app.app_context():
        assert db.session.get(Certificate, new_id).status == REVOKED
    assert new_number in a.get("/admin/certificates/", query_string={"flt0_1": "revoked"}).get_data(as_text=True)
    assert new_number not in a.get("/admin/certificates/", query_string={"flt0_1": "valid"}).get_data(as_text=True)
    # 学历证明书 through its page, with the statement of the loss.
    form_url = f"/admin/certificates/record-proof/{student_id}"
    assert c.get(form_url).status_code == 200
    resp = c.post_form(form_url, {"reason_text": "遗失", "loss_statement": (io.BytesIO(png_bytes()), "声明.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302 and "/admin/requests/" in resp.headers["Location"]
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.type == RECORD_PROOF))
        assert [a.material for a in req.attachments] == ["loss_statement"]
        assert db.session.scalar(select(Certificate.status).where(Certificate.request_id == req.id)) == PENDING_APPROVAL
    assert c.get(resp.headers["Location"]).status_code == 200


@pytest.fixture
def targets(app, summer) -> dict:
    """A HEPING2 diploma and a HEPING2 print job, as their URLs."""
    with app.test_request_context():
        (cert,) = issued()
        (record,) = roster(HEPING2, GRADUATED, skip=1)
        job = class_batch.start_class_print(school(HEPING2), YEAR, user("school-heping2"), "http://localhost")
        return {"cert": cert.id, "record": record.id, "student": cert.student_id, "school": cert.school_id, "job": job.id,
                "name": cert.student.name, "number": cert.number}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_certificate_url(as_user, targets, who):
    c = as_user(who)
    t = targets
    token = c.csrf("/admin/certificates/class/")
    gets = [f"/admin/certificates/{t['cert']}/", f"/admin/certificates/{t['cert']}/pdf",
            f"/admin/certificates/record-proof/{t['student']}", f"/admin/certificates/class/?school_id={t['school']}&year={YEAR}",
            f"/admin/certificates/job/{t['job']}", f"/admin/certificates/job/{t['job']}.json", f"/admin/certificates/job/{t['job']}.pdf"]
    for url in gets:
        assert c.get(url).status_code == 404, url
    posts = [
        (f"/admin/certificates/{t['cert']}/revoke", {"reason": "x", "checked": "y"}),
        (f"/admin/certificates/{t['cert']}/reissue", {"reason": "lost", "checked": "y"}),
        (f"/admin/certificates/record-proof/{t['student']}", {"reason_text": "x"}),
        (f"/admin/certificates/issue/{t['record']}", {}),
        ("/admin/certificates/class/issue", {"school_id": t["school"], "year": YEAR}),
        ("/admin/certificates/class/print", {"school_id": t["school"], "year": YEAR}),
        (f"/admin/certificates/job/{t['job']}/retry", {}),
    ]
    for url, data in posts:
        assert c.post(url, data={**data, "csrf_token": token}).status_code == 404, url
    for url in ("/admin/certificates/", "/admin/certificates/class/"):
        page = c.get(url).get_data(as_text=True)
        assert t["number"] not in page and t["name"] not in page, url
    for term in (t["number"], t["name"]):  # the search form repeats the term (value="…"): no row may show it
        page = re.sub(r'value="[^"]*"', "", c.get("/admin/certificates/", query_string={"search": term}).get_data(as_text=True))
        assert f"/admin/certificates/{t['cert']}/" not in page and term not in page, term


def test_county_and_school_see_their_certificates(as_user, targets):
    for who in ("school-heping2", "principal-heping2", "heping", "shenyang"):
        page = as_user(who).get("/admin/certificates/").get_data(as_text=True)
        assert targets["number"] in page, who
    assert as_user("heping").get(f"/admin/certificates/{targets['cert']}/pdf").status_code == 200


def test_print_jobs_older_than_a_week_are_forgotten_with_their_pdf(app, summer):
    from datetime import timedelta

    from services import clock, uploads

    with app.test_request_context():
        issued()
        job = class_batch.start_class_print(school(HEPING2), YEAR, user("school-heping2"), "http://localhost")
        pdf = uploads.path_of(job.sha256)
        assert pdf.exists()
        assert class_batch.forget_old_jobs(clock.now() + timedelta(days=6)) == 0
        assert class_batch.forget_old_jobs(clock.now() + timedelta(days=8)) >= 1
        assert not pdf.exists()
        with pytest.raises(NotInScope):
            class_batch.get_job(user("school-heping2"), job.id)
