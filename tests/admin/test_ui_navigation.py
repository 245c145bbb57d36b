"""Navigation (issue 14, point 3), through the HTTP client: the menu grouped by what a registrar does,
per role; the navbar's name, unit, role and 待我处理 badge; a default order on every list; the
favicon; a specific <title> on every page; the school's own words on its home page; the README's
menu paths; the styled login button."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import event, select

from admin import menu
from extensions import db
from models.changes import ChangeRequest
from services import home, workflows
from tests.helpers import HEPING1, SHENHE1, XIGANG1, pupil_of
from tests.transfer_helpers import approve, start, user

GROUPS = ["学生", "学籍变动", "待我处理", "名册与报表", "证书", "统计"]
APP_NAME = "学籍通"
README = Path(__file__).resolve().parents[2] / "README.md"


def _text(el) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()


def main_menu(page: str) -> dict[str, list[tuple[str, str]]]:
    """The main menu as {category or top-level entry: [(entry, href), …]}, in the order shown."""
    tree = lxml_html.fromstring(page)
    found: dict[str, list[tuple[str, str]]] = {}
    for li in tree.xpath('//nav//ul[contains(@class, "mr-auto")]/li'):
        toggle = li.xpath('./a[contains(@class, "dropdown-toggle")]')
        if toggle:
            found[_text(toggle[0])] = [(_text(a), a.get("href")) for a in li.xpath('.//a[contains(@class, "dropdown-item")]')]
        else:
            for a in li.xpath("./a"):
                found[_text(a)] = [(_text(a), a.get("href"))]
    # The account menu under the user's name (right): its headers 我的账号 and 语言 are its groups.
    group = None
    for el in tree.xpath('//*[@id="navbar-account"]//div[contains(@class, "dropdown-menu")]/*'):
        if el.tag == "h6":
            group = _text(el)
            found[group] = []
        elif el.tag == "a" and group:
            found[group].append((_text(el), el.get("href")))
    return found


def entries(page: str, group: str) -> list[str]:
    return [name for name, _href in main_menu(page).get(group, [])]


def title_of(page: str) -> str:
    m = re.search(r"<title>(.*?)</title>", page, re.S)
    assert m, "page has no <title>"
    return re.sub(r"\s+", " ", unescape(m.group(1))).strip()


# --- the menu, per role ---------------------------------------------------------------------------


def test_the_school_registrars_menu_is_grouped_by_what_a_registrar_does(as_user):
    page = as_user("school-heping1").get("/admin/").get_data(as_text=True)
    groups = [g for g in main_menu(page) if g in GROUPS]
    assert groups == GROUPS  # all six, in this order
    assert {"学生学籍", "从 Excel 导入学生", "问题学籍"} <= set(entries(page, "学生"))
    changes = entries(page, "学籍变动")
    assert changes[:7] == ["发起学籍变动", "发起转学", "休学", "复学", "出国（出境）", "辍学", "死亡"]
    assert {"学籍接续", "变动申请", "休学到期", "档案移交", "辍学学生"} <= set(changes)
    assert entries(page, "待我处理")[:4] == ["待我核办", "已超期", "我发起的", "我已核办"]
    assert {"花名册（第十二条）", "毕业生花名册"} <= set(entries(page, "名册与报表"))
    assert {"证书管理", "毕业班证书"} <= set(entries(page, "证书"))
    assert "统计概览" in entries(page, "统计")
    assert "审计日志" not in main_menu(page)  # a school has no audit log
    assert not re.search(r"[A-Za-z]{3,}", " ".join(g for g in main_menu(page) if g != "English"))


@pytest.mark.parametrize("who", ["school-heping1", "heping", "admin", "audit-admin"])
def test_the_account_menu_under_the_users_name(as_user, who):
    page = as_user(who).get("/admin/").get_data(as_text=True)
    assert entries(page, "我的账号") == ["我的消息", "提醒方式", "修改密码", "两步验证", "两步验证恢复码"]  # 我的消息: issue 16
    assert entries(page, "语言") == ["中文", "English"]
    assert 'id="logout-form"' in page and 'action="/logout"' in page  # the POST form of issue 13


def test_the_county_officials_menu_has_the_groups_but_no_pupil_picker_of_a_school(as_user):
    page = as_user("heping").get("/admin/").get_data(as_text=True)
    assert [g for g in main_menu(page) if g in GROUPS] == GROUPS
    changes = entries(page, "学籍变动")
    assert "发起转学" in changes and "变动申请" in changes and "辍学学生" in changes
    assert "发起学籍变动" not in changes and "休学" not in changes  # a school's own pupils only (status.start: 403)
    assert "待我核办" in entries(page, "待我处理")
    assert {"用户账号", "访问权限复核"} <= set(entries(page, "机构"))
    assert "审计日志" in main_menu(page)


@pytest.mark.parametrize("who", ["admin", "security-admin", "audit-admin", "baomi-heping"])
def test_the_administrators_see_none_of_the_registrars_groups(as_user, who):
    page = as_user(who).get("/admin/").get_data(as_text=True)
    shown = main_menu(page)
    if who == "baomi-heping":  # the confidentiality officer's one task: the export requests (第二十八条)
        assert entries(page, "待我处理") == ["导出申请待我审批"]
        shown.pop("待我处理")
    assert not set(shown) & set(GROUPS)
    assert 'id="navbar-waiting"' not in page  # no queue of pupils' requests (三员分立)
    assert navbar(page)["roles"]


def test_a_county_cannot_open_a_schools_pupil_picker(as_user):
    assert as_user("heping").get("/admin/status/start?kind=suspension").status_code == 403


@pytest.mark.parametrize("who", ["school-heping1", "heping", "principal-heping1"])
def test_every_menu_entry_opens_its_page(as_user, who):
    c = as_user(who)
    page = c.get("/admin/").get_data(as_text=True)
    for group, items in main_menu(page).items():
        for name, href in items:
            if href.startswith("/admin/"):
                assert c.get(href, follow_redirects=True).status_code == 200, (group, name, href)


def test_a_start_entry_opens_the_pupil_picker_for_that_change_only(as_user, ctx):
    c = as_user("school-heping1")
    page = c.get("/admin/").get_data(as_text=True)
    href = dict(main_menu(page)["学籍变动"])["休学"]
    assert href == "/admin/status/start?kind=suspension"
    pupil = pupil_of(HEPING1)
    found = c.get(f"{href}&q={pupil.name}").get_data(as_text=True)
    assert title_of(found) == "发起学籍变动：休学 - 学籍通"
    assert 'name="kind" value="suspension"' in found  # a second search keeps the kind
    assert f"/admin/status/suspension/new?student_id={pupil.id}" in found
    assert "/admin/status/dropout/new" not in found and "/admin/status/death/new" not in found
    unknown = c.get(f"/admin/status/start?kind=nonsense&q={pupil.name}").get_data(as_text=True)
    assert title_of(unknown) == "发起学籍变动 - 学籍通" and "/admin/status/death/new" in unknown  # an unknown kind: all of them


def test_the_transfer_entry_opens_the_transfer_form(as_user):
    c = as_user("school-shenhe1")
    href = dict(main_menu(c.get("/admin/").get_data(as_text=True))["学籍变动"])["发起转学"]
    page = c.get(href).get_data(as_text=True)
    assert href == "/admin/requests/transfer/new" and title_of(page) == "发起转学 - 学籍通"
    assert 'name="lookup-term"' in page


# --- the navbar ---------------------------------------------------------------------------------------


def navbar(page: str) -> dict[str, str]:
    tree = lxml_html.fromstring(page)
    return {key: _text(tree.get_element_by_id(f"navbar-{key}")) for key in ("name", "unit", "roles", "waiting-count")
            if tree.xpath(f'//*[@id="navbar-{key}"]')}


def test_the_navbar_shows_name_unit_role_and_the_badge_of_my_queue(as_user, ctx):
    c = as_user("heping")
    before = navbar(c.get("/admin/").get_data(as_text=True))
    heping = user("heping")
    assert before["name"] == heping.name and before["unit"] == "和平区教育局" and before["roles"] == "县级教育行政部门"
    waiting_before = int(before["waiting-count"])
    req = start()  # 沈河一小 asks for a 和平一小 pupil: the fourth step is 和平区教育局's
    approve(req, "school-shenhe1", "shenhe", "school-heping1")
    assert req.current_step.unit_id == heping.unit_id
    page = c.get("/admin/").get_data(as_text=True)
    after = navbar(page)
    assert int(after["waiting-count"]) == waiting_before + 1
    # The badge is the queue's size: the home page's 待我核办 and the list behind the link.
    assert re.search(r'id="queue-waiting"[^>]*>(\d+)<', page).group(1) == after["waiting-count"]
    listed = c.get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert f"/admin/requests/{req.id}/" in listed
    assert 'href="/admin/requests/?queue=waiting"' in page.split("</nav>")[0]


def test_a_school_users_navbar(as_user):
    school = navbar(as_user("school-heping1").get("/admin/").get_data(as_text=True))
    assert school["unit"] == "沈阳市和平区第一小学" and school["roles"] == "学籍管理员"
    assert school["name"] and "@" not in school["name"]
    assert school["waiting-count"] == "0"


def test_the_badge_counts_the_queue_for_every_account(ctx):
    """The badge's query (from the open steps of one's unit) and the queue's (from the requests in
    view) agree, with requests pending at each step, refused and withdrawn."""
    waiting_at_4 = start()
    approve(waiting_at_4, "school-shenhe1", "shenhe", "school-heping1")
    waiting_at_2 = start(receiver="school-heping1", pupil_school=SHENHE1)
    approve(waiting_at_2, "school-heping1")
    refused = start(receiver="school-heping2", pupil_school=XIGANG1)
    workflows.decide(refused.current_step.id, user("school-heping2"), False, "材料不全")
    db.session.commit()
    for who in ("school-heping1", "school-shenhe1", "school-xigang1", "heping", "shenhe", "xigang", "shenyang", "province"):
        actor = user(who)
        assert home.waiting_count(actor) == home.queue_count(actor, "waiting"), who
    assert home.waiting_count(user("heping")) == 2  # step 4 of one, step 2 (receiving authority) of the other


def test_the_badge_is_one_count_query(app: Flask, ctx):
    """One COUNT per page, scoped to the user's unit; timed on the demo (the report quotes it)."""
    from flask_login import login_user

    heping = user("heping")
    login_user(heping)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        t0 = time.perf_counter()
        shown = menu.navbar_user()
        elapsed = time.perf_counter() - t0
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    counts = [s for s in statements if "count(" in s.lower()]
    # the queue's COUNT, and 我的消息's unread COUNT on its index (issue 16 point 6)
    assert len(counts) == 2 and "approval_step" in counts[0] and "user_notification" in counts[1]
    assert shown["waiting"] == db.session.scalar(
        select(db.func.count()).select_from(ChangeRequest)
        .where(workflows.visible_filter(heping), workflows.queue_filter(heping, "waiting")))
    assert elapsed < 0.5, elapsed


# --- default order of every list ------------------------------------------------------------------


def test_every_model_view_has_a_default_order(app: Flask):
    from flask_admin.contrib.sqla import tools
    from flask_admin.model import BaseModelView

    views = [v for v in app.extensions["admin"][0]._views if isinstance(v, BaseModelView)]
    assert len(views) >= 9
    for view in views:
        order = BaseModelView._get_default_order(view)  # as declared: [(field, descending), …]
        assert order, f"{view.endpoint} has no default order"
        for field, _desc in order:
            tools.get_field_with_path(view.model, field)  # names a real column
    by_endpoint = {v.endpoint: BaseModelView._get_default_order(v) for v in views}
    assert by_endpoint["requests"] == [("id", True)]  # newest first
    assert by_endpoint["audit"] == [("id", True)]
    assert by_endpoint["users"][:2] == [("scope_path", False), ("name", False)]  # by unit, then name


def test_the_user_list_is_ordered_by_unit_then_name(as_user, ctx):
    page = as_user("shenyang").get("/admin/users/").get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    units = [_text(td) for td in tree.xpath('//table[contains(@class,"model-list")]//td[contains(@class,"col-unit")]')]
    assert len(units) > 2
    # rows of one unit stand together
    seen: list[str] = []
    for u in units:
        if not seen or seen[-1] != u:
            assert u not in seen, units
            seen.append(u)


def test_the_request_list_is_newest_first(as_user, ctx):
    start()
    start(receiver="school-heping1", pupil_school=SHENHE1)
    page = as_user("heping").get("/admin/requests/?queue=all").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'href="/admin/requests/(\d+)/"', page)]
    ids = list(dict.fromkeys(ids))
    assert len(ids) >= 2 and ids == sorted(ids, reverse=True)


# --- favicon, titles, login button --------------------------------------------------------------


def test_the_favicon_answers_and_the_pages_link_it(app: Flask, as_user):
    resp = app.test_client().get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon" href="/favicon.ico"' in app.test_client().get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/favicon.ico"' in as_user("school-heping1").get("/admin/").get_data(as_text=True)


def test_every_page_of_a_sample_has_its_own_title(as_user, ctx):
    c = as_user("heping")
    req = start()
    pupil = pupil_of(HEPING1)
    expected = {
        "/admin/": "首页 - 学籍通",
        "/admin/student/": "学生学籍 - 学籍通",
        f"/admin/student/details/?id={pupil.id}": "学生学籍 · 详情 - 学籍通",
        "/admin/requests/": "变动申请 - 学籍通",
        f"/admin/requests/{req.id}/": f"转学申请 #{req.id} - 学籍通",
        "/admin/requests/?queue=waiting": "待我核办 - 学籍通",
        "/admin/requests/transfer/new": "发起转学 - 学籍通",
        "/admin/status/handovers": "档案移交 - 学籍通",
        "/admin/status/expired": "休学到期 - 学籍通",
        "/admin/users/": "用户账号 - 学籍通",
        "/admin/audit/": "审计日志 - 学籍通",
        "/admin/export_requests/register": "导出登记 - 学籍通",
        "/admin/statistics/": "统计概览 - 学籍通",
    }
    for url, title in expected.items():
        resp = c.get(url)
        assert resp.status_code == 200, url
        assert title_of(resp.get_data(as_text=True)) == title, url


def test_record_pages_have_their_records_title(as_user, ctx):
    from tests.builders import make_certificate, make_problem_record

    problem = make_problem_record()
    cert = make_certificate()
    db.session.commit()
    c = as_user("heping")
    page = c.get(f"/admin/problems/{problem.id}/").get_data(as_text=True)
    assert title_of(page).startswith(f"问题学籍 #{problem.id}：") and title_of(page).endswith(" - 学籍通")
    assert 'id="page-heading"' not in page  # its own heading, not the list's name above it
    page = c.get(f"/admin/certificates/{cert.id}/").get_data(as_text=True)
    assert title_of(page) == f"义务教育毕业证书 {cert.number} - 学籍通"
    assert title_of(c.get("/admin/requests/transfer/new").get_data(as_text=True)) == "发起转学 - 学籍通"


@pytest.mark.parametrize("who", ["school-heping1", "heping"])
def test_no_menu_page_has_a_generic_title(as_user, who):
    c = as_user(who)
    for items in main_menu(c.get("/admin/").get_data(as_text=True)).values():
        for _name, href in items:
            if not href.startswith("/admin/"):
                continue
            title = title_of(c.get(href, follow_redirects=True).get_data(as_text=True))
            assert title.endswith(" - 学籍通") and title != "学籍通", (href, title)
            assert "Redirecting" not in title and "None" not in title, (href, title)


def test_the_login_page_has_a_title_and_a_styled_button(app: Flask):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert title_of(page).endswith("学籍通")
    assert re.search(r"\.fs-div input\[type=submit\] \{[^}]*background: #007bff", page)
    assert 'type="submit" value="登录"' in page
    assert "<script" not in page  # the CSP allows no inline script


# --- the school's own words ------------------------------------------------------------------------


def test_a_school_users_home_uses_the_schools_words(as_user):
    page = as_user("school-heping1").get("/admin/").get_data(as_text=True)
    body = unescape(re.sub(r"<[^>]+>", " ", page.split("</nav>", 1)[1]))
    assert "本校在籍学生" in body and "本校待办" in body
    assert "辖区" not in body and "管辖范围" not in body
    county = unescape(re.sub(r"<[^>]+>", " ", as_user("heping").get("/admin/").get_data(as_text=True)))
    assert "辖区内待核办" in county and "管辖范围内的学校" in county and "本校" not in county


def test_the_statistics_page_of_a_school_uses_the_schools_words(as_user):
    page = as_user("school-heping1").get("/admin/statistics/").get_data(as_text=True)
    assert "本校待办" in page and "辖区" not in page.split("</nav>", 1)[1]


# --- the README's menu paths ---------------------------------------------------------------------------

MENU_PATH_RE = re.compile(r"([\u4e00-\u9fff]+(?:（[^）\s]*）)?) → ([\u4e00-\u9fff]+(?:（[^）\s]*）)?)")
NOT_MENU = {"省", "市"}  # the organisation tree 省 → 市 → 县（区）→ 学校


def readme_menu_paths() -> list[tuple[str, str]]:
    return [m for m in MENU_PATH_RE.findall(README.read_text(encoding="utf-8")) if m[0] not in NOT_MENU]


def test_the_readme_names_menu_paths():
    paths = readme_menu_paths()
    assert ("学籍变动", "发起转学") in paths and len(paths) >= 10


def test_each_readme_menu_path_is_in_the_school_or_county_menu(as_user):
    shown: set[tuple[str, str]] = set()
    for who in ("school-heping1", "school-shenhe1", "heping", "admin"):  # admin: 机构 → 数据接口令牌
        for group, items in main_menu(as_user(who).get("/admin/").get_data(as_text=True)).items():
            shown |= {(group, name) for name, _href in items}
    missing = [p for p in readme_menu_paths() if p not in shown]
    assert not missing, missing
