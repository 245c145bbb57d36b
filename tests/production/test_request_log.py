"""Request logging (issue 15, point 1): one JSON line per request with its id, rule, status,
duration, user and unit, and no personal data — a search by a pupil's name and ID number leaves
neither in the logs."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.people import User
from models.student import Student
from services.request_log import LOGGER_NAME


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]


def test_a_search_by_name_and_id_number_leaves_neither_in_the_logs(app: Flask, as_user, caplog) -> None:
    client = as_user("school-heping1")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "school-heping1@xueji.demo"))
        pupil = db.session.scalar(select(Student).where(Student.school_id == user.unit_id).limit(1))
        name, id_number, user_id, unit_code = pupil.name, pupil.id_number, user.id, user.unit.code
    caplog.set_level(logging.DEBUG)  # every logger, every level: nothing may carry them
    caplog.clear()  # the login's lines
    for term in (name, id_number, f"{name} {id_number}"):
        resp = client.get(f"/admin/student/?search={quote(term)}")
        assert resp.status_code == 200 and name in resp.get_data(as_text=True)  # the search did find the pupil
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert name not in everything and id_number not in everything
    assert id_number[-6:] not in everything  # not even the tail that a search by it would use
    lines = _lines(caplog)
    assert len(lines) == 3
    for line in lines:
        assert line["rule"] == "/admin/student/" and line["method"] == "GET" and line["status"] == 200
        assert line["user_id"] == user_id and line["unit"] == unit_code
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert len(line["request_id"]) == 32 and line["time"].endswith("+08:00")
        assert set(line) == {"time", "request_id", "method", "rule", "status", "duration_ms", "user_id", "unit", "remote_addr"}


def test_the_proxy_s_request_id_is_kept_and_echoed_a_bad_one_replaced(app: Flask, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    client = app.test_client()
    resp = client.get("/login", headers={"X-Request-ID": "nginx-7f3a.42_b"})
    assert resp.headers["X-Request-ID"] == "nginx-7f3a.42_b"
    for bad in ("x" * 65, "王小明", 'a" injected', ""):
        resp = client.get("/login", headers={"X-Request-ID": bad})
        fresh = resp.headers["X-Request-ID"]
        assert fresh != bad and len(fresh) == 32 and fresh.isalnum()
    lines = _lines(caplog)
    assert lines[0]["request_id"] == "nginx-7f3a.42_b" and lines[0]["rule"] == "/login" and lines[0]["user_id"] is None
    assert "王小明" not in caplog.text


def test_a_path_that_matches_no_route_is_not_logged_as_typed(app: Flask, caplog) -> None:
    """The path itself may carry anything typed into the address bar: only the rule is logged."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    resp = app.test_client().get("/no-such-page/210102201001011234")
    assert resp.status_code == 404
    assert _lines(caplog)[-1]["rule"] is None and _lines(caplog)[-1]["status"] == 404
    assert "210102201001011234" not in caplog.text
