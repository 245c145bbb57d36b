"""One effect per form (issue 15, point 6): a form sent twice — two clicks, or the browser's back
button and a resubmit — is processed once.

The token. Every `<form method="post">` of every HTML page the app answers to a logged-in user gets
a hidden field `_once` with a fresh one-time token, "<user id>.<random>", one per form. It is added
to the finished page (after_request), not by each template or form class: the project's
hand-written templates, Flask-Admin's own (create, edit, delete, row and list actions, modals) and
Flask-Security's pages are all covered by this one place, and a template written tomorrow cannot
forget it (tests/security/test_double_submit.py crawls the pages to prove it). A token costs nothing
until it is posted: nothing is stored when a page is rendered.

The claim. A POST carrying `_once` claims its token before the view runs (before_request, after the
CSRF check): one INSERT into `form_submission` (the token is the primary key), in a short session of
its own that commits at once. Two requests with the same token cannot both insert it, even at the
same instant on two web workers; the one that loses the unique violation has no effect and is sent
to the first submission's result (or back to the page it came from while the first is still
running) with the message "此表单已提交过，未重复处理。".

What counts as success (the claim is kept, with where it led):
- a redirect (3xx) during which no error was flashed: the Post/Redirect/Get of a done change
  (Flask-Admin's save, a started request, a decision, an upload, an export request);
- a file (a 2xx answer that is not an HTML page): a document issued or an export handed out.
What counts as failure (the claim is released, so that the corrected form can be sent again):
- an HTML page (2xx): a form re-rendered with its validation errors, or a lookup that changed nothing;
- a redirect with an error flashed: a rule refused it (Flask-Admin and the project flash "error");
- an error page (4xx, 5xx) or an exception: the request's transaction was rolled back.
So a view that changes something answers with a redirect (Post/Redirect/Get, as every view of the
app does): a change answered by an HTML page would count as a failure and could be repeated.
A claim left unsettled (the worker killed mid-request, or the database gone before the claim could
be released) is taken over by a resend after ABANDONED: by then no request can still be running it.

Who. A token carries its user's id; a POST whose token names another user is refused (400) and
claims nothing, so user A's token can neither block user B's form nor send B to A's result. Anonymous
requests and Flask-Security's own pages (login, two-factor, logout) are not claimed: nobody is logged
in yet to bind a token to, and logging in or out twice has no second effect.

Without a token. A POST without `_once` is handled as before (the CSRF token is still required):
scripts and API-like clients, and the pages' own fetch() calls, do not double-click. Every form a
browser is given carries a token, so every browser submission is covered.

Old claims are purged daily after two days: a page kept open longer and sent again is processed.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.wrappers import Response

from extensions import db
from models.submissions import FormSubmission
from services import clock
from services.queue import crontab, periodic
from services.redirects import local_target

log = logging.getLogger(__name__)

FIELD = "_once"
KEEP = timedelta(days=2)
ABANDONED = timedelta(minutes=5)  # far longer than a request may run (gunicorn kills a worker silent for 30 s)
EXEMPT_BLUEPRINTS = frozenset({"security"})  # login, two-factor, logout: see the docstring
FAILURE_FLASHES = frozenset({"error", "danger"})
ALREADY_SUBMITTED = _l("This form has already been submitted; it was not processed again.")
TOKEN_RE = re.compile(r"(\d+)\.[A-Za-z0-9_-]{16,40}")
# A POST form's opening tag, in any case and quoting; the hidden field goes right after it.
FORM_TAG_RE = re.compile(rb"""<form\b[^>]*?\bmethod\s*=\s*["']?post\b[^>]*>""", re.IGNORECASE)


def new_token(user_id: int) -> str:
    return f"{user_id}.{secrets.token_urlsafe(16)}"


def add_tokens(html: bytes, user_id: int) -> bytes:
    """The page with a fresh token in each of its POST forms."""
    def field(m: re.Match[bytes]) -> bytes:
        return m.group(0) + f'<input type="hidden" name="{FIELD}" value="{new_token(user_id)}">'.encode()

    return FORM_TAG_RE.sub(field, html)


def claim(token: str, user_id: int) -> bool:
    """True when this request is the first to send `token`; committed at once in its own session,
    so that a concurrent request sees the claim whatever this request does next."""
    with db.session.session_factory() as own:
        own.add(FormSubmission(token=token, user_id=user_id, created_at=clock.now()))
        try:
            own.commit()
            return True
        except IntegrityError:
            own.rollback()
        # A claim never settled, older than any request may run, was left by a request that died
        # (its worker killed, or the database gone before the claim could be released): nothing of
        # it was kept, so this request takes the claim over, atomically.
        taken = own.execute(
            update(FormSubmission)
            .where(FormSubmission.token == token, FormSubmission.user_id == user_id, FormSubmission.target.is_(None),
                   FormSubmission.created_at < clock.now() - ABANDONED)
            .values(created_at=clock.now())
        ).rowcount
        own.commit()
    return taken == 1


def first_result(token: str) -> str | None:
    with db.session.session_factory() as own:
        return own.scalar(select(FormSubmission.target).where(FormSubmission.token == token))


def keep(token: str, target: str | None) -> None:
    with db.session.session_factory() as own:
        own.execute(update(FormSubmission).where(FormSubmission.token == token).values(target=target))
        own.commit()


def release(token: str) -> None:
    with db.session.session_factory() as own:
        own.execute(delete(FormSubmission).where(FormSubmission.token == token))
        own.commit()


def purge(before: datetime) -> int:
    """Forget the claims made before `before`; returns how many."""
    with db.session.session_factory() as own:
        n = own.execute(delete(FormSubmission).where(FormSubmission.created_at < before)).rowcount
        own.commit()
    return int(n or 0)


@periodic(crontab(hour="3", minute="25"))
def purge_old_claims() -> int:
    """Daily: claims older than two days go (a token is a guard against a quick resend, not a log)."""
    return purge(clock.now() - KEEP)


@dataclass(frozen=True)
class _Claim:
    token: str
    flashes_before: int


def _flash_count() -> int:
    return len(session.get("_flashes", ()))


def _back() -> str:
    return local_target(request.referrer) or url_for("admin.index")


def _succeeded(response: Response, flashes_before: int) -> bool:
    if 300 <= response.status_code < 400:
        new = list(session.get("_flashes", ()))[flashes_before:]
        return not any(category in FAILURE_FLASHES for category, _message in new)
    return 200 <= response.status_code < 300 and response.mimetype != "text/html"


def _claim_request() -> Response | tuple[str, int] | None:
    if request.method != "POST" or not current_user.is_authenticated:
        return None
    token = request.form.get(FIELD)
    if not token or (request.blueprint or "") in EXEMPT_BLUEPRINTS:
        return None
    m = TOKEN_RE.fullmatch(token)
    if m is None or int(m.group(1)) != current_user.id:
        return render_template(
            "error.html", code=400, title=_l("Form of another user"),
            message=_l("This form was not opened by the user now logged in. Reload the page and submit again."),
        ), 400
    if not claim(token, current_user.id):
        flash(str(ALREADY_SUBMITTED), "warning")  # the session keeps text, not a lazy string
        return redirect(first_result(token) or _back())
    g.submission_claim = _Claim(token, _flash_count())
    return None


def _settle(response: Response) -> Response:
    pending: _Claim | None = g.pop("submission_claim", None)
    if pending is not None:
        try:
            if not _succeeded(response, pending.flashes_before):
                release(pending.token)
            else:
                target = local_target(response.location) if 300 <= response.status_code < 400 else None
                keep(pending.token, target or _back())
        except SQLAlchemyError:
            # The database went away after the view: the claim stays unsettled, a resend within
            # ABANDONED is refused, later one is processed. The user's answer is not replaced by an error.
            log.warning("form claim not settled", exc_info=True)
    if (response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough
            and not response.is_streamed and current_user.is_authenticated):
        html = response.get_data()
        if b"<form" in html or b"<FORM" in html:
            response.set_data(add_tokens(html, current_user.id))
    return response


def _release_on_exception(_exc: BaseException | None) -> None:
    """An exception that no handler answered skips after_request: the claim must not outlive it."""
    pending: _Claim | None = g.pop("submission_claim", None)
    if pending is not None:
        try:
            release(pending.token)
        except SQLAlchemyError:  # the database is down: the claim is taken over once ABANDONED has passed
            log.warning("form claim not released", exc_info=True)


def init_app(app: Flask) -> None:
    app.before_request(_claim_request)
    app.after_request(_settle)
    app.teardown_request(_release_on_exception)
