"""One clock: services/clock.py for the rules, models/clock.py (below the models) for column defaults."""

from __future__ import annotations

from datetime import datetime

from extensions import db
from models.audit import AuditLog
from models.student import Student
from services import clock


def test_a_column_default_follows_the_moved_clock(app, ctx, monkeypatch):
    """Time travel in a test (services.clock.now patched) also dates the rows it writes."""
    moment = datetime(2027, 3, 1, 9, 30)
    monkeypatch.setattr(clock, "now", lambda: moment)
    row = AuditLog(action="test")
    db.session.add(row)
    db.session.flush()
    assert row.at == moment


def test_an_update_stamp_follows_the_moved_clock(app, ctx, monkeypatch):
    pupil = db.session.scalars(db.select(Student).limit(1)).one()
    moment = datetime(2027, 9, 2, 8, 0)
    monkeypatch.setattr(clock, "now", lambda: moment)
    pupil.phone = "13900000000"
    db.session.flush()
    assert pupil.updated_at == moment


def test_the_clock_runs_on_china_time_without_the_patch(app, ctx):
    from models.clock import CHINA

    real = datetime.now(CHINA).replace(tzinfo=None)
    assert abs((clock.now() - real).total_seconds()) < 5
    assert clock.today() == clock.now().date()
