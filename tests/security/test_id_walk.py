"""The id walk (issue 13, point 15): every route that takes an internal id, from the URL map, tried
with an id outside the user's scope, by each kind of role, with GET and (where the route takes it)
POST with a valid CSRF token. Out of scope must look exactly like absent: the answer is the same as
for an id that exists nowhere, and it is 404 (403 only where the role may not use the page at all,
which the absent id then shows too); and no row changes.

The routes are enumerated, not listed: a path argument that is an integer or named id/*_id, the
`?id=` and row posts of every Flask-Admin model view, and the `*_id` query or form arguments the
handlers read (found in their source). A new route with an id that this file does not know fails
loudly (`test_every_id_route_has_an_out_of_scope_case`) until it is given a case here.

The roles are of 和平区 (沈阳) and of 大连; every row tried belongs to 沈河区 (沈阳), outside all three.
"""

from __future__ import annotations

import inspect
import re
import typing as t
from datetime import date, datetime

import pytest
from flask import Flask, url_for
from flask_admin.model import BaseModelView
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter, Rule

from extensions import db
from tests.conftest import end_extended_demo, extend_demo, login
from tests.helpers import SHENHE1, pupil_of, school

ROLES = ("school-heping1@xueji.demo", "heping@xueji.demo", "dalian@xueji.demo")  # school, county (和平区), another city
ABSENT = 2_000_000_000  # an id no row has
# Path arguments that are integers but not row ids.
NOT_IDS = {"year": "a calendar year (the graduation roster's, or a holiday notice's), not a row"}
# The values of path arguments that are not ids (the kind of form, a format …).
OTHER_ARGS = {"section": "awards", "kind": "transfer_contact", "fmt": "pdf", "ext": "pdf", "year": 2026}
ARGS_BY_ENDPOINT = {"status.new": {"kind": "suspension"}, "rosters.pdf": {"kind": "new"}, "rosters.xlsx": {"kind": "new"}}
# Per view (the endpoint's prefix), each path id → the foreign row (key of the `foreign` fixture) it
# names. Keyed by view because one name means different tables in different views (job_id: an
# import job, a certificate print job); a view or an id name not listed here fails loudly.
PATH_IDS = {
    "requests": {"request_id": "request", "attachment_id": "attachment"},
    "status": {"task_id": "archive_handover"},
    "problems": {"problem_id": "problem"},
    "school": {"school_id": "school"},
    "archive": {"student_id": "student", "entry_id": "award", "doc_id": "document", "backup_id": "backup"},
    "paper": {"student_id": "student", "handover_id": "paper_handover"},
    "registrars": {"registrar_id": "registrar"},
    "graduation": {"school_id": "school"},
    "certificates": {"student_id": "student", "record_id": "graduation_record", "cert_id": "certificate", "job_id": "print_job"},
    "rosters": {"unit_id": "school", "submission_id": "submission"},
    "campaigns": {"campaign_id": "campaign"},
    "imports": {"job_id": "import_job"},
    "student": {"student_id": "student"},  # reveal-id (the full ID number behind a masked one)
    "archive_overdue": {"student_id": "student"},  # the same route, on the list that shares StudentView
    "access_review": {"review_id": "access_review", "item_id": "access_review_item"},
    "export_requests": {"request_id": "export_request"},
    "saved_filters": {"filter_id": "saved_filter"},  # a user's own saved list filter (issue 14, point 4)
    "classes": {"class_id": "school_class"},  # 班级管理 (issue 16, point 7)
    "photos": {"student_id": "student", "photo_id": "pupil_photo"},  # 学生照片 (issue 16, point 1)
    "student_cards": {"student_id": "student", "job_id": "card_job"},  # 学籍卡 (issue 16, point 2)
    "pupil_cards": {"student_id": "student", "class_id": "school_class"},  # 学生卡 (issue 16, point 3)
    "api_tokens": {"token_id": "api_token"},  # 数据接口令牌 (issue 16, point 5): the system administrator's
    "api": {"pupil_id": "student"},  # the data API: a session never opens it (401); tests/api/ walks it by token
    "messages": {"notice_id": "user_notification"},  # 我的消息: 沈河一校's registrar's own (issue 16, point 6)
}
# Ids read from the query string or the form by handlers (found in their source): endpoint → where.
QUERY_IDS = {
    "status.new": ("args", "student_id", "student"), "status.absence": ("args", "student_id", "student"),
    "status.contact": ("args", "student_id", "student"), "requests.correction_new": ("args", "student_id", "student"),
    "requests.delay_new": ("args", "student_id", "student"), "requests.enrollment_submit": ("args", "student_id", "student"),
    "requests.delay_start": ("args", "student_id", "student"),
    "requests.out_of_province_new": ("args", "student_id", "student"),
    "certificates.class_page": ("args", "school_id", "school"), "certificates.issue_class": ("form", "school_id", "school"),
    "certificates.print_class": ("form", "school_id", "school"),
    "student_cards.index": ("args", "school_id", "school"),  # 学籍卡 by class (issue 16, point 2)
    # 全国学籍对接 (issue 16, point 4): the unit whose pupils are exported or reconciled
    "national.basic_xlsx": ("args", "unit_id", "school"), "national.changes_xlsx": ("args", "unit_id", "school"),
    "national.reconcile_upload": ("form", "unit_id", "school"), "national.changes_check": ("form", "unit_id", "school"),
    # The lookup pages take no row id at all: a posted one is refused (tests/security/test_cross_scope_faults.py).
    "requests.transfer_new": ("form", "start-pupil", "student"), "requests.continuation_new": ("form", "confirm-pupil", "student"),
}
# Flask-Admin model view endpoints that take a row id, and how.
MODEL_VIEW_ROUTES = {
    "details_view": ("GET", "args", "id"), "edit_view": ("GET", "args", "id"), "delete_view": ("POST", "form", "id"),
    "action_view": ("POST", "form", "rowid"), "ajax_update": ("POST", "form", "list_form_pk"),
}
# A model view's model → the foreign row of it.
MODEL_ROWS = {"Student": "student", "ChangeRequest": "request", "Certificate": "certificate", "ProblemRecord": "problem",
              "User": "user", "AuditLog": "audit", "CalendarDay": "calendar_day"}
MODEL_ROWS_BY_ENDPOINT = {"school": "school", "authority": "county"}
SOURCE_ID_RE = re.compile(r"""request\.(?:args|form|values)(?:\.get|\.getlist)?[(\[]\s*["'](\w*id)["']|scoped_pupil\(|_own_pupil\(""")
FORM_DATA = {"decision": "approve", "comment": "x", "reason": "x", "note": "x", "material": "hukou", "step_id": "1",
             "year": "2026", "location": "x", "received_by": "x", "carried_by": "x"}


def _ids_of(rule: Rule) -> list[str]:
    return [name for name, conv in rule._converters.items()
            if name not in NOT_IDS and (isinstance(conv, IntegerConverter) or name == "id" or name.endswith("_id"))]


def _admin_views(app: Flask) -> dict[str, t.Any]:
    return {v.endpoint: v for a in app.extensions.get("admin", []) for v in a._views}


def _source_reads_ids(app: Flask, endpoint: str) -> bool:
    prefix, _, name = endpoint.partition(".")
    view = _admin_views(app).get(prefix)
    func = getattr(view, name, None) if view is not None else app.view_functions.get(endpoint)
    if func is None or (isinstance(view, BaseModelView) and name in MODEL_VIEW_ROUTES):
        return False
    try:
        return bool(SOURCE_ID_RE.search(inspect.getsource(func)))
    except (OSError, TypeError):
        return False


def build_foreign_rows() -> dict[str, t.Any]:
    """One row of every kind an id route loads, all in 沈河区 (outside the walking roles' scope):
    kind → id. Written directly (flushed), minimal but loadable."""
    from models.access_review import AccessReview, AccessReviewItem
    from models.archive import ArchiveBackup, ArchiveDocument, Award
    from models.audit import AuditLog
    from models.calendar import CalendarDay
    from models.changes import ApprovalStep, Attachment, ChangeRequest
    from models.export_request import READY, ExportRequest
    from models.graduation import Certificate, GraduationRecord
    from models.imports import ImportJob
    from models.oversight import CheckCampaign
    from models.paper import PaperHandover
    from models.people import User
    from models.problems import ProblemRecord
    from models.rosters import RosterSubmission, SchoolRegistrar
    from models.school_class import SchoolClass
    from models.status import ArchiveHandover
    from services.certificates import batch

    s = pupil_of(SHENHE1)
    unit = school(SHENHE1)
    staff = db.session.scalar(select(User).where(User.email == "school-shenhe1@xueji.demo"))
    from services import uploads

    sha = uploads.store(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")  # a real file: a leak would be served
    req = ChangeRequest(type="correction", status="pending", student=s, to_school=unit, to_path=unit.path,
                        payload={"changes": {}}, grade_at_request=s.grade, requested_by=staff, requester_unit=unit)
    req.steps.append(ApprovalStep(seq=1, role="school", unit=unit, workdays=10))
    db.session.add(req)
    db.session.flush()
    rows: dict[str, t.Any] = {
        "student": s, "request": req, "school": unit, "user": staff,
        "attachment": Attachment(request=req, material="hukou", filename="x.png", content_type="image/png", size=1,
                                 sha256=sha, uploaded_by_id=staff.id),
        "award": Award(student_id=s.id, date=date(2026, 1, 1), name="x", level="1"),
        "document": ArchiveDocument(student_id=s.id, kind="other", filename="x.png", content_type="image/png", size=1,
                                    sha256=sha),
        "backup": ArchiveBackup(student_id=s.id, from_school_id=unit.id, pdf_sha256=sha, xlsx_sha256=sha,
                                scope_path=unit.path),
        "graduation_record": GraduationRecord(student_id=s.id, school_id=unit.id, scope_path=unit.path, year=2026, grade=6),
        "campaign": CheckCampaign(unit_id=unit.supervisor_id or unit.id, scope_path=unit.path.rsplit("/", 2)[0] + "/",
                                  title="x", due_on=date(2026, 12, 31), started_by_id=staff.id),
        "problem": ProblemRecord(student_id=s.id, kind="soft_name_birth", scope_path=unit.path),
        "registrar": SchoolRegistrar(school_id=unit.id, scope_path=unit.path, name="x", phone="1", appointed_on=date(2026, 1, 1),
                                     full_time=True, formal_staff=True, recorded_by_id=staff.id),
        "submission": RosterSubmission(school_id=unit.id, scope_path=unit.path, kind="new", year=2026, submitted_by_id=staff.id,
                                       due_on=date(2026, 10, 1), on_time=True, pdf_sha256=sha, pdf_size=1, xlsx_sha256=sha,
                                       xlsx_size=1),
        "paper_handover": PaperHandover(student_id=s.id, request_id=req.id, from_school_id=unit.id, to_school_id=unit.id,
                                        from_path=unit.path, to_path=unit.path),
        "archive_handover": ArchiveHandover(student_id=s.id, request_id=req.id, scope_path=unit.path,
                                            authority_id=unit.supervisor_id or unit.id, hukou_division="210103",
                                            due_on=date(2026, 12, 31)),
        "import_job": ImportJob(school_id=unit.id, user_id=staff.id, filename="x.xlsx"),
        "audit": AuditLog(user_id=staff.id, user_email=staff.email, unit_id=unit.id, scope_path=unit.path, action="x"),
        "calendar_day": CalendarDay(day=date(2031, 5, 6), is_workday=False, note="x"),
        "school_class": SchoolClass(school_id=unit.id, scope_path=unit.path, school_year=2026, grade=s.grade, name="走查班"),
    }
    db.session.add_all([v for k, v in rows.items() if k not in ("student", "request", "school", "user")])
    db.session.flush()
    rows["certificate"] = Certificate(kind="diploma", student_id=s.id, school_id=unit.id, scope_path=unit.path,
                                      county_id=unit.supervisor_id or unit.id, year=2026, serial=1, number="X-1",
                                      verify_code="ZZZZZZZZ", issued_by_id=staff.id,
                                      graduation_record_id=rows["graduation_record"].id)
    db.session.add(rows["certificate"])
    shenhe = db.session.scalar(select(User).where(User.email == "shenhe@xueji.demo"))
    rows["access_review"] = AccessReview(unit_id=shenhe.unit_id, scope_path=shenhe.scope_path, term_start=date(2026, 9, 1),
                                         term_end=date(2027, 1, 31), opened_by_id=shenhe.id)
    rows["access_review"].items.append(AccessReviewItem(user_id=staff.id, unit_id=unit.id, email=staff.email))
    db.session.add(rows["access_review"])
    db.session.flush()
    rows["access_review_item"] = rows["access_review"].items[0]
    # A ready file of 沈河一校's (a leak would be served): its page, approve, refuse and download.
    rows["export_request"] = ExportRequest(number="DC-2026-999999", requester_id=staff.id, unit_id=unit.id, scope_path=unit.path,
                                           kind="student_list", purpose="x", endpoint="student.export", status=READY,
                                           file_sha256=sha, file_name="x.xlsx", mimetype="application/octet-stream",
                                           expires_at=datetime(2099, 1, 1))
    db.session.add(rows["export_request"])
    from models.saved_filter import SavedFilter  # 沈河一校's registrar's own: nobody else opens or deletes it

    rows["saved_filter"] = SavedFilter(user_id=staff.id, endpoint="student.index_view", name="x", query_string="search=1")
    db.session.add(rows["saved_filter"])
    db.session.flush()
    job = batch.PrintJob(id="walk" + "0" * 28, user_id=staff.id, school_id=unit.id, school_name=unit.name, year=2026, total=1)
    batch._save(job)
    from services import student_card_batch

    card_job = student_card_batch.CardJob(id="walkcard" + "0" * 24, user_id=staff.id, school_id=unit.id, title="x", total=1)
    student_card_batch._save(card_job)
    from models.photo import PupilPhoto

    rows["pupil_photo"] = PupilPhoto(student_id=s.id, sha256=sha, width=358, height=441, original_name="x.jpg", uploaded_by_id=staff.id)
    db.session.add(rows["pupil_photo"])
    from models.api_token import ApiToken

    rows["api_token"] = ApiToken(name="走查令牌", token_hash="f" * 64, prefix="xjt_walk", issuer_unit_id=unit.id,
                                 scope_unit_id=unit.id, scope_path=unit.path, groups="", created_by_id=staff.id,
                                 expires_at=datetime(2099, 1, 1))
    db.session.add(rows["api_token"])
    from models.inbox import UserNotification  # 我的消息: only its recipient reads or marks it

    rows["user_notification"] = UserNotification(user_id=staff.id, kind="step_waiting", title="x", request_id=req.id)
    db.session.add(rows["user_notification"])
    db.session.flush()
    ids = {k: v.id for k, v in rows.items()}
    ids["print_job"] = job.id
    ids["card_job"] = card_job.id
    ids["county"] = unit.parent_id
    return ids


@pytest.fixture(scope="module")
def foreign(app: Flask) -> t.Iterator[dict[str, t.Any]]:
    yield extend_demo(app, build_foreign_rows)
    end_extended_demo()


def _snapshot() -> dict[str, t.Any]:
    """Every table's row count, and the newest change where a table keeps one (audit rows and login
    sessions may grow)."""
    out: dict[str, t.Any] = {}
    for table in db.metadata.sorted_tables:
        if table.name in ("audit_log", "login_session"):  # written by every request or login: not a change of data
            continue
        cols = [func.count()]
        if "version_id" in table.c:
            cols.append(func.sum(table.c.version_id))
        if "updated_at" in table.c:
            cols.append(func.max(table.c.updated_at))
        out[table.name] = tuple(db.session.execute(select(*cols).select_from(table)).one())
    return out


def _cases(app: Flask, ids: dict[str, t.Any]) -> list[tuple[str, str, str, dict, dict]]:
    """(endpoint, method, url, form data, the same with the absent id) for every id route."""
    cases = []
    views = _admin_views(app)
    for rule in app.url_map.iter_rules():
        ep = rule.endpoint
        names = _ids_of(rule)
        methods = [m for m in ("GET", "POST") if m in (rule.methods or ())]
        if names:
            mapping = PATH_IDS[ep.partition(".")[0]]
            args = {a: {**OTHER_ARGS, **ARGS_BY_ENDPOINT.get(ep, {})}.get(a, "x") for a in rule.arguments if a not in names}
            real = {n: ids[mapping[n]] for n in names}
            absent = {n: (("absent" + "0" * 28) if isinstance(ids[mapping[n]], str) else ABSENT) for n in names}
            for m in methods:
                cases.append((ep, m, url_for(ep, **args, **real), {}, {"url": url_for(ep, **args, **absent)}))
            continue
        prefix, _, name = ep.partition(".")
        view = views.get(prefix)
        if isinstance(view, BaseModelView) and name in MODEL_VIEW_ROUTES:
            method, where, key = MODEL_VIEW_ROUTES[name]
            row = ids[MODEL_ROWS_BY_ENDPOINT.get(prefix) or MODEL_ROWS[view.model.__name__]]
            base = url_for(ep)
            if where == "args":
                cases.append((ep, method, f"{base}?id={row}", {}, {"url": f"{base}?id={ABSENT}"}))
            else:
                extra = {"action": next(iter(view._actions_data), "x") if getattr(view, "_actions_data", None) else "x"}
                cases.append((ep, method, base, {key: str(row), **extra}, {"url": base, "data": {key: str(ABSENT), **extra}}))
            continue
        if ep in QUERY_IDS:
            where, key, kind = QUERY_IDS[ep]
            base = url_for(ep, **{a: {**OTHER_ARGS, **ARGS_BY_ENDPOINT.get(ep, {})}[a] for a in rule.arguments})
            for m in methods:
                if where == "args":
                    cases.append((ep, m, f"{base}?{key}={ids[kind]}", {}, {"url": f"{base}?{key}={ABSENT}"}))
                elif m == "POST":
                    cases.append((ep, m, base, {key: str(ids[kind])}, {"url": base, "data": {key: str(ABSENT)}}))
    return cases


def unknown_id_routes(app: Flask) -> list[str]:
    """The routes that take an id (in the path, or read from the query or the form) without a case here."""
    views = _admin_views(app)
    unknown = []
    for rule in app.url_map.iter_rules():
        ep = rule.endpoint
        for name in _ids_of(rule):
            if name not in PATH_IDS.get(ep.partition(".")[0], {}):
                unknown.append(f"{rule.rule}: path id <{name}>")
        prefix, _, vname = ep.partition(".")
        view = views.get(prefix)
        if isinstance(view, BaseModelView) and vname in MODEL_VIEW_ROUTES:
            if prefix not in MODEL_ROWS_BY_ENDPOINT and view.model.__name__ not in MODEL_ROWS:
                unknown.append(f"{rule.rule}: rows of {view.model.__name__}")
        elif not _ids_of(rule) and _source_reads_ids(app, ep) and ep not in QUERY_IDS:
            unknown.append(f"{rule.rule}: reads an id from the query or the form")
    return unknown


def test_every_id_route_has_an_out_of_scope_case(app: Flask) -> None:
    """A route added with an id this walk does not know fails here, loudly, until it gets a case."""
    unknown = unknown_id_routes(app)
    assert not unknown, "id routes without an out-of-scope case in tests/security/test_id_walk.py:\n" + "\n".join(unknown)
    stale = [ep for ep in QUERY_IDS if ep not in app.view_functions]
    assert not stale, f"QUERY_IDS names endpoints that no longer exist: {stale}"


def test_a_new_id_route_without_a_case_is_reported() -> None:
    """The check above on a small app: a path id, and an id read from the query, both unknown."""
    from flask import request

    other = Flask("walk-probe")

    @other.route("/exports/<int:export_id>/download")
    def download(export_id: int) -> str:
        return str(export_id)

    @other.route("/exports/file")
    def file() -> str:
        return request.args.get("export_id", "")

    found = unknown_id_routes(other)
    assert any("<export_id>" in line for line in found) and any(line.startswith("/exports/file") for line in found), found


def _send(client: t.Any, token: str, method: str, url: str, data: dict) -> t.Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**FORM_DATA, **data, "csrf_token": token}, headers={"X-CSRFToken": token})


def _like_absent(endpoint: str, got: t.Any, absent: t.Any) -> bool:
    """404 (or 403 where the role may not use the page at all), the same as for an absent id. A
    Flask-Admin page switched off for the user (delete, edit or details of a read-only list) sends
    everyone back to the list without loading the row: accepted when the absent id gets the very
    same redirect."""
    if got.status_code != absent.status_code:
        return False
    if endpoint.startswith("api."):  # the data API: a login is no token, so every id answers 401 alike
        return got.status_code == 401
    if got.status_code == 302:
        list_url = url_for(endpoint.partition(".")[0] + ".index_view", _external=False)
        return got.headers["Location"] == absent.headers["Location"] and got.headers["Location"].startswith(list_url)
    return got.status_code in (403, 404)


@pytest.mark.parametrize("email", ROLES)
def test_out_of_scope_ids_answer_404_and_change_nothing(app: Flask, foreign: dict[str, t.Any], email: str) -> None:
    client = login(app, email)
    token = client.csrf("/admin/")
    ctx = app.test_request_context()
    ctx.push()
    cases = _cases(app, foreign)
    before = _snapshot()
    ctx.pop()
    assert len(cases) > 80, "the walk found too few id routes"
    wrong = []
    for ep, method, url, data, absent in cases:
        try:
            got = _send(client, token, method, url, data)
            like_absent = _send(client, token, method, absent["url"], absent.get("data", data))
        except Exception as exc:
            wrong.append(f"{method} {url} {data or ''} → {type(exc).__name__}: {exc}")
            continue
        with app.test_request_context():
            same = _like_absent(ep, got, like_absent)
        if not same:
            wrong.append(f"{method} {url} {data or ''} → {got.status_code} (an absent id → {like_absent.status_code})")
    with app.test_request_context():
        after = _snapshot()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not wrong, f"{email}: out-of-scope ids not answered like absent ones (404):\n" + "\n".join(wrong)
    assert not changed, f"{email}: rows changed: {changed}"


def test_ids_posted_in_the_body_of_an_own_page_are_scoped(app: Flask, foreign: dict[str, t.Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids in a form body on a page the user may use: a foreign one among them refuses the whole post
    (404) and changes nothing — a graduation result, a decision's step, a list action's rows."""
    from models.changes import ApprovalStep
    from models.graduation import GraduationRecord
    from models.student import Student
    from tests.helpers import HEPING1
    from tests.transfer_helpers import at, start

    at(monkeypatch, date(2026, 11, 10))  # in term time: the transfer may open
    with app.test_request_context():
        own_school = school(HEPING1).id
        own_pupil = pupil_of(HEPING1).id
        own_request = start(receiver="school-special").id  # 和平一小 → 和平特教: both in 和平区
        foreign_step = db.session.scalar(select(ApprovalStep.id).where(ApprovalStep.request_id == foreign["request"]))
        before = _snapshot()
    c = login(app, "school-heping1@xueji.demo")
    token = c.csrf("/admin/")
    posts = [
        (f"/admin/graduation/{own_school}/2026/assess", {"record_id": str(foreign["graduation_record"]), "result": "passed"}),
        (f"/admin/graduation/{own_school}/2026/assess", {"one": f"{foreign['graduation_record']}:passed"}),
        (f"/admin/requests/{own_request}/decide", {"step_id": str(foreign_step), "decision": "approve", "comment": "x"}),
        ("/admin/student/action/", {"action": "delete", "rowid": [str(own_pupil), str(foreign["student"])]}),
        ("/admin/requests/action/", {"action": "approve", "rowid": [str(own_request), str(foreign["request"])]}),
    ]
    wrong = []
    for url, data in posts:
        resp = c.post(url, data={**data, "csrf_token": token})
        if resp.status_code != 404:
            wrong.append(f"POST {url} {data} → {resp.status_code}")
    assert not wrong, "\n".join(wrong)
    with app.test_request_context():
        assert _snapshot() == before
        assert db.session.get(GraduationRecord, foreign["graduation_record"]).assessment is None
        assert db.session.get(Student, own_pupil) is not None
