"""`GET /healthz` for the load balancer and the monitoring: 200 when the database and the queue's
storage answer, 503 when either does not. No login, no session cookie, no audit row: it is asked
every few seconds by machines. The reason of a failure goes to the log, not to the answer, which
anyone may fetch."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy import text

from extensions import db
from services import queue

bp = Blueprint("health", __name__)
log = logging.getLogger("xuejitong.health")


def database_problem() -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "down"
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


@bp.get("/healthz")
def healthz() -> Response:
    problems = {"database": database_problem(), "queue": queue.health()}
    for part, problem in problems.items():
        if problem:
            log.warning("healthz: %s down: %s", part, problem)
    body = {part: "down" if problem else "ok" for part, problem in problems.items()}
    resp = jsonify(body)
    resp.status_code = 503 if any(problems.values()) else 200
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
