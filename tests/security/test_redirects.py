"""No open redirect (issue 13, point 12): `next`, a `url` parameter and the Referer are followed
only when they are relative paths on this host. (/lang's Referer: also
tests/test_foundation.py::test_language_switch_returns_only_to_this_site.)"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cli import DEMO_PASSWORD
from services.redirects import local_target
from tests.conftest import csrf_from

EVIL = ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
        "///evil.example", "\\\\evil.example", " //evil.example", "http://localhost@evil.example/"]
GOOD = "/admin/student/?page=2"


def _stays_here(location: str) -> None:
    """A path on this host. (Flask-Security may keep a refused target as a harmless local path,
    e.g. "/%5Cevil.example": a percent-encoded backslash is no slash to a browser.)"""
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith(("//", "/\\")), location
    assert "\\" not in location and "javascript" not in location and not location.startswith(" "), location


def _login(app, next_arg: str | None = None, next_field: str | None = None):
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    data = {"email": "school-heping1@xueji.demo", "password": DEMO_PASSWORD, "csrf_token": token}
    if next_field is not None:
        data["next"] = next_field
    resp = c.post("/login", query_string={"next": next_arg} if next_arg is not None else None, data=data)
    if resp.status_code == 200:  # Flask-Security refuses the form with a bad `next` field: no redirect at all
        assert "Location" not in resp.headers and "登录" in resp.get_data(as_text=True)
        return c, "/login"
    assert resp.status_code == 302
    return c, resp.headers["Location"]


@pytest.mark.parametrize("target", EVIL)
def test_login_next_never_leaves_the_site(app, target):
    for kw in ({"next_arg": target}, {"next_field": target}):
        _, location = _login(app, **kw)
        _stays_here(location)


def test_login_next_follows_a_relative_path(app):
    assert _login(app, next_arg=GOOD)[1] == GOOD
    assert _login(app, next_field=GOOD)[1] == GOOD


@pytest.mark.parametrize("target", [*EVIL, GOOD])
def test_logout_next_never_leaves_the_site(app, target):
    c, _ = _login(app)
    token = csrf_from(c.get("/admin/").get_data(as_text=True))
    resp = c.post("/logout", query_string={"next": target}, data={"csrf_token": token, "next": target})
    assert resp.status_code == 302
    _stays_here(resp.headers["Location"])
    if target == GOOD:
        assert resp.headers["Location"] == GOOD


@pytest.mark.parametrize("referrer", [*EVIL, "http://localhost" + GOOD])
def test_language_switch_follows_only_a_referer_on_this_host(app, referrer):
    resp = app.test_client().get("/lang/zh_Hans_CN", headers={"Referer": referrer})
    assert resp.status_code == 302
    _stays_here(resp.headers["Location"])
    assert resp.headers["Location"] == (GOOD if referrer.endswith(GOOD) else "/")


@pytest.mark.parametrize("target", EVIL)
def test_flask_admin_s_return_url_never_leaves_the_site(as_user, target):
    # Flask-Admin sends the user back to its `url` parameter after an action.
    c = as_user("heping")
    token = csrf_from(c.get("/admin/requests/").get_data(as_text=True))
    resp = c.post("/admin/requests/action/", data={"action": "approve", "url": target, "csrf_token": token})
    assert resp.status_code == 302
    _stays_here(resp.headers["Location"])


@pytest.mark.parametrize("target", [*EVIL, "", None, "admin/student/", "/admin/\\evil", "/a\x00b"])
def test_the_helper_refuses_anything_but_a_path_on_this_host(app, target):
    with app.test_request_context(base_url="http://localhost"):
        assert local_target(target) is None


@pytest.mark.parametrize("target, expected", [
    (GOOD, GOOD), ("/", "/"), ("http://localhost/admin/?a=1", "/admin/?a=1"), ("https://localhost/x", "/x"),
])
def test_the_helper_keeps_a_path_on_this_host(app, target, expected):
    with app.test_request_context(base_url="http://localhost"):
        assert local_target(target) == expected


def test_every_redirect_leaving_the_site_is_turned_home(app):
    # The safety net under the libraries' own redirects (services/redirects.py).
    from flask import redirect

    from services.redirects import _no_redirect_away

    with app.test_request_context(base_url="http://localhost"):
        for target in EVIL[:4]:
            assert _no_redirect_away(redirect(target)).headers["Location"] == "/"
        assert _no_redirect_away(redirect(GOOD)).headers["Location"] == GOOD
