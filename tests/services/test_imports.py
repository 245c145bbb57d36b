"""Excel import of new pupils and the XLSX export of the student list (SPEC §7, 第二十八条)."""

from __future__ import annotations

import glob
import io
import os
import tempfile
import time
import zipfile
from datetime import date, timedelta
from itertools import pairwise

import pytest
from flask import Flask
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog, StudentHistory
from models.changes import ChangeRequest
from models.imports import DONE, FAILED, ImportJob
from models.people import User
from models.student import PENDING, Student
from services.errors import RuleViolation
from services.imports import apply, jobs, parse, template, validate
from services.imports.columns import CODE_SHEET, DATA_SHEET, FIRST_DATA_ROW, HEADERS, NOTE_PREFIX, ImportRejected, RowError
from tests.conftest import Client, login
from tests.export_helpers import open_gate, shut_gate
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of, school

DIVISION = "210104"  # 大东区: no demo pupil has an ID number from there
IMPORT_URL = "/admin/imports/"


# --- building files ---------------------------------------------------------------------


def pupil(seq: int = 1, **overrides: object) -> dict[str, object]:
    """A valid row (header → cell) for a grade-3 pupil; seq makes the ID unique (odd: boy, even: girl)."""
    birth = date(2017, 3, 1 + seq % 28)
    male = seq % 2 == 1
    row: dict[str, object] = {
        "姓名": "导入学生", "性别": "1 男" if male else "2 女", "出生日期": birth.isoformat(),
        "身份证件类型": "1 居民身份证", "身份证件号": make_id(DIVISION, birth, seq % 1000), "民族": "01 汉族",
        "年级": "3 三年级", "班级": "2班", "入学年月": "2024-09", "户口所在地": DIVISION, "联系电话": "13800000000",
        "是否留守儿童": "0 非留守儿童", "是否独生子女": "否",
        "监护人1关系": "1 父亲", "监护人1姓名": "王建国", "监护人1联系电话": "13900000000",
    }
    row.update(overrides)
    return row


def workbook(rows: list[dict[str, object]]) -> bytes:
    """The downloaded template with the rows filled in from the third row on."""
    wb = load_workbook(io.BytesIO(template.template_xlsx()))
    ws = wb[DATA_SHEET]
    for r, values in enumerate(rows, start=FIRST_DATA_ROW):
        for c, header in enumerate(HEADERS, start=1):
            if values.get(header) is not None:
                ws.cell(row=r, column=c, value=values[header])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def count_students() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def registrar() -> User:
    return user("school-heping1@xueji.demo")


# --- the web app with the import view ---------------------------------------------------

_extra_app: Flask | None = None


@pytest.fixture
def web(app: Flask) -> Flask:
    """The app with ImportView: the session app once admin/__init__.py registers it, else an app
    built the same way on the same database with the view added (before its first request)."""
    global _extra_app
    if "imports.index" in app.view_functions:
        return app
    if _extra_app is None:
        from admin.imports import ImportView
        from app import create_app
        from config import TestConfig

        _extra_app = create_app(TestConfig())
        _extra_app.extensions["admin"][0].add_view(ImportView(name=_l("Excel import"), endpoint="imports"))
    return _extra_app


def client_for(web: Flask, who: str) -> Client:
    return login(web, f"{who}@xueji.demo")


def upload(c: Client, data: bytes, school_code: str, name: str = "新生.xlsx"):
    token = c.csrf(IMPORT_URL)
    return c.post(IMPORT_URL + "upload", data={"csrf_token": token, "school": school_code, "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def job_id_from(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])


# --- the template -----------------------------------------------------------------------


def test_template_has_the_national_columns_and_dropdowns(web):
    c = client_for(web, "school-heping1")
    resp = c.get(IMPORT_URL + "template.xlsx")
    assert resp.status_code == 200 and resp.data.startswith(b"PK")
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb[DATA_SHEET]
    header = [cell.value for cell in ws[1]]
    assert header[:5] == ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号"]
    assert header == list(HEADERS)
    for name in ("民族", "国籍/地区", "港澳台侨外", "户口性质", "年级", "入学年月", "是否留守儿童", "是否进城务工人员随迁子女",
                 "残疾人类型", "监护人1关系", "监护人1身份证件号", "监护人2联系电话"):
        assert name in header
    assert str(ws.cell(row=2, column=1).value).startswith(NOTE_PREFIX)
    assert ws.freeze_panes == "B3"
    assert wb[CODE_SHEET].sheet_state == "hidden"
    assert wb[CODE_SHEET]["A2"].value == "1 男"

    def validation_of(header_name: str):
        letter = ws.cell(row=1, column=header.index(header_name) + 1).column_letter
        return next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref).split(":")[0] == f"{letter}{FIRST_DATA_ROW}")

    gender = validation_of("性别")
    assert gender.type == "list" and gender.formula1.startswith(f"'{CODE_SHEET}'!")
    ethnicity_cells = validation_of("民族").formula1
    column = ethnicity_cells.split("!")[1].split(":")[0].replace("$", "")[0]
    assert wb[CODE_SHEET][f"{column}2"].value == "01 汉族"
    assert validation_of("是否孤儿").formula1 == '"是,否"'
    # the template itself parses: header found, the note row skipped, no pupils yet
    with pytest.raises(RuleViolation):
        with web.test_request_context():
            parse.parse(io.BytesIO(resp.data))


# --- all or nothing ---------------------------------------------------------------------


@pytest.mark.committing
def test_import_with_one_bad_row_writes_nothing(web, app):
    bad = pupil(3)
    bad["身份证件号"] = str(bad["身份证件号"])[:17] + ("0" if str(bad["身份证件号"])[17] != "0" else "1")
    rows = [pupil(1), bad, pupil(5, 年级="十年级")]
    with app.app_context():
        before = count_students()
    c = client_for(web, "school-heping1")
    job_id = job_id_from(upload(c, workbook(rows), HEPING1))
    page = c.get(f"{IMPORT_URL}job/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="import-errors"' in html
    assert "<td>4</td><td>身份证件号</td>" in html  # row 4 of the sheet (the second pupil)
    assert "<td>5</td><td>年级</td>" in html
    with app.app_context():
        assert count_students() == before
        job = db.session.get(ImportJob, job_id)
        assert job.status == FAILED and job.error_count == 2
    report = c.get(f"{IMPORT_URL}job/{job_id}/errors.xlsx")
    assert report.status_code == 200
    lines = list(load_workbook(io.BytesIO(report.data)).active.iter_rows(values_only=True))
    assert [(r[0], r[1]) for r in lines[1:]] == [(4, "身份证件号"), (5, "年级")]
    with web.test_request_context():
        assert lines[1][2] == str(_l("The ID number's check digit is wrong."))


def test_import_rows_service_refuses_the_whole_file(ctx):
    rows = parse.parse(io.BytesIO(workbook([pupil(1), pupil(3, 性别="2 女")])))
    before = count_students()
    with pytest.raises(ImportRejected) as exc:
        apply.import_rows(rows, school(HEPING1), registrar())
    assert exc.value.errors == [RowError(4, "性别", str(_l("The gender does not match the ID number.")))]
    db.session.rollback()
    assert count_students() == before


def test_duplicate_id_within_the_file_is_reported(ctx):
    first, second = pupil(1), pupil(1, 姓名="另一个学生")
    rows = parse.parse(io.BytesIO(workbook([pupil(3), first, second])))
    errors = validate.validate_rows(rows, school(HEPING1), registrar())
    assert errors == [RowError(5, "身份证件号", str(_l("The same ID number is already in row %(row)d of this file.", row=4)))]


def test_duplicate_id_against_the_database_is_reported(ctx):
    other = pupil_of(SHENHE1)  # a pupil of another county: 一人一籍 holds province-wide
    row = pupil(1, 身份证件号=other.id_number, 出生日期=other.birth_date.isoformat(), 性别=other.gender, 年级=str(other.grade))
    rows = parse.parse(io.BytesIO(workbook([row])))
    errors = validate.validate_rows(rows, school(HEPING1), registrar())
    assert [(e.row, e.column) for e in errors] == [(3, "身份证件号")]
    assert "一人一籍" in errors[0].message
    assert other.school.name not in errors[0].message  # a school user does not learn where the pupil is


def test_codes_accept_the_dropdown_text_the_bare_code_and_the_label(ctx):
    rows = parse.parse(io.BytesIO(workbook([
        pupil(1, 民族="01 汉族", 年级="3 三年级"), pupil(3, 民族="01", 年级=3), pupil(5, 民族="汉族", 年级="三年级"),
        pupil(7, 民族=1, 出生日期=date(2017, 3, 8), 入学年月="2024/9", 是否独生子女="是"),
    ])))
    assert validate.validate_rows(rows, school(HEPING1), registrar()) == []
    assert apply.import_rows(rows, school(HEPING1), registrar(), filename="codes.xlsx") == 4
    pupils = db.session.scalars(select(Student).where(Student.id_number.like(DIVISION + "%")).order_by(Student.id)).all()
    assert {s.ethnicity for s in pupils} == {"01"} and {s.grade for s in pupils} == {3}
    assert pupils[3].enroll_month == "2024-09" and pupils[3].only_child is True
    assert pupils[0].guardians[0].name == "王建国" and pupils[0].guardians[0].relation == "1"


# --- refused files ----------------------------------------------------------------------


def _refusal(data: bytes) -> str:
    with pytest.raises(RuleViolation) as exc:
        parse.parse(io.BytesIO(data))
    assert len(exc.value.problems) == 1
    return exc.value.problems[0][1]


def test_non_xlsx_upload_is_refused_clearly(ctx, web, app):
    not_a_workbook = _l("The file is not an Excel workbook (.xlsx). Download the template, fill it in and upload it.")
    assert _refusal("姓名,性别\n张三,1\n".encode()) == str(not_a_workbook)  # a text file named .xlsx
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    assert _refusal(archive.getvalue()) == str(_l("The file is a ZIP archive but not an Excel workbook (.xlsx)."))
    ole = parse.OLE_MAGIC + b"\0" * 512 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512
    assert "password" in _refusal(ole) or "密码" in _refusal(ole)
    assert _refusal(parse.OLE_MAGIC + b"\0" * 1024) == str(
        _l("This is an old Excel 97–2003 (.xls) file. Save it as “Excel Workbook (*.xlsx)” and upload it again."))
    damaged = workbook([pupil(1)])[:3000]
    assert _refusal(damaged) == str(
        _l("The file is damaged and cannot be opened. Save it again in Excel as .xlsx and upload it again."))
    assert "10 MB" in _refusal(b"PK\x03\x04" + b"\0" * parse.MAX_FILE_BYTES)
    wb = Workbook()
    wb.active.append(["学生姓名", "性别"])
    wrong = io.BytesIO()
    wb.save(wrong)
    assert "身份证件号" in _refusal(wrong.getvalue())  # the missing columns are named

    # Through the screen: the message is shown and no job is created.
    c = client_for(web, "school-heping1")
    resp = upload(c, "姓名,性别\n".encode(), HEPING1, name="学生.xlsx")
    assert resp.status_code == 400
    assert str(not_a_workbook) in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


# --- what an import creates -------------------------------------------------------------


def test_imported_pupils_wait_for_the_authority(ctx):
    rows = parse.parse(io.BytesIO(workbook([pupil(1), pupil(2, 姓名="李小红")])))
    assert apply.import_rows(rows, school(HEPING1), registrar(), filename="新生.xlsx") == 2
    pupils = db.session.scalars(select(Student).where(Student.id_number.like(DIVISION + "%"))).all()
    assert len(pupils) == 2
    for s in pupils:
        assert s.status == PENDING and s.xjh is None and s.school.code == HEPING1
        reqs = db.session.scalars(select(ChangeRequest).where(ChangeRequest.student_id == s.id)).all()
        assert [(r.type, r.status) for r in reqs] == [("enrollment", "pending")]
        assert reqs[0].steps[0].unit_id == school(HEPING1).supervisor_id
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "import"))
    assert audit.user_email == "school-heping1@xueji.demo" and "新生.xlsx" in audit.detail


@pytest.mark.parametrize("batch", [500, 2])
def test_import_flags_soft_duplicates_as_one_by_one_entry_would(ctx, monkeypatch, batch):
    """Rows are written SESSION_BATCH at a time; 查重 still sees the database and the earlier rows,
    and a pair inside the file belongs to its later row, whichever batch each row falls in."""
    from models.problems import ProblemRecord

    monkeypatch.setattr(apply, "SESSION_BATCH", batch)
    existing = pupil_of(HEPING1)
    twin = pupil(2, 姓名=existing.name, 性别=f"{existing.gender}", 出生日期=existing.birth_date.isoformat(),
                 身份证件号=make_id(DIVISION, existing.birth_date, 1 if existing.gender == "1" else 2))
    rows = [pupil(1, 姓名="张双"), pupil(5), twin, pupil(29, 姓名="张双")]  # rows 3 and 6 share name, gender, birth
    parsed = parse.parse(io.BytesIO(workbook(rows)))
    assert apply.import_rows(parsed, school(HEPING1), registrar()) == 4
    new = {s.id_number: s for s in db.session.scalars(select(Student).where(Student.id_number.like(DIVISION + "%")))}
    first, later = new[make_id(DIVISION, date(2017, 3, 2), 1)], new[make_id(DIVISION, date(2017, 3, 2), 29)]
    problems = db.session.scalars(select(ProblemRecord).order_by(ProblemRecord.id)).all()
    assert sorted((p.student_id, p.other_student_id, p.kind) for p in problems) == sorted([
        (later.id, first.id, "soft_name_birth"),
        (new[twin["身份证件号"]].id, existing.id, "soft_name_birth"),
    ])
    for s in new.values():
        history = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == s.id)).all()
        assert [(h.field, h.changed_by_id) for h in history] == [("_created", registrar().id)]
    opened = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "request.open"))
    created = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "student.create"))
    assert opened == created == 4


def test_cli_import_students(app, tmp_path):
    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(workbook([pupil(1), pupil(3)]))
    bad.write_bytes(workbook([pupil(5), pupil(7, 出生日期="2017-02-30")]))
    runner = app.test_cli_runner()
    with app.app_context():
        before = count_students()

    result = runner.invoke(args=["import-students", str(bad), "--school", HEPING1])
    assert result.exit_code == 1
    assert "4\t出生日期\t" in result.output
    with app.app_context():
        assert count_students() == before

    result = runner.invoke(args=["import-students", str(good), "--school", HEPING1])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count_students() == before + 2
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "import"))
        assert audit.user_email == "school-heping1@xueji.demo"  # the school's registrar by default

    result = runner.invoke(args=["import-students", str(good), "--school", HEPING1, "--as", "shenhe@xueji.demo"])
    assert result.exit_code != 0  # an official of another county may not import there


# --- scope ------------------------------------------------------------------------------


def test_registrar_cannot_import_into_another_school(web, app):
    with app.app_context():
        before = count_students()
    c = client_for(web, "school-heping1")
    assert c.get(IMPORT_URL).status_code == 200
    assert c.get(IMPORT_URL + f"?school={SHENHE1}").status_code == 404
    assert upload(c, workbook([pupil(1)]), SHENHE1).status_code == 404
    county = client_for(web, "heping")
    assert county.get(IMPORT_URL + f"?school={SHENHE1}").status_code == 404
    assert county.get(IMPORT_URL + f"?school={HEPING1}").status_code == 200
    with app.app_context():
        assert count_students() == before
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_county_official_imports_into_a_school_of_the_county(web, app):
    c = client_for(web, "heping")
    job_id = job_id_from(upload(c, workbook([pupil(1)]), HEPING1))
    assert c.get(f"{IMPORT_URL}job/{job_id}.json").get_json()["status"] == DONE
    with app.app_context():
        s = db.session.scalar(select(Student).where(Student.id_number.like(DIVISION + "%")))
        assert s.school.code == HEPING1 and s.status == PENDING


def test_job_status_of_another_user_is_404(web):
    owner = client_for(web, "school-heping1")
    job_id = job_id_from(upload(owner, workbook([pupil(1), pupil(3, 性别="2 女")]), HEPING1))
    urls = (f"{IMPORT_URL}job/{job_id}", f"{IMPORT_URL}job/{job_id}.json", f"{IMPORT_URL}job/{job_id}/errors.xlsx")
    assert [owner.get(u).status_code for u in urls] == [200, 200, 200]
    for who in ("school-shenhe1", "principal-heping1", "shenhe", "dalian"):
        c = client_for(web, who)
        assert [c.get(u).status_code for u in urls] == [404, 404, 404], who
    county = client_for(web, "heping")  # the official covering the school may follow it
    assert county.get(urls[1]).get_json()["status"] == FAILED


def test_a_job_refused_for_its_content_offers_no_retry(web, app):
    """重试 is for a job whose worker stopped; the same file with the same errors would fail again."""
    owner = client_for(web, "school-heping1")
    job_id = job_id_from(upload(owner, workbook([pupil(1), pupil(3, 出生日期="2017-02-30")]), HEPING1))
    page = owner.get(f"{IMPORT_URL}job/{job_id}").get_data(as_text=True)
    assert 'id="job-failed"' in page and 'id="retry-import"' not in page
    resp = owner.post_form(f"{IMPORT_URL}job/{job_id}/retry", {}, token_from=f"{IMPORT_URL}job/{job_id}")
    assert resp.status_code == 302
    assert "此导入不能重试" in owner.get(resp.headers["Location"]).get_data(as_text=True)
    state = owner.get(f"{IMPORT_URL}job/{job_id}.json").get_json()
    assert state["status"] == FAILED and state["error_count"] == 1 and not state["retryable"]


# --- progress for large files -----------------------------------------------------------


@pytest.mark.committing
def test_large_file_is_imported_as_a_task_with_progress(web, app):
    """A file of INLINE_ROWS rows or more is stored and imported by a task of the queue (here run at
    once: QUEUE_IMMEDIATE; tests/queue/ runs it on a real consumer)."""
    n = jobs.INLINE_ROWS + 20
    rows = []
    for i in range(n):
        birth = date(2017, 1, 1) + timedelta(days=i % 300)
        rows.append(pupil(1, 姓名=f"学生{chr(0x4E00 + i)}", 性别="1 男", 出生日期=birth.isoformat(),
                          身份证件号=make_id(DIVISION, birth, 2 * (i // 300) + 1)))
    with app.app_context():
        before = count_students()
    c = client_for(web, "school-heping1")
    job_id = job_id_from(upload(c, workbook(rows), HEPING1))
    page = c.get(f"{IMPORT_URL}job/{job_id}").get_data(as_text=True)
    assert 'id="job-bar"' in page and f"job/{job_id}.json" in page
    seen, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        state = c.get(f"{IMPORT_URL}job/{job_id}.json").get_json()
        seen.append(state["status"])
        if state["finished"]:
            break
        time.sleep(0.5)
    assert state["status"] == DONE, state
    assert state["processed"] == state["total"] == n and state["percent"] == 100
    assert set(seen) - {"queued", "validating", "writing", "done"} == set()
    with app.app_context():
        assert count_students() == before + n
        job = db.session.get(ImportJob, job_id)
        assert job.finished_at is not None and job.source_sha256 and not job.retryable


# --- export -----------------------------------------------------------------------------


def _export_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "xueji-export-*")))


def test_export_xlsx_is_scoped_streamed_and_audited(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.app_context():
        heping = db.session.scalars(select(Student).where(Student.school.has(code=HEPING1))).all()
        shenhe = db.session.scalars(select(Student).where(Student.school.has(code=SHENHE1))).all()
        own_ids = {s.id_number for s in heping}
        foreign_ids = {s.id_number for s in shenhe} | {s.xjh for s in shenhe}
        one = heping[0]
    before_files = _export_files()
    c = as_user("school-heping1")
    resp = c.get("/admin/student/export/xlsx/", buffered=False)  # read it as a stream
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(resp.get_data())).active.iter_rows(values_only=True))
    resp.close()
    cells = {str(v) for r in rows[1:] for v in r if v is not None}
    assert len(rows) - 1 == len(heping)
    assert own_ids <= cells and not (foreign_ids & cells)
    assert _export_files() <= before_files  # the temporary file is gone

    filtered = c.get(f"/admin/student/export/xlsx/?search={one.id_number}")
    rows = list(load_workbook(io.BytesIO(filtered.get_data())).active.iter_rows(values_only=True))
    assert len(rows) == 2 and one.id_number in rows[1]  # the list's search applies to the export
    with app.app_context():
        audits = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "student").order_by(AuditLog.id)
        ).all()
        assert len(audits) == 2 and all(a.user_email == "school-heping1@xueji.demo" for a in audits)
        assert audits[1].detail.startswith("XLSX：搜索“") and one.id_number in audits[1].detail


def test_export_gate_refuses_in_one_place(as_user, app, monkeypatch):
    shut_gate(monkeypatch)
    c = as_user("school-heping1")
    for kind in ("xlsx", "csv"):
        resp = c.get(f"/admin/student/export/{kind}/")
        assert resp.status_code == 403, kind
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export")) == 0


def test_an_imports_audit_rows_join_the_chain_in_one_statement(app, ctx):
    """The rows an import keeps for its end (one per pupil, and the import's own) are chained and
    inserted by one statement after everything else is flushed (models/audit.insert_chained): the
    chain's lock is held for that statement and the commit only. The chain stays intact, the
    import's rows linked one after the other in their order, and a later request chains onto them."""
    from sqlalchemy import event

    from services import audit, audit_chain

    rows = []
    for i in range(40):
        birth = date(2017, 3, 1) + timedelta(days=i)
        rows.append(pupil(1, 姓名=f"链{chr(0x4E00 + i)}", 性别="1 男", 出生日期=birth.isoformat(),
                          身份证件号=make_id(DIVISION, birth, 2 * i + 1)))
    parsed = parse.parse(io.BytesIO(workbook(rows)))
    first_new = (db.session.scalar(select(func.max(AuditLog.id))) or 0) + 1
    inserts: list[tuple[bool, int]] = []

    def note(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append((executemany, len(parameters) if executemany else 1))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert apply.import_rows(parsed, school(HEPING1), registrar(), filename="链.xlsx") == len(rows)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    written = db.session.scalars(select(AuditLog).where(AuditLog.id >= first_new).order_by(AuditLog.id)).all()
    assert len(written) > len(rows) and written[-1].action == "import"
    assert inserts == [(True, len(written))]  # one statement for them all
    for before, after in pairwise(written):
        assert after.prev_hash == before.row_hash
    audit.record(registrar(), "student.view", "student", written[0].object_id)
    db.session.flush()  # an ordinary request's row chains onto the import's last one
    newest = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
    assert newest.prev_hash == written[-1].row_hash
    assert audit_chain.verify().intact


@pytest.mark.committing
def test_an_import_writing_does_not_hold_the_audit_chain_lock(app):
    """While an import writes (one long transaction), other requests audit without waiting for it:
    its audit rows join the chain in its last flush only (audit.chained_at_the_end). On PostgreSQL
    the chain's lock is an advisory lock another connection can try with a timeout; SQLite has one
    writer at a time anyway."""
    from sqlalchemy import text

    from models.audit import lock_chain

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has a single writer: only PostgreSQL can audit beside a long import")
    rows = []
    for i in range(apply.SESSION_BATCH + 50):  # more than one flush of staged pupils
        birth = date(2017, 1, 1) + timedelta(days=i % 300)
        rows.append(pupil(1, 姓名=f"学生{chr(0x4E00 + i)}", 性别="1 男", 出生日期=birth.isoformat(),
                          身份证件号=make_id(DIVISION, birth, 2 * (i // 300) + 1)))
    parsed = parse.parse(io.BytesIO(workbook(rows)))
    probes: list[str] = []

    def progress(status: str, done: int) -> None:
        if status == "writing" and done == apply.SESSION_BATCH + 10 and not probes:  # a flush is behind us
            with db.engine.connect() as other:
                other.execute(text("SET lock_timeout = '2s'"))
                try:
                    lock_chain(other)
                    probes.append("free")
                except Exception as exc:  # the lock_timeout error: the import holds the chain
                    probes.append(f"held: {type(exc).__name__}")
                other.rollback()

    with app.test_request_context():
        count = apply.import_rows(parsed, school(HEPING1), registrar(), filename="并发.xlsx", progress=progress)
        assert count == len(rows)
        assert probes == ["free"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")) >= 1
