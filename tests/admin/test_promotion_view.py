"""The summer-promotion screen: preview, confirmed run, once per year, scope by URL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from extensions import db
from models.lifecycle import arranging
from models.promotion import PromotionRun
from models.student import Student
from tests.helpers import HEPING1, pupil_of
from tests.transfer_helpers import at

URL = "/admin/promotion/"


def _grade(app, sid: int) -> int:
    with app.app_context():
        g = db.session.get(Student, sid).grade
        db.session.remove()
    return g


def _pupil(app) -> int:
    with app.test_request_context():
        s = pupil_of(HEPING1)
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            s.grade, s.status = 2, "enrolled"
        db.session.commit()
        return s.id


def test_preview_then_confirmed_run_then_nothing_left(as_user, app, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    sid = _pupil(app)
    c = as_user("heping")
    page = c.get(f"{URL}?unit_code=210102&school_year=2027").get_data(as_text=True)
    assert 'id="promotion-preview"' in page and 'id="run-promotion"' in page
    assert _grade(app, sid) == 2  # a preview writes nothing
    # Without the confirmation nothing moves.
    resp = c.post_form(URL, {"unit_code": "210102", "school_year": "2027"}, token_from=URL)
    assert resp.status_code == 200 and _grade(app, sid) == 2
    resp = c.post_form(URL, {"unit_code": "210102", "school_year": "2027", "checked": "y"}, token_from=URL)
    assert resp.status_code == 302 and _grade(app, sid) == 3
    page = c.get(f"{URL}?unit_code=210102&school_year=2027").get_data(as_text=True)
    assert 'id="nothing-to-move"' in page and 'id="run-promotion"' not in page
    resp = c.post_form(URL, {"unit_code": "210102", "school_year": "2027", "checked": "y"}, token_from=URL)
    assert _grade(app, sid) == 3  # twice → once


def test_school_runs_it_for_itself_only(as_user, app, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    sid = _pupil(app)
    c = as_user("school-heping1")
    page = c.get(URL).get_data(as_text=True)
    assert HEPING1 in page  # its own code is the default
    c.post_form(URL, {"unit_code": "210102", "school_year": "2027", "checked": "y"}, token_from=URL)
    assert _grade(app, sid) == 2
    c.post_form(URL, {"unit_code": HEPING1, "school_year": "2027", "checked": "y"}, token_from=URL)
    assert _grade(app, sid) == 3


def test_outside_scope_sees_and_moves_nothing(as_user, app, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    sid = _pupil(app)
    for who in ("school-shenhe1", "shenhe", "school-xigang1", "xigang"):
        c = as_user(who)
        page = c.get(f"{URL}?unit_code={HEPING1}&school_year=2027").get_data(as_text=True)
        assert 'id="promotion-preview"' not in page
        resp = c.post_form(URL, {"unit_code": HEPING1, "school_year": "2027", "checked": "y"}, token_from=URL)
        assert resp.status_code == 200
    assert _grade(app, sid) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PromotionRun)) == 0
        db.session.remove()
