"""Security headers on every response (issue 13, point 11): a Content-Security-Policy without
unsafe-inline scripts (one nonce per request, on every inline script), no framing, nosniff,
Referrer-Policy, and HSTS only over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.export_helpers import open_gate
from tests.helpers import HEPING1, pupil_of

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NONCE = re.compile(r"script-src 'self' 'nonce-([\w-]+)'")
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def _assert_headers(resp, https: bool = False) -> str:
    csp = resp.headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
                 "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"):
        assert part in csp, (part, csp)
    script_src = next(p for p in csp.split("; ") if p.startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert NONCE.search(csp)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert ("Strict-Transport-Security" in resp.headers) is https
    return NONCE.search(csp).group(1)


def _scripts_carry_the_nonce(html: str, nonce: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag


def test_an_admin_page_has_every_header_and_each_script_the_request_s_nonce(as_user):
    c = as_user("school-heping1")
    for url in ("/admin/", "/admin/student/"):
        resp = c.get(url)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        nonce = _assert_headers(resp)
        _scripts_carry_the_nonce(html, nonce)
        assert "object-src 'none'" in resp.headers["Content-Security-Policy"]
        _no_inline_handler(html)


def _no_inline_handler(html: str) -> None:
    """No inline event handler at all: chromium reports each one as soon as it parses it."""
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S)  # code, not attributes
    assert not re.findall(r'\son[a-z]+="[^"]*"', markup)


def test_flask_admin_s_lists_actions_and_inline_forms_have_no_inline_handler(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    pages = {"heping": ["/admin/requests/"], "school-heping1": [f"/admin/student/edit/?id={sid}", "/admin/student/new/"]}
    for who, urls in pages.items():
        c = as_user(who)
        for url in urls:
            resp = c.get(url)
            assert resp.status_code == 200, url
            _no_inline_handler(resp.get_data(as_text=True))


def test_the_nonce_is_new_for_every_request(as_user):
    c = as_user("school-heping1")
    first = NONCE.search(c.get("/admin/").headers["Content-Security-Policy"]).group(1)
    second = NONCE.search(c.get("/admin/").headers["Content-Security-Policy"]).group(1)
    assert first != second and len(first) >= 16


def test_a_student_s_details_page_scripts_carry_the_nonce(as_user, app):
    with app.app_context():
        sid = pupil_of(HEPING1).id
    resp = as_user("school-heping1").get(f"/admin/student/details/?id={sid}")
    assert resp.status_code == 200
    _scripts_carry_the_nonce(resp.get_data(as_text=True), _assert_headers(resp))


def test_the_login_page_has_the_headers(app):
    _assert_headers(app.test_client().get("/login"))


def test_a_404_page_has_the_headers(as_user, app):
    resp = app.test_client().get("/no-such-page")
    assert resp.status_code == 404
    _assert_headers(resp)
    resp = as_user("school-heping1").get("/admin/student/details/?id=999999999")
    assert resp.status_code == 404
    _assert_headers(resp)


def test_a_file_download_has_the_headers(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # an archive export is a governed file (tests/security/test_export_requests.py)
    with app.app_context():
        sid = pupil_of(HEPING1).id
    resp = as_user("school-heping1").get(f"/admin/archive/{sid}/export.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    _assert_headers(resp)
    resp = app.test_client().get("/static/js/csp.js")
    assert resp.status_code == 200
    _assert_headers(resp)


def test_hsts_only_over_https(app):
    _assert_headers(app.test_client().get("/login"), https=False)
    resp = app.test_client().get("/login", base_url="https://localhost")
    _assert_headers(resp, https=True)
    assert "max-age=" in resp.headers["Strict-Transport-Security"]


def _app_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html") if "pdf" not in p.parts)


@pytest.mark.parametrize("path", _app_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_an_inline_handler_or_a_script_without_the_nonce(path):
    text = path.read_text()
    code = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # comments may name what is forbidden
    code = re.sub(r"<script\b[^>]*>.*?</script>", lambda m: m.group(0).split(">", 1)[0] + ">", code, flags=re.S)
    assert not INLINE_HANDLER.search(code), path
    # Flask-Admin's links "to be clicked by a script": static/js/csp.js keeps them from navigating.
    assert "javascript:" not in code.replace('href="javascript:void(0)"', ""), path
    for tag in re.findall(r"<script\b[^>]*>", code):
        assert "admin_csp_nonce_attribute" in tag or "csp_nonce()" in tag, (path, tag)
