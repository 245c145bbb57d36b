"""The read-only data API (/api/v1/, issue 16 point 5): tokens only, scope, paging, the change feed,
masking through the export gate, revocation and expiry, audit, and the token screens."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from extensions import db
from models.api_token import ApiToken
from models.audit import AuditLog, StudentHistory
from models.org import OrgUnit
from models.student import Student
from services import api_tokens, audit, clock, scope
from tests.api.helpers import approved_api_request, bearer, issue, unit
from tests.builders import RARE_NAMES, make_pupil, make_request
from tests.conftest import csrf_from
from tests.helpers import HEPING1, HEPING2, SHENHE1, pupil_of
from tests.transfer_helpers import at, user

HEPING = "210102"  # 和平区
DATA_URLS = ("/api/v1/pupils", "/api/v1/pupils/1", "/api/v1/requests", "/api/v1/changes")
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")


@pytest.fixture
def api(app: Flask):
    return app.test_client()


# --- authentication -------------------------------------------------------------------------------
@pytest.mark.parametrize("url", DATA_URLS)
def test_every_data_endpoint_answers_401_without_a_token(api, url):
    resp = api.get(url)
    assert resp.status_code == 401 and resp.is_json
    assert resp.json["error"]["message"] == "缺少有效的访问令牌，或令牌已过期、已吊销。"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer xjt_not-a-real-token", "Bearer 123",
                                    "Token xjt_abc", "bearer   "])
def test_malformed_or_unknown_tokens_are_401(api, header):
    resp = api.get("/api/v1/pupils", headers={"Authorization": header})
    assert resp.status_code == 401 and resp.json["error"]["status"] == 401


def test_a_logged_in_session_does_not_open_the_api_and_gets_no_cookie(app, as_user):
    browser = as_user("heping")
    assert browser.get("/admin/student/").status_code == 200  # the session works for the screens
    resp = browser.get("/api/v1/pupils")
    assert resp.status_code == 401
    assert "Set-Cookie" not in resp.headers


def test_the_openapi_document_is_public_and_names_every_endpoint(api):
    resp = api.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]) == {"/api/v1/pupils", "/api/v1/pupils/{pupil_id}", "/api/v1/requests", "/api/v1/changes",
                                 "/api/v1/openapi.json"}


def test_an_unknown_api_path_is_a_json_404(api):
    resp = api.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.json["error"]["message"] == "没有这个接口。"


def test_a_path_with_a_line_break_is_a_json_404(app, api):
    """No rule matches it (found by schemathesis): the app's handler answers as the API would."""
    with app.test_request_context():
        secret = issue(HEPING1)
    for path in ("/api/v1/pupils/a%0Ab%0Dc", "/api/v1/%0A", "/api/v1/pupils/1%0A"):
        resp = api.get(path, headers=bearer(secret))
        assert resp.status_code == 404 and resp.mimetype == "application/json", path
        assert resp.json["error"]["message"] == "没有这个接口。"


def test_the_api_is_get_only(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
    resp = api.post("/api/v1/pupils", headers=bearer(secret))
    assert resp.status_code == 405
    assert resp.mimetype == "application/json" and resp.json["error"]["message"] == "数据接口只接受 GET 请求。"


# --- expiry and revocation ------------------------------------------------------------------------
def test_an_expired_token_is_401(app, api, monkeypatch):
    with app.test_request_context():
        secret = issue(HEPING1, days=3)
    assert api.get("/api/v1/pupils", headers=bearer(secret)).status_code == 200
    later = clock.today() + timedelta(days=4)
    at(monkeypatch, later)
    assert api.get("/api/v1/pupils", headers=bearer(secret)).status_code == 401


def test_a_revoked_token_is_401(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        token = api_tokens.find(secret)
        api_tokens.revoke(user("admin"), token)
        db.session.commit()
    assert api.get("/api/v1/pupils", headers=bearer(secret)).status_code == 401


def test_expiry_is_required_and_at_most_a_year(app):
    from services.errors import RuleViolation

    with app.test_request_context():
        admin, heping = user("admin"), unit(HEPING)
        for expires, field in ((None, "expires_on"), (clock.today() + timedelta(days=400), "expires_on"),
                               (clock.today() - timedelta(days=1), "expires_on")):
            with pytest.raises(RuleViolation) as err:
                api_tokens.issue(admin, "x", heping.id, expires)
            assert [f for f, _m in err.value.problems] == [field]
        ok = api_tokens.issue(admin, "x", heping.id, clock.today() + timedelta(days=365))
        assert ok.token.expires_at.date() == clock.today() + timedelta(days=365)
        db.session.rollback()


@pytest.mark.parametrize(("today", "last"), [(date(2027, 3, 1), date(2028, 3, 1)), (date(2028, 2, 29), date(2029, 2, 28)),
                                             (date(2026, 12, 31), date(2027, 12, 31))])
def test_a_year_is_a_calendar_year_across_leap_days_and_new_year(app, monkeypatch, today, last):
    from services.errors import RuleViolation

    at(monkeypatch, today)
    with app.test_request_context():
        admin, heping = user("admin"), unit(HEPING)
        assert api_tokens.issue(admin, "x", heping.id, last).token.expires_at == datetime.combine(last, datetime.max.time()
                                                                                                   ).replace(microsecond=0)
        with pytest.raises(RuleViolation):
            api_tokens.issue(admin, "x", heping.id, last + timedelta(days=1))
        db.session.rollback()


def test_only_the_hash_of_the_secret_is_stored(app):
    with app.test_request_context():
        secret = issue(HEPING1)
        token = api_tokens.find(secret)
        stored = [str(getattr(token, c.key)) for c in ApiToken.__table__.columns]
        assert secret not in stored and token.token_hash == api_tokens.digest(secret)
        assert token.prefix == secret[:12]


# --- scope ----------------------------------------------------------------------------------------
def test_a_school_token_never_sees_another_schools_pupil(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        own, other = pupil_of(HEPING1).id, pupil_of(SHENHE1).id
        absent = db.session.scalar(select(func.max(Student.id))) + 1000
    assert api.get(f"/api/v1/pupils/{own}", headers=bearer(secret)).status_code == 200
    foreign = api.get(f"/api/v1/pupils/{other}", headers=bearer(secret))
    missing = api.get(f"/api/v1/pupils/{absent}", headers=bearer(secret))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == missing.json == {"error": {"status": 404, "message": "未找到该记录。"}}
    listed = api.get("/api/v1/pupils?limit=200", headers=bearer(secret)).json["data"]
    assert listed and {p["school"]["code"] for p in listed} == {HEPING1}
    assert api.get(f"/api/v1/pupils?school={SHENHE1}", headers=bearer(secret)).json["data"] == []


def test_only_a_unit_below_the_administrator_may_be_covered(app):
    from models.people import ADMIN, Role, User
    from services.errors import RuleViolation

    with app.test_request_context():
        county_admin = User(email="admin-heping@xueji.demo", name="和平区系统管理员", unit=unit(HEPING), scope_path=unit(HEPING).path,
                            fs_uniquifier="admin-heping", roles=[db.session.scalar(select(Role).where(Role.name == ADMIN))])
        db.session.add(county_admin)
        db.session.flush()
        with pytest.raises(RuleViolation) as err:
            api_tokens.issue(county_admin, "x", unit(SHENHE1).id, clock.today() + timedelta(days=30))
        assert [f for f, _m in err.value.problems] == ["scope_unit"]
        assert api_tokens.issue(county_admin, "x", unit(HEPING1).id, clock.today() + timedelta(days=30)).token.scope_path \
            == unit(HEPING1).path
        db.session.rollback()


# --- paging ---------------------------------------------------------------------------------------
def _walk(api, url: str, secret: str, cursor_arg: str = "cursor") -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        resp = api.get(url + (f"{sep}{cursor_arg}={cursor}" if cursor else ""), headers=bearer(secret))
        assert resp.status_code == 200, resp.json
        body = resp.json
        items += body["data"]
        pages += 1
        if not body["has_more"]:
            return items
        cursor = body["next_cursor"]
        assert cursor and pages < 100


def test_cursor_paging_is_complete_without_duplicates(app, api):
    with app.test_request_context():
        secret = issue(HEPING)
        expected = list(db.session.scalars(select(Student.id).where(scope.within(Student.scope_path, unit(HEPING).path))
                                           .order_by(Student.id)))
    items = _walk(api, "/api/v1/pupils?limit=7", secret)
    ids = [p["id"] for p in items]
    assert len(expected) > 14 and ids == expected  # every pupil once, in id order


def test_filters_narrow_the_list(app, api):
    with app.test_request_context():
        secret = issue(HEPING)
        make_pupil(HEPING2, name="五年级学生", grade=5)
        db.session.commit()
    items = _walk(api, f"/api/v1/pupils?limit=5&grade=5&status=enrolled&school={HEPING2}", secret)
    assert items and all(p["grade"] == {"code": "5", "label": "五年级"} for p in items)
    assert all(p["school"]["code"] == HEPING2 and p["status"]["label"] == "在籍" for p in items)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "limit=-1", "cursor=abc", "cursor=", "grade=x",
                                   "grade=13", "status=nope", "school=abc", "school=", "grade=", "limit="])
def test_bad_cursor_limit_or_filter_is_400(app, api, query):
    with app.test_request_context():
        secret = issue(HEPING1)
    resp = api.get(f"/api/v1/pupils?{query}", headers=bearer(secret))
    if query == "cursor=":  # an empty cursor is the first page
        assert resp.status_code == 200
        return
    assert resp.status_code == 400 and resp.json["error"]["status"] == 400
    assert re.search(r"[\u4e00-\u9fff]", resp.json["error"]["message"])


def test_a_cursor_of_one_list_is_refused_by_another(app, api):
    with app.test_request_context():
        secret = issue(HEPING)
    cursor = api.get("/api/v1/pupils?limit=1", headers=bearer(secret)).json["next_cursor"]
    assert api.get(f"/api/v1/requests?cursor={cursor}", headers=bearer(secret)).status_code == 400
    assert api.get(f"/api/v1/changes?since={cursor}", headers=bearer(secret)).status_code == 400
    assert api.get(f"/api/v1/pupils?cursor={cursor[:-2]}xx", headers=bearer(secret)).status_code == 400


def test_change_requests_in_scope_are_paged(app, api):
    with app.test_request_context():
        mine = make_request("transfer_in_province", pupil=make_pupil(HEPING1, name="转学学生")).id
        db.session.commit()
        secret, other = issue(HEPING1), issue(SHENHE1)
    items = _walk(api, "/api/v1/requests?limit=2", secret)
    assert mine in [r["id"] for r in items]
    row = next(r for r in items if r["id"] == mine)
    assert row["type"]["code"] == "transfer_in_province" and row["type"]["label"]
    assert row["pupil_name"] == "转学学生" and row["status"]["label"]
    assert mine not in [r["id"] for r in _walk(api, "/api/v1/requests?limit=200", other)]


# --- the change feed ------------------------------------------------------------------------------
def test_the_change_feed_is_strictly_ordered_and_resumes_from_its_cursor(app, api, monkeypatch):
    with app.test_request_context():
        secret = issue(HEPING1)
    first = _walk(api, "/api/v1/changes?limit=9", secret, "since")
    ids = [c["id"] for c in first]
    with app.app_context():
        path = db.session.scalar(select(OrgUnit.path).where(OrgUnit.code == HEPING1))
        in_scope = set(db.session.scalars(select(StudentHistory.id).join(Student, Student.id == StudentHistory.student_id)
                                          .where(Student.scope_path.startswith(path))))
    assert ids and len(ids) == len(set(ids)) and set(ids) == in_scope  # each change once, none missing
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert ids == sorted(ids)  # one writer at a time: ids commit in order
    caught_up = api.get(f"/api/v1/changes?since={_last_cursor(api, secret)}", headers=bearer(secret)).json
    assert caught_up["data"] == [] and caught_up["has_more"] is False and caught_up["next_cursor"]
    since = caught_up["next_cursor"]
    # Changes across New Year: the feed follows the ids, whatever the dates.
    with app.test_request_context():
        at(monkeypatch, date(2025, 12, 31))
        pupil = pupil_of(HEPING1)
        with audit.acting(user("school-heping1"), "更正"):
            pupil.class_name = "3班"
            db.session.commit()
        at(monkeypatch, date(2026, 1, 1))
        born = make_pupil(HEPING1, name=RARE_NAMES[0], birth_date=date(2016, 12, 31), xjh=None)
        db.session.commit()
        pupil_id, born_id = pupil.id, born.id
    new = api.get(f"/api/v1/changes?since={since}", headers=bearer(secret)).json
    assert [(c["pupil_id"], c["kind"]) for c in new["data"]] == [(pupil_id, "changed"), (born_id, "created")]
    changed = new["data"][0]
    assert changed["field"] == "class_name" and changed["field_label"] == "班级"
    assert changed["new"] == {"value": "3班", "label": "3班"} and changed["changed_at"].startswith("2025-12-31")
    assert new["data"][1]["changed_at"].startswith("2026-01-01") and new["data"][1]["new"] is None  # no 学籍号 yet
    again = api.get(f"/api/v1/changes?since={new['next_cursor']}", headers=bearer(secret)).json
    assert again["data"] == []


def _last_cursor(api, secret: str) -> str:
    cursor = None
    while True:
        body = api.get("/api/v1/changes?limit=200" + (f"&since={cursor}" if cursor else ""), headers=bearer(secret)).json
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return cursor


def test_the_feed_masks_id_numbers_and_withholds_addresses(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        pupil = pupil_of(HEPING1)
        old_id = pupil.id_number
        with audit.acting(user("heping"), "更正身份证件号"):
            pupil.id_number = old_id[:-5] + ("1" if old_id[-5] != "1" else "2") + old_id[-4:]
            pupil.current_address = "和平区新华路8号"
            db.session.commit()
        hist = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == pupil.id)).all()
        first = min((h for h in hist if h.field in ("id_number", "current_address")), key=lambda h: h.id)
        position = (first.txid or 0, first.id - 1)  # just before the correction's first row
    from services import api_data

    with app.test_request_context():
        since = api_data.make_feed_cursor(position)
    rows = {c["field"]: c for c in api.get(f"/api/v1/changes?since={since}", headers=bearer(secret)).json["data"]}
    assert MASKED_ID.match(rows["id_number"]["old"]["value"]) and MASKED_ID.match(rows["id_number"]["new"]["value"])
    assert rows["current_address"]["withheld"] is True and rows["current_address"]["new"] is None


# --- masking through the gate ---------------------------------------------------------------------
def test_id_numbers_are_masked_without_an_approved_request(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        pupil = pupil_of(HEPING1)
        full = pupil.id_number
    listed = api.get("/api/v1/pupils?limit=200", headers=bearer(secret)).json["data"]
    assert all(p["id_number"] is None or MASKED_ID.match(p["id_number"]) for p in listed)
    assert full not in str(listed)
    one = api.get(f"/api/v1/pupils/{pupil.id}", headers=bearer(secret)).json["data"]
    assert one["id_number"] == full[:6] + "********" + full[-4:] and one["id_number_masked"] is True
    assert one["xjh"] == "G" + one["id_number"]
    assert one["current_address"] is None and one["health"] is None
    assert sorted(one["withheld"]) == ["address", "guardian", "health"]
    assert all(g["id_number"] is None and g["phone"] is None and g["name"] for g in one["guardians"])


def test_an_approved_api_request_lets_the_token_show_its_groups(app, api):
    with app.test_request_context():
        req = approved_api_request(fields=("id_number", "guardian"))
        secret = issue(HEPING1, groups=("id_number", "guardian"), request=req)
        pupil = pupil_of(HEPING1)
        full = pupil.id_number
    one = api.get(f"/api/v1/pupils/{pupil.id}", headers=bearer(secret)).json["data"]
    assert one["id_number"] == full and one["id_number_masked"] is False
    assert one["guardians"][0]["phone"] is not None or one["guardians"][0]["id_number"]
    assert one["current_address"] is None and one["withheld"] == ["address", "health"]  # not approved


def test_groups_need_an_approved_request_that_names_them(app):
    from services.errors import RuleViolation

    with app.test_request_context():
        admin, school = user("admin"), unit(HEPING1)
        expires = clock.today() + timedelta(days=30)
        with pytest.raises(RuleViolation) as err:
            api_tokens.issue(admin, "x", school.id, expires, ["id_number"])
        assert [f for f, _m in err.value.problems] == ["groups"]
        req = approved_api_request(fields=("id_number",))
        with pytest.raises(RuleViolation) as err:
            api_tokens.issue(admin, "x", school.id, expires, ["id_number", "address"], req.id)
        assert [f for f, _m in err.value.problems] == ["groups"]
        with pytest.raises(RuleViolation) as err:  # 和平区's request does not cover 沈河
            api_tokens.issue(admin, "x", unit(SHENHE1).id, expires, ["id_number"], req.id)
        assert [f for f, _m in err.value.problems] == ["export_request"]
        db.session.rollback()


def test_an_api_request_is_not_produced_as_a_file(app):
    from models.export_request import APPROVED

    with app.test_request_context():
        req = approved_api_request()
        from services import export_requests

        export_requests.start(req)  # what the approve button calls: nothing to produce
        assert req.status == APPROVED


def test_the_gate_refuses_the_api_kind_to_a_session(app):
    from services import export_gate

    with app.test_request_context():
        decision = export_gate.decide(user("heping"), "api")
        assert not decision.allowed and "令牌" in decision.reason


# --- realistic data -------------------------------------------------------------------------------
def test_a_pupil_without_xjh_class_or_attending_school_and_rare_characters(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        bare = make_pupil(HEPING1, name="张𠮷䶮", xjh=None, bare=True, birth_date=date(2017, 1, 1))
        db.session.commit()
        bare_id = bare.id
    one = api.get(f"/api/v1/pupils/{bare_id}", headers=bearer(secret))
    body = one.json["data"]
    assert one.status_code == 200 and body["xjh"] is None and body["class_name"] is None
    assert body["attending_school"] is None and body["guardians"] == [] and body["enroll_month"] is None
    assert body["name"] == "张𠮷䶮" and body["birth_date"] == "2017-01-01"
    assert body["gender"] == {"code": "1", "label": "男"}
    assert "张𠮷䶮".encode() in one.data  # UTF-8 as it reads, not \\u escapes


def test_html_in_names_is_plain_json_text(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        p = make_pupil(HEPING1, name="<b>王</b>&amp;", xjh=None)
        db.session.commit()
        pid = p.id
    resp = api.get(f"/api/v1/pupils/{pid}", headers=bearer(secret))
    assert resp.mimetype == "application/json"
    assert resp.json["data"]["name"] == "<b>王</b>&amp;"  # as stored: no HTML escaping in JSON


# --- audit and rate limit -------------------------------------------------------------------------
def test_every_call_is_audited_in_the_scope_of_the_token(app, api):
    with app.test_request_context():
        secret = issue(HEPING1)
        token_id = api_tokens.find(secret).id
        pid = pupil_of(HEPING1).id
    api.get("/api/v1/pupils?limit=3", headers=bearer(secret))
    api.get(f"/api/v1/pupils/{pid}", headers=bearer(secret))
    with app.test_request_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "api.read", AuditLog.object_id == str(token_id))
                                  .order_by(AuditLog.id)).all()
        assert len(rows) == 2
        assert rows[0].scope_path == unit(HEPING1).path and rows[0].user_email.startswith("令牌 xjt_")
        assert "学生列表" in rows[0].detail and f"学生 {pid}" in rows[1].detail
        assert audit.action_label("api.read") == "通过数据接口读取数据"
        token = db.session.get(ApiToken, token_id)
        assert token.last_used_at is not None
        from services import audit_chain

        assert audit_chain.verify().intact  # the rows attributed to the token are in the chain


def test_the_rate_limit_counts_per_token(app, api, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    with app.test_request_context():
        secret, other = issue(HEPING1), issue(HEPING1)
    assert [api.get("/api/v1/pupils", headers=bearer(secret)).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/api/v1/pupils", headers=bearer(secret)).json["error"]["message"] == "请求过于频繁，请稍后再试。"
    assert api.get("/api/v1/pupils", headers=bearer(other)).status_code == 200


# --- the token screens ----------------------------------------------------------------------------
def test_issuing_shows_the_secret_once(app, as_user):
    admin = as_user("admin")
    with app.test_request_context():
        heping_id = unit(HEPING).id
        expires = (clock.today() + timedelta(days=90)).isoformat()
    resp = admin.post_form("/admin/api_tokens/new", {"name": "和平区平台", "scope_unit": str(heping_id), "expires_on": expires,
                                                     "export_request": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "令牌已签发" in page and resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="token-secret"[^>]*>(xjt_[^<]+)<', page).group(1)
    assert admin.get("/api/v1/pupils").status_code == 401  # the admin's session is no token
    listing = admin.get("/admin/api_tokens/").get_data(as_text=True)
    assert "和平区平台" in listing and secret not in listing and secret[:12] in listing and "从未使用" in listing
    with app.test_request_context():
        token = api_tokens.find(secret)
        assert token is not None and token.scope_path == unit(HEPING).path
    assert app.test_client().get("/api/v1/pupils", headers=bearer(secret)).status_code == 200
    assert "从未使用" not in admin.get("/admin/api_tokens/").get_data(as_text=True)


@pytest.mark.parametrize(("form", "message"), [
    ({"name": "", "expires_on": "2027-01-01"}, "请填写令牌名称。"),
    ({"name": "x", "expires_on": ""}, "请填写有效期至。"),
    ({"name": "x", "expires_on": "2027-02-30"}, "请按 年-月-日 填写日期"),
    ({"name": "x", "expires_on": "2099-01-01"}, "有效期最长一年。"),
    ({"name": "x", "expires_on": "2027-01-01", "groups": "id_number"}, "显示敏感字段须有已批准的数据接口导出申请。"),
    ({"name": "x", "expires_on": "2027-01-01", "scope_unit": "999999999"}, "请选择本单位或下级单位。"),
])
def test_bad_issue_forms_say_why_in_chinese(app, as_user, monkeypatch, form, message):
    at(monkeypatch, date(2026, 12, 6))
    admin = as_user("admin")
    with app.test_request_context():
        heping_id = unit(HEPING).id
        before = db.session.scalar(select(func.count()).select_from(ApiToken))
    data = {"scope_unit": str(heping_id), "export_request": "", **form}
    resp = admin.post_form("/admin/api_tokens/new", data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in page and "令牌已签发" not in page
    assert f'value="{form["name"]}"' in page or not form["name"]  # what was typed stays
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == before


def test_revoking_needs_a_confirmation_and_a_csrf_token(app, as_user):
    with app.test_request_context():
        secret = issue(HEPING1)
        token_id = api_tokens.find(secret).id
    admin = as_user("admin")
    confirm = admin.get(f"/admin/api_tokens/{token_id}/revoke")
    assert confirm.status_code == 200 and "确定吊销" in confirm.get_data(as_text=True)
    assert admin.post(f"/admin/api_tokens/{token_id}/revoke", data={}).status_code == 400
    with app.test_request_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
    assert app.test_client().get("/api/v1/pupils", headers=bearer(secret)).status_code == 200
    done = admin.post(f"/admin/api_tokens/{token_id}/revoke", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert done.status_code == 302
    assert app.test_client().get("/api/v1/pupils", headers=bearer(secret)).status_code == 401
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "api_token.revoke", AuditLog.object_id == str(token_id))) == 1
    assert "已吊销" in admin.get("/admin/api_tokens/").get_data(as_text=True)


def test_a_token_outside_the_administrators_unit_is_404(app, as_user):
    from models.people import ADMIN, Role, User
    from tests.conftest import login

    with app.test_request_context():
        shenhe_token = api_tokens.find(issue(SHENHE1)).id
        county = unit(HEPING)
        db.session.add(User(email="admin-heping@xueji.demo", name="和平区系统管理员", unit=county, scope_path=county.path,
                            fs_uniquifier="admin-heping-2", active=True, password=user("admin").password,
                            password_changed_at=user("admin").password_changed_at,
                            tf_primary_method=user("admin").tf_primary_method, tf_totp_secret=user("admin").tf_totp_secret,
                            roles=[db.session.scalar(select(Role).where(Role.name == ADMIN))]))
        db.session.commit()
    county_admin = login(app, "admin-heping@xueji.demo")
    assert county_admin.get(f"/admin/api_tokens/{shenhe_token}/revoke").status_code == 404
    html = county_admin.get("/admin/api_tokens/").get_data(as_text=True)
    token = csrf_from(html) if 'name="csrf_token"' in html else county_admin.csrf("/admin/api_tokens/new")
    assert county_admin.post(f"/admin/api_tokens/{shenhe_token}/revoke", data={"csrf_token": token}).status_code == 404
    with app.test_request_context():
        assert db.session.get(ApiToken, shenhe_token).revoked_at is None
        assert "沈河" not in html


def test_the_token_screens_are_for_the_system_administrator(as_user):
    for who in ("heping", "school-heping1", "security-admin"):
        assert as_user(who).get("/admin/api_tokens/").status_code == 403, who


def test_issue_is_audited(app):
    with app.test_request_context():
        secret = issue(HEPING1, name="审计用令牌")
        token = api_tokens.find(secret)
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "api_token.issue", AuditLog.object_id == str(token.id)))
        assert row is not None and "审计用令牌" in row.detail and isinstance(token.expires_at, datetime)


def test_an_api_export_request_is_filed_and_approved_on_the_screens(app, as_user):
    official = as_user("heping")
    url = '/admin/export_requests/new?kind=api&view=api.pupils&args={}'
    form = official.get(url)
    assert form.status_code == 200 and "数据接口" in form.get_data(as_text=True)
    resp = official.post_form(url, {"kind": "api", "view": "api.pupils", "args": "{}", "q": "", "scope": "和平区",
                                    "purpose": "区平台学籍同步", "fields": ["id_number"]})
    assert resp.status_code == 302
    request_url = resp.headers["Location"]
    officer = as_user("baomi-heping")
    page = officer.get(request_url).get_data(as_text=True)
    done = officer.post(request_url.rstrip("/") + "/approve", data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302
    approved = officer.get(request_url).get_data(as_text=True)
    assert "已批准：不生成文件" in approved and 'http-equiv="refresh"' not in approved
    admin_form = as_user("admin").get("/admin/api_tokens/new").get_data(as_text=True)
    assert "身份证件号" in admin_form and "DC-" in admin_form  # the approved request is offered to the administrator


def test_the_feed_never_skips_a_change_committed_after_a_later_one(app):
    """PostgreSQL: an import's transaction takes its history ids first and commits last. A reader that
    moved past the ids committed meanwhile must still get the import's rows once it commits. Three
    connections of their own (the suite's per-test transaction would be one writer for all)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: ids commit in order")
    from sqlalchemy.orm import Session as PlainSession

    from services import api_data

    insert = text("INSERT INTO student_history (student_id, field, old_value, new_value, reason, changed_at)"
                  " VALUES (:s, 'class_name', '1班', :new, '导入', now()) RETURNING id")
    with app.test_request_context():
        pupil = pupil_of(HEPING1)  # a demo pupil: committed before the suite's tests
        pupil_id, path = pupil.id, pupil.scope_path
        engine = db.engine
        made: list[int] = []
        slow, quick = engine.connect(), engine.connect()
        try:
            with PlainSession(bind=engine) as reader:
                start = api_data.changes(path, frozenset(), (0, 0), 200, session=reader)
                while start.has_more:
                    start = api_data.changes(path, frozenset(), api_data.read_feed_cursor(start.next_cursor), 200,
                                             session=reader)
                since = api_data.read_feed_cursor(start.next_cursor)
                reader.rollback()
                slow_tx = slow.begin()  # the long import: its row is inserted first, committed last
                made.append(slow.execute(insert, {"s": pupil_id, "new": "2班"}).scalar())
                with quick.begin():
                    made.append(quick.execute(insert, {"s": pupil_id, "new": "5班"}).scalar())
                assert made[1] > made[0]
                held = api_data.changes(path, frozenset(), since, 200, session=reader)
                assert held.items == []  # held back at the running transaction, not moved past it
                reader.rollback()
                slow_tx.commit()
                # Transaction ids are the cluster's: a write transaction older than ours elsewhere (another
                # test worker's database) holds the feed back too, until it ends. Seconds at most.
                deadline = time.monotonic() + 60
                while True:
                    after = api_data.changes(path, frozenset(), api_data.read_feed_cursor(held.next_cursor), 200,
                                             session=reader)
                    reader.rollback()
                    if after.items or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                assert [c["id"] for c in after.items] == made  # both, the import's first (its transaction began first)
        finally:
            slow.close()
            quick.close()
            with engine.begin() as cleanup:
                cleanup.execute(text("DELETE FROM student_history WHERE id = ANY(:ids)"), {"ids": made})
