"""学生卡 on screen (issue 16, point 3): the panel on the pupil's page (issue, 挂失作废, 补办, history),
打印学生卡 on the class's page, the list's batch, the scope and the CSRF token, the export gate and the
audit log, and the public check /verify/card/<token>."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from cli.realistic import HEPING1, make_pupil
from extensions import db
from models.audit import AuditLog
from models.export_request import ExportDownload
from models.pupil_card import REPLACED, REVOKED, VALID, PupilCard
from models.student import Student
from public import limiter
from services import pdf
from services.ids import make_check_digit
from tests.builders import make_class
from tests.conftest import csrf_from

PUPIL_ID = "21010220160412567" + make_check_digit("21010220160412567")
REGISTRAR = "school-heping1"


def pupil(app: Flask, **kw) -> int:
    """A pupil of 和平一小 with a G-学籍号 (it holds the ID number), committed inside the test's transaction."""
    with app.test_request_context():
        kw.setdefault("name", "张小明")
        row = make_pupil(kw.pop("school_code", HEPING1), id_number=PUPIL_ID, xjh="G" + PUPIL_ID, **kw)
        db.session.commit()
        return row.id


def cards_of(app: Flask, sid: int) -> list[tuple[str, str, int | None]]:
    with app.app_context():
        rows = db.session.scalars(select(PupilCard).where(PupilCard.student_id == sid).order_by(PupilCard.id)).all()
        return [(c.number, c.status, c.replaced_by_id) for c in rows]


def details(c, sid: int) -> str:
    resp = c.get(f"/admin/student/details/?id={sid}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def post(c, url: str, page: str, **data):
    return c.post(url, data={"csrf_token": csrf_from(page), **data})


def test_the_registrar_issues_a_card_from_the_pupils_page(app, as_user):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    page = details(c, sid)
    assert 'id="pupil-card"' in page and "暂无有效学生卡" in page and 'id="pupil-card-issue"' in page
    resp = post(c, f"/admin/pupil_cards/{sid}/issue", page)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"id={sid}#pupil-card")
    [(number, status, _r)] = cards_of(app, sid)
    assert status == VALID and number.startswith("XSK")
    page = details(c, sid)
    assert number in page and "已发放学生卡" in page and 'id="pupil-card-revoke"' in page and 'id="pupil-card-issue"' not in page
    assert 'id="pupil-card-history"' in page and "有效" in page
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "pupil_card.issue", AuditLog.detail.contains(number)))


def test_a_double_click_issues_once(app, as_user):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    page = details(c, sid)
    first = post(c, f"/admin/pupil_cards/{sid}/issue", page)
    second = post(c, f"/admin/pupil_cards/{sid}/issue", page)  # the same page, the button clicked twice
    assert first.status_code == second.status_code == 302
    assert len(cards_of(app, sid)) == 1
    assert "未重复发放" in details(c, sid)


def test_revoke_needs_a_reason_then_cancels_and_the_history_shows_it(app, as_user):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    post(c, f"/admin/pupil_cards/{sid}/issue", details(c, sid))
    page = details(c, sid)
    assert "data-confirm=" in page and "挂失作废" in page
    refused = post(c, f"/admin/pupil_cards/{sid}/revoke", page, reason="  ")
    assert refused.status_code == 302
    assert cards_of(app, sid)[0][1] == VALID
    assert "请填写原因" in details(c, sid)
    post(c, f"/admin/pupil_cards/{sid}/revoke", page, reason="遗失")
    [(number, status, _r)] = cards_of(app, sid)
    assert status == REVOKED
    page = details(c, sid)
    assert number in page and "已挂失作废" in page and "遗失" in page and 'id="pupil-card-issue"' in page and "补办学生卡" in page


def test_reissue_replaces_the_card_and_both_show_in_the_history(app, as_user):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    post(c, f"/admin/pupil_cards/{sid}/issue", details(c, sid))
    page = details(c, sid)
    [(shown, _s, _r)] = cards_of(app, sid)
    assert f'name="card" value="{shown}"' in page
    post(c, f"/admin/pupil_cards/{sid}/reissue", page, reason="损坏", card=shown)
    post(c, f"/admin/pupil_cards/{sid}/reissue", page, reason="损坏", card=shown)  # a double click: refused
    assert "重复点击" in details(c, sid)
    (old, old_status, replaced_by), (new, new_status, _r) = cards_of(app, sid)
    assert old_status == REPLACED and new_status == VALID and replaced_by is not None
    page = details(c, sid)
    assert old in page and new in page and "已补办替换" in page and "损坏" in page
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "pupil_card.reissue"))
        assert old in row.detail and new in row.detail


@pytest.mark.parametrize("route", ["issue", "revoke", "reissue"])
def test_a_post_without_the_csrf_token_changes_nothing(app, as_user, route):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    resp = c.post(f"/admin/pupil_cards/{sid}/{route}", data={"reason": "遗失"})
    assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
    assert cards_of(app, sid) == []


@pytest.mark.parametrize("who", ["school-heping2", "school-shenhe1", "shenhe", "dalian"])
def test_a_pupil_outside_the_scope_is_not_found(app, as_user, who):
    sid = pupil(app)
    c = as_user(who)
    page = c.get("/admin/").get_data(as_text=True)
    token = csrf_from(page) if "csrf" in page else ""
    for route in ("issue", "revoke", "reissue"):
        assert c.post(f"/admin/pupil_cards/{sid}/{route}", data={"csrf_token": token, "reason": "x"}).status_code == 404
    assert c.get(f"/admin/pupil_cards/{sid}/sheet.pdf").status_code == 404
    assert c.get(f"/admin/pupil_cards/sheet.pdf?ids={sid}").status_code == 404
    assert cards_of(app, sid) == []


def test_the_county_reads_the_card_but_does_not_issue_it(app, as_user):
    sid = pupil(app)
    school_staff = as_user(REGISTRAR)
    post(school_staff, f"/admin/pupil_cards/{sid}/issue", details(school_staff, sid))
    c = as_user("heping")
    page = details(c, sid)
    assert 'id="pupil-card-history"' in page and 'id="pupil-card-revoke"' not in page
    assert post(c, f"/admin/pupil_cards/{sid}/revoke", page, reason="遗失").status_code == 403
    assert c.get(f"/admin/pupil_cards/{sid}/sheet.pdf").status_code == 403
    assert cards_of(app, sid)[0][1] == VALID


def test_the_pupils_sheet_passes_the_gate_and_is_audited_with_the_card_number(app, as_user):
    sid = pupil(app)
    c = as_user(REGISTRAR)
    assert c.get(f"/admin/pupil_cards/{sid}/sheet.pdf").status_code == 302  # no valid card yet: back to the page
    post(c, f"/admin/pupil_cards/{sid}/issue", details(c, sid))
    [(number, _s, _r)] = cards_of(app, sid)
    resp = c.get(f"/admin/pupil_cards/{sid}/sheet.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf.extract_text(resp.data)
    assert number in text and "张小明" in text and "学生卡" in text
    assert PUPIL_ID not in text and PUPIL_ID[6:14] not in text  # the G-学籍号 is masked: never the ID number
    with app.app_context():
        download = db.session.scalar(select(ExportDownload).order_by(ExportDownload.id.desc()))
        assert download.kind == "pupil_card_sheet"
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "pupil_card.print"))
        assert number in row.detail


def _class_with_pupils(app: Flask, names: tuple[str, ...]) -> tuple[int, list[int]]:
    with app.test_request_context():
        found = make_class(HEPING1, 4, "7班")
        ids = [make_pupil(HEPING1, name=n, grade=4, class_name="7班", class_id=found.id).id for n in names]
        db.session.commit()
        return found.id, ids


def test_the_class_page_prints_the_cards_issuing_only_the_missing_ones(app, as_user):
    class_id, (a, b, _c) = _class_with_pupils(app, ("甲同学", "乙同学", "丙同学"))
    c = as_user(REGISTRAR)
    post(c, f"/admin/pupil_cards/{a}/issue", details(c, a))
    page = c.get(f"/admin/classes/{class_id}/").get_data(as_text=True)
    assert 'id="pupil-cards-print"' in page and "打印学生卡" in page
    resp = post(c, f"/admin/pupil_cards/class/{class_id}/print", page)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/pupil_cards/class/{class_id}/sheet.pdf")
    again = post(c, f"/admin/pupil_cards/class/{class_id}/print", page)  # a double click
    assert again.status_code == 302
    with app.app_context():
        assert db.session.query(PupilCard).filter(PupilCard.status == VALID, PupilCard.student_id.in_([a, b, _c])).count() == 3
    assert len(cards_of(app, a)) == 1
    sheet = c.get(resp.headers["Location"])
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    text = pdf.extract_text(sheet.data)
    assert all(n in text for n in ("甲同学", "乙同学", "丙同学"))
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "pupil_card.print"))
        assert row.detail.count("XSK") == 3


def test_the_class_print_is_the_schools_and_needs_the_token(app, as_user):
    class_id, ids = _class_with_pupils(app, ("甲同学",))
    assert as_user(REGISTRAR).post(f"/admin/pupil_cards/class/{class_id}/print").status_code == 400
    other = as_user("school-heping2")
    token = csrf_from(other.get("/admin/").get_data(as_text=True))
    assert other.post(f"/admin/pupil_cards/class/{class_id}/print", data={"csrf_token": token}).status_code == 404
    assert other.get(f"/admin/pupil_cards/class/{class_id}/sheet.pdf").status_code == 404
    assert 'id="pupil-cards-print"' not in as_user("heping").get(f"/admin/classes/{class_id}/").get_data(as_text=True)
    assert cards_of(app, ids[0]) == []


def test_the_list_batch_issues_and_prints_the_selected_pupils(app, as_user):
    _class_id, ids = _class_with_pupils(app, ("甲同学", "乙同学"))
    c = as_user(REGISTRAR)
    page = c.get("/admin/student/").get_data(as_text=True)
    resp = c.post("/admin/student/action/", data={"csrf_token": csrf_from(page), "action": "pupil_cards", "rowid": [str(i) for i in ids]})
    assert resp.status_code == 302 and "/admin/pupil_cards/sheet.pdf?ids=" in resp.headers["Location"]
    assert all(cards_of(app, i)[0][1] == VALID for i in ids)
    sheet = c.get(resp.headers["Location"])
    assert sheet.status_code == 200 and "甲同学" in pdf.extract_text(sheet.data)


def test_the_public_check_shows_the_minimum_and_never_the_id_number(app, as_user):
    sid = pupil(app, name="张小明", grade=3)
    c = as_user(REGISTRAR)
    post(c, f"/admin/pupil_cards/{sid}/issue", details(c, sid))
    with app.app_context():
        token = db.session.scalar(select(PupilCard.token).where(PupilCard.student_id == sid))
    public = app.test_client()
    resp = public.get(f"/verify/card/{token}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert 'data-status="valid"' in body and "有效" in body and "沈阳市和平区第一小学" in body and "三年级" in body
    assert "张*明" in body and "张小明" not in body and PUPIL_ID not in body and PUPIL_ID[6:14] not in body
    post(c, f"/admin/pupil_cards/{sid}/revoke", details(c, sid), reason="遗失")
    body = public.get(f"/verify/card/{token}").get_data(as_text=True)
    assert 'data-status="cancelled"' in body and "已作废" in body and "遗失" not in body
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "pupil_card.verify", AuditLog.user_id.is_(None)))


def test_the_public_check_says_no_longer_valid_once_the_pupil_has_left_the_school(app, as_user):
    from cli.realistic import HEPING2, school
    sid = pupil(app, name="孙转学", grade=4)
    c = as_user(REGISTRAR)
    post(c, f"/admin/pupil_cards/{sid}/issue", details(c, sid))
    with app.app_context():
        token = db.session.scalar(select(PupilCard.token).where(PupilCard.student_id == sid))
        moved = db.session.get(Student, sid)
        moved.school_id, moved.scope_path = school(HEPING2).id, school(HEPING2).path  # as a completed 转学 leaves it
        db.session.commit()
    body = app.test_client().get(f"/verify/card/{token}").get_data(as_text=True)
    assert 'data-status="left-school"' in body and "已失效" in body and "沈阳市和平区第一小学" in body
    assert "第二小学" not in body  # where the pupil went is not the checker's business

def test_an_unknown_token_is_a_chinese_not_found_page(app):
    c = app.test_client()
    for token in ("no-such-token-00000000000000000000", "x"):
        resp = c.get(f"/verify/card/{token}")
        assert resp.status_code == 404 and "未找到" in resp.get_data(as_text=True) and "学生卡" in resp.get_data(as_text=True)


def test_the_card_check_shares_the_verify_rate_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "2 per minute")
    limiter.reset()
    try:
        c = app.test_client()
        assert [c.get("/verify/card/unknown-token-000000000000000000").status_code for _ in range(2)] == [404, 404]
        assert c.get("/verify/card/unknown-token-000000000000000000").status_code == 429
        assert c.get("/verify/ABCDEFGHJKLMNPQR").status_code == 429  # one budget with the certificates' check
    finally:
        limiter.reset()


def test_the_sheet_is_declared_in_the_gate_and_the_card_check_is_public():
    from services import export_gate

    kind = export_gate.ENDPOINT_KIND["pupil_cards.class_sheet"]
    assert kind.code == "pupil_card_sheet" and kind.policy == export_gate.SCHOOL_DIRECT and not kind.carries
    assert export_gate.ENDPOINT_KIND["public.verify_card"].policy == export_gate.PUBLIC
