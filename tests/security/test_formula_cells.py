"""Spreadsheet exports neutralise formula cells (issue 13, point 13; fault: a cell starting with "="
was a live formula in the XLSX and CSV exports).

XLSX: every text cell is written with the string type, so "=1+1" is shown, never evaluated.
CSV (and Flask-Admin's own tablib exports): a text starting with =, +, -, @, tab or CR gets a
leading apostrophe. Real numbers stay numbers, and a text that is just a signed number stays as is.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.student import Student
from services import exports
from tests.helpers import HEPING1, school
from tests.transfer_helpers import user

DANGEROUS = ["=HYPERLINK(\"http://evil.example\",\"点击\")", "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def _workbook_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=False))


@pytest.mark.parametrize("value", DANGEROUS)
def test_the_xlsx_writer_writes_each_dangerous_prefix_as_text(value):
    body = b"".join(exports.workbook_stream([("表", [("值", lambda r: r)], [value])]))
    cell = _workbook_rows(body)[1][0]
    assert cell.data_type == "s" and cell.value == value


@pytest.mark.parametrize("value", DANGEROUS)
def test_the_csv_writer_prefixes_each_dangerous_prefix(value):
    body = b"".join(exports.csv_stream([value], [("值", lambda r: r)]))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1] == ["'" + value]


def test_negative_numbers_stay_numbers():
    columns = [("数", lambda r: r[0]), ("文本", lambda r: r[1])]
    rows = [(-5, "-5"), (-2.5, "+3.25")]
    xlsx = _workbook_rows(b"".join(exports.workbook_stream([("表", columns, rows)])))
    assert xlsx[1][0].value == -5 and xlsx[1][0].data_type == "n"
    assert xlsx[2][0].value == -2.5 and xlsx[2][0].data_type == "n"
    assert xlsx[1][1].value == "-5"  # a signed number as text is data, not a formula
    text = b"".join(exports.csv_stream(rows, columns)).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1:] == [["-5", "-5"], ["-2.5", "+3.25"]]
    assert exports.neutralise_text("-5") == "-5" and exports.neutralise_text("-5+1") == "'-5+1"


def _poison_pupils() -> None:
    pupils = db.session.scalars(select(Student).where(Student.school_id == school(HEPING1).id).order_by(Student.id).limit(3)).all()
    pupils[0].name, pupils[0].class_name = DANGEROUS[0], DANGEROUS[1]
    pupils[1].name, pupils[1].class_name = DANGEROUS[3], DANGEROUS[4]
    pupils[2].class_name, pupils[2].phone = DANGEROUS[5], DANGEROUS[2]
    db.session.commit()


def test_the_student_list_xlsx_export_writes_formulas_as_text(app, as_user):
    with app.app_context():
        _poison_pupils()
    resp = as_user("school-heping1").get("/admin/student/export/xlsx/")
    assert resp.status_code == 200
    cells = [c for row in _workbook_rows(resp.data) for c in row if isinstance(c.value, str)]
    seen = {c.value for c in cells}
    for value in DANGEROUS:
        assert value in seen, value
    assert all(c.data_type == "s" for c in cells)


def test_the_student_list_csv_export_prefixes_formulas(app, as_user):
    with app.app_context():
        _poison_pupils()
    resp = as_user("school-heping1").get("/admin/student/export/csv/")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    cells = {v for row in csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))) for v in row}
    for value in DANGEROUS:
        assert "'" + value in cells and value not in cells, value


def test_flask_admin_tablib_export_is_neutralised_too(app, as_user):
    """The audit log's export is Flask-Admin's own (tablib): the same neutralisation applies."""
    with app.app_context():
        auditor = user("audit-admin")
        # The action column shows the action's Chinese name (an unknown code reads 其他操作): the
        # payloads go in the columns shown as stored.
        db.session.add(AuditLog(action="export", detail="=cmd|' /C calc'!A0", ip="@SUM(1,2)", user_email="+x@example",
                                unit_id=auditor.unit_id, scope_path=auditor.unit.path))
        db.session.commit()
    resp = as_user("audit-admin").get("/admin/audit/export/csv/")
    assert resp.status_code == 200
    cells = {v for row in csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))) for v in row}
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1,2)" in cells
    assert any(c.startswith("'+x@example") for c in cells)  # shown as "address（unit）"
    assert "=cmd|' /C calc'!A0" not in cells
