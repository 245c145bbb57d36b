"""The per-page work kept out of every request (issue 15, point 8): the main menu rendered once per
role set, unit level, language and view; the navbar's queue badge kept per unit for a few seconds
and forgotten when a request or a step is committed; the pupils' list's lean rows."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from markupsafe import Markup
from sqlalchemy import text

from extensions import db
from services import home
from tests.transfer_helpers import approve, start, user

WHO = ("school-heping1", "heping", "shenyang", "province", "principal-heping1")


def _nav(page: str) -> str:
    return page.split('<ul class="nav navbar-nav mr-auto">', 1)[1].split('<ul class="nav navbar-nav navbar-right">', 1)[0]


@pytest.mark.parametrize("path", ["/admin/", "/admin/student/", "/admin/requests/?queue=waiting"])
def test_the_cached_menu_is_the_menu_rendered_afresh(app: Flask, as_user, path: str) -> None:
    for who in WHO:
        c = as_user(who)
        app.extensions.pop("xueji.menu_cache", None)
        fresh = c.get(path).get_data(as_text=True)
        cached = c.get(path).get_data(as_text=True)
        assert app.extensions["xueji.menu_cache"], who
        assert _nav(cached) == _nav(fresh), (who, path)
        assert re.search(r"<title>[^<]+</title>", cached).group(0) == re.search(r"<title>[^<]+</title>", fresh).group(0)


def test_the_menu_differs_by_role_and_level(as_user) -> None:
    menus = {who: _nav(as_user(who).get("/admin/").get_data(as_text=True)) for who in WHO}
    assert menus["school-heping1"] != menus["heping"]  # 发起学籍变动 is a school's
    assert "发起学籍变动" in menus["school-heping1"] and "发起学籍变动" not in menus["heping"]


def test_the_badge_is_kept_a_few_seconds_and_forgotten_on_a_commit(app: Flask, ctx) -> None:
    heping = user("heping")
    before = home.waiting_badge(heping)
    assert before == home.waiting_count(heping)
    # A change that bypasses this process's sessions (another worker) shows only after the
    # badge's seconds: here the cached figure stays.
    req = start()
    approve(req, "school-shenhe1", "shenhe", "school-heping1")  # now waits at 和平区教育局: committed
    assert home.waiting_badge(heping) == before + 1  # the commit in this process emptied the cache
    db.session.execute(text("UPDATE approval_step SET decision = 'approved' WHERE id = :i"), {"i": req.current_step.id})
    db.session.commit()  # a raw statement, as another worker's would be: not seen by the listeners
    assert home.waiting_badge(heping) == before + 1
    app.config["QUEUE_BADGE_SECONDS"] = 0
    try:
        assert home.waiting_badge(heping) == before == home.waiting_count(heping)
    finally:
        app.config.pop("QUEUE_BADGE_SECONDS")


def test_an_officials_list_builds_no_quick_edit_forms(app: Flask, as_user) -> None:
    """Officials' cells are plain text: no x-editable anchors, no list forms; the row buttons'
    URLs carry each row's own id."""
    page = as_user("heping").get("/admin/student/").get_data(as_text=True)
    assert 'data-role="x-editable"' not in page
    ids = re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', page)
    assert ids
    for pk in ids:
        assert f'href="/admin/student/details/?id={pk}&amp;url=' in page
    school = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    pks = re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', school)
    assert pks and all(f'data-pk="{pk}"' in school for pk in pks)
    assert "__row_id__" not in page + school


def test_the_school_filter_offers_a_renamed_school_at_once(as_user, ctx) -> None:
    """The filter's options are kept a minute per scope; renaming a school (a commit touching a
    unit) empties them, so the next page offers the new name."""
    from sqlalchemy import select

    from models.org import SCHOOL, OrgUnit

    c = as_user("heping")

    def offered() -> set[str]:
        page = c.get("/admin/student/").get_data(as_text=True)
        data = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', page, re.S).group(1)
        import json
        from html import unescape

        groups = json.loads(unescape(data))
        return {o[1] for o in groups["学校"][0]["options"]}

    first = offered()
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.level == SCHOOL, OrgUnit.name.in_(first)))
    old = school.name
    assert offered() == first  # served from the cache: same options
    school.name = old + "（更名）"
    db.session.commit()
    try:
        assert offered() == (first - {old}) | {old + "（更名）"}
    finally:
        school.name = old
        db.session.commit()


def _list_view(app: Flask):
    return next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "student")


def test_a_quick_edit_cell_is_the_one_a_form_per_row_would_give(app: Flask, as_user) -> None:
    """admin/student_rows.py (each cell from a template kept per language, the value read from the
    row) writes the same anchor as Flask-Admin's form built for that row, for every pupil of a
    school and every quick-edit field, empty values, 是/否 and markup in the value included; the
    page builds no list form."""
    from flask_login import login_user
    from sqlalchemy import select

    from admin import quick_edit, student_rows
    from models.student import Student

    view = _list_view(app)
    with app.test_request_context("/admin/student/"):
        school = user("school-heping1")
        pupils = db.session.scalars(select(Student).where(Student.school_id == school.unit_id)).all()
        pupils[0].phone, pupils[0].current_address, pupils[0].migrant_child = None, "", True  # not committed
        pupils[-1].current_address = '<b>"和平路"</b> & {1}'
        login_user(school)
        assert view.list_form(obj=pupils[0]) is None  # no form per row
        token = 't"<'  # escaped in the cell as in the form's
        html = str(student_rows.rows(view, pupils, columns=[(n, True) for n in quick_edit.QUICK_FIELDS],
                                     checkbox_title=None, row_buttons=None, csrf=token))
        for pupil in pupils:
            own = view._list_form_class(obj=pupil)
            for name in quick_edit.QUICK_FIELDS:
                shown = quick_edit.display(pupil, name)
                cell = f'<td class="col-{name}">{own[name](pk=pupil.id, display_value=shown, csrf=token)}</td>'
                assert cell in html, (pupil.id, name)
        assert "&lt;b&gt;" in html and "<b>" not in html
        db.session.rollback()


def test_the_rows_are_the_cells_flask_admins_loop_would_write(app: Flask, as_user) -> None:
    """Every column of an official's list (not edited in place), written by admin/student_rows.py,
    is what Flask-Admin's list template writes with the view's get_list_value and Jinja's
    escaping: pupils without a 学籍号, class, school, birth date or ID number, a rare character and markup in a name."""
    from flask_login import login_user
    from sqlalchemy import select

    from admin import student_rows
    from models.student import Student

    view = _list_view(app)
    with app.test_request_context("/admin/student/"):
        official = user("heping")
        pupils = db.session.scalars(select(Student).where(Student.scope_path.startswith(official.unit.path))
                                    .order_by(Student.id).limit(20)).all()
        pupils[0].name, pupils[1].xjh, pupils[1].class_name, pupils[2].name = "<i>王</i>&amp;", None, None, "刘䶮"
        with db.session.no_autoflush:
            pupils[3].school, pupils[3].birth_date, pupils[3].id_number = None, None, None  # not committed
        login_user(official)
        columns = [c for c, _label in view._list_columns]
        assert "name" in columns and "phone" not in columns  # an official's list: no quick-edit columns
        loop = app.jinja_env.from_string(
            '{% for row in data %}<tr>{% for c in columns %}<td class="col-{{ c }}">{{ get_value(row, c) }}</td>'
            "{% endfor %}</tr>{% endfor %}")
        expected = loop.render(data=pupils, columns=columns, get_value=view.get_list_value)
        written = str(student_rows.rows(view, pupils, columns=[(c, False) for c in columns], checkbox_title=None,
                                        row_buttons=None, csrf=""))
        assert written == expected
        assert "&lt;i&gt;王&lt;/i&gt;&amp;amp;" in written and "刘䶮" in written
        db.session.rollback()


def test_a_column_shown_by_value_reads_nothing_else_of_the_pupil(app: Flask) -> None:
    """StudentView.column_shown_by_value: student_rows writes each distinct value of these columns
    once a page, so each cell must be the same for two pupils that share that value and differ in
    everything else (another school, class, grade, status, names, numbers, dates)."""
    from flask_login import login_user
    from sqlalchemy import select

    from admin import quick_edit
    from models.student import Student

    view = _list_view(app)
    with app.test_request_context("/admin/student/"):
        login_user(user("province"))
        pupils = db.session.scalars(select(Student).where(Student.school_id.is_not(None)).order_by(Student.id)).all()
        first, second = pupils[0], pupils[-1]
        assert first.school_id != second.school_id and first.id_number != second.id_number
        with db.session.no_autoflush:
            for name in sorted(view.column_shown_by_value):
                others = {n: getattr(second, n) for n in view.column_shown_by_value}
                setattr(second, name, getattr(first, name))  # the one shared value (not committed)
                assert view.get_list_value(None, second, name) == view.get_list_value(None, first, name), name
                if name in quick_edit.QUICK_FIELDS:
                    assert quick_edit.display(second, name) == quick_edit.display(first, name), name
                    assert quick_edit.editor_value(name, getattr(second, name)) == quick_edit.editor_value(name, getattr(first, name))
                for n, v in others.items():
                    setattr(second, n, v)
        db.session.rollback()


def test_repeated_values_are_written_once_a_page_and_the_same(app: Flask) -> None:
    """A page of pupils of one school: the cells of the columns shown by value are the cells each
    pupil's own formatter call gives (the memo only saves the calls)."""
    from flask_login import login_user
    from jinja2 import pass_context
    from sqlalchemy import select

    from admin import student_rows
    from models.student import Student

    view = _list_view(app)
    with app.test_request_context("/admin/student/"):
        school = user("school-heping1")
        login_user(school)
        pupils = db.session.scalars(select(Student).where(Student.school_id == school.unit_id).order_by(Student.id)).all()
        columns = [c for c, _label in view._list_columns if c in view.column_shown_by_value and c not in ("phone",)]
        calls = {"n": 0}
        value = view.get_list_value

        @pass_context
        def counted(context, model, name):
            calls["n"] += 1
            return value(context, model, name)

        loop = app.jinja_env.from_string(
            '{% for row in data %}<tr>{% for c in columns %}<td class="col-{{ c }}">{{ get_value(row, c) }}</td>'
            "{% endfor %}</tr>{% endfor %}")
        expected = loop.render(data=pupils, columns=columns, get_value=counted)
        assert calls["n"] == len(pupils) * len(columns)
        written = str(student_rows.rows(view, pupils, columns=[(c, False) for c in columns], checkbox_title=None,
                                        row_buttons=None, csrf=""))
        assert written == expected
        assert len({p.gender for p in pupils}) < len(pupils)  # values repeat: the memo is used


def test_a_quick_cell_is_filled_whatever_the_order_of_its_holes() -> None:
    """student_rows._filler: the page's token folded in once, then (pk, value, shown) joined; the
    anchor's order (pk, value, shown) and any other, literal braces kept."""
    from admin.student_rows import _filler

    assert _filler('<a p="{pk}" v="{value}" c="{csrf}">{shown}{{x}}</a>', "T&")("7", "v", "<s>") == '<a p="7" v="v" c="T&"><s>{x}</a>'
    assert _filler("{csrf}|{shown}|{pk}|{csrf}|{value}|{pk}", "T")("1", "2", "3") == "T|3|1|T|2|1"


def test_a_static_url_is_url_fors_under_each_script_root(app: Flask) -> None:
    """admin/static_urls.py keeps each static URL per app and script root: mounted under a prefix,
    a page links the prefixed files, not the ones cached for the root."""
    from flask import url_for

    from admin.static_urls import static_url

    for root in ("", "/xueji", ""):
        with app.test_request_context("/admin/", base_url=f"http://localhost{root}/"):
            for endpoint, args in (("admin.static", {"filename": "vendor/jquery.min.js", "v": "3.5.1"}),
                                   ("static", {"filename": "js/csp.js"})):
                assert static_url(endpoint, **args) == url_for(endpoint, **args)
                assert static_url(endpoint, **args).startswith(f"{root}/")


def test_a_lists_own_urls_are_url_fors(app: Flask, monkeypatch) -> None:
    """ScopedModelView.get_url writes the list's sort, pager, page-size and filter links from the
    list's path and a query string: the same URLs as url_for, whatever the arguments — a search in
    Chinese with spaces and symbols, filters, no arguments — and under a script root."""
    from flask_admin import BaseView
    from flask_admin.model.base import ViewArgs

    from admin.base import ScopedModelView

    view = _list_view(app)
    searches = (None, "", "王 小明", "a&b=c/d?e#f", "110101+2015%", "刘䶮")
    for root in ("", "/xueji"):
        with app.test_request_context("/admin/student/", base_url=f"http://localhost{root}/"):
            for search in searches:
                for page in (None, 0, 3):
                    for sort, desc in ((None, False), (1, True), (2, False)):
                        for filters in (None, [(0, "school_id", "12"), (4, "status", "enrolled,suspended")]):
                            args = ViewArgs(page=page, page_size=50 if page else None, sort=sort, sort_desc=desc,
                                            search=search, filters=filters, extra_args={"queue": "waiting"} if page else {})
                            mine = view._get_list_url(args)
                            with monkeypatch.context() as m:
                                m.setattr(ScopedModelView, "get_url", BaseView.get_url)  # url_for itself
                                theirs = view._get_list_url(args)
                            assert mine == theirs, (mine, theirs)
            assert view.get_url(".index_view") == f"{root}/admin/student/"
            assert view.get_url(".index_view", _external=True) == f"http://localhost{root}/admin/student/"


# --- the pupil's page and the dashboard (issue 15, point 7: the CPU of the load test's heaviest pages) ---


def _archive_forms(page: str) -> dict[str, str]:
    """Each archive tab's add form of a pupil's page, without its CSRF and _once tokens."""
    forms = dict(re.findall(r'id="archive-(\w+)-form">(.*?)</form>', page, re.S))
    return {code: re.sub(r'(name="(?:\w+-)?(?:csrf_token|_once)"[^>]*value=")[^"]*"', r'\1"', html)
            for code, html in forms.items()}


@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
def test_the_archive_tabs_kept_forms_are_the_forms_rendered_afresh(app: Flask, as_user, monkeypatch, lang: str) -> None:
    """admin/archive.blank_fields: the six empty add forms of a pupil's page are rendered once per
    language; the page is the page WTForms renders each time, in either language."""
    from flask import render_template

    from admin import archive as archive_admin
    from forms.archive import FORMS, add_form
    from tests.helpers import HEPING1, pupil_of

    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")
    with c.session_transaction() as s:
        s["lang"] = lang
    archive_admin._BLANK.clear()
    first = _archive_forms(c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True))
    assert set(first) == set(FORMS) and {key[1] for key in archive_admin._BLANK} == {lang}
    kept = _archive_forms(c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True))
    assert kept == first
    rendered = []
    monkeypatch.setattr(archive_admin, "blank_fields", lambda code: rendered.append(code) or Markup(
        render_template("admin/_archive_form_fields.html", form=add_form(code))))
    fresh = _archive_forms(c.get(f"/admin/student/details/?id={sid}").get_data(as_text=True))
    assert sorted(rendered) == sorted(FORMS) and fresh == kept
    assert ('name="awards-name"' in kept["awards"]) and (("Name of the award" in kept["awards"]) == (lang == "en"))


def test_a_pupils_page_reads_the_pupil_once_and_audits_the_view_once(app: Flask, as_user) -> None:
    """StudentView.details_view: the scoped read answers Flask-Admin's get_one too, and the view's
    audit row is committed with the page built (one row per view)."""
    from sqlalchemy import func, select

    from models.audit import AuditLog
    from tests.admin.test_request_account import statements
    from tests.helpers import HEPING1, pupil_of

    with app.app_context():
        sid = pupil_of(HEPING1).id
    c = as_user("school-heping1")

    def views() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.action == "student.view", AuditLog.object_id == str(sid)))

    before = views()
    with statements(app) as seen:
        assert c.get(f"/admin/student/details/?id={sid}").status_code == 200
    assert views() == before + 1
    reads = [s for s in seen if s.startswith("SELECT student.id")]
    assert len(reads) == 1, reads
    assert len([s for s in seen if "FROM change_request WHERE change_request.student_id =" in s
                and s.startswith("SELECT change_request.id, change_request.type")]) == 1
    assert c.get("/admin/student/details/?id=999999999").status_code == 404
    assert views() == before + 1


def test_a_stored_text_cell_shows_what_its_editor_holds() -> None:
    """admin/student_rows.py escapes a quick-edit cell's text once for both the editor's value and
    the words shown when quick_edit.shows_stored_text says they are the same: for every value."""
    from types import SimpleNamespace

    from admin import quick_edit

    texts = [n for n in quick_edit.QUICK_FIELDS if quick_edit.shows_stored_text(n)]
    assert "phone" in texts and "current_address" in texts
    assert not quick_edit.shows_stored_text("left_behind") and not quick_edit.shows_stored_text("hukou_location")
    for name in texts:
        for raw in (None, "", "0", " ", '<b>"和平路"</b> & {1}号', "刘䶮路𠮷号"):
            assert quick_edit.display(SimpleNamespace(**{name: raw}), name) == quick_edit.editor_value(name, raw), (name, raw)
