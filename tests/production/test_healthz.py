"""`GET /healthz` (issue 15, point 2): 200 with the state of the database and the queue, 503 when
either is down; no login, no session cookie, no audit row."""

from __future__ import annotations

import pytest
from flask import Flask
from huey.storage import RedisStorage
from sqlalchemy import create_engine, func, select

from extensions import db
from models.audit import AuditLog
from services import queue


def _audit_rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog)) or 0


def test_up_answers_200_without_cookie_or_audit(app: Flask) -> None:
    before = _audit_rows(app)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"database": "ok", "queue": "ok"}
    assert "Set-Cookie" not in resp.headers and resp.headers["Cache-Control"] == "no-store"
    assert _audit_rows(app) == before


def test_database_down_answers_503(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = create_engine("postgresql+psycopg://root@127.0.0.1:1/nothing")  # no server on port 1
    with app.app_context():
        monkeypatch.setitem(db.engines, None, dead)
        resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"database": "down", "queue": "ok"}
    dead.dispose()


def test_queue_down_answers_503(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue.huey, "storage", RedisStorage(queue.QUEUE_NAME, url="redis://127.0.0.1:1/0"))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"database": "ok", "queue": "down"}
