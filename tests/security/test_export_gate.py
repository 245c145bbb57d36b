"""One gate for every file that carries personal data out (issue 13, point 1; 第二十八条).

The URL map is read by rule: every route whose path says it sends a file must be declared in
services/export_gate.py, and every declared endpoint must exist. Then each endpoint is called, with
real ids, as a user the gate refuses (the gate's decision patched to "no"): each answers the
refusal page, never a file. A view that forgot the gate is caught by the after_request guard:
a plain page made to send a file is refused too.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date

import pytest
from flask import Response
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.export_request import READY, ExportRequest
from models.imports import ImportJob
from services import clock, export_gate, photos, student_card_batch, uploads
from services.certificates import batch
from tests.builders import make_certificate, make_class
from tests.export_helpers import make_downloadables
from tests.helpers import HEPING1, HEPING2, pupil_of, school
from tests.services.test_photos import jpeg
from tests.transfer_helpers import at, pdf_bytes, start, user

# A route sends a file when its path says so: an export, a download, a printed form, a PDF/XLSX/CSV,
# a backup, an evidence file, an attachment, an archive document, a submitted register, an error report.
FILE_RULE = re.compile(
    r"/export(/|\.)|download|\.pdf$|\.xlsx$|\.csv$|\.<ext>$|/pdf$|/print/|/backup/|evidence-file|/attachment/|/document/|\.jpg$"
)


def file_endpoints(app) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if FILE_RULE.search(r.rule)}


def test_every_file_route_of_the_url_map_is_declared_in_the_gate(app):
    # The data API (policy TOKEN) answers JSON, not files: declared for its decision, not found by path.
    declared = {ep for ep, kind in export_gate.ENDPOINT_KIND.items() if kind.policy not in (export_gate.PUBLIC, export_gate.TOKEN)}
    found = file_endpoints(app)
    assert found == declared, f"undeclared: {sorted(found - declared)}; declared but absent: {sorted(declared - found)}"
    assert len(found) >= 25  # the lists' exports, archive, rosters, certificates, documents, evidence, requests


def test_public_routes_are_declared_as_carrying_no_personal_data(app):
    public = {ep for ep, kind in export_gate.ENDPOINT_KIND.items() if kind.policy == export_gate.PUBLIC}
    assert {"public.verify", "public.verify_form", "static"} <= public
    assert public <= {r.endpoint for r in app.url_map.iter_rules()}


@pytest.fixture
def made(app, monkeypatch) -> dict[str, t.Any]:
    """One real object behind every file route, each with the account that may normally take it."""
    at(monkeypatch, date(2026, 11, 2))
    with app.test_request_context():
        registrar = user("school-heping1")
        pupil = pupil_of(HEPING1)
        rows = make_downloadables(registrar, pupil)
        photos.set_photo(registrar, pupil, jpeg(), "照片.jpg")
        doc, backup, problem, row = rows.doc, rows.backup, rows.problem, rows.submission
        transfer = start()
        cert = make_certificate(HEPING2)
        job = batch.PrintJob(id="t" * 24, user_id=user("school-heping2").id, school_id=school(HEPING2).id,
                             school_name=school(HEPING2).name, year=2026, total=1, status=batch.JOB_DONE,
                             sha256=uploads.store(pdf_bytes()))
        batch._save(job)
        card_job = student_card_batch.CardJob(id="c" * 24, user_id=registrar.id, school_id=school(HEPING1).id, title="测试",
                                              total=1, status=student_card_batch.JOB_DONE, sha256=uploads.store(pdf_bytes()))
        student_card_batch._save(card_job)
        imp = ImportJob(school_id=school(HEPING1).id, user_id=registrar.id, filename="x.xlsx", status="failed",
                        errors_sha256=uploads.store(b"PK fake report"))
        db.session.add(imp)
        req = ExportRequest(requester_id=registrar.id, unit_id=registrar.unit_id, scope_path=registrar.unit.path,
                            kind="student_list", purpose="测试", fields="", endpoint="student.export",
                            view_args="{}", query_string="", scope_text="", status=READY,
                            file_sha256=uploads.store(b"a,b\n"), file_name="x.csv", mimetype="text/csv",
                            created_at=clock.now(), produced_at=clock.now(), expires_at=clock.now().replace(year=2027))
        db.session.add(req)
        db.session.flush()
        req.number = f"DC-2026-{req.id:06d}"
        school_class = make_class(HEPING1, pupil.grade, "1班")
        db.session.commit()
        ids = {"pupil": pupil.id, "doc": doc.id, "backup": backup.id, "problem": problem.id, "submission": row.id,
               "school": school(HEPING1).id, "school2": school(HEPING2).id, "transfer": transfer.id,
               "attachment": transfer.attachments[0].id, "cert": cert.id, "job": job.id, "import": imp.id, "export": req.id,
               "card_job": card_job.id, "class": school_class.id}
        db.session.remove()
    return ids


# endpoint → (account that normally takes the file, URL).
URLS: dict[str, tuple[str, str]] = {
    "student.export": ("school-heping1", "/admin/student/export/xlsx/"),
    "archive_overdue.export": ("school-heping1", "/admin/archive_overdue/export/csv/"),
    "graduation.export": ("school-heping2", "/admin/graduation/{school2}/2026/export.xlsx"),
    "rosters.pdf": ("heping", "/admin/rosters/new/{school}.pdf?year=2026"),
    "rosters.xlsx": ("heping", "/admin/rosters/changes/{school}.xlsx?year=2026"),
    "rosters.submission_file": ("school-heping1", "/admin/rosters/submission/{submission}.pdf"),
    "archive.export_xlsx": ("school-heping1", "/admin/archive/{pupil}/export.xlsx"),
    "archive.export_pdf": ("school-heping1", "/admin/archive/{pupil}/export.pdf"),
    "archive.backup_download": ("school-heping1", "/admin/archive/backup/{backup}/pdf"),
    "archive.document_view": ("school-heping1", "/admin/archive/document/{doc}"),
    "problems.evidence_file": ("school-heping1", "/admin/problems/{problem}/evidence-file"),
    "requests.attachment_view": ("school-shenhe1", "/admin/requests/attachment/{attachment}"),
    "requests.print_view": ("school-shenhe1", "/admin/requests/{transfer}/print/transfer_contact"),
    "requests.family_letter": ("school-shenhe1", "/admin/requests/{transfer}/family-letter.pdf"),  # 致家长的通知书
    "certificates.certificate_pdf": ("school-heping2", "/admin/certificates/{cert}/pdf"),
    "certificates.job_pdf": ("school-heping2", "/admin/certificates/job/{job}.pdf"),
    "registrars.export": ("school-heping1", "/admin/registrars/export.xlsx"),
    "imports.template": ("school-heping1", "/admin/imports/template.xlsx"),
    "imports.job_errors": ("school-heping1", "/admin/imports/job/{import}/errors.xlsx"),
    "audit.export": ("audit-admin", "/admin/audit/export/csv/"),
    "classes.roster_pdf": ("school-heping1", "/admin/classes/{class}/roster.pdf"),
    "classes.roster_xlsx": ("school-heping1", "/admin/classes/{class}/roster.xlsx"),
    "export_requests.download": ("school-heping1", "/admin/export_requests/{export}/download"),
    "photos.photo_view": ("school-heping1", "/admin/photos/{pupil}/photo.jpg"),
    "student_cards.card_pdf": ("school-heping1", "/admin/student_cards/{pupil}.pdf"),
    "student_cards.job_pdf": ("school-heping1", "/admin/student_cards/job/{card_job}.pdf"),
    "student_cards.batch_pdf": ("school-heping1", "/admin/student_cards/batch.pdf?ids={pupil}"),
    "pupil_cards.pupil_sheet": ("school-heping1", "/admin/pupil_cards/{pupil}/sheet.pdf"),
    "pupil_cards.class_sheet": ("school-heping1", "/admin/pupil_cards/class/{class}/sheet.pdf"),
    "pupil_cards.selected_sheet": ("school-heping1", "/admin/pupil_cards/sheet.pdf?ids={pupil}"),
    "national.basic_xlsx": ("school-heping1", "/admin/national/basic.xlsx"),  # 全国学籍对接 (issue 16, point 4)
    "national.changes_xlsx": ("school-heping1", "/admin/national/changes.xlsx?start=2026-01-01&end=2026-12-31"),
    **{f"{name}.export": ("heping", f"/admin/{name}/export/csv/")
       for name in ("authority", "calendar", "certificates", "problems", "requests", "school", "users")},
}


def test_the_walk_covers_every_declared_endpoint(app):
    assert set(URLS) == file_endpoints(app)


def _refuse(actor, kind_code, groups=(), personal=True):
    return export_gate.Decision(False, reason="测试：网关拒绝")


@pytest.mark.parametrize("endpoint", sorted(URLS))
def test_each_file_route_is_refused_when_the_gate_says_no(app, as_user, made, monkeypatch, endpoint):
    who, url = URLS[endpoint]
    c = as_user(who)
    monkeypatch.setattr(export_gate, "decide", _refuse)
    resp = c.get(url.format(**made))
    assert not export_gate.is_file_response(resp), endpoint
    if export_gate.ENDPOINT_KIND[endpoint].policy == export_gate.NOT_EXPORTABLE and resp.status_code == 302:
        return  # Flask-Admin's own answer for a list without export: back to the list, no file
    assert resp.status_code == 403, (endpoint, resp.status_code, resp.headers.get("Location"))
    assert "attachment" not in resp.headers.get("Content-Disposition", "")
    assert resp.mimetype == "text/html"
    body = resp.get_data(as_text=True)
    assert "测试：网关拒绝" in body or "未经数据导出审查" in body
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.refused")) is not None


def test_a_view_that_skips_the_gate_sends_no_file(app, as_user, monkeypatch):
    """The guard, not the views' discipline: a page made to answer a file without asking is refused."""
    c = as_user("heping")
    original = app.view_functions["statistics.index"]

    def leaky(*args, **kwargs):
        return Response(b"xjh,id\n1,210102201501011234\n", mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=leak.csv"})

    monkeypatch.setitem(app.view_functions, "statistics.index", leaky)
    resp = c.get("/admin/statistics/")
    assert resp.status_code == 403 and b"210102201501011234" not in resp.data
    assert "未经数据导出审查" in resp.get_data(as_text=True)
    app.view_functions["statistics.index"] = original


def test_system_and_security_administrators_take_no_pupil_file(as_user):
    for who in ("admin", "security-admin"):
        resp = as_user(who).get("/admin/student/export/xlsx/")
        assert resp.status_code in (403, 302), who
        assert "attachment" not in resp.headers.get("Content-Disposition", "")


def test_the_audit_log_export_is_for_the_audit_administrator(as_user):
    ok = as_user("audit-admin").get("/admin/audit/export/csv/")
    assert ok.status_code == 200 and "attachment" in ok.headers["Content-Disposition"]
    refused = as_user("heping").get("/admin/audit/export/csv/")
    assert refused.status_code == 403 and "审计管理员" in refused.get_data(as_text=True)


def test_the_public_certificate_check_stays_open(app):
    assert app.test_client().get("/verify/").status_code == 200
