"""学籍变动 with the national system (services/national/changes.py): our completed changes of a
period exported under their national names, and a national changes file reported row by row as
matching one of ours or missing here (never applied)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models.changes import COMPLETED, PENDING, ChangeRequest
from services import national_codes, workflows
from services.errors import RuleViolation
from services.national import changes
from tests.helpers import HEPING1, SHENHE1, pupil_of, school
from tests.national_helpers import sheet
from tests.transfer_helpers import user

HEADER = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "变动类型", "变动日期", "变动原因", "原学校", "现学校"]


def _change(code: str, kind: str, finished: datetime | None, status: str = COMPLETED, reason: str = "因病") -> ChangeRequest:
    pupil, registrar = pupil_of(code), user("school-heping1" if code == HEPING1 else "school-shenhe1")
    req = ChangeRequest(type=kind, status=status, student=pupil, from_school_id=pupil.school_id, from_path=pupil.scope_path,
                        reason_text=reason, requested_by_id=registrar.id, requester_unit_id=registrar.unit_id,
                        finished_at=finished, payload={})
    db.session.add(req)
    db.session.flush()
    return req


def test_the_completed_changes_of_the_period_are_exported_with_national_names(ctx):
    unit, actor = school(HEPING1), user("school-heping1")
    _change(HEPING1, "suspension", datetime(2026, 3, 2, 10))
    _change(HEPING1, "dropout", datetime(2025, 12, 31, 23))  # before the period
    _change(HEPING1, "death", None, status=PENDING)  # not completed
    _change(SHENHE1, "suspension", datetime(2026, 3, 3, 10))  # another district's
    data = b"".join(changes.xlsx_stream(actor, unit, date(2026, 1, 1), date(2026, 12, 31)))
    rows = list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == [h for h, _g in changes.CHANGE_COLUMNS]
    ours = [r for r in rows[1:] if r[7] == "20260302"]
    assert [(r[0], r[6], r[8], r[9]) for r in ours] == [(pupil_of(HEPING1).name, "休学", "因病", school(HEPING1).name)]
    assert not any(r[7] in ("20251231", "20260303") for r in rows[1:])


def test_a_period_must_be_given_in_order_and_at_most_two_years():
    assert changes.period_problem(None, date(2026, 1, 1))
    assert changes.period_problem(date(2026, 2, 1), date(2026, 1, 1))
    assert changes.period_problem(date(2020, 1, 1), date(2026, 1, 1))
    assert changes.period_problem(date(2026, 1, 1), date(2026, 12, 31)) is None


def test_each_national_change_is_matched_to_one_of_ours_or_reported_missing_and_nothing_is_applied(ctx):
    unit, actor = school(HEPING1), user("school-heping1")
    pupil = pupil_of(HEPING1)
    ours = _change(HEPING1, "suspension", datetime(2026, 3, 2, 10))
    other = pupil_of(SHENHE1)
    data = sheet([
        [pupil.name, pupil.gender, f"{pupil.birth_date:%Y%m%d}", pupil.id_type, pupil.id_number, "休学", "20260305", "因病", "", ""],
        [pupil.name, pupil.gender, f"{pupil.birth_date:%Y%m%d}", pupil.id_type, pupil.id_number, "辍学", "20260401", "", "", ""],
        [other.name, other.gender, f"{other.birth_date:%Y%m%d}", other.id_type, other.id_number, "休学", "20260303", "", "", ""],
    ], HEADER)
    requests_before = db.session.scalar(select(func.count()).select_from(ChangeRequest))
    report = changes.check_file(actor, unit, io.BytesIO(data))
    assert [(r.found, r.kind) for r in report.rows] == [(True, "休学"), (False, "辍学"), (False, "休学")]
    assert f"#{ours.id}" in report.rows[0].ours and report.missing == 2
    assert report.rows[2].ours == ""  # another district's pupil: missing, nothing of it revealed
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == requests_before


def test_a_changes_file_with_a_bad_date_or_without_its_columns_is_reported_clearly(ctx):
    unit, actor = school(HEPING1), user("school-heping1")
    pupil = pupil_of(HEPING1)
    data = sheet([[pupil.name, "1", "20160101", "1", pupil.id_number, "休学", "2026年13月1日", "", "", ""]], HEADER)
    report = changes.check_file(actor, unit, io.BytesIO(data))
    assert [(row, col) for row, col, _m in report.errors] == [(2, "变动日期")]
    with pytest.raises(RuleViolation) as exc:
        changes.check_file(actor, unit, io.BytesIO(sheet([["张三"]], ["姓名"])))
    assert "缺少这些列" in str(exc.value) and "变动类型" in str(exc.value)


def test_every_change_type_has_a_national_name(app):
    assert set(workflows.TYPES) <= set(national_codes.CHANGE_TYPE_NAMES), set(workflows.TYPES) - set(national_codes.CHANGE_TYPE_NAMES)
