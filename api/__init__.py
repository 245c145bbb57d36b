"""数据接口: the read-only JSON API at /api/v1/ (issue 16, point 5), for systems that keep a copy of a
unit's 学籍 data in sync.

- Authentication is a Bearer token (services/api_tokens.py) in the Authorization header, nothing
  else: the Cookie header is removed before Flask sees an /api/ request (`_NoCookies`), so a
  browser's session never opens the API and the API never sets a cookie; with no cookie and
  GET only, CSRF does not arise.
- Every call asks the export gate (services/export_gate.decide_token), which says whether the token
  may read and which sensitive groups it shows in full; every call is audited (action api.read).
- 401 without a valid token (missing, malformed, unknown, expired, revoked), 404 for a row outside
  the token's scope (as for one that does not exist), 400 for a bad cursor, limit or filter, 429
  past the token's rate limit (API_RATE_LIMIT per token). Errors are JSON with a Chinese message.
- /api/v1/openapi.json (api/openapi.py) describes all of it and is public.
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from api.openapi import document
from extensions import db
from services import api_data, api_tokens, clock, export_gate
from services.errors import NotInScope

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


def _token_key() -> str:
    """The rate limit counts per token (its digest, never the secret), per address without one."""
    secret = _bearer()
    return f"token:{api_tokens.digest(secret)}" if secret else f"addr:{get_remote_address()}"


def _api_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


limiter = Limiter(_token_key)


class _NoCookies:
    """WSGI middleware: an /api/ request reaches Flask without its Cookie header (see the module)."""

    def __init__(self, wsgi_app: t.Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        if environ.get("PATH_INFO", "").startswith("/api/"):
            environ.pop("HTTP_COOKIE", None)
        return self.wsgi_app(environ, start_response)


def as_json(body: t.Any, status: int = 200) -> Response:
    """JSON in UTF-8 as it reads (张𠮷, not \\u5f20\\ud842…): both are valid JSON, this one is what a
    person debugging a sync sees in a log. Text is never HTML-escaped: JSON is not a page."""
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                    mimetype="application/json")


def error(status: int, message: str) -> Response:
    resp = as_json({"error": {"status": status, "message": message}}, status)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="xueji-api"'
    return resp


def _bearer() -> str | None:
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() or None if scheme.lower() == "bearer" else None


def token_required(what: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Find the token, ask the gate, run the view with the token and its groups, audit the call."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def inner(*args: t.Any, **kwargs: t.Any) -> Response:
            token = api_tokens.find(_bearer())
            decision = export_gate.decide_token(token, clock.now())
            if token is None or not decision.allowed:
                return error(401, "缺少有效的访问令牌，或令牌已过期、已吊销。")
            g.api_token, g.api_groups = token, decision.groups
            try:
                resp = view(*args, **kwargs)
            except api_data.BadParameter as exc:
                db.session.rollback()
                return error(400, str(exc))
            except NotInScope:
                db.session.rollback()
                resp = error(404, "未找到该记录。")
            api_tokens.note_use(token, request.remote_addr, f"{what} {request.full_path}"[:300] + g.get("api_note", ""))
            db.session.commit()
            return resp

        return inner

    return wrap


def _page(page: api_data.Page) -> Response:
    g.api_note = f"｜返回 {len(page.items)} 条：{api_data.ids_of(page.items)}"
    return as_json({"data": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more})


@bp.get("/pupils")
@limiter.limit(_api_limit, scope="api")
@token_required("学生列表")
def pupils() -> Response:
    a = request.args
    f = api_data.read_filter(a.get("grade"), a.get("status"), a.get("school"))
    after, limit = api_data.read_cursor("pupils", a.get("cursor")), api_data.read_limit(a.get("limit"))
    return _page(api_data.pupils(g.api_token.scope_path, g.api_groups, f, after, limit))


@bp.get("/pupils/<int:pupil_id>")
@limiter.limit(_api_limit, scope="api")
@token_required("学生详情")
def pupil(pupil_id: int) -> Response:
    student = api_data.pupil(g.api_token.scope_path, pupil_id)
    g.api_note = f"｜学生 {student.id}"
    return as_json({"data": api_data.pupil_dict(student, g.api_groups, detail=True)})


@bp.get("/requests")
@limiter.limit(_api_limit, scope="api")
@token_required("学籍变动申请")
def requests() -> Response:
    a = request.args
    after, limit = api_data.read_cursor("requests", a.get("cursor")), api_data.read_limit(a.get("limit"))
    return _page(api_data.requests(g.api_token.scope_path, g.api_token.scope_unit_id, after, limit))


@bp.get("/changes")
@limiter.limit(_api_limit, scope="api")
@token_required("变更流水")
def changes() -> Response:
    a = request.args
    after, limit = api_data.read_feed_cursor(a.get("since")), api_data.read_limit(a.get("limit"))
    return _page(api_data.changes(g.api_token.scope_path, g.api_groups, after, limit))


@bp.get("/openapi.json")
def openapi() -> Response:
    return as_json(document())


@bp.route("/<path:rest>")
def unknown(rest: str) -> Response:
    return error(404, "没有这个接口。")


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded) -> Response:
    return error(429, "请求过于频繁，请稍后再试。")


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Response:
    messages = {404: "未找到该记录。", 405: "数据接口只接受 GET 请求。"}
    status = exc.code or 500
    return error(status, messages.get(status, "请求无法处理。"))


def unmatched(status: int) -> Response:
    """The answer to a URL under /api/ that no rule of the API matched, given by the app's error
    handler (app.py), since the blueprint's handlers never see it: a path with a line break (the
    `<path:rest>` rule's dot does not match one), or a method the matched path does not take."""
    messages = {404: "没有这个接口。", 405: "数据接口只接受 GET 请求。"}
    return error(status, messages.get(status, "请求无法处理。"))


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_api(app: Flask) -> None:
    app.wsgi_app = _NoCookies(app.wsgi_app)  # type: ignore[method-assign]
    limiter.init_app(app)
    app.register_blueprint(bp)
