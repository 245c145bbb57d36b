"""Exports open in Excel (issue 14, point 7; finding: the CSV export has no BOM, Excel opens it garbled).

CSV: UTF-8 with a BOM, Chinese headers. XLSX: Chinese headers in bold, the header row frozen (below
the watermark line on an approved export), column widths fitted to the header and the data (a CJK
character counts double). The same for Flask-Admin's own exports (the audit log), the registers and
the archive workbook. Formula cells stay neutralised (tests/security/test_formula_cells.py).
"""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.student import Student
from services import archive, export_requests, exports
from services.export_watermark import watermark
from tests.export_helpers import open_gate
from tests.helpers import HEPING1, school
from tests.security.test_export_requests import ask, decide, produce
from tests.transfer_helpers import user

BOM = b"\xef\xbb\xbf"
CJK = "\u4e00-\u9fff"


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def _widths(ws) -> dict[str, float]:
    return {letter: dim.width for letter, dim in ws.column_dimensions.items() if dim.width}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _headers(ws, row: int = 1) -> list[str]:
    return [c.value for c in ws[row] if c.value is not None]


# --- the writers -----------------------------------------------------------------------------------
def test_display_width_counts_cjk_double():
    assert exports.display_width("abc") == 3
    assert exports.display_width("王小明") == 6
    assert exports.display_width("王a") == 3
    assert exports.display_width("第一行\n很长的第二行文字") == 16  # the longest line


def test_column_widths_follow_the_header_and_the_typical_data():
    widths = exports.column_widths(
        ["学籍号", "姓名", "备注"],
        [["G210102201501011234", "王小明", "短"]] * 19 + [["G210102201501011234", "王小明", "很" * 200]],
    )
    assert widths[0] == 19 + 2  # the data is wider than the header
    assert widths[1] == 6 + 2  # "姓名" (4) < "王小明" (6)
    assert widths[2] == 6  # one very long remark does not stretch the column; at least the minimum
    assert all(w <= exports.MAX_WIDTH for w in exports.column_widths(["x"], [["很" * 200]] * 3))


def test_the_xlsx_writer_freezes_the_header_and_sets_widths():
    rows = [("王小明", "G210102201501011234")] * 3
    body = b"".join(exports.workbook_stream([("学生名单", [("姓名", lambda r: r[0]), ("全国学籍号", lambda r: r[1])], rows)]))
    ws = _sheet(body)
    assert ws.freeze_panes == "A2"
    assert _headers(ws) == ["姓名", "全国学籍号"] and ws["A1"].font.b
    widths = _widths(ws)
    assert widths["A"] == 8 and widths["B"] == 21


def test_the_xlsx_writer_with_a_banner_freezes_below_the_header():
    body = b"".join(exports.workbook_stream([("表", [("姓名", lambda r: r)], ["王小明"])], banner="水印"))
    ws = _sheet(body)
    assert ws["A1"].value == "水印" and ws["A2"].value == "姓名" and ws.freeze_panes == "A3"


def test_the_csv_writer_starts_with_the_bom():
    body = b"".join(exports.csv_stream(["王小明"], [("姓名", lambda r: r)]))
    assert body.startswith(BOM) and body[3:].decode("utf-8").splitlines() == ["姓名", "王小明"]


def test_the_watermark_keeps_the_header_frozen_and_the_widths():
    body = b"".join(exports.workbook_stream([("表", [("姓名", lambda r: r), ("全国学籍号", lambda r: "G" + "1" * 18)], ["王小明"])]))
    marked, rows = watermark(body, exports.XLSX_MIMETYPE, "申请人 张三 · 导出编号 DC001")
    ws = _sheet(marked)
    assert rows == 1 and ws["A1"].value.startswith("申请人") and ws["A2"].value == "姓名"
    assert ws.freeze_panes == "A3"  # rows 1–2 (watermark and headers) stay in view
    assert _widths(ws)["B"] == 21
    csv_marked, _ = watermark(b"".join(exports.csv_stream(["王小明"], [("姓名", lambda r: r)])), "text/csv", "水印")
    assert csv_marked.startswith(BOM) and csv_marked.count(BOM) == 1


# --- the screens' exports ----------------------------------------------------------------------------
def test_the_student_list_csv_has_a_bom_and_reads_in_chinese(as_user):
    resp = as_user("school-heping1").get("/admin/student/export/csv/")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert {"姓名", "身份证件号"} <= set(rows[0]), rows[0]
    assert all(_has_cjk(h) for h in rows[0])
    assert len(rows) > 2 and any(_has_cjk(v) for v in rows[1])  # names, statuses in words


def test_the_student_list_xlsx_has_chinese_headers_frozen_and_sized(as_user):
    resp = as_user("school-heping1").get("/admin/student/export/xlsx/")
    assert resp.status_code == 200
    ws = _sheet(resp.data)
    headers = _headers(ws)
    assert "姓名" in headers and all(_has_cjk(h) for h in headers), headers
    assert ws.freeze_panes == "A2"
    widths = _widths(ws)
    assert len(widths) == len(headers)
    for i, header in enumerate(headers):
        letter = ws.cell(row=1, column=i + 1).column_letter
        assert widths[letter] >= exports.display_width(header) + 2 - 0.01, (header, widths[letter])
        assert exports.MIN_WIDTH <= widths[letter] <= exports.MAX_WIDTH
    id_col = ws.cell(row=1, column=headers.index("身份证件号") + 1).column_letter
    assert widths[id_col] >= 18  # an 18-character ID number fits


def test_the_audit_log_exports_have_the_bom_the_frozen_header_and_widths(app, as_user):
    c = as_user("audit-admin")
    resp = c.get("/admin/audit/export/csv/")
    assert resp.status_code == 200 and resp.data.startswith(BOM)
    header = next(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert len(header) == 6 and all(_has_cjk(h) for h in header), header
    resp = c.get("/admin/audit/export/xlsx/")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    ws = _sheet(resp.data)
    assert all(_has_cjk(h) for h in _headers(ws)[:5]) and ws.freeze_panes == "A2" and ws["A1"].font.b
    assert len(_widths(ws)) == len(_headers(ws))


def test_the_audit_log_xlsx_keeps_formulas_as_text(app, as_user):
    with app.app_context():
        auditor = user("audit-admin")
        db.session.add(AuditLog(action="export", detail="=cmd|' /C calc'!A0", ip="@SUM(1,2)",
                                unit_id=auditor.unit_id, scope_path=auditor.unit.path))
        db.session.commit()
    ws = _sheet(as_user("audit-admin").get("/admin/audit/export/xlsx/").data)
    cells = [c for row in ws.iter_rows() for c in row if c.value in ("=cmd|' /C calc'!A0", "@SUM(1,2)")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)


def test_an_approved_export_keeps_the_header_frozen_below_the_watermark(app, as_user, monkeypatch):
    # No background thread in a rolled-back test: the file is produced here, on the test's connection
    # (as tests/security/test_export_requests.py does).
    monkeypatch.setattr(export_requests, "start", lambda req: None)
    school_c = as_user("school-heping1")
    request_id = ask(school_c, "/admin/student/export/xlsx/?sensitive=1", fields=["id_number"])
    decide(as_user("heping"), request_id)
    req = produce(app, request_id)
    assert req.status == "ready", req.error
    resp = school_c.get(f"/admin/export_requests/{request_id}/download")
    ws = _sheet(resp.data)
    assert req.number in ws["A1"].value and "姓名" in _headers(ws, row=2)
    assert ws.freeze_panes == "A3"
    assert len(_widths(ws)) >= len(_headers(ws, row=2))


def test_a_register_xlsx_is_frozen_and_sized(app, as_user, monkeypatch):
    open_gate(monkeypatch)
    with app.app_context():
        unit_id = school(HEPING1).id
    resp = as_user("school-heping1").get(f"/admin/rosters/new/{unit_id}.xlsx?year=2026")
    assert resp.status_code == 200, resp.status_code
    ws = _sheet(resp.data)
    assert all(_has_cjk(h) for h in _headers(ws)) and ws.freeze_panes == "A2" and _widths(ws)


def test_the_archive_workbook_fits_its_section_columns(app):
    with app.app_context():
        pupil = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id).order_by(Student.id).limit(1))
        wb = load_workbook(io.BytesIO(archive.archive_xlsx(pupil)))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert _widths(ws), ws.title
        assert all(_has_cjk(h) or h in ("SHA-256",) for h in _headers(ws)), (ws.title, _headers(ws))


def test_the_import_error_report_opens_readable(app):
    from flask_babel import force_locale

    from services.imports.columns import RowError
    from services.imports.report import error_report_xlsx

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        data = error_report_xlsx([RowError(3, "姓名", "=必填"), RowError(2, "身份证件号", "校验位不符")])
    ws = _sheet(data)
    assert _headers(ws) == ["行号", "列", "错误信息"] and ws["A1"].font.b
    assert ws.freeze_panes == "A2" and set(_widths(ws)) == {"A", "B", "C"}
    assert ws["A2"].value == 2 and ws["C3"].value == "=必填" and ws["C3"].data_type == "s"


def test_yes_no_reads_in_words_in_both_formats():
    columns = [("是否留守儿童", lambda r: r)]
    ws = _sheet(b"".join(exports.workbook_stream([("表", columns, [True, False])])))
    assert [ws["A2"].value, ws["A3"].value] == ["是", "否"]
    text = b"".join(exports.csv_stream([True, False], columns)).decode("utf-8-sig")
    assert text.splitlines()[1:] == ["是", "否"]
