"""CSRF on every state-changing route (issue 13): each rule of the URL map that accepts POST, PUT,
PATCH or DELETE refuses a request without a CSRF token, or with a wrong one, with 400 (the Chinese
"表单已过期" page) and changes nothing — as a user who may otherwise use the page.

The routes are enumerated from the URL map; ids in their paths are real rows (the id walk's
fixture, tests/security/test_id_walk.py), so that each request would reach a row if the token were
not checked. Exemptions: none. A route that needs one must be added to EXEMPT with the reason.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, url_for

from tests.conftest import login
from tests.security.test_id_walk import ARGS_BY_ENDPOINT, FORM_DATA, OTHER_ARGS, PATH_IDS, _ids_of, _snapshot, foreign

__all__ = ["foreign"]  # the fixture, shared with the id walk

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
EXEMPT: dict[str, str] = {}  # endpoint → why it may change state without a token (none today)
ANONYMOUS = {"security.login"}  # pages used before logging in
# Who may use each page (admin passes every role check); the rest are used as the admin.
USER_BY_PREFIX = {"status": "school-shenhe1@xueji.demo", "archive": "school-shenhe1@xueji.demo",
                  "graduation": "school-shenhe1@xueji.demo", "paper": "school-shenhe1@xueji.demo",
                  "rosters": "school-shenhe1@xueji.demo", "imports": "school-shenhe1@xueji.demo"}
CSRF_TITLE = "表单已过期"


def _routes(app: Flask, ids: dict[str, t.Any]) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) & STATE_CHANGING)
        if not methods or rule.endpoint in EXEMPT:
            continue
        names = _ids_of(rule)
        mapping = PATH_IDS.get(rule.endpoint.partition(".")[0], {})
        args = {a: {**OTHER_ARGS, **ARGS_BY_ENDPOINT.get(rule.endpoint, {})}.get(a, "x") for a in rule.arguments if a not in names}
        args.update({n: ids[mapping[n]] for n in names})
        for method in methods:
            out.append((rule.endpoint, method, url_for(rule.endpoint, **args)))
    return out


def test_every_state_changing_route_is_enumerated(app: Flask, foreign: dict[str, t.Any]) -> None:
    with app.test_request_context():
        routes = _routes(app, foreign)
    endpoints = {ep for ep, _m, _u in routes}
    # A few that must be among them: the faults' pages, a model view's row posts, logout.
    assert {"requests.transfer_new", "requests.continuation_new", "student.edit_view", "student.action_view",
            "requests.decide_view", "security.logout", "security.login"} <= endpoints
    assert len(routes) > 60


@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_no_state_changing_route_accepts_a_post_without_a_valid_csrf_token(app: Flask, foreign: dict[str, t.Any],
                                                                            token: str) -> None:
    with app.test_request_context():
        routes = _routes(app, foreign)
        before = _snapshot()
    clients: dict[str, t.Any] = {}

    def client_for(endpoint: str) -> t.Any:
        who = "" if endpoint in ANONYMOUS else USER_BY_PREFIX.get(endpoint.partition(".")[0], "admin@xueji.demo")
        if who not in clients:
            clients[who] = login(app, who) if who else app.test_client()
        return clients[who]

    wrong = []
    for endpoint, method, url in routes:
        c = client_for(endpoint)
        data = dict(FORM_DATA, email="admin@xueji.demo", password="Xueji@2026", id="1", rowid="1", action="delete")
        if token == "wrong":
            data["csrf_token"] = "IjAwMDAi.AAAAAA.wrong-token-wrong-token-wrong"
        resp = c.open(url, method=method, data=data)
        body = resp.get_data(as_text=True)
        if resp.status_code != 400 or CSRF_TITLE not in body:
            wrong.append(f"{method} {url} → {resp.status_code}")
    with app.test_request_context():
        after = _snapshot()
    assert not wrong, "state-changing routes that did not refuse a request without a valid CSRF token:\n" + "\n".join(wrong)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"rows changed: {changed}"
    # The anonymous login without a token did not log anyone in.
    assert clients[""].get("/admin/").status_code == 302
