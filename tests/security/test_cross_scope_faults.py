"""The three faults of issue 13 about reaching another county's pupil by an internal id, each
reproduced through the HTTP client (they failed before the fix), and the journeys that must keep
working: a receiving school finds a pupil of another school by full ID number and name together."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.changes import ChangeRequest
from models.lifecycle import arranging
from models.student import Student
from services.pupil_identity import mask_name
from tests.helpers import HEPING1, HEPING2, SHENHE1, pupil_of, school
from tests.transfer_helpers import TOKEN_RE, at, lookup_token, png_bytes

TRANSFER = "/admin/requests/transfer/new"
CONTINUATION = "/admin/requests/continuation/new"
TERM_DAY = date(2026, 11, 10)  # in the transfer window (第十五条)


@pytest.fixture(autouse=True)
def in_term(monkeypatch):
    at(monkeypatch, TERM_DAY)


def _pupil(app, code: str) -> dict:
    with app.app_context():
        s = pupil_of(code)
        return {"id": s.id, "name": s.name, "number": s.id_number, "xjh": s.xjh, "school": s.school.name,
                "version": s.version_id}


def _requests(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ChangeRequest))


def _files() -> dict:
    return {f"start-{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in ("contact_form", "student_info", "hukou")}


def _assert_nothing_shown(resp, p: dict) -> None:
    html = resp.get_data(as_text=True)
    assert p["name"] not in html and p["school"] not in html and p["number"] not in html
    assert 'id="pupil-found"' not in html


# --- fault 1: a school registrar of one county opens another county's pupil's transfer by its id ----


def test_a_registrar_cannot_open_a_transfer_of_another_countys_pupil_by_its_internal_id(as_user, app):
    p = _pupil(app, HEPING1)  # 和平区; the registrar is of 沈河区
    c = as_user("school-shenhe1")
    for field in ("start-student_id", "start-pupil"):  # the old field, and a bare id in the token's place
        data = {field: str(p["id"]), "start-reason_code": "hukou_moved", "start-hukou_changed": "y", **_files()}
        resp = c.post_form(TRANSFER, data, content_type="multipart/form-data")
        assert resp.status_code == 404, field
        _assert_nothing_shown(resp, p)
    assert _requests(app) == 0
    # Hence no request page, and no contact form to print with the full ID number.
    assert c.get("/admin/requests/1/print/transfer_contact").status_code == 404


def test_a_token_of_another_user_or_an_altered_one_is_worth_nothing(as_user, app):
    p = _pupil(app, HEPING1)
    token = lookup_token(as_user("school-shenhe1"), TRANSFER, p["number"], p["name"])
    for who, tok in (("school-citydirect", token), ("school-shenhe1", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))):
        data = {"start-pupil": tok, "start-reason_code": "hukou_moved", "start-hukou_changed": "y", **_files()}
        resp = as_user(who).post_form(TRANSFER, data, content_type="multipart/form-data")
        assert resp.status_code == 404, who
        _assert_nothing_shown(resp, p)
    assert _requests(app) == 0


# --- fault 2: a county official does the same and sees the pupil card ---------------------------------


def test_a_county_official_cannot_reach_another_countys_pupil_by_its_internal_id(as_user, app):
    p = _pupil(app, HEPING1)
    with app.app_context():
        shenhe1 = school(SHENHE1).id
    c = as_user("shenhe")
    for extra in ({}, {"start-reason_code": "hukou_moved", "start-hukou_changed": "y", "start-to_school": str(shenhe1),
                       "start-window_override": "家长调动", **_files()}):
        resp = c.post_form(TRANSFER, {"start-student_id": str(p["id"]), **extra}, content_type="multipart/form-data")
        assert resp.status_code == 404
        _assert_nothing_shown(resp, p)
    assert _requests(app) == 0


# --- fault 3: 学籍接续 showed any pupil to any school -------------------------------------------------------


def test_continuation_lookup_by_number_alone_shows_nothing(as_user, app):
    p = _pupil(app, HEPING1)
    c = as_user("school-xigang1")
    for term in (p["xjh"], p["number"]):
        resp = c.post_form(CONTINUATION, {"lookup-term": term})
        assert resp.status_code == 200
        _assert_nothing_shown(resp, p)
    resp = c.post_form(CONTINUATION, {"lookup-term": p["number"], "lookup-name": p["name"][:-1] + "某"})
    _assert_nothing_shown(resp, p)


def test_continuation_by_internal_id_answers_404_and_opens_nothing(as_user, app):
    p = _pupil(app, HEPING1)
    c = as_user("school-xigang1")
    for data in ({"student_id": str(p["id"])}, {"confirm-pupil": str(p["id"])}):
        resp = c.post_form(CONTINUATION, data)
        assert resp.status_code == 404
        _assert_nothing_shown(resp, p)
    assert _requests(app) == 0


def test_continuation_with_number_and_name_shows_only_the_minimum(as_user, app):
    p = _pupil(app, HEPING1)
    resp = as_user("school-heping2").post_form(CONTINUATION, {"lookup-term": p["number"], "lookup-name": p["name"]})
    html = resp.get_data(as_text=True)
    assert 'id="pupil-found"' in html and mask_name(p["name"]) in html and p["school"] in html
    assert p["name"] not in html and p["number"] not in html and p["number"][-4:] not in html
    with app.app_context():
        s = db.session.get(Student, p["id"])
        assert s.current_address not in html and (s.phone or "-") not in html
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.lookup")).all()[-1]
        assert row.object_id == str(p["id"]) and p["number"] not in (row.detail or "")


def test_the_continuation_journey_still_works(as_user, app):
    with app.app_context():
        s = pupil_of(HEPING1)
        with arranging():
            s.grade, s.status = 6, "graduated"
        db.session.commit()
        number, name = s.id_number, s.name
    c = as_user("school-heping2")
    resp = c.post_form(CONTINUATION, {"confirm-pupil": lookup_token(c, CONTINUATION, number, name)})
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.type == "continuation" and req.to_school.code == HEPING2


def test_the_transfer_journey_still_works_by_number_and_name(as_user, app):
    p = _pupil(app, HEPING1)
    c = as_user("school-shenhe1")
    page = c.post_form(TRANSFER, {"lookup-term": p["xjh"], "lookup-name": p["name"]}).get_data(as_text=True)
    assert mask_name(p["name"]) in page and p["number"] not in page
    data = {"start-pupil": TOKEN_RE.search(page).group(1), "start-reason_code": "hukou_moved", "start-hukou_changed": "y",
            **_files()}
    resp = c.post_form(TRANSFER, data, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.student_id == p["id"] and req.to_school.code == SHENHE1 and len(req.attachments) == 3


def test_an_expired_lookup_asks_to_look_again_and_opens_nothing(as_user, app, monkeypatch):
    from services import pupil_identity

    p = _pupil(app, HEPING1)
    c = as_user("school-shenhe1")
    token = lookup_token(c, TRANSFER, p["number"], p["name"])
    monkeypatch.setattr(pupil_identity, "TOKEN_MAX_AGE", -1)
    data = {"start-pupil": token, "start-reason_code": "hukou_moved", "start-hukou_changed": "y", **_files()}
    resp = c.post_form(TRANSFER, data, content_type="multipart/form-data")
    assert resp.status_code == 200 and "查找结果已过期" in resp.get_data(as_text=True)
    _assert_nothing_shown(resp, p)
    assert _requests(app) == 0


@pytest.mark.parametrize("name,masked", [
    ("王小明", "王*明"), ("李四", "李*"), ("欧阳娜娜", "欧**娜"), ("买买提·艾力", "买****力"), ("A", "A"),
])
def test_names_are_masked_keeping_the_first_and_last_character(name, masked):
    assert mask_name(name) == masked
