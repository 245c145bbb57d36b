"""Issue 14, point 1 (words) in Chromium: the history of a pupil and the audit log as their users
see them — Chinese names for statuses and yes/no, people by name and unit, times to the minute.
Screenshots: tests/e2e/screenshots/history.png and audit-log.png (git-ignored), for review."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from extensions import db
from models.lifecycle import arranging
from models.people import User
from services import archive, audit
from tests.builders import make_pupil, make_request, user_of
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).parent / "screenshots"
REGISTRAR = "school-heping1@xueji.demo"
ENGLISH = re.compile(r"\b(True|False|None|enrolled|suspended|_created)\b")


def _pupil_with_history(app: Flask) -> int:
    with app.app_context():
        me = db.session.scalar(select(User).where(User.email == REGISTRAR))
        pupil = make_pupil(name="浏览器历史", xjh=None, class_name=None, only_child=True, orphan=False)
        db.session.commit()
        assert pupil.status == "enrolled" and pupil.only_child  # loaded, as services/lifecycle reads them first
        with audit.acting(me, reason="病休"):
            with arranging():
                pupil.status = "suspended"
            pupil.only_child = False
            db.session.flush()
        db.session.commit()
        pupil_id = pupil.id
        db.session.remove()
    return pupil_id


def test_history_reads_in_words(app: Flask, page) -> None:
    pupil_id = _pupil_with_history(app)
    log_in(page, REGISTRAR)
    page.goto(f"/admin/student/details/?id={pupil_id}")
    history = page.inner_text("#history")
    SHOTS.mkdir(exist_ok=True)
    page.locator("#history").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "history.png"), full_page=True)
    assert re.search(r"学籍状态\s+在籍\s+休学\s+王丽（沈阳市和平区第一小学）\s+病休", history), history
    assert re.search(r"是否独生子女\s+是\s+否", history) and "新建学籍" in history
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d\s", history) and not re.search(r"\d\d:\d\d:\d\d", history)
    body = page.inner_text("body")
    assert not ENGLISH.search(body), ENGLISH.search(body)
    assert REGISTRAR not in history


def _archive_backup(app: Flask) -> int:
    with app.test_request_context():  # the backup renders the archive's PDF
        req = make_request("transfer", "pending:1")
        backup = archive.backup_on_leaving(req, user_of(req.student.school))
        db.session.commit()
        backup_id = backup.id
        db.session.remove()
    return backup_id


def test_audit_log_reads_in_words(app: Flask, new_page) -> None:
    _pupil_with_history(app)
    backup_id = _archive_backup(app)
    registrar = new_page()
    log_in(registrar, REGISTRAR)  # a login row, and a record viewed
    page = new_page()
    log_in(page, "audit-admin@xueji.demo")
    page.goto("/admin/audit/")
    page.wait_for_selector("table.model-list")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit-log.png"), full_page=True)
    table = page.inner_text("table.model-list")
    assert "王丽（沈阳市和平区第一小学）" in table and "登录" in table
    assert REGISTRAR not in table and not re.search(r"\b[a-z]+\.[a-z_]+\b", table)  # no action codes
    assert not re.search(r"\d\d:\d\d:\d\d", table)
    assert re.search(rf"备份 #{backup_id} DA\d+（变动申请 #\d+）", table) and "backup" not in table
