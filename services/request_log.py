"""One JSON line per request (logger `xuejitong.request`, stderr under gunicorn): what an operator
needs to follow a request through the proxy, the app servers and the database, and nothing about
the pupils.

Logged: the time, the request id, the method, the URL rule (the route's pattern, e.g.
`/verify/<code>`: never the path's values nor the query string, which carry names and ID numbers
of searches), the status, the duration, the user's id and unit code, and the client address
(after ProxyFix: a registrar's office, not a pupil). Never a name, an e-mail, an ID number or a
form field.

The request id is the proxy's X-Request-ID when it looks like one (1–64 characters of
[A-Za-z0-9._-], so that a client cannot write anything else into the log), else a new one; the
response echoes it, so that a user's report and the proxy's log point at the same line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, request
from flask.wrappers import Response
from flask_security import current_user

LOGGER_NAME = "xuejitong.request"
logger = logging.getLogger(LOGGER_NAME)
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
CHINA = ZoneInfo("Asia/Shanghai")


def request_id(header: str | None) -> str:
    """The proxy's id when it is well-formed, else a fresh one."""
    if header and REQUEST_ID_RE.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _user_fields() -> dict[str, object]:
    """The user's id and unit code, read from the loaded user without a query (the unit code is the
    last segment of the scope path, e.g. /21/2101/210102/ → 210102)."""
    try:
        user = current_user._get_current_object()
        if not user.is_authenticated:
            return {"user_id": None, "unit": None}
        path = user.scope_path or ""
        return {"user_id": user.id, "unit": path.rstrip("/").rsplit("/", 1)[-1] or None}
    except Exception:  # a request that failed before the user loaded (e.g. the database is down)
        return {"user_id": None, "unit": None}


def line(response: Response) -> dict[str, object]:
    started = g.get("request_started")
    return {
        "time": datetime.now(CHINA).isoformat(timespec="milliseconds"),
        "request_id": g.get("request_id"),
        "method": request.method,
        "rule": request.url_rule.rule if request.url_rule is not None else None,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        **_user_fields(),
        "remote_addr": request.remote_addr,
    }


def init_app(app: Flask) -> None:
    # Under gunicorn and `flask run` the lines go to stderr; the tests read the records (caplog).
    if not app.testing and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO)

    # create_app calls this before the other extensions register theirs: this hook runs first, and
    # the duration covers them all.
    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id(request.headers.get("X-Request-ID"))

    @app.after_request
    def _log(response: Response) -> Response:
        if "request_id" not in g:  # a hook before ours answered: still log, with a new id
            g.request_id = request_id(None)
        response.headers["X-Request-ID"] = g.request_id
        logger.info(json.dumps(line(response), ensure_ascii=False, separators=(",", ":")))
        return response
