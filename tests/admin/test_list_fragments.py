"""admin/list_fragments.py: the pupils' list's controls (tabs and menus, column headers, pager) kept
a minute per account, URL, language and total; never shared between accounts, never holding a token."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from admin import list_fragments


@pytest.fixture(autouse=True)
def empty_cache():
    list_fragments._fragments.clear()
    yield
    list_fragments._fragments.clear()


def _controls(page: str) -> str:
    """The tabs and menus, the header and the pager, whitespace collapsed."""
    menu = page.split('<ul class="nav nav-tabs">', 1)[1].split("</ul>", 1)[0]
    table = page.split("table-hover model-list", 1)[1]
    head = table.split("<thead>", 1)[1].split("</thead>", 1)[0]
    pager = table.split("</table>", 1)[1].split("<form", 1)[0]
    return re.sub(r"\s+", " ", menu + head + pager)


def test_a_second_view_reuses_the_controls_and_they_are_the_same(as_user) -> None:
    c = as_user("school-heping1")
    first = c.get("/admin/student/?sort=1").get_data(as_text=True)
    kept = dict(list_fragments._fragments)
    assert {k[1] for k in kept} == {"menu_bar", "header", "pager"}
    second = c.get("/admin/student/?sort=1").get_data(as_text=True)
    assert list_fragments._fragments == kept  # nothing rendered again
    assert _controls(second) == _controls(first)


def test_the_controls_follow_the_url_and_the_total(app: Flask, as_user) -> None:
    c = as_user("school-heping1")
    by_name = c.get("/admin/student/?sort=1").get_data(as_text=True)
    by_birth = c.get("/admin/student/?sort=3&desc=1").get_data(as_text=True)
    assert _controls(by_name) != _controls(by_birth)
    assert "fa-chevron-down" in _controls(by_birth) and "fa-chevron-down" not in _controls(by_name)
    total = re.search(r"列表 \((\d+)\)", by_name)
    assert total
    keys = {k[-1] for k in list_fragments._fragments}
    assert int(total.group(1)) in keys  # the total is part of the key: a new pupil renders new tabs


def test_accounts_never_share_controls(as_user) -> None:
    school = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    county = as_user("heping").get("/admin/student/").get_data(as_text=True)
    assert _controls(school) != _controls(county)  # e.g. 调班 is a school's bulk action
    users = {k[6] for k in list_fragments._fragments}
    assert len(users) == 2


def test_the_kept_controls_hold_no_token(as_user) -> None:
    for who in ("school-heping1", "heping", "province"):
        as_user(who).get("/admin/student/?search=王").get_data(as_text=True)
    assert list_fragments._fragments
    for _expires, html in list_fragments._fragments.values():
        assert "nonce" not in html and "csrf" not in html.lower() and "_once" not in html


def test_the_controls_expire_and_can_be_turned_off(app: Flask, as_user, monkeypatch) -> None:
    c = as_user("school-heping1")
    c.get("/admin/student/")
    assert list_fragments._fragments
    clock = list_fragments.time.monotonic() + list_fragments.FRAGMENT_SECONDS + 1
    monkeypatch.setattr(list_fragments.time, "monotonic", lambda: clock)
    before = dict(list_fragments._fragments)
    c.get("/admin/student/")
    assert all(list_fragments._fragments[k][0] > before[k][0] for k in before)  # rendered again, kept anew
    list_fragments._fragments.clear()
    app.config["LIST_FRAGMENT_SECONDS"] = 0
    try:
        assert c.get("/admin/student/").status_code == 200
        assert not list_fragments._fragments
    finally:
        app.config.pop("LIST_FRAGMENT_SECONDS")
