"""Export requests (issue 13, points 2–3; 第二十八条): who exports directly, who asks, who decides,
the produced file's watermark and masking, the 24-hour single-user download, the register."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.export_request import APPROVED, EXPIRED, PENDING, READY, REFUSED, ExportDownload, ExportRequest
from services import clock, export_requests, uploads
from services.errors import RuleViolation
from tests.builders import make_certificate
from tests.helpers import HEPING1, HEPING2, pupil_of, school
from tests.queue.heartbeat import dead_worker
from tests.transfer_helpers import user

MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
FULL_ID = re.compile(r"^\d{17}[\dX]$")
NEW_URL = "/admin/export_requests/new"


def _rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def _column(rows: list[tuple], header: str, header_row: int = 0) -> list:
    i = list(rows[header_row]).index(header)
    return [r[i] for r in rows[header_row + 1:]]


def ask(c, url: str, purpose: str = "核对本校学生身份信息，用于营养餐补助名单", fields: list[str] | None = None):
    """Click the export button, land on the prefilled request form, submit it: the request's id."""
    r = c.get(url)
    assert r.status_code == 302 and r.headers["Location"].startswith(NEW_URL), (r.status_code, r.headers.get("Location"))
    form_url = r.headers["Location"]
    page = c.get(form_url)
    assert page.status_code == 200 and "新建数据导出申请" in page.get_data(as_text=True)
    args = {k: v[0] for k, v in parse_qs(urlsplit(form_url).query, keep_blank_values=True).items()}
    data = {k: args.get(k, "") for k in ("kind", "view", "args", "q", "scope")}
    data["purpose"] = purpose
    data["fields"] = fields if fields is not None else [f for f in args.get("fields", "").split(",") if f]
    resp = c.post_form(NEW_URL, data, token_from=form_url)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return int(re.search(r"/export_requests/(\d+)/", resp.headers["Location"]).group(1))


def decide(c, request_id: int, approve: bool = True, reason: str = ""):
    page = f"/admin/export_requests/{request_id}/"
    return c.post_form(f"{page}{'approve' if approve else 'refuse'}", {"reason": reason}, token_from="/admin/export_requests/")


def status_of(app, request_id: int) -> ExportRequest:
    with app.app_context():
        req = db.session.get(ExportRequest, request_id)
        db.session.expunge(req)
        return req


def produce(app, request_id: int) -> ExportRequest:
    """What the background thread does, here on the test's own connection."""
    with app.app_context():
        export_requests.produce(app, request_id)
    return status_of(app, request_id)


@pytest.fixture(autouse=True)
def no_thread_in_a_rolled_back_test(request, monkeypatch):
    """The file is produced by a queued task (run at once in the suite); outside the committing
    tests the test itself calls `produce`, on its own connection, when it wants the file."""
    if request.node.get_closest_marker("committing") is None:
        monkeypatch.setattr(export_requests, "start", lambda req: None)


# --- the rules: direct or request -------------------------------------------------------------
def test_a_school_exports_its_own_non_sensitive_columns_directly(app, as_user):
    resp = as_user("school-heping1").get("/admin/student/export/xlsx/")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = _rows(resp.data)
    assert "现住址" not in rows[0] and "Current address" not in rows[0]
    ids = [v for v in _column(rows, "身份证件号") if v]
    assert ids and all(MASKED_ID.match(v) for v in ids)
    assert all(not (v or "").startswith("G") or "*" in v for v in _column(rows, "学籍号"))
    with app.app_context():
        row = db.session.scalar(select(ExportDownload).order_by(ExportDownload.id.desc()))
        assert row.kind == "student_list" and row.request_id is None and row.user.email == "school-heping1@xueji.demo"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.download"))


def test_a_school_export_with_id_numbers_becomes_a_request(app, as_user):
    c = as_user("school-heping1")
    listing = c.get("/admin/student/?flt0_3=in_school").get_data(as_text=True)
    link = re.search(r'id="export-sensitive">[^<]*<a href="([^"]+)"', listing).group(1).replace("&amp;", "&")
    assert "sensitive=1" in link and "flt0_3=in_school" in link
    assert c.get(link).headers["Location"].startswith(NEW_URL)
    request_id = ask(c, "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    req = status_of(app, request_id)
    assert req.status == PENDING and req.field_codes == ["id_number"] and req.kind == "student_list"
    assert re.match(r"^DC-\d{4}-\d{6}$", req.number)
    assert req.purpose.startswith("核对本校") and req.endpoint == "student.export" and "sensitive=1" in req.query_string
    page = c.get(f"/admin/export_requests/{request_id}/").get_data(as_text=True)
    assert "待审批" in page and "身份证件号" in page and 'id="download-export"' not in page


def test_a_county_export_becomes_a_request_even_without_sensitive_fields(app, as_user):
    c = as_user("heping")
    resp = c.get("/admin/student/export/xlsx/?flt0_3=in_school")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(NEW_URL)
    assert "flt0_3%3Din_school" in resp.headers["Location"] or "flt0_3=in_school" in resp.headers["Location"]
    request_id = ask(c, "/admin/student/export/csv/?flt0_3=in_school", fields=[])
    req = status_of(app, request_id)
    assert req.status == PENDING and req.field_codes == [] and req.query_string == "flt0_3=in_school"


@pytest.mark.parametrize("who", ["shenyang", "province", "dalian"])
def test_city_and_province_exports_become_requests(as_user, who):
    """The fault: a city official downloaded 1,603 pupils with full ID numbers."""
    resp = as_user(who).get("/admin/student/export/xlsx/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(NEW_URL)
    assert "attachment" not in resp.headers.get("Content-Disposition", "")


def test_a_schools_graduation_roster_masks_ids_unless_approved(app, as_user):
    with app.test_request_context():
        make_certificate(HEPING2)  # a grade-9 roster line of this year
        db.session.commit()
        heping2, year = school(HEPING2).id, clock.today().year
    c = as_user("school-heping2")
    resp = c.get(f"/admin/graduation/{heping2}/{year}/export.xlsx")
    assert resp.status_code == 200
    ids = [v for v in _column(_rows(resp.data), "身份证件号") if v]
    assert ids and all(MASKED_ID.match(v) for v in ids)
    asked = c.get(f"/admin/graduation/{heping2}/{year}/export.xlsx?sensitive=1")
    assert asked.headers["Location"].startswith(NEW_URL) and "id_number" in asked.headers["Location"]


def test_a_request_needs_a_purpose(app, as_user):
    c = as_user("school-heping1")
    form_url = c.get("/admin/student/export/xlsx/?sensitive=1").headers["Location"]
    args = {k: v[0] for k, v in parse_qs(urlsplit(form_url).query, keep_blank_values=True).items()}
    data = {k: args.get(k, "") for k in ("kind", "view", "args", "q", "scope")}
    resp = c.post_form(NEW_URL, {**data, "purpose": "   ", "fields": ["id_number"]}, token_from=form_url)
    assert resp.status_code == 200 and "请填写导出用途" in resp.get_data(as_text=True)
    bad = c.post_form(NEW_URL, {**data, "kind": "other_list", "purpose": "x"}, token_from=form_url)
    assert bad.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ExportRequest)) is None


# --- deciding ------------------------------------------------------------------------------------
def test_the_unit_above_approves_a_schools_request(app, as_user):
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    assert as_user("school-heping1").get("/admin/export_requests/pending").status_code == 200
    assert f"/admin/export_requests/{request_id}/" in as_user("heping").get("/admin/export_requests/pending").get_data(as_text=True)
    assert decide(as_user("heping"), request_id).status_code == 302
    assert status_of(app, request_id).status == APPROVED  # produced by the background thread (not started here)
    with app.app_context():
        assert db.session.get(ExportRequest, request_id).approver.email == "heping@xueji.demo"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.approve", AuditLog.object_id == str(request_id)))


def test_the_units_confidentiality_officer_approves_the_countys_own_request(app, as_user):
    request_id = ask(as_user("heping"), "/admin/student/export/xlsx/")
    decide(as_user("baomi-heping"), request_id)
    with app.app_context():
        assert db.session.get(ExportRequest, request_id).approver.email == "baomi-heping@xueji.demo"


def test_not_the_requester_nor_another_county_nor_a_school(app, as_user):
    request_id = ask(as_user("heping"), "/admin/student/export/xlsx/")
    requester = as_user("heping")
    resp = decide(requester, request_id)  # the requester
    assert resp.status_code == 302
    assert "申请人不能审批自己的申请" in requester.get(resp.headers["Location"]).get_data(as_text=True)
    assert status_of(app, request_id).status == PENDING
    assert decide(as_user("shenhe"), request_id).status_code == 404  # another county: not even visible
    assert decide(as_user("school-heping1"), request_id).status_code == 404  # below: not visible
    assert as_user("shenhe").get(f"/admin/export_requests/{request_id}/").status_code == 404
    assert status_of(app, request_id).status == PENDING
    decide(as_user("shenyang"), request_id)  # the city above
    with app.app_context():
        assert db.session.get(ExportRequest, request_id).approver.email == "shenyang@xueji.demo"


def test_an_official_does_not_approve_a_colleagues_request_of_the_same_unit(app):
    with app.test_request_context():
        req = export_requests.create(user("school-heping1"), "student_list", "用途", ["id_number"], "student.export",
                                     {"export_type": "xlsx"})
        other = export_requests.create(user("heping"), "student_list", "用途", [], "student.export", {"export_type": "xlsx"})
        assert export_requests.decide_refusal(user("principal-heping1"), req) is not None  # same school, not an officer
        assert export_requests.decide_refusal(user("heping"), other) is not None  # own request
        assert export_requests.decide_refusal(user("dalian"), req) is not None  # another city
        assert export_requests.decide_refusal(user("baomi-heping"), req) is None
        db.session.rollback()


def test_refusal_needs_a_reason(app, as_user):
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["address"])
    c = as_user("heping")
    resp = decide(c, request_id, approve=False, reason="")
    assert "驳回须填写理由" in c.get(resp.headers["Location"]).get_data(as_text=True)
    assert status_of(app, request_id).status == PENDING
    decide(c, request_id, approve=False, reason="用途与住址无关")
    req = status_of(app, request_id)
    assert req.status == REFUSED and req.refusal_reason == "用途与住址无关"
    page = as_user("school-heping1").get(f"/admin/export_requests/{request_id}/").get_data(as_text=True)
    assert "已驳回" in page and "用途与住址无关" in page
    # decided once: the confidentiality officer's later approval does not count
    decide(as_user("baomi-heping"), request_id)
    assert status_of(app, request_id).status == REFUSED


@pytest.mark.committing
def test_two_approvers_at_once_only_one_decision_counts(app):
    with app.app_context():
        req = export_requests.create(user("school-heping1"), "student_list", "并发测试", [], "student.export",
                                     {"export_type": "xlsx"})
        db.session.commit()
        request_id = req.id
        db.session.remove()
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def act(who: str, approve: bool) -> None:
        with app.app_context():
            try:
                actor = user(who)
                row = db.session.get(ExportRequest, request_id)
                barrier.wait()
                export_requests.decide(actor, row, approve, "不同意")
                db.session.commit()
                results[who] = "ok"
            except RuleViolation as exc:
                db.session.rollback()
                results[who] = str(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=("heping", True)), threading.Thread(target=act, args=("baomi-heping", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()).count("ok") == 1, results
    loser = next(v for v in results.values() if v != "ok")
    assert "已由他人处理" in loser or "已处理" in loser
    with app.app_context():
        row = db.session.get(ExportRequest, request_id)
        winner = next(w for w, v in results.items() if v == "ok")
        assert row.approver.email == f"{winner}@xueji.demo"
        assert row.status == (APPROVED if winner == "heping" else REFUSED)
        assert len(db.session.scalars(select(AuditLog).where(AuditLog.object_type == "export_request",
                                                             AuditLog.action.in_(("export.approve", "export.refuse")))).all()) == 1


# --- the produced file -----------------------------------------------------------------------------
@pytest.mark.committing
def test_an_approved_file_is_produced_in_the_background_with_its_watermark(app, as_user):
    school_c = as_user("school-heping1")
    request_id = ask(school_c, "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    decide(as_user("heping"), request_id)
    deadline = time.monotonic() + 60
    while status_of(app, request_id).status == APPROVED and time.monotonic() < deadline:
        time.sleep(0.2)
    req = status_of(app, request_id)
    assert req.status == READY, (req.status, req.error)
    page = school_c.get(f"/admin/export_requests/{request_id}/").get_data(as_text=True)
    assert "已生成" in page and 'id="download-export"' in page
    resp = school_c.get(f"/admin/export_requests/{request_id}/download")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = _rows(resp.data)
    banner = rows[0][0]
    assert req.number in banner and "和平" in banner and "申请人" in banner and "生成时间" in banner
    with app.app_context():
        assert db.session.get(ExportRequest, request_id).requester.name in banner
    ids = [v for v in _column(rows, "身份证件号", header_row=1) if v]
    assert ids and all(FULL_ID.match(v) for v in ids)  # the ID number was approved
    assert req.rows == len(rows) - 2
    with app.app_context():
        row = db.session.get(ExportRequest, request_id)
        assert row.downloads == 1
        assert db.session.scalar(select(ExportDownload).where(ExportDownload.request_id == request_id)).rows == req.rows


def test_ids_are_masked_unless_the_id_number_is_approved(app, as_user):
    request_id = ask(as_user("heping"), "/admin/student/export/csv/", fields=[])
    decide(as_user("shenyang"), request_id)
    req = produce(app, request_id)
    assert req.status == READY, req.error
    resp = as_user("heping").get(f"/admin/export_requests/{request_id}/download")
    lines = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert req.number in lines[0][0]  # the CSV's first line is the watermark
    ids = [v for v in _column(lines, "身份证件号", header_row=1) if v]
    assert ids and all(MASKED_ID.match(v) for v in ids)
    assert "现住址" not in lines[1]


def test_an_approved_address_export_has_the_address_column(app, as_user):
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["address", "guardian"])
    decide(as_user("baomi-heping"), request_id)
    req = produce(app, request_id)
    rows = _rows(as_user("school-heping1").get(f"/admin/export_requests/{request_id}/download").data)
    assert "现住址" in rows[1] and "监护人" in rows[1]
    assert all(MASKED_ID.match(v) for v in _column(rows, "身份证件号", header_row=1) if v)
    assert req.fields == "address,guardian"


def test_a_pdf_carries_the_watermark_on_every_page(app, as_user):
    with app.app_context():
        pupil_id = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    request_id = ask(c, f"/admin/archive/{pupil_id}/export.pdf")
    assert status_of(app, request_id).fields == "address,guardian,health,id_number"  # the archive carries them all
    decide(as_user("heping"), request_id)
    req = produce(app, request_id)
    assert req.status == READY, req.error
    pdf = PdfReader(io.BytesIO(c.get(f"/admin/export_requests/{request_id}/download").data))
    assert len(pdf.pages) == req.rows
    for page in pdf.pages:
        assert req.number in page.extract_text()


def test_the_download_is_for_the_requester_only_and_expires_after_24_hours(app, as_user, monkeypatch):
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    decide(as_user("heping"), request_id)
    req = produce(app, request_id)
    for other in ("heping", "principal-heping1", "school-heping2"):
        assert as_user(other).get(f"/admin/export_requests/{request_id}/download").status_code == 404, other
    c = as_user("school-heping1")
    assert c.get(f"/admin/export_requests/{request_id}/download").status_code == 200
    later = req.expires_at + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    c = as_user("school-heping1")  # a day later the old login session has expired too (services/sessions.py)
    resp = c.get(f"/admin/export_requests/{request_id}/download")
    assert resp.status_code == 403 and "过期" in resp.get_data(as_text=True)
    gone = status_of(app, request_id)
    assert gone.status == EXPIRED and gone.file_sha256 is None
    with app.app_context():
        assert not uploads.path_of(req.file_sha256).exists()
    assert "已过期" in c.get(f"/admin/export_requests/{request_id}/").get_data(as_text=True)


# --- the register ------------------------------------------------------------------------------
def test_the_register_is_filtered_by_unit_and_scoped(app, as_user):
    mine = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["health"])
    county = ask(as_user("heping"), "/admin/student/export/xlsx/")
    elsewhere = ask(as_user("school-shenhe1"), "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    as_user("school-heping2").get("/admin/student/export/xlsx/")  # a direct export, in the downloads
    c = as_user("heping")
    page = c.get("/admin/export_requests/register").get_data(as_text=True)
    assert f"export-request-{mine}\"" in page and f"export-request-{county}\"" in page
    assert f"export-request-{elsewhere}\"" not in page
    assert "直接导出" in page
    with app.app_context():
        heping1 = school(HEPING1).id
    page = c.get(f"/admin/export_requests/register?unit={heping1}").get_data(as_text=True)
    assert f"export-request-{mine}\"" in page and f"export-request-{county}\"" not in page
    page = c.get("/admin/export_requests/register?status=pending&kind=student_list&user=school-heping1").get_data(as_text=True)
    assert f"export-request-{mine}\"" in page and f"export-request-{county}\"" not in page
    page = c.get("/admin/export_requests/register?date_from=2000-01-01&date_to=2000-01-02").get_data(as_text=True)
    assert f"export-request-{mine}\"" not in page
    school_page = as_user("school-heping1").get("/admin/export_requests/register").get_data(as_text=True)
    assert f"export-request-{mine}\"" in school_page and f"export-request-{county}\"" not in school_page
    assert f"export-request-{mine}\"" in as_user("shenyang").get("/admin/export_requests/register").get_data(as_text=True)


def test_everything_is_audited(app, as_user):
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    decide(as_user("heping"), request_id)
    produce(app, request_id)
    as_user("school-heping1").get(f"/admin/export_requests/{request_id}/download")
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "export_request",
                                                                       AuditLog.object_id == str(request_id))))
    assert {"export.request", "export.approve", "export.produce", "export.download"} <= actions


def test_the_pages_are_in_chinese(as_user):
    c = as_user("heping")
    for url in ("/admin/export_requests/", "/admin/export_requests/pending", "/admin/export_requests/register"):
        html = c.get(url).get_data(as_text=True)
        assert "数据导出申请" in html and "我的申请" in html and "待我审批" in html and "导出登记" in html
        assert "True" not in html and "False" not in html and "None" not in html


def test_a_production_whose_worker_died_is_failed_with_a_retry_for_the_approvers(app, as_user):
    """The worker died mid-file (its heartbeat stopped): 生成失败 with 重试, for those who could approve it."""
    request_id = ask(as_user("school-heping1"), "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    assert decide(as_user("heping"), request_id).status_code == 302
    page_url = f"/admin/export_requests/{request_id}/"
    waiting = as_user("heping").get(page_url).get_data(as_text=True)
    assert "已批准" in waiting and 'id="producing"' in waiting and "生成失败" not in waiting  # not started yet: waiting
    dead_worker(export_requests.PROGRESS_KIND, request_id)
    page = as_user("school-heping1").get(page_url).get_data(as_text=True)
    assert "生成失败" in page and "可重试" in page and 'id="retry-export"' not in page  # the requester cannot retry
    assert 'id="retry-export"' in as_user("heping").get(page_url).get_data(as_text=True)
    assert as_user("dalian").post_form(f"{page_url}retry", {}, token_from="/admin/export_requests/").status_code == 404
    as_user("school-heping1").post_form(f"{page_url}retry", {}, token_from="/admin/export_requests/")
    assert status_of(app, request_id).status == "failed"
    assert as_user("heping").post(f"{page_url}retry").status_code == 400  # no CSRF token
    assert as_user("heping").post_form(f"{page_url}retry", {}, token_from="/admin/export_requests/").status_code == 302
    assert status_of(app, request_id).status == APPROVED
    assert produce(app, request_id).status == READY
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.retry", AuditLog.object_id == str(request_id)))


def test_the_request_names_the_lists_filters_in_words(as_user):
    """The approver reads which rows will leave: the filters by their names and values, not a query string."""
    c = as_user("heping")
    form_url = c.get("/admin/student/export/xlsx/?sensitive=1&search=王&flt0_3=enrolled").headers["Location"]
    shown = re.search(r"筛选条件：([^<]*)<", c.get(form_url).get_data(as_text=True)).group(1)
    assert shown == "搜索“王”；学籍状态 等于 在籍"  # the export link's own parameter is left out
    request_id = ask(c, "/admin/student/export/xlsx/?search=王&flt0_3=enrolled")
    shown = re.search(r"筛选条件：([^<]*)<", c.get(f"/admin/export_requests/{request_id}/").get_data(as_text=True)).group(1)
    assert shown == "搜索“王”；学籍状态 等于 在籍"
