"""ID numbers on screen (issue 13, point 4): masked in lists and on details pages; revealing one is
an audited POST with a CSRF token, scoped like the details page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from changes import enrollment
from extensions import db
from models.audit import AuditLog, StudentHistory
from models.people import User
from models.student import Student
from services.ids import mask_id
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of

FULL_ID = re.compile(r"(?<![\d*])\d{17}[\dX](?![\d*])")


def _user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@xueji.demo"))


def _reveals(student_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditLog).where(AuditLog.action == "student.reveal_id")
    if student_id is not None:
        query = query.where(AuditLog.object_id == str(student_id))
    return db.session.scalar(query)


def _details(client, pupil: Student) -> str:
    resp = client.get(f"/admin/student/details/?id={pupil.id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _reveal(client, pupil_id: int, field: str = "id_number", token_page: str | None = None, **kw):
    token = client.csrf(token_page or "/admin/student/")
    return client.post(f"/admin/student/reveal-id/{pupil_id}?field={field}", headers={"X-CSRFToken": token}, **kw)


def test_the_list_shows_masked_numbers_with_a_show_button(as_user, ctx):
    html = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    pupil = pupil_of(HEPING1)
    assert pupil.id_number not in html
    assert not FULL_ID.search(html)
    assert mask_id(pupil.id_number) in html
    assert f'data-reveal-url="/admin/student/reveal-id/{pupil.id}?field=id_number"' in html
    assert "js/reveal_id.js" in html
    _no_inline_handlers(html)


def _no_inline_handlers(html: str) -> None:
    buttons = re.findall(r"<button[^>]*reveal-id[^>]*>", html)
    assert buttons and not any("onclick" in b for b in buttons)


def test_the_details_page_masks_the_pupils_and_guardians_numbers(as_user, ctx):
    pupil = pupil_of(HEPING1)
    assert pupil.guardians and all(g.id_number for g in pupil.guardians)
    html = _details(as_user("school-heping1"), pupil)
    for number in [pupil.id_number, pupil.xjh, *(g.id_number for g in pupil.guardians)]:
        assert number not in html
    assert not FULL_ID.search(html)
    assert mask_id(pupil.id_number) in html
    for g in pupil.guardians:
        assert mask_id(g.id_number) in html
        assert f"field=guardian:{g.id}" in html
    assert html.count(">显示</button>") >= 1 + len(pupil.guardians)
    assert "js/reveal_id.js" in html
    _no_inline_handlers(html)


def test_history_rows_of_id_changes_are_masked(as_user, ctx):
    pupil = pupil_of(HEPING1)
    old = make_id("210102", pupil.birth_date, 777)
    db.session.add(StudentHistory(student_id=pupil.id, field="id_number", old_value=old, new_value=pupil.id_number,
                                  reason="更正"))
    db.session.add(StudentHistory(student_id=pupil.id, field="guardian1.id_number", old_value=old, new_value=None))
    db.session.commit()
    html = _details(as_user("school-heping1"), pupil)
    assert old not in html and pupil.id_number not in html
    assert mask_id(old) in html


def test_reveal_returns_the_full_number_and_is_audited(as_user, ctx):
    pupil = pupil_of(HEPING1)
    client = as_user("school-heping1")
    before = _reveals(pupil.id)
    resp = _reveal(client, pupil.id)
    assert resp.status_code == 200
    assert resp.get_json() == {"number": pupil.id_number}
    guardian = pupil.guardians[0]
    resp = _reveal(client, pupil.id, f"guardian:{guardian.id}")
    assert resp.status_code == 200 and resp.get_json() == {"number": guardian.id_number}
    assert _reveals(pupil.id) == before + 2
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "student.reveal_id").order_by(AuditLog.id.desc()))
    assert row.user_email == "school-heping1@xueji.demo" and row.object_type == "student"
    assert pupil.name in row.detail and "监护人" in row.detail


def test_the_audit_screen_shows_reveals_in_chinese(app, as_user):
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        pupil_id, name = pupil.id, pupil.name
    assert _reveal(as_user("school-heping1"), pupil_id).status_code == 200
    html = as_user("audit-admin").get("/admin/audit/?flt0_4=student.reveal_id").get_data(as_text=True)
    assert "查看完整身份证件号" in html and f"{name}：学生身份证件号" in html


def test_the_g_number_is_revealed_through_the_same_audited_click(as_user, ctx):
    pupil = pupil_of(HEPING1)
    assert pupil.xjh.startswith("G")
    resp = _reveal(as_user("school-heping1"), pupil.id, "xjh")
    assert resp.status_code == 200 and resp.get_json() == {"number": pupil.xjh}


def test_reveal_without_csrf_is_refused(as_user, ctx):
    pupil = pupil_of(HEPING1)
    client = as_user("school-heping1")
    before = _reveals()
    assert client.post(f"/admin/student/reveal-id/{pupil.id}?field=id_number").status_code == 400
    assert client.get(f"/admin/student/reveal-id/{pupil.id}?field=id_number").status_code == 405
    assert _reveals() == before


def test_reveal_of_an_out_of_scope_pupil_is_404(as_user, ctx):
    other = pupil_of(SHENHE1)
    before = _reveals()
    assert _reveal(as_user("school-heping1"), other.id).status_code == 404
    assert _reveals() == before


def test_reveal_by_another_countys_official_is_404(app, as_user):
    """Several users in one test: the database is read in short contexts of its own (a shared one
    would keep the first login for every client)."""
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        pupil_id, number, guardian_id = pupil.id, pupil.id_number, pupil.guardians[0].id
        before = _reveals()
    shenhe = as_user("shenhe")
    assert _reveal(shenhe, pupil_id).status_code == 404
    assert _reveal(shenhe, pupil_id, f"guardian:{guardian_id}").status_code == 404
    with app.test_request_context():
        assert _reveals() == before
    # The pupil's own county may.
    assert _reveal(as_user("heping"), pupil_id).get_json() == {"number": number}


def test_reveal_of_another_pupils_guardian_or_an_unknown_field_is_404(as_user, ctx):
    pupil, other = pupil_of(HEPING1), pupil_of(SHENHE1)
    client = as_user("heping")
    assert _reveal(client, pupil.id, f"guardian:{other.guardians[0].id}").status_code == 404
    assert _reveal(client, pupil.id, "phone").status_code == 404


def test_searching_by_the_full_number_still_finds_the_pupil(as_user, ctx):
    pupil = pupil_of(HEPING1)
    html = as_user("school-heping1").get(f"/admin/student/?search={pupil.id_number}").get_data(as_text=True)
    assert mask_id(pupil.id_number) in html and pupil.name in html
    # Shown masked: the full number is only in what the user typed (the search box, the links' search=…).
    shown = re.sub(r"search(=|%3D)[0-9X]+", "", html).replace(f'value="{pupil.id_number}"', "")
    assert pupil.id_number not in shown


def test_the_edit_form_shows_full_numbers_and_is_audited(app, as_user):
    """Who may edit the record sees the numbers they edit (a masked value would be saved back as
    stars); opening the form is recorded like a reveal."""
    with app.test_request_context():
        pupil = pupil_of(HEPING1)
        pupil_id, guardian_number = pupil.id, pupil.guardians[0].id_number
    resp = as_user("school-heping1").get(f"/admin/student/edit/?id={pupil_id}")
    assert resp.status_code == 200
    assert guardian_number in resp.get_data(as_text=True)
    with app.test_request_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "student.edit_view").order_by(AuditLog.id.desc()))
        assert row is not None and row.object_id == str(pupil_id) and row.user_email == "school-heping1@xueji.demo"
    assert as_user("shenhe").get(f"/admin/student/edit/?id={pupil_id}").status_code == 404


def test_a_correction_request_page_masks_both_numbers(as_user, ctx):
    pupil = pupil_of(HEPING1)
    new_number = make_id("210102", pupil.birth_date, 700 + int(pupil.id_number[16]))  # same gender digit
    req = enrollment.request_correction(pupil, _user("school-heping1"), {"id_number": new_number}, "户口簿为准")
    db.session.commit()
    client = as_user("heping")
    html = client.get(f"/admin/requests/{req.id}/").get_data(as_text=True)
    assert new_number not in html and pupil.id_number not in html
    assert mask_id(new_number) in html and mask_id(pupil.id_number) in html
    assert f"field=request:{req.id}" in html and "js/reveal_id.js" in html
    resp = _reveal(client, pupil.id, f"request:{req.id}")
    assert resp.status_code == 200 and resp.get_json() == {"number": new_number}
    assert "变动申请" in db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "student.reveal_id")
                                        .order_by(AuditLog.id.desc()))


def test_a_problem_record_page_masks_numbers_and_offers_show_only_inside_the_scope(app, as_user):
    from tests.admin.test_dedup_views import duplicate_in

    with app.test_request_context():
        found = duplicate_in(HEPING1, SHENHE1)  # 和平 school 1's new record duplicates a 沈河 pupil
        mine, other = db.session.get(Student, found["student"]), db.session.get(Student, found["other"])
        numbers = [mine.id_number, other.id_number, *(g.id_number for g in other.guardians if g.id_number)]
        masked, mine_id, other_id = mask_id(mine.id_number), mine.id, other.id
    html = as_user("school-heping1").get(f"/admin/problems/{found['problem']}/").get_data(as_text=True)
    for number in numbers:
        assert number not in html
    assert masked in html
    assert f"/admin/student/reveal-id/{mine_id}?field=id_number" in html
    assert f"/admin/student/reveal-id/{other_id}" not in html  # the other school's pupil: masked, no button
