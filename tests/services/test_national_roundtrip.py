"""Export then import the same national file: 1,000 pupils of every kind (no ID number, rare
characters, guardians of all ages, dates across New Year, every code) show no difference, and
applying everything changes nothing."""

from __future__ import annotations

import io
import time

from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from services.national import reconcile
from services.national.columns import HEADERS
from tests.helpers import HEPING1, school
from tests.national_helpers import build_pupils, exported
from tests.transfer_helpers import user


def test_a_thousand_pupils_exported_and_read_back_show_no_difference_and_change_nothing(ctx):
    unit, actor = school(HEPING1), user("school-heping1")
    pupils = build_pupils(unit, 1000)
    assert sum(1 for p in pupils if p.id_number is None) > 50
    assert any("𠮷" in p.name for p in pupils)
    data = exported(actor, unit)

    ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert tuple(rows[0]) == HEADERS  # one header row, the national order
    on_roll = len(rows) - 1
    assert on_roll >= 1000

    started = time.monotonic()
    result = reconcile.reconcile(actor, unit, io.BytesIO(data))
    assert result.errors == []
    assert result.unmatched == []
    assert result.matched == [], [(m.name, [(d.label, d.ours, d.national) for d in m.differences]) for m in result.matched[:3]]
    assert result.unchanged == on_roll
    assert time.monotonic() - started < 60

    history = db.session.scalar(select(func.count()).select_from(StudentHistory))
    every = [(p.id, c) for p in pupils for c in ("name", "phone", "guardian1.name", "health")]
    done = reconcile.apply(actor, unit, io.BytesIO(data), every)
    assert (done.pupils, done.fields, done.refused) == (0, 0, [])
    assert db.session.scalar(select(func.count()).select_from(StudentHistory)) == history
