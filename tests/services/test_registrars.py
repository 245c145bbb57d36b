"""第二十六条: each school records its registrars (name, phone, appointed on, full-time, formal
staff); the principal or deputy records them; the authorities above see and export the list of
their area; a school without a registrar is flagged on the county dashboard."""

from __future__ import annotations

import html
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.rosters import SchoolRegistrar
from services import registrars
from services.errors import RuleViolation
from tests.export_helpers import open_gate, shut_gate
from tests.helpers import HEPING1, HEPING2, school
from tests.transfer_helpers import at, user

TODAY = date(2026, 11, 2)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    at(monkeypatch, TODAY)


def form(**overrides: str) -> dict[str, str]:
    data = {"name": "王丽", "phone": "13912345678", "appointed_on": "2024-09-01", "full_time": "1", "formal_staff": "1"}
    data.update(overrides)
    return data


def record(client, **overrides: str):
    return client.post_form("/admin/registrars/add", form(**overrides), token_from="/admin/registrars/")


def registrar_rows() -> list[SchoolRegistrar]:
    return list(db.session.scalars(select(SchoolRegistrar).order_by(SchoolRegistrar.id)))


def test_principal_records_a_registrar_with_phone_date_and_full_time(as_user, app):
    c = as_user("principal-heping1")
    assert record(c).status_code == 302
    page = c.get("/admin/registrars/").get_data(as_text=True)
    row = page.split('<tr id="registrar-')[1].split("</tr>")[0]
    assert "王丽" in row and "13912345678" in row and "2024-09-01" in row and "是" in row and "True" not in row
    with app.app_context():
        (r,) = registrar_rows()
        assert r.school.code == HEPING1 and r.full_time and r.formal_staff and r.recorded_by.email == "principal-heping1@xueji.demo"


def test_registrar_account_sees_the_list_but_cannot_appoint(as_user, app):
    c = as_user("school-heping1")
    assert "registrar-form" not in c.get("/admin/registrars/").get_data(as_text=True)
    assert record(c).status_code == 403
    with app.app_context():
        assert registrar_rows() == []


def test_bad_phone_is_refused_with_a_chinese_message_and_the_form_kept(as_user, app):
    resp = record(as_user("principal-heping1"), phone="12345")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "请填写11位手机号码" in page and 'value="王丽"' in page
    with app.app_context():
        assert registrar_rows() == []


def test_future_appointment_date_is_refused(as_user, app):
    page = record(as_user("principal-heping1"), appointed_on="2026-11-03").get_data(as_text=True)
    assert "任职日期不能晚于今天" in page
    with app.app_context():
        assert registrar_rows() == []


def test_html_in_the_name_is_refused_and_shown_escaped(as_user, app):
    bad = '<script>alert(1)</script>'
    page = record(as_user("principal-heping1"), name=bad).get_data(as_text=True)
    assert "姓名只能包含" in page and bad not in page and html.escape(bad, quote=True) in page
    with app.app_context():
        assert registrar_rows() == []


def test_registrar_who_is_not_formal_staff_is_refused(ctx):
    with pytest.raises(RuleViolation, match="正式工作人员"):
        registrars.add(user("principal-heping1"), name="王丽", phone="024-23456789", appointed_on=date(2024, 9, 1),
                       full_time=False, formal_staff=False)


def test_ending_an_appointment_keeps_it_as_history(as_user, app):
    c = as_user("principal-heping1")
    record(c)
    with app.app_context():
        rid = registrar_rows()[0].id
    resp = c.post_form(f"/admin/registrars/{rid}/end", {"ended_on": "2026-10-31"}, token_from="/admin/registrars/")
    assert resp.status_code == 302
    with app.app_context():
        (r,) = registrar_rows()
        assert r.ended_on == date(2026, 10, 31)
        assert db.session.scalar(select(SchoolRegistrar.id).where(registrars.is_current())) is None
    assert "已于 2026-10-31 离任" in c.get("/admin/registrars/").get_data(as_text=True)


def test_end_date_before_appointment_is_refused(ctx):
    row = registrars.add(user("principal-heping1"), name="王丽", phone="13912345678", appointed_on=date(2024, 9, 1),
                         full_time=True, formal_staff=True)
    with pytest.raises(RuleViolation, match="早于"):
        registrars.end(user("principal-heping1"), row, date(2024, 8, 1))


def test_authority_sees_its_schools_registrars_and_another_county_does_not(as_user, app):
    record(as_user("principal-heping1"))
    with app.app_context():
        rid = registrar_rows()[0].id
    assert "王丽" in as_user("heping").get("/admin/registrars/").get_data(as_text=True)
    assert "王丽" in as_user("shenyang").get("/admin/registrars/").get_data(as_text=True)
    for who in ("shenhe", "school-heping2", "dalian"):
        c = as_user(who)
        assert "王丽" not in c.get("/admin/registrars/").get_data(as_text=True)
        assert "王丽" not in c.get("/admin/registrars/?ended=1").get_data(as_text=True)
    # another county, or another school's principal, cannot reach it: 404, not a message
    for who in ("shenhe", "principal-heping2"):
        resp = as_user(who).post_form(f"/admin/registrars/{rid}/end", {"ended_on": "2026-10-31"}, token_from="/admin/registrars/")
        assert resp.status_code == 404
    with app.app_context():
        assert registrar_rows()[0].ended_on is None


def test_authority_exports_the_list_as_xlsx_with_yes_no(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    record(as_user("principal-heping1"), full_time="0")
    resp = as_user("heping").get("/admin/registrars/export.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb["学籍管理员"].values)
    assert rows[0][:7] == ("学校", "学校标识码", "姓名", "联系电话", "任命日期", "是否专职", "是否正式工作人员")
    assert rows[1][1] == HEPING1 and rows[1][2] == "王丽" and rows[1][5] == "否" and rows[1][6] == "是"
    missing = [r[1] for r in list(wb["未配备学籍管理员的学校"].values)[1:]]
    assert HEPING2 in missing and HEPING1 not in missing
    other = load_workbook(io.BytesIO(as_user("shenhe").get("/admin/registrars/export.xlsx").data))
    assert all(r[2] != "王丽" for r in other["学籍管理员"].values)
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "school_registrar"))


def test_registrar_export_passes_the_export_gate(as_user, monkeypatch):
    shut_gate(monkeypatch)
    resp = as_user("heping").get("/admin/registrars/export.xlsx")
    assert resp.status_code == 403


def test_county_dashboard_flags_schools_without_a_registrar(as_user, app):
    with app.app_context():
        n = len(db.session.scalars(registrars.without_registrar(school(HEPING1).parent.path)).all())
        assert n >= 2 and n == registrars.count_without(school(HEPING1).parent.path)
    page = as_user("heping").get("/admin/").get_data(as_text=True)
    flag = page.split('id="dash-no-registrar"')[1].split("</div>")[0]
    assert f">{n}</a>" in flag and "/admin/registrars/?missing=1" in flag
    listing = as_user("heping").get("/admin/registrars/?missing=1").get_data(as_text=True)
    assert f'id="missing-{HEPING1}"' in listing and f'id="missing-{HEPING2}"' in listing
    record(as_user("principal-heping1"))
    listing = as_user("heping").get("/admin/registrars/?missing=1").get_data(as_text=True)
    assert f'id="missing-{HEPING1}"' not in listing and f'id="missing-{HEPING2}"' in listing
    page = as_user("heping").get("/admin/").get_data(as_text=True)
    assert f">{n - 1}</a>" in page.split('id="dash-no-registrar"')[1].split("</div>")[0]


def test_school_dashboard_has_no_registrar_flag(as_user):
    assert 'id="dash-no-registrar"' not in as_user("school-heping1").get("/admin/").get_data(as_text=True)


def test_another_county_does_not_list_heping_schools_as_missing(as_user):
    listing = as_user("shenhe").get("/admin/registrars/?missing=1").get_data(as_text=True)
    assert f'id="missing-{HEPING1}"' not in listing


def test_unreadable_appointment_date_is_refused_in_chinese(as_user, app):
    page = record(as_user("principal-heping1"), appointed_on="2026-13-45").get_data(as_text=True)
    form_part = page.split('id="registrar-form"')[1]
    assert "invalid-feedback" in form_part and "Not a valid" not in form_part and 'value="13912345678"' in form_part
    with app.app_context():
        assert registrar_rows() == []
