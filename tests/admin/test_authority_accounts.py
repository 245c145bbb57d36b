"""教育行政部门 on screen: a new county bureau (or a development zone's) is added under its city, so
that its officials' accounts can then be created (README "The first login"). Codes extend the
parent's, never change and are unique; scope as everywhere (out of scope: 404)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.org import CITY, COUNTY, OrgUnit
from services.org import authority_code_problems


def unit(app, code: str) -> OrgUnit | None:
    with app.app_context():
        row = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if row is not None:
            db.session.expunge(row)
        return row


def create(client, parent: OrgUnit, code: str, name: str):
    return client.post_form("/admin/authority/new/", {"parent": str(parent.id), "code": code, "name": name},
                            follow_redirects=True)


def test_a_city_official_adds_a_county_bureau_under_the_city(app, as_user):
    city = unit(app, "2101")
    c = as_user("shenyang")
    page = c.get("/admin/authority/new/").get_data(as_text=True)
    assert "所属单位" in page and "沈阳市" in page and "大连市" not in page
    page = create(c, city, "210115", "沈阳市辽中区教育局").get_data(as_text=True)
    assert "沈阳市辽中区教育局" in page
    made = unit(app, "210115")
    assert made.level == COUNTY and made.path == city.path + "210115/" and made.active
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "authority.create",
                                                        AuditLog.object_id == str(made.id)))


def test_the_system_administrator_adds_a_city_and_its_account_can_then_be_made(app, as_user):
    province = unit(app, "21")
    c = as_user("admin")
    create(c, province, "2114", "葫芦岛市教育局")
    made = unit(app, "2114")
    assert made.level == CITY and made.path == "/21/2114/"
    page = c.get("/admin/users/new/").get_data(as_text=True)
    assert "葫芦岛市教育局" in page  # the accounts page can now place an official there


@pytest.mark.parametrize(("code", "words"), [
    ("2201", "4 位"),         # another province's prefix
    ("21011", "4 位"),        # a county-length code under the province
    ("2100", "00"),           # the province itself
    ("21a1", "4 位"),
    ("2101", "已经存在"),     # 沈阳市 exists (Flask-Admin's unique check answers first)
])
def test_a_wrong_city_code_is_a_clear_form_error(app, as_user, code, words):
    c = as_user("admin")
    page = create(c, unit(app, "21"), code, "某市教育局").get_data(as_text=True)
    assert words in page
    if code != "2101":
        assert unit(app, code) is None


def test_html_in_the_name_is_shown_as_text(app, as_user):
    c = as_user("shenyang")
    create(c, unit(app, "2101"), "210181", "<script>alert(1)</script>新民市教育局")
    page = c.get("/admin/authority/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;新民市教育局" in page and "<script>alert(1)" not in page


def test_an_authority_cannot_be_placed_outside_ones_own_subtree(app, as_user):
    c = as_user("dalian")
    page = create(c, unit(app, "2101"), "210115", "沈阳市辽中区教育局").get_data(as_text=True)
    assert unit(app, "210115") is None
    assert "请选择新单位所属的省或市" in page  # 沈阳市 is not among dalian's choices: the form has none


def test_a_county_official_has_nothing_to_add_and_no_school_may_add(app, as_user):
    county = as_user("heping")
    assert "/admin/authority/new/" not in county.get("/admin/authority/").get_data(as_text=True)
    assert county.get("/admin/authority/new/").status_code in (302, 403)
    assert as_user("school-heping1").get("/admin/authority/new/").status_code == 403


def test_a_name_is_corrected_but_the_code_and_place_stay(app, as_user):
    shenhe = unit(app, "210103")
    c = as_user("shenyang")
    page = c.get(f"/admin/authority/edit/?id={shenhe.id}").get_data(as_text=True)
    assert 'name="code"' not in page and 'name="parent"' not in page
    c.post_form(f"/admin/authority/edit/?id={shenhe.id}", {"name": "沈阳市沈河区教育局"}, follow_redirects=True)
    after = unit(app, "210103")
    assert after.name == "沈阳市沈河区教育局" and after.path == shenhe.path
    assert as_user("dalian").get(f"/admin/authority/edit/?id={shenhe.id}").status_code == 404


def test_code_rule_for_a_county():
    city = OrgUnit(code="2101", name="沈阳市", level=CITY)
    assert authority_code_problems("210115", city) == []
    assert authority_code_problems("210215", city) and authority_code_problems("210100", city)


def test_the_new_authority_form_preselects_ones_own_unit_and_offers_no_blank_choice(app, as_user):
    import re
    city = unit(app, "2101")
    page = as_user("shenyang").get("/admin/authority/new/").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="parent".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option([^>]*)value="([^"]*)"', select_html)
    assert options and all(value and value != "__None" for _, value in options)  # no empty entry to send by mistake
    assert re.search(rf'<option[^>]*selected[^>]*value="{city.id}"|<option[^>]*value="{city.id}"[^>]*selected',
                     select_html)


def test_the_new_school_form_keeps_its_own_county_choice(app, as_user):
    """The authority form's preselection is its own: a new school's county is still chosen by the user."""
    import re
    page = as_user("shenyang").get("/admin/school/new/").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="parent".*?</select>', page, re.S).group(0)
    assert '<option selected value="__None">（无）</option>' in select_html  # nothing chosen for the user
