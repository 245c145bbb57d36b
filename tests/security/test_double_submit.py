"""A form sent twice has its effect once (issue 15, point 6; services/submission_tokens.py).

For five forms — creating a pupil, starting a transfer, approving a step, uploading an attachment,
asking for an export — a browser's repeats are played with the one-time token the page gave:
two clicks in a row, two at the same instant (two threads), the back button and a resubmit after
other work, and a first submission refused (invalid, or a rule) then corrected and sent with the
same token. Besides: every POST form of the app's pages carries a token; a token is bound to its
user; the claims are purged after two days.

The tests that post are `committing`: a claim commits on a connection of its own, and inside the
rolled-back test transaction it would be one more SAVEPOINT on the request's connection, undone by
any rollback of the request's session — not what a web worker does.
"""

from __future__ import annotations

import io
import re
import threading
import typing as t
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from extensions import db
from models.changes import ApprovalStep, Attachment, ChangeRequest
from models.export_request import ExportRequest
from models.student import Student
from models.submissions import FormSubmission
from services import clock, submission_tokens
from tests.admin.test_crawl import html_of, walk
from tests.conftest import Client, csrf_from, login
from tests.helpers import HEPING1, pupil_of, student_form
from tests.transfer_helpers import lookup_token, png_bytes, start

ALREADY = "此表单已提交过，未重复处理。"
ONCE_RE = re.compile(r'name="_once" value="([^"]+)"')


def tokens_of(client: Client, url: str) -> dict[str, str]:
    """The CSRF token and a one-time submission token of the page, as a browser holds them."""
    html = client.get(url).get_data(as_text=True)
    m = ONCE_RE.search(html)
    assert m, f"{url} gave no submission token"
    return {"csrf_token": csrf_from(html), "_once": m.group(1)}


def count(model: type, *where: t.Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@dataclass
class Flow:
    """One form: who sends it, the page it is on, where it posts, a valid and an invalid body, and
    how many of its effects exist."""

    who: str
    page: str
    url: str
    good: t.Callable[[], dict]
    bad: t.Callable[[], dict]
    effects: t.Callable[[], int]


def _pupil(app: Flask, client: Client) -> Flow:
    form = student_form()
    return Flow("school-heping1", "/admin/student/new/", "/admin/student/new/",
                lambda: dict(form), lambda: dict(form, id_number="210102201703151110"),
                lambda: count(Student, Student.id_number == form["id_number"]))


def _transfer(app: Flask, client: Client) -> Flow:
    with app.app_context():
        pupil = pupil_of(HEPING1)
        number, name = pupil.id_number, pupil.name
    url = "/admin/requests/transfer/new"
    pupil_token = lookup_token(client, url, number, name)

    def good() -> dict:
        return {"start-pupil": pupil_token, "start-reason_code": "hukou_moved", "start-reason_text": "随父母迁居",
                "start-hukou_changed": "y",
                **{f"start-{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in ("contact_form", "student_info", "hukou")}}

    def bad() -> dict:
        return dict(good(), **{"start-contact_form": (io.BytesIO(b"#!/bin/sh\necho hi\n"), "联系表.png")})

    return Flow("school-shenhe1", url, url, good, bad, lambda: count(ChangeRequest))


def _approval(app: Flask, client: Client) -> Flow:
    with app.test_request_context():
        req = start()
        request_id, step_id = req.id, req.current_step.id
    page = f"/admin/requests/{request_id}/"
    return Flow("school-shenhe1", page, f"{page}decide",
                lambda: {"step_id": step_id, "decision": "approve", "comment": "同意"},
                lambda: {"step_id": step_id, "decision": "", "comment": ""},
                lambda: count(ApprovalStep, ApprovalStep.request_id == request_id, ApprovalStep.decision.is_not(None)))


def _attachment(app: Flask, client: Client) -> Flow:
    with app.test_request_context():
        request_id = start(materials=False).id
    page = f"/admin/requests/{request_id}/"
    return Flow("school-shenhe1", page, f"{page}attach",
                lambda: {"material": "hukou", "file": (io.BytesIO(png_bytes()), "户口簿.png")},
                lambda: {"material": "hukou"},
                lambda: count(Attachment, Attachment.request_id == request_id))


def _export(app: Flask, client: Client) -> Flow:
    answer = client.get("/admin/student/export/xlsx/?sensitive=1")
    form_url = answer.headers["Location"]
    args = {k: v[0] for k, v in parse_qs(urlsplit(form_url).query, keep_blank_values=True).items()}
    base = {k: args.get(k, "") for k in ("kind", "view", "args", "q", "scope")}
    base["fields"] = ["id_number"]
    return Flow("school-heping1", form_url, "/admin/export_requests/new",
                lambda: dict(base, purpose="核对本校学生身份信息，用于营养餐补助名单"), lambda: dict(base, purpose=""),
                lambda: count(ExportRequest))


FLOWS = {"pupil": _pupil, "transfer": _transfer, "approval": _approval, "attachment": _attachment, "export": _export}
WHO = {"pupil": "school-heping1", "transfer": "school-shenhe1", "approval": "school-shenhe1",
       "attachment": "school-shenhe1", "export": "school-heping1"}


def _send(client: Client, flow: Flow, body: dict, tokens: dict[str, str]) -> t.Any:
    return client.post(flow.url, data={**body, **tokens}, content_type="multipart/form-data")


def _effects(app: Flask, flow: Flow) -> int:
    with app.app_context():
        return flow.effects()


def _setup(app: Flask, kind: str) -> tuple[Client, Flow]:
    client = login(app, f"{WHO[kind]}@xueji.demo")
    return client, FLOWS[kind](app, client)


@pytest.mark.committing
@pytest.mark.parametrize("kind", FLOWS)
def test_two_clicks_in_a_row_have_one_effect(app: Flask, kind: str) -> None:
    client, flow = _setup(app, kind)
    before = _effects(app, flow)
    tokens = tokens_of(client, flow.page)
    first = _send(client, flow, flow.good(), tokens)
    assert first.status_code == 302, first.get_data(as_text=True)[:300]
    assert _effects(app, flow) == before + 1
    second = _send(client, flow, flow.good(), tokens)
    assert second.status_code == 302
    assert _effects(app, flow) == before + 1
    # The repeat lands where the first submission led, and says why nothing happened.
    assert second.headers["Location"] == first.headers["Location"]
    assert ALREADY in client.get(second.headers["Location"]).get_data(as_text=True)


@pytest.mark.committing
@pytest.mark.parametrize("kind", FLOWS)
def test_back_and_resubmit_of_an_old_page_has_no_second_effect(app: Flask, kind: str) -> None:
    client, flow = _setup(app, kind)
    before = _effects(app, flow)
    old_page = tokens_of(client, flow.page)
    assert _send(client, flow, flow.good(), old_page).status_code == 302
    client.get("/admin/")  # the user goes on working, then presses "back" and sends the old page again
    again = _send(client, flow, flow.good(), old_page)
    assert again.status_code == 302
    assert _effects(app, flow) == before + 1
    assert ALREADY in client.get(again.headers["Location"]).get_data(as_text=True)


@pytest.mark.committing
@pytest.mark.parametrize("kind", FLOWS)
def test_a_refused_first_submission_can_be_corrected_and_sent_with_the_same_token(app: Flask, kind: str) -> None:
    client, flow = _setup(app, kind)
    before = _effects(app, flow)
    tokens = tokens_of(client, flow.page)
    refused = _send(client, flow, flow.bad(), tokens)
    assert refused.status_code in (200, 302)  # the form again with its errors, or back to the page with the reason
    assert _effects(app, flow) == before
    corrected = _send(client, flow, flow.good(), tokens)
    assert corrected.status_code == 302
    assert _effects(app, flow) == before + 1
    assert ALREADY not in client.get(corrected.headers["Location"]).get_data(as_text=True)


@pytest.mark.committing
@pytest.mark.parametrize("kind", FLOWS)
def test_two_clicks_at_the_same_instant_have_one_effect(app: Flask, kind: str) -> None:
    """Two requests with the same token on two threads (two web workers, each with its own
    connection): one claims the token, the other has no effect and is told so."""
    client, flow = _setup(app, kind)
    before = _effects(app, flow)
    tokens = tokens_of(client, flow.page)
    twin: Client = app.test_client()  # type: ignore[assignment]  # the same browser: the same cookies
    for cookie in client._cookies.values():  # werkzeug's test client has no public copy of its cookies
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    bodies = [flow.good(), flow.good()]
    answers: list[t.Any] = [None, None]
    barrier = threading.Barrier(2)

    def click(i: int, c: Client) -> None:
        barrier.wait()
        answers[i] = _send(c, flow, bodies[i], tokens)

    threads = [threading.Thread(target=click, args=(i, c)) for i, c in enumerate((client, twin))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert [a.status_code for a in answers] == [302, 302]
    assert _effects(app, flow) == before + 1
    # Each client keeps its own cookie (the flash travels in it): the one that lost is told, the other not.
    told = [ALREADY in c.get(a.headers["Location"]).get_data(as_text=True) for a, c in zip(answers, (client, twin), strict=True)]
    assert sorted(told) == [False, True]


@pytest.mark.committing
def test_a_token_of_another_user_claims_nothing_and_is_refused(app: Flask) -> None:
    a, b = login(app, "school-heping1@xueji.demo"), login(app, "school-heping2@xueji.demo")
    a_tokens = tokens_of(a, "/admin/student/new/")
    b_tokens = tokens_of(b, "/admin/student/new/")
    form = student_form()
    answer = b.post("/admin/student/new/", data={**form, "csrf_token": b_tokens["csrf_token"], "_once": a_tokens["_once"]})
    assert answer.status_code == 400 and "表单不属于当前用户" in answer.get_data(as_text=True)
    with app.app_context():
        assert count(Student, Student.id_number == form["id_number"]) == 0
        assert db.session.get(FormSubmission, a_tokens["_once"]) is None
    # A's own form still works with that token: B did not use it up, nor gets A's result.
    assert a.post("/admin/student/new/", data={**form, **a_tokens}).status_code == 302
    again = b.post("/admin/student/new/", data={**form, "csrf_token": b_tokens["csrf_token"], "_once": a_tokens["_once"]})
    assert again.status_code == 400 and ALREADY not in again.get_data(as_text=True)
    with app.app_context():
        assert count(Student, Student.id_number == form["id_number"]) == 1


@pytest.mark.committing
def test_a_claim_remembers_its_user_and_where_it_led(app: Flask) -> None:
    client = login(app, "school-heping1@xueji.demo")
    tokens = tokens_of(client, "/admin/student/new/")
    answer = client.post("/admin/student/new/", data={**student_form(), **tokens})
    with app.app_context():
        row = db.session.get(FormSubmission, tokens["_once"])
        heping1 = db.session.scalar(select(FormSubmission.user_id).where(FormSubmission.token == tokens["_once"]))
        assert row is not None and row.target and answer.headers["Location"].endswith(row.target)
        assert heping1 == int(tokens["_once"].split(".")[0])


def _claimed(app: Flask, token: str, age: timedelta) -> None:
    """A claim left by another request, `age` ago, never settled (target None)."""
    with app.app_context():
        db.session.add(FormSubmission(token=token, user_id=int(token.split(".")[0]), created_at=clock.now() - age))
        db.session.commit()


@pytest.mark.committing
def test_a_resend_while_the_first_submission_still_runs_is_refused(app: Flask) -> None:
    client = login(app, "school-heping1@xueji.demo")
    tokens = tokens_of(client, "/admin/student/new/")
    _claimed(app, tokens["_once"], timedelta(seconds=3))
    form = student_form()
    answer = client.post("/admin/student/new/", data={**form, **tokens}, headers={"Referer": "http://localhost/admin/student/new/"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/student/new/")  # back to the form's page
    assert ALREADY in client.get(answer.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert count(Student, Student.id_number == form["id_number"]) == 0


@pytest.mark.committing
def test_a_claim_abandoned_by_a_dead_request_is_taken_over(app: Flask) -> None:
    """A worker killed mid-request (or a database gone before the release) leaves its claim
    unsettled; once no request can still be running it, the resend is processed."""
    client = login(app, "school-heping1@xueji.demo")
    tokens = tokens_of(client, "/admin/student/new/")
    _claimed(app, tokens["_once"], submission_tokens.ABANDONED + timedelta(seconds=5))
    form = student_form()
    assert client.post("/admin/student/new/", data={**form, **tokens}).status_code == 302
    with app.app_context():
        assert count(Student, Student.id_number == form["id_number"]) == 1
        assert db.session.get(FormSubmission, tokens["_once"]).target


def test_a_post_without_a_token_is_handled_as_before(app: Flask) -> None:
    """Scripts and API-like clients send no `_once`: the CSRF token alone, as before."""
    client = login(app, "school-heping1@xueji.demo")
    form = student_form()
    csrf = tokens_of(client, "/admin/student/new/")["csrf_token"]
    assert client.post("/admin/student/new/", data={**form, "csrf_token": csrf}).status_code == 302
    with app.app_context():
        assert count(Student, Student.id_number == form["id_number"]) == 1
        assert count(FormSubmission) == 0


def test_claims_older_than_two_days_are_purged(app: Flask) -> None:
    with app.test_request_context():
        user_id = login_user_id("school-heping1@xueji.demo")
        now = clock.now()
        db.session.add_all([FormSubmission(token=f"{user_id}.old-old-old-old-old-1", user_id=user_id, created_at=now - timedelta(days=3)),
                            FormSubmission(token=f"{user_id}.new-new-new-new-new-1", user_id=user_id, created_at=now - timedelta(hours=5))])
        db.session.commit()
        assert submission_tokens.purge_old_claims.call_local() == 1
        assert [r.token for r in db.session.scalars(select(FormSubmission))] == [f"{user_id}.new-new-new-new-new-1"]


def login_user_id(email: str) -> int:
    from models.people import User

    return int(db.session.scalar(select(User.id).where(User.email == email)))


class _PostForms(HTMLParser):
    """Every POST form of a page, and whether it holds a `_once` field (a real HTML parse, not the
    pattern that inserts the field)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, bool]] = []
        self._open: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = None
            if a.get("method", "get").lower() == "post":
                self.forms.append((a.get("action", "") or a.get("id", ""), False))
                self._open = len(self.forms) - 1
        elif tag == "input" and self._open is not None and a.get("name") == "_once" and a.get("value"):
            self.forms[self._open] = (self.forms[self._open][0], True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


@pytest.mark.parametrize("email", ["admin@xueji.demo", "school-heping1@xueji.demo", "heping@xueji.demo"])
def test_every_post_form_of_the_app_carries_a_submission_token(app: Flask, email: str) -> None:
    """The pages a user reaches from /admin/ (the crawl of tests/admin/test_crawl.py), plus the
    forms that open from a page: every POST form holds a one-time token."""
    missing: list[str] = []
    forms = 0

    def read(url: str, referrer: str, answer: t.Any) -> str | None:
        nonlocal forms
        html = html_of(answer)
        if html is not None:
            parser = _PostForms()
            parser.feed(html)
            forms += len(parser.forms)
            missing.extend(f"{url}: form {action!r}" for action, has in parser.forms if not has)
        return html

    extra = ("/admin/student/new/", "/admin/requests/transfer/new", "/admin/export_requests/")
    visited = walk(login(app, email), ("/admin/", *extra), read, max_pages=120)
    assert visited > 20 and forms > 20, (visited, forms)
    assert not missing, "POST forms without a submission token:\n" + "\n".join(missing)


def test_the_login_page_has_no_token(app: Flask) -> None:
    """Before login there is no user to bind a token to (Flask-Security's pages are not claimed)."""
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "<form" in html and 'name="_once"' not in html


def test_tokens_are_added_to_post_forms_only() -> None:
    html = b'<form method="get"></form><FORM class="x" method=POST action="/a"><input></FORM><form method="post">'
    out = submission_tokens.add_tokens(html, 7).decode()
    tokens = re.findall(r'<input type="hidden" name="_once" value="(7\.[\w-]+)">', out)
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert out.startswith('<form method="get"></form>')
