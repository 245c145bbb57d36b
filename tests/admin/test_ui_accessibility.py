"""Accessibility basics (issue 14, point 9): every form field has a label (a <label for>, a wrapping
<label> or an aria-label) on the main forms; errors sit beside their fields; no positive tabindex
(the focus order is the page's order); the overdue marks carry a word or a sign, not only red.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from admin.status import request_pages
from extensions import db
from models.people import User
from models.student import Student
from tests.admin.a11y_check import positive_tabindex, unlabelled
from tests.builders import make_request
from tests.conftest import login

REGISTRAR = "school-heping1@xueji.demo"


def _own_pupil(app) -> int:
    with app.app_context():
        unit_id = db.session.scalar(select(User.unit_id).where(User.email == REGISTRAR))
        return db.session.scalar(select(Student.id).where(Student.school_id == unit_id, Student.status == "enrolled")
                                 .order_by(Student.id).limit(1))


def _pages(app) -> list[str]:
    sid = _own_pupil(app)
    with app.app_context():
        kinds = sorted(request_pages())
    return [
        "/admin/student/new/", f"/admin/student/edit/?id={sid}",
        "/admin/requests/transfer/new", "/admin/requests/continuation/new",
        f"/admin/requests/correction/new?student_id={sid}", f"/admin/requests/delay/new?student_id={sid}",
        "/admin/status/start?q=王", "/admin/imports/",
        *[f"/admin/status/{kind}/new?student_id={sid}" for kind in kinds],
    ]


def test_the_main_forms_label_every_field(app):
    c = login(app, REGISTRAR)
    checked = 0
    for url in _pages(app):
        resp = c.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert re.search(r"<(input|select|textarea)\b", html), url
        assert unlabelled(html) == [], url
        assert positive_tabindex(html) == [], url
        checked += 1
    assert checked >= 10


def test_the_export_request_form_labels_its_fields(app):
    c = login(app, REGISTRAR)
    resp = c.get("/admin/student/export/xlsx/?sensitive=1", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.request.path == "/admin/export_requests/new" and 'name="purpose"' in html
    assert unlabelled(html) == [] and positive_tabindex(html) == []
    assert '<label for="purpose"' in html


def test_the_export_register_filters_are_labelled(app):
    html = login(app, "heping@xueji.demo").get("/admin/export_requests/register").get_data(as_text=True)
    assert 'id="register-filter"' in html
    assert unlabelled(html) == []


def test_the_login_page_labels_its_fields(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert unlabelled(html) == [] and positive_tabindex(html) == []


def test_the_export_request_error_sits_beside_the_purpose(app):
    c = login(app, REGISTRAR)
    form_url = c.get("/admin/student/export/xlsx/?sensitive=1").headers["Location"]
    from urllib.parse import parse_qs, urlsplit

    args = {k: v[0] for k, v in parse_qs(urlsplit(form_url).query, keep_blank_values=True).items()}
    data = {k: args.get(k, "") for k in ("kind", "view", "args", "q", "scope")}
    data["purpose"] = ""
    resp = c.post_form("/admin/export_requests/new", data, token_from=form_url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # the message follows the purpose field, in the same cell
    m = re.search(r'<textarea[^>]*name="purpose"[^>]*>.*?</textarea>\s*<div class="invalid-feedback d-block">([^<]+)</div>', html, re.S)
    assert m and m.group(1).strip(), html[html.find('name="purpose"') - 200:html.find('name="purpose"') + 600]


def test_a_status_change_error_sits_beside_its_field(app):
    """The status-change forms (status_new.html) show each field's error in the field's own group,
    under its label and input, not only at the top of the page."""
    sid = _own_pupil(app)
    c = login(app, REGISTRAR)
    url = f"/admin/status/suspension/new?student_id={sid}"
    resp = c.post_form(url, {}, token_from=url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    groups = [g for g in html.split('<div class="form-group">')[1:] if '<div class="text-danger small">' in g]
    assert groups, "no error beside a field"
    for group in groups:
        label = re.search(r'<label for="([^"]+)"', group)
        assert label and re.search(rf'id="{re.escape(label.group(1))}"', group), group[:300]
        assert group.index(label.group(0)) < group.index('<div class="text-danger small">')


def _marks(html: str) -> list[str]:
    return re.findall(r'<span class="[^"]*overdue-mark[^"]*"[^>]*>(.*?)</span>', html, re.S)


def test_the_overdue_marks_carry_words_on_the_request_list_and_the_dashboard(app):
    with app.test_request_context():
        make_request("transfer", "overdue")
        db.session.commit()
    seen = on_home = 0
    for who in ("school-heping1", "heping", "shenyang"):
        c = login(app, f"{who}@xueji.demo")
        for url in ("/admin/requests/?queue=all", "/admin/requests/?queue=overdue"):
            html = c.get(url).get_data(as_text=True)
            for mark in _marks(html):
                assert "超期" in mark, (who, url, mark)
                seen += 1
            # no red badge without a word in it
            for badge in re.findall(r'<span class="badge badge-danger[^"]*"[^>]*>(.*?)</span>', html, re.S):
                assert re.search(r"[\u4e00-\u9fff]", badge), (who, url, badge)
        home = c.get("/admin/").get_data(as_text=True)
        # a red count has the sign ⚠ (titled 已超期) just before it: the number itself stays a plain number
        for m in re.finditer(r'<a[^>]*class="[^"]*text-danger[^"]*"[^>]*>\d+</a>', home):
            before = home[max(m.start() - 160, 0):m.start()]
            assert re.search(r'<span class="[^"]*overdue-mark[^"]*" title="已超期">⚠</span>\s*$', before), (who, m.group(0))
            on_home += 1
    assert seen >= 2 and on_home >= 1


@pytest.mark.parametrize("template", ["campaigns.html", "campaign.html", "status_handovers.html", "oversight_report.html"])
def test_the_overdue_dates_say_overdue(template):
    """The red due dates of the other lists carry the word (已超期) beside the colour."""
    from pathlib import Path

    source = (Path(__file__).parents[2] / "templates" / "admin" / template).read_text(encoding="utf-8")
    for badge in re.findall(r'<span class="badge badge-danger[^"]*"[^>]*>(.*?)</span>', source, re.S):
        if "due_on" in badge:
            assert "_('Overdue')" in badge, (template, badge)


def test_list_search_boxes_and_the_class_certificate_choices_are_labelled(app):
    """Flask-Admin's list search box had only a placeholder; the class-certificate page's school and
    year selects had no label."""
    c = login(app, "heping@xueji.demo")
    for url in ("/admin/student/", "/admin/archive_overdue/"):
        html = c.get(url).get_data(as_text=True)
        box = re.search(r'<input[^>]*name="search"[^>]*>', html).group(0)
        assert 'aria-label="搜索"' in box, url
    html = c.get("/admin/certificates/class/").get_data(as_text=True)
    for select_id in ("school-choice", "year-choice"):
        if f'id="{select_id}"' in html:
            assert f'for="{select_id}"' in html, select_id
    assert unlabelled(html) == []


def test_the_pupil_lookup_says_its_errors_beside_the_fields(app):
    """The transfer and 接续 lookup (number and name together): a missing or short number is said under
    the number, a missing name under the name, and "no such pupil" under both, not in a banner."""
    c = login(app, "school-shenhe1@xueji.demo")
    url = "/admin/requests/transfer/new"
    html = c.post_form(url, {"lookup-term": "123", "lookup-name": ""}).get_data(as_text=True)
    assert re.search(r'id="lookup-term"[^>]*is-invalid|is-invalid[^>]*id="lookup-term"', html)
    assert 'id="lookup-term-error"' in html and 'id="lookup-name-error"' in html
    assert 'aria-describedby="lookup-term-error"' in html
    html = c.post_form(url, {"lookup-term": "210102201001011234", "lookup-name": "无此人"}).get_data(as_text=True)
    assert 'id="lookup-not-found"' in html and 'role="alert"' in html
    assert unlabelled(html) == []
