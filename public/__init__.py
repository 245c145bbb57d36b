"""Pages without login: the public check of a certificate (第二十四–二十五条).

A 学生卡 (the free student card) carries `GET /verify/card/<token>` in its QR code: valid or
cancelled, the masked name, the school and the grade. A printed 学生学籍卡 carries a code of the
same format: its check shows the masked name, the school,
the card's number and the day it was printed (never the ID number).

`GET /verify/<code>` answers what a checker needs and nothing more — the masked name, the
school, the year, the kind, the number and whether it is valid, revoked (since when) or still
waiting for the authority — never the ID number, the birth date or anything else. `GET /verify`
is a small form to type a code (a GET: no CSRF token needed). An unknown or malformed code gets
the same "not found" page with status 404 (no hint of which codes exist), and every lookup is
audited without a user. The pages are never cached nor indexed, and each client address may
check VERIFY_RATE_LIMIT codes (config; Flask-Limiter, storage RATELIMIT_STORAGE_URI — memory of
one process by default, a shared store such as redis:// when several processes serve) so that
nobody guesses codes or fills the audit log.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from services import pupil_cards, student_cards
from services.certificates import verification

bp = Blueprint("public", __name__)
limiter = Limiter(get_remote_address)


def _verify_limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


def _page(template: str, status: int = 200, **context: object) -> Response:
    resp = Response(render_template(template, **context), status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the code is in the URL
    return resp


@bp.get("/verify")
@bp.get("/verify/")
@limiter.shared_limit(_verify_limit, scope="verify")  # the form and the page share one budget
def verify_form() -> Response:
    typed = request.args.get("code", "")
    if typed.strip():
        code = verification.normalize_code(typed)
        if code is not None:
            return redirect(url_for("public.verify", code=code))  # type: ignore[return-value]
        verification.lookup(typed)  # audited like any lookup; malformed looks like unknown
        return _page("public/verify.html", 404, facts=None, searched=True, code=typed[:40])
    return _page("public/verify.html", facts=None, searched=False, code="")


@bp.get("/verify/<code>")
@limiter.shared_limit(_verify_limit, scope="verify")  # the form and the page share one budget
def verify(code: str) -> Response:
    card = student_cards.lookup_card(code)  # a printed 学生学籍卡 (issue 16) shares the codes' format
    if card is not None:
        return _page("public/verify.html", facts=None, card=student_cards.public_facts(card), searched=True,
                     code=verification.code_words(card.verify_code))
    cert = verification.lookup(code)
    if cert is None:
        return _page("public/verify.html", 404, facts=None, searched=True, code=code[:40])
    return _page("public/verify.html", facts=verification.public_facts(cert), searched=True,
                 code=verification.code_words(cert.verify_code))


@bp.get("/verify/card/<token>")
@limiter.shared_limit(_verify_limit, scope="verify")  # one budget with the certificates' check
def verify_card(token: str) -> Response:
    """学生卡 (issue 16, point 3): valid or cancelled, the masked name, the school and the grade — no more."""
    card = pupil_cards.lookup(token[:80])
    if card is None:
        return _page("public/verify_card.html", 404, card=None)
    return _page("public/verify_card.html", card=pupil_cards.public_facts(card))


def init_public(app: Flask) -> None:
    """Register the public blueprint(s)."""
    limiter.init_app(app)
    app.register_blueprint(bp)
