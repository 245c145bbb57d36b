"""The screens of the status changes of 第十七–二十三条 through the test client: every kind of request
opened from the pupil's page with its uploads, refusals that write nothing, absences and contacts,
the 休学到期 and 档案移交 lists, and the scope matrix (outside the pupil's area: 404, name never shown)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

import admin.status
from changes import departures, placements, suspension
from extensions import db
from models.archive import ArchiveBackup
from models.changes import Attachment, ChangeRequest
from models.lifecycle import arranging
from models.status import Absence, ArchiveHandover, FamilyContact
from models.student import Student
from services import absences, family_contacts, workflows
from tests.builders import make_class
from tests.helpers import HEPING1, HEPING_SPECIAL, SHENHE1, pupil_of, school
from tests.transfer_helpers import approve, at, png_bytes, upload, user

AUTUMN = date(2026, 11, 2)  # first term: a suspension is allowed in every grade
AFTER_ABSENCES = date(2026, 12, 10)
ME = "school-heping1"
KINDS = tuple(admin.status.request_pages())
OUTSIDERS = ("school-shenhe1", "shenhe", "school-xigang1", "xigang", "school-heping2", "school-special")
IN_SCOPE_NOT_SCHOOL = ("heping", "shenyang", "province")  # the system administrator reads no pupils (三员分立)


# --- building blocks -------------------------------------------------------------------------


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _complete(req: ChangeRequest, *deciders: str, by: str = ME) -> None:
    """Attach what the request still misses, then let the deciders approve it."""
    for material in workflows.missing_materials(req):
        workflows.attach(req, material.code, upload(), user(by))
    db.session.commit()
    approve(req, *deciders)


def _suspend(pupil: Student, *, starts: date = AUTUMN, ends: date | None = None) -> None:
    req = suspension.request_suspension(pupil, user(ME), reason_kind="illness", starts_on=starts, ends_on=ends,
                                        reason_text="肺炎住院")
    _complete(req, ME, "heping")


def _absent_four_weeks(pupil: Student) -> None:
    """Two unexcused periods joined over a weekend (29 days) and two contacts: a dropout may be reported."""
    me = user(ME)
    absences.record_absence(pupil, me, first_day=date(2026, 11, 2), last_day=date(2026, 11, 13), excused=False, note=None)
    absences.record_absence(pupil, me, first_day=date(2026, 11, 16), last_day=date(2026, 11, 30), excused=False, note=None)
    for day in (date(2026, 11, 10), date(2026, 11, 20)):
        family_contacts.record_contact(pupil, me, purpose="dropout", contacted_on=day, method="电话", outcome="未返校")
    db.session.commit()


def _drop_out(pupil: Student) -> None:
    _absent_four_weeks(pupil)
    _complete(departures.report_dropout(pupil, user(ME), "连续旷课"), "heping")


def _go_abroad(pupil: Student) -> None:
    req = departures.request_abroad(pupil, user(ME), destination="日本", document="passport", leaves_on=AUTUMN, reason_text=None)
    _complete(req, ME)


def _place_at_shenhe(pupil: Student) -> None:
    req = placements.request_juvenile_placement(pupil, user(ME), school(SHENHE1), "判决书")
    _complete(req, ME, "heping", "school-shenhe1")


def _set_up_class_7(pupil: Student) -> None:
    """调班 moves a pupil into a class the school has set up for its grade (班级管理)."""
    make_class(HEPING1, pupil.grade, "7班")
    db.session.commit()


def _files(*materials: str) -> dict[str, tuple[io.BytesIO, str]]:
    return {f"file_{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in materials}


def _url(kind: str, sid: int) -> str:
    return f"/admin/status/{kind}/new?student_id={sid}"


def _post(c, url: str, data: dict, **kw):
    return c.post_form(url, data, content_type="multipart/form-data", **kw)


def _only_request() -> ChangeRequest:
    return db.session.scalar(select(ChangeRequest).order_by(ChangeRequest.id.desc()))


# --- opening each kind of request -----------------------------------------------------------
# kind → (state to set up, who opens it, form data (date values are filled per test), expected type, materials)

CASES: dict[str, tuple] = {
    "suspension": (None, ME, {"reason_kind": "illness", "starts_on": "2026-11-02", "reason_text": "肺炎住院"},
                   "suspension", ("application", "hospital_certificate", "medical_records", "receipts")),
    "suspension_extension": (_suspend, ME, {"reason_text": "仍需治疗"}, "suspension_extension", ("application", "reason_proof")),
    "resumption": (_suspend, ME, {"other_grade": "", "reason_text": "已康复"}, "resumption",
                   ("application", "recovery_certificate")),
    "abroad": (None, ME, {"destination": "日本东京都", "document": "passport", "leaves_on": "2026-12-01"}, "abroad",
               ("application", "travel_document")),
    "abroad_return": (_go_abroad, ME, {}, "abroad_return", ("application",)),
    "death": (None, ME, {"died_on": "2026-10-30", "reason_text": "交通事故"}, "death", ("proof",)),
    "dropout": (_absent_four_weeks, ME, {"reason_text": "多次联系无效"}, "dropout", ("absence_record",)),
    "dropout_return": (_drop_out, ME, {}, "dropout_return", ("application",)),
    "juvenile_placement": (None, ME, {"reason_text": "判决书"}, "juvenile_placement", ("decision",)),
    "juvenile_return": (_place_at_shenhe, "school-shenhe1", {"reason_text": "刑满释放"}, "juvenile_return", ("release",)),
    "special_move": (None, ME, {"kind": "to_special", "keep_record": "no"}, "special_move", ("application",)),
    "class_change": (_set_up_class_7, ME, {"class_name": "7班", "reason": "家长申请"}, "class_change", ()),
}


def test_every_kind_has_a_case():
    assert set(CASES) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_own_school_opens_each_kind_with_uploads(as_user, app, monkeypatch, kind):
    setup, who, data, expected_type, materials = CASES[kind]
    at(monkeypatch, AFTER_ABSENCES if kind in ("dropout", "dropout_return") else AUTUMN)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        if setup is not None:
            setup(pupil)
        sid, grade, before = pupil.id, pupil.grade, _count(ChangeRequest)
        data = dict(data)
        if kind in ("abroad_return", "dropout_return"):
            data["grade"] = str(grade)
        if kind == "juvenile_placement":
            data["institution_school"] = str(school(SHENHE1).id)
        if kind == "special_move":
            data["to_school"] = str(school(HEPING_SPECIAL).id)
    c = as_user(who)
    page = c.get(_url(kind, sid))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="status-form"' in html and 'enctype="multipart/form-data"' in html
    for ctype in admin.status.request_pages()[kind].types:  # one file input per declared material: never drifts
        for material in workflows.TYPES[ctype].materials:
            assert f'name="file_{material.code}"' in html
    resp = _post(c, _url(kind, sid), {**data, **_files(*materials)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        assert _count(ChangeRequest) == before + 1
        req = _only_request()
        done_at_once = not workflows.TYPES[expected_type].steps  # 校内调班: the school decides alone
        assert req.type == expected_type and req.student_id == sid and req.status == ("completed" if done_at_once else "pending")
        assert req.requested_by.email == f"{who}@xueji.demo"
        assert sorted(a.material for a in req.attachments) == sorted(materials)
        assert resp.headers["Location"].endswith(f"/admin/requests/{req.id}/")
        if kind == "suspension":
            assert req.payload["ends_on"] == "2027-11-01"  # one school year by default
        if kind == "resumption":
            assert req.payload["grade"] == grade and "grade_reason" not in req.payload


def test_resumption_into_another_grade_needs_its_reason(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        _suspend(pupil)
        sid, other = pupil.id, 2 if pupil.grade != 2 else 3
    c = as_user(ME)
    html = _post(c, _url("resumption", sid), {"other_grade": str(other)}).get_data(as_text=True)
    assert "alert-danger" in html and f'selected value="{other}"' in html
    with app.app_context():
        assert _count(ChangeRequest) == 1  # the suspension only
    resp = _post(c, _url("resumption", sid), {"other_grade": str(other), "grade_reason": "家长申请",
                                                   **_files("application", "recovery_certificate")})
    assert resp.status_code == 302
    with app.app_context():
        assert _only_request().payload == {"grade": other, "grade_reason": "家长申请"}


def test_special_move_keeping_the_record_opens_the_attend_type(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid, target = pupil_of(HEPING1).id, school(HEPING_SPECIAL).id
    resp = _post(as_user(ME), _url("special_move", sid),
                 {"kind": "to_special", "to_school": str(target), "keep_record": "yes", **_files("application")})
    assert resp.status_code == 302
    with app.app_context():
        req = _only_request()
        assert req.type == "special_attend" and req.to_school_id == target and req.payload["keep_record"] is True


def test_school_choices_are_the_citys_schools_teaching_the_grade(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        pupil = pupil_of(HEPING1)
        sid = pupil.id
        own, shenhe, special, dalian = (school(c).id for c in (HEPING1, SHENHE1, HEPING_SPECIAL, "2321000004"))
    c = as_user(ME)
    placement = c.get(_url("juvenile_placement", sid)).get_data(as_text=True)
    assert f'value="{shenhe}"' in placement
    assert f'value="{own}"' not in placement and f'value="{special}"' not in placement and f'value="{dalian}"' not in placement
    move = c.get(_url("special_move", sid)).get_data(as_text=True)
    assert f'value="{special}"' in move and f'value="{own}"' not in move and f'value="{dalian}"' not in move


def test_a_school_outside_the_choices_is_refused(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid, dalian = pupil_of(HEPING1).id, school("2321000004").id
    resp = _post(as_user(ME), _url("juvenile_placement", sid), {"institution_school": str(dalian), **_files("decision")})
    assert resp.status_code == 200
    with app.app_context():
        assert _count(ChangeRequest) == 0 and _count(Attachment) == 0


def test_unknown_kind_is_404(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    assert as_user(ME).get(_url("graduation", sid)).status_code == 404
    assert as_user(ME).get("/admin/status/suspension/new?student_id=999999").status_code == 404
    assert as_user(ME).get("/admin/status/suspension/new").status_code == 404


# --- refusals write nothing -------------------------------------------------------------------


def test_a_refused_precondition_shows_the_message_keeps_the_data_and_writes_nothing(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user(ME)
    data = {"reason_kind": "other", "starts_on": "2026-11-02", "ends_on": "2028-01-31", "reason_text": "家中变故需照顾"}
    resp = _post(c, _url("suspension", sid), {**data, **_files("application", "reason_proof")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "alert-danger" in html
    assert 'value="2028-01-31"' in html and "家中变故需照顾" in html and 'selected value="other"' in html
    with app.app_context():
        assert _count(ChangeRequest) == 0 and _count(Attachment) == 0
        assert db.session.get(Student, sid).status == "enrolled"


@pytest.mark.parametrize("kind", ("resumption", "suspension_extension", "abroad_return", "dropout_return", "dropout",
                                  "juvenile_return"))
def test_a_change_that_does_not_fit_the_status_is_refused(as_user, app, monkeypatch, kind):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        pupil = pupil_of(HEPING1)
        sid, grade = pupil.id, pupil.grade
    resp = _post(as_user(ME), _url(kind, sid), {"grade": str(grade), "reason_text": "x", **_files("application")})
    assert resp.status_code == 200 and "alert-danger" in resp.get_data(as_text=True)
    with app.app_context():
        assert _count(ChangeRequest) == 0 and _count(Attachment) == 0


def test_a_wrong_file_type_rolls_the_request_back(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    data = {"died_on": "2026-10-30", "file_proof": (io.BytesIO(b"#!/bin/sh\necho hi\n"), "证明.png")}
    resp = _post(as_user(ME), _url("death", sid), data)
    assert resp.status_code == 200 and "alert-danger" in resp.get_data(as_text=True)
    with app.app_context():
        assert _count(ChangeRequest) == 0 and _count(Attachment) == 0


def test_an_invalid_form_is_shown_again(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    resp = _post(as_user(ME), _url("abroad", sid), {"destination": "", "document": "passport", "leaves_on": "not a date"})
    assert resp.status_code == 200 and 'class="text-danger small"' in resp.get_data(as_text=True)
    with app.app_context():
        assert _count(ChangeRequest) == 0


def test_the_submit_button_cannot_be_pressed_twice(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    html = as_user(ME).get(_url("death", sid)).get_data(as_text=True)
    # static/js/csp.js submits the form once and disables the button (no inline handler: the CSP)
    assert 'id="open-request" data-submit-once' in html and "/static/js/csp.js" in html


# --- the pupil's page -----------------------------------------------------------------------------


def _details(c, sid: int) -> str:
    resp = c.get(f"/admin/student/details/?id={sid}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_pupil_page_offers_the_changes_of_the_status(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user(ME)
    html = _details(c, sid)
    for kind in ("suspension", "abroad", "death", "dropout", "juvenile_placement", "special_move"):
        assert f'id="status-{kind}"' in html and f"/admin/status/{kind}/new?student_id={sid}" in html
    for kind in ("resumption", "suspension_extension", "abroad_return", "dropout_return", "juvenile_return"):
        assert f'id="status-{kind}"' not in html
    assert 'id="attendance"' in html and 'id="absence-form"' in html and 'id="contact-form"' in html
    with app.test_request_context():
        _suspend(db.session.get(Student, sid))
    html = _details(c, sid)
    assert {k for k in KINDS if f'id="status-{k}"' in html} == {"resumption", "suspension_extension", "death"}
    # An official of the authority sees the attendance, but files nothing from here.
    html = _details(as_user("heping"), sid)
    assert 'id="attendance"' in html and 'id="status-' not in html and "/new?student_id=" not in html
    assert 'id="absence-form"' not in html and 'id="contact-form"' not in html


@pytest.mark.parametrize(("setup", "expected"), [
    (_go_abroad, {"abroad_return", "death"}),
    (_drop_out, {"dropout_return", "death"}),
])
def test_pupil_page_buttons_abroad_and_dropped_out(as_user, app, monkeypatch, setup, expected):
    at(monkeypatch, AFTER_ABSENCES)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        setup(pupil)
        sid = pupil.id
    html = _details(as_user(ME), sid)
    assert {k for k in KINDS if f'id="status-{k}"' in html} == expected


def test_the_institutions_school_offers_the_return(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        _place_at_shenhe(pupil)
        sid = pupil.id
    html = _details(as_user("school-shenhe1"), sid)
    assert 'id="status-juvenile_return"' in html
    assert as_user(ME).get(f"/admin/student/details/?id={sid}").status_code == 404  # the record has left


# --- absences and contacts with the family -----------------------------------------------------------


def test_own_school_records_absences_and_contacts(as_user, app, monkeypatch):
    at(monkeypatch, AFTER_ABSENCES)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user(ME)
    details = f"/admin/student/details/?id={sid}"
    resp = c.post_form(f"/admin/status/absence?student_id={sid}",
                       {"absence-first_day": "2026-11-02", "absence-last_day": "2026-11-13", "absence-note": "无故未到校"},
                       token_from=details)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{details}#attendance")
    resp = c.post_form(f"/admin/status/absence?student_id={sid}",
                       {"absence-first_day": "2026-11-16", "absence-last_day": "2026-11-17", "absence-excused": "y"},
                       token_from=details)
    assert resp.status_code == 302
    resp = c.post_form(f"/admin/status/contact?student_id={sid}",
                       {"contact-purpose": "dropout", "contact-contacted_on": "2026-11-10", "contact-method": "家访",
                        "contact-outcome": "家长答应督促返校"}, token_from=details)
    assert resp.status_code == 302
    with app.app_context():
        absences = db.session.scalars(select(Absence).order_by(Absence.first_day)).all()
        assert [(a.first_day, a.excused, a.note) for a in absences] == [
            (date(2026, 11, 2), False, "无故未到校"), (date(2026, 11, 16), True, None)]
        contact = db.session.scalar(select(FamilyContact))
        assert (contact.purpose, contact.method, contact.outcome) == ("dropout", "家访", "家长答应督促返校")
    html = _details(c, sid)
    attendance = html.split('id="attendance"')[1]
    assert "2026-11-13" in attendance and "无故未到校" in attendance and "家长答应督促返校" in attendance
    # The dropout page shows the run and the contacts recorded so far.
    dropout = c.get(_url("dropout", sid)).get_data(as_text=True)
    assert 'id="absence-run"' in dropout and "2026-11-02" in dropout and "家长答应督促返校" in dropout


def test_refused_absence_and_contact_write_nothing(as_user, app, monkeypatch):
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user(ME)
    details = f"/admin/student/details/?id={sid}"
    resp = c.post_form(f"/admin/status/absence?student_id={sid}",
                       {"absence-first_day": "2026-11-10", "absence-last_day": "2026-11-20"}, token_from=details)  # future
    assert resp.status_code == 200 and "alert-danger" in resp.get_data(as_text=True)
    resp = c.post_form(f"/admin/status/absence?student_id={sid}",
                       {"absence-first_day": "2026-10-20", "absence-last_day": "2026-10-10"}, token_from=details)
    assert resp.status_code == 200
    resp = c.post_form(f"/admin/status/contact?student_id={sid}",
                       {"contact-purpose": "dropout", "contact-contacted_on": "2026-11-20", "contact-method": "电话",
                        "contact-outcome": "未接"}, token_from=details)  # future
    assert resp.status_code == 200 and 'value="电话"' in resp.get_data(as_text=True)
    resp = c.post_form(f"/admin/status/contact?student_id={sid}",
                       {"contact-purpose": "gossip", "contact-contacted_on": "2026-10-20", "contact-method": "电话",
                        "contact-outcome": "未接"}, token_from=details)
    assert resp.status_code == 200
    for who in ("heping", "principal-heping1"):
        expected = 403 if who == "heping" else 302  # the principal is staff of the school too
        resp = as_user(who).post_form(f"/admin/status/absence?student_id={sid}",
                                      {"absence-first_day": "2026-10-12", "absence-last_day": "2026-10-13"}, token_from=details)
        assert resp.status_code == expected, who
    with app.app_context():
        assert _count(Absence) == 1 and _count(FamilyContact) == 0
        assert db.session.scalar(select(Absence)).recorded_by.email == "principal-heping1@xueji.demo"


# --- 休学到期 --------------------------------------------------------------------------------------


def _expired_pupil(app, monkeypatch) -> tuple[int, str]:
    at(monkeypatch, AUTUMN)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        _suspend(pupil, ends=date(2026, 12, 31))
        return pupil.id, pupil.name


def test_expired_suspensions_follow_the_clock_and_the_scope(as_user, app, monkeypatch):
    sid, name = _expired_pupil(app, monkeypatch)
    assert name not in as_user("heping").get("/admin/status/expired").get_data(as_text=True)  # not ended yet
    at(monkeypatch, date(2027, 1, 5))  # the views read the patched clock in the request too
    for who in (ME, "heping", "shenyang", "province"):
        html = as_user(who).get("/admin/status/expired").get_data(as_text=True)
        assert f'id="expired-{sid}"' in html and name in html, who
        assert (f"/admin/status/contact?student_id={sid}" in html) == (who == ME), who
    for who in OUTSIDERS:
        html = as_user(who).get("/admin/status/expired").get_data(as_text=True)
        assert name not in html and f'id="expired-{sid}"' not in html and 'id="expired-empty"' in html, who


def test_record_contact_from_the_expired_list_then_file_the_resumption(as_user, app, monkeypatch):
    sid, name = _expired_pupil(app, monkeypatch)
    at(monkeypatch, date(2027, 1, 5))
    c = as_user(ME)
    url = f"/admin/status/contact?student_id={sid}&purpose=suspension_expiry&back=expired"
    assert 'selected value="suspension_expiry"' in c.get(url).get_data(as_text=True)
    resp = c.post_form(url, {"contact-purpose": "suspension_expiry", "contact-contacted_on": "2027-01-05",
                             "contact-method": "电话", "contact-outcome": "家长下周来校办理复学"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/status/expired")
    html = c.get("/admin/status/expired").get_data(as_text=True)
    assert "2027-01-05" in html.split(f'id="expired-{sid}"')[1].split("</tr>")[0]
    with app.app_context():
        assert db.session.scalar(select(FamilyContact)).purpose == "suspension_expiry"
    resp = _post(c, _url("resumption", sid), {"other_grade": "", **_files("application", "recovery_certificate")})
    assert resp.status_code == 302
    assert name not in c.get("/admin/status/expired").get_data(as_text=True)  # a resumption is waiting


def test_expired_list_pages_by_fifty(as_user, app, monkeypatch):
    assert admin.status.ROWS_PER_PAGE == 50
    monkeypatch.setattr(admin.status, "ROWS_PER_PAGE", 2)  # three rows over two pages
    at(monkeypatch, AUTUMN)
    with app.test_request_context():
        pupils = db.session.scalars(select(Student).join(Student.school).where(Student.school_id == school(HEPING1).id)
                                    .order_by(Student.id).limit(3)).all()
        for p in pupils:
            _suspend(p, ends=date(2026, 12, 31))
        ids = [p.id for p in pupils]
    at(monkeypatch, date(2027, 1, 5))
    c = as_user(ME)
    first = c.get("/admin/status/expired").get_data(as_text=True)
    second = c.get("/admin/status/expired?page=1").get_data(as_text=True)
    assert 'id="next-page"' in first and 'id="next-page"' not in second
    shown = [i for i in ids if f'id="expired-{i}"' in first] + [i for i in ids if f'id="expired-{i}"' in second]
    assert sorted(shown) == sorted(ids)
    assert 'id="expired-empty"' in c.get("/admin/status/expired?page=5").get_data(as_text=True)


# --- 档案移交 --------------------------------------------------------------------------------------


def _handover(app, monkeypatch) -> tuple[int, str, int]:
    """A migrant worker's child of 和平一小 dropped out: the authority must hand the archive to 沈河区."""
    at(monkeypatch, AFTER_ABSENCES)
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        pupil.migrant_child, pupil.hukou_location = True, "210103"
        db.session.commit()
        _drop_out(pupil)
        task = db.session.scalar(select(ArchiveHandover))
        return pupil.id, pupil.name, task.id


def test_the_authority_records_the_handover(as_user, app, monkeypatch):
    _sid, name, tid = _handover(app, monkeypatch)
    heping = as_user("heping")
    html = heping.get("/admin/status/handovers").get_data(as_text=True)
    row = html.split(f'id="handover-{tid}"')[1].split("</tr>")[0]
    assert name in row and f"/admin/status/handovers/{tid}/done" in row and "data-confirm=" in row
    school_html = as_user(ME).get("/admin/status/handovers").get_data(as_text=True)
    assert name in school_html and f"/admin/status/handovers/{tid}/done" not in school_html  # sees, cannot do
    # The school posts anyway: the service refuses, with a message.
    resp = as_user(ME).post_form(f"/admin/status/handovers/{tid}/done", {"note": "x"}, token_from="/admin/status/handovers")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(ArchiveHandover, tid).done_on is None and _count(ArchiveBackup) == 0
    resp = heping.post_form(f"/admin/status/handovers/{tid}/done", {"note": "已寄送沈河区教育局"}, token_from="/admin/status/handovers")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/status/handovers")
    with app.app_context():
        task = db.session.get(ArchiveHandover, tid)
        assert task.done_on == AFTER_ABSENCES and task.note == "已寄送沈河区教育局" and task.done_by.email == "heping@xueji.demo"
        assert _count(ArchiveBackup) == 1
    assert f'id="handover-{tid}"' not in heping.get("/admin/status/handovers").get_data(as_text=True)
    done = heping.get("/admin/status/handovers?done=1").get_data(as_text=True)
    assert f'id="handover-{tid}"' in done and "已寄送沈河区教育局" in done and f"/handovers/{tid}/done" not in done
    # Twice is refused by the service; nothing new is written.
    heping.post_form(f"/admin/status/handovers/{tid}/done", {"note": "again"}, token_from="/admin/status/handovers")
    with app.app_context():
        assert db.session.get(ArchiveHandover, tid).note == "已寄送沈河区教育局" and _count(ArchiveBackup) == 1


# --- the scope matrix -----------------------------------------------------------------------------


@pytest.fixture
def heping_pupil_with_lists(app, monkeypatch):
    """A HEPING1 pupil with an expired suspension, another in the handover list; the clock after both."""
    sid, name, tid = _handover(app, monkeypatch)
    at(monkeypatch, AUTUMN)
    with app.test_request_context():
        other = db.session.scalars(select(Student).where(Student.school_id == school(HEPING1).id, Student.id != sid)
                                   .order_by(Student.id)).first()
        _suspend(other, ends=date(2026, 12, 31))
        expired = (other.id, other.name)
    at(monkeypatch, date(2027, 1, 5))
    return {"sid": sid, "name": name, "tid": tid, "expired": expired}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_everywhere_and_never_see_the_name(as_user, app, heping_pupil_with_lists, who):
    t = heping_pupil_with_lists
    c = as_user(who)
    with app.app_context():
        before = (_count(ChangeRequest), _count(Absence), _count(FamilyContact), _count(Attachment))
    for sid, name in ((t["sid"], t["name"]), t["expired"]):
        for kind in KINDS:
            resp = c.get(_url(kind, sid))
            assert resp.status_code == 404 and name not in resp.get_data(as_text=True), (kind, who)
            resp = _post(c, _url(kind, sid), {"reason_text": "x", "reason_kind": "illness", "starts_on": "2027-01-05",
                                              **_files("application")}, token_from="/admin/status/expired")
            assert resp.status_code == 404 and name not in resp.get_data(as_text=True), (kind, who)
        absence = {"absence-first_day": "2026-12-01", "absence-last_day": "2026-12-02"}
        contact = {"contact-purpose": "dropout", "contact-contacted_on": "2026-12-01", "contact-method": "电话", "contact-outcome": "x"}
        for url, data in ((f"/admin/status/absence?student_id={sid}", absence), (f"/admin/status/contact?student_id={sid}", contact)):
            assert c.get(url).status_code == 404
            assert c.post_form(url, data, token_from="/admin/status/expired").status_code == 404
        for url in ("/admin/status/expired", "/admin/status/handovers", "/admin/status/handovers?done=1"):
            html = c.get(url).get_data(as_text=True)
            assert name not in html and f"id={sid}" not in html, (url, who)
    resp = c.post_form(f"/admin/status/handovers/{t['tid']}/done", {"note": "x"}, token_from="/admin/status/expired")
    assert resp.status_code == 404
    with app.app_context():
        assert (_count(ChangeRequest), _count(Absence), _count(FamilyContact), _count(Attachment)) == before
        assert db.session.get(ArchiveHandover, t["tid"]).done_on is None


@pytest.mark.parametrize("who", IN_SCOPE_NOT_SCHOOL)
def test_officials_in_scope_may_look_but_not_open(as_user, app, heping_pupil_with_lists, who):
    t = heping_pupil_with_lists
    c = as_user(who)
    with app.app_context():
        before = (_count(ChangeRequest), _count(Absence), _count(FamilyContact))
    sid = t["expired"][0]
    for kind in KINDS:
        assert c.get(_url(kind, sid)).status_code == 403, kind
        assert _post(c, _url(kind, sid), {"reason_text": "x"}, token_from="/admin/status/expired").status_code == 403, kind
    for url in (f"/admin/status/absence?student_id={sid}", f"/admin/status/contact?student_id={sid}"):
        assert c.post_form(url, {}, token_from="/admin/status/expired").status_code == 403
    assert t["expired"][1] in c.get("/admin/status/expired").get_data(as_text=True)
    assert t["name"] in c.get("/admin/status/handovers").get_data(as_text=True)
    with app.app_context():
        assert (_count(ChangeRequest), _count(Absence), _count(FamilyContact)) == before


def test_another_school_of_the_same_county_cannot_act_for_the_pupil(as_user, app, monkeypatch):
    """和平二中 and the special school share 和平一小's county but not its records."""
    at(monkeypatch, AUTUMN)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    for who in ("school-heping2", "school-special"):
        resp = _post(as_user(who), _url("death", sid), {"died_on": "2026-10-30", **_files("proof")},
                     token_from="/admin/status/expired")
        assert resp.status_code == 404
    with app.app_context():
        assert _count(ChangeRequest) == 0


def test_menu_has_the_status_lists(as_user):
    html = as_user(ME).get("/admin/").get_data(as_text=True)
    assert "/admin/status/expired" in html or "/admin/status/" in html
    assert "/admin/status/handovers" in html and "/admin/requests/" in html


def test_status_change_started_from_the_request_list(as_user, app):
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        sid, xjh, name = pupil.id, pupil.xjh, pupil.name
    c = as_user("school-heping1")
    assert 'id="start-status-change"' in c.get("/admin/requests/").get_data(as_text=True)
    html = c.get(f"/admin/status/start?q={xjh}").get_data(as_text=True)
    assert name in html and f"/admin/status/suspension/new?student_id={sid}" in html
    # Another school finds nothing of 和平一小, by 学籍号 or by name; officials do not start changes here.
    for who in ("school-shenhe1", "school-xigang1"):
        for q in (xjh, name):
            html = as_user(who).get(f"/admin/status/start?q={q}").get_data(as_text=True)
            assert f"student_id={sid}" not in html and 'id="status-start-none"' in html
    assert as_user("heping").get("/admin/status/start").status_code == 403


def test_dropout_list_link_lists_the_dropouts_of_the_area(as_user, app):
    import re

    from admin import DROPOUT_LIST_URL

    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            pupil.status = "dropped_out"
        db.session.commit()
        sid = pupil.id
    html = as_user("heping").get(DROPOUT_LIST_URL).get_data(as_text=True)
    assert set(re.findall(r"details/\?id=(\d+)", html)) == {str(sid)}
    assert DROPOUT_LIST_URL in as_user("heping").get("/admin/").get_data(as_text=True)
    html = as_user("shenhe").get(DROPOUT_LIST_URL).get_data(as_text=True)
    assert f"details/?id={sid}" not in html
