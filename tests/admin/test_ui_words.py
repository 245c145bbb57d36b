"""Issue 14, point 1 (words) through the HTTP client: history, record pages, lists, filters, the
audit log and the pupil export read in Chinese names — no raw codes, no True/False, no e-mail
address for a person, times in China Standard Time to the minute."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

from sqlalchemy import select

from extensions import db
from models.audit import AuditLog
from models.lifecycle import arranging
from models.people import User
from services import archive, audit, clock, labels, login_guard
from tests.builders import make_pupil, make_request, user_of

REGISTRAR = "school-heping1@xueji.demo"


def _text(html: str) -> str:
    """What a reader sees: the page without tags, scripts and attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _history_rows(html: str) -> list[list[str]]:
    table = html[html.index('id="history"'):]
    table = table[:table.index("</table>")]
    rows = [[_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return [r for r in rows if len(r) == 6]


def _registrar() -> User:
    return db.session.scalar(select(User).where(User.email == REGISTRAR))


def _pupil_with_a_history():
    """A pupil without a 学籍号 or a class, suspended and corrected by the school's registrar."""
    pupil = make_pupil(name="历史测试", xjh=None, class_name=None, only_child=True)
    with audit.acting(_registrar(), reason="病休"):
        with arranging():
            pupil.status = "suspended"
        pupil.only_child = False
        db.session.flush()
    db.session.commit()
    return pupil


def test_history_reads_names_not_codes(as_user, ctx):
    pupil = _pupil_with_a_history()
    html = as_user("school-heping1").get(f"/admin/student/details/?id={pupil.id}").get_data(as_text=True)
    rows = _history_rows(html)
    status = next(r for r in rows if r[1] == "学籍状态")
    assert status[2:4] == ["在籍", "休学"]
    assert status[4] == "王丽（沈阳市和平区第一小学）" and status[5] == "病休"  # the name without its note （学籍管理员）
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", status[0])  # to the minute
    only_child = next(r for r in rows if r[1] == "是否独生子女")
    assert only_child[2:4] == ["是", "否"]
    created = [r for r in rows if r[1] == "新建学籍"]
    assert len(created) == 1 and created[0][3] == ""  # no 学籍号 yet: nothing, not "None"
    start = html.index('id="history"')
    history = _text(html[start:html.index("</table>", start)])
    for raw in ("_created", "enrolled", "suspended", REGISTRAR, "None", "True", "False"):
        assert raw not in history


def test_history_masks_id_numbers_still(as_user, ctx):
    pupil = make_pupil(name="证件号更正", class_name=None)
    old = pupil.id_number
    with audit.acting(_registrar(), reason="更正"):
        pupil.id_number = old[:-4] + ("0000" if not old.endswith("0000") else "1111")
        db.session.flush()
    db.session.commit()
    html = as_user("school-heping1").get(f"/admin/student/details/?id={pupil.id}").get_data(as_text=True)
    row = next(r for r in _history_rows(html) if r[1] == "身份证件号")
    assert "*" in row[2] and old not in html


def test_record_page_says_yes_and_no(as_user, ctx):
    pupil = make_pupil(name="布尔测试", xjh=None, class_name=None, only_child=True, preschool=False,
                       migrant_child=True, orphan=False)
    db.session.commit()
    text = _text(as_user("school-heping1").get(f"/admin/student/details/?id={pupil.id}").get_data(as_text=True))
    assert "True" not in text and "False" not in text
    assert re.search(r"是否独生子女\s+是", text) and re.search(r"是否孤儿\s+否", text)
    assert re.search(r"学籍号\s+未分配学籍号", text) and re.search(r"班级\s+未分班", text)  # not empty, not "None"


def test_users_list_shows_china_time_to_the_minute(as_user, app, ctx):
    heping1 = _registrar()
    heping1.last_login_at = datetime(2026, 12, 6, 10, 48, 31, 123456)
    db.session.commit()
    client = as_user("heping")  # the county official manages the school's accounts
    text = _text(client.get("/admin/users/").get_data(as_text=True))
    assert "2026-12-06 10:48" in text and "10:48:31" not in text and "123456" not in text
    # Flask-Security stamps a login in China Standard Time (not UTC), as every other time here.
    with app.app_context():
        me = db.session.scalar(select(User).where(User.email == "heping@xueji.demo"))
        assert abs((me.current_login_at - clock.now()).total_seconds()) < 120
        assert me.current_login_at.microsecond == 0


def _filter_groups(html: str) -> dict:
    raw = re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)
    return json.loads(raw)


def test_student_list_filters_offer_names(as_user, ctx):
    html = as_user("school-heping1").get("/admin/student/").get_data(as_text=True)
    groups = _filter_groups(html)
    status = next(g for name, g in groups.items() if name == "学籍状态")
    labels = {label for f in status for _value, label in (f.get("options") or [])}
    assert {"在籍", "休学", "转出"} <= labels and not {"enrolled", "suspended"} & labels
    grade = next(g for name, g in groups.items() if name == "年级")
    assert {label for f in grade for _v, label in f["options"]} >= {"一年级", "九年级"}
    kinds = next(g for name, g in groups.items() if name == "办学类型")
    assert {label for f in kinds for _v, label in f["options"]} >= {"小学", "初中"}
    for group in groups.values():  # no option reads as a bare code
        for f in group:
            for value, label in f.get("options") or []:
                assert label and not re.fullmatch(r"[a-z_]+|\d+", str(label)), (value, label)


def test_edit_form_drop_downs_offer_names(as_user, ctx):
    html = as_user("school-heping1").get("/admin/student/new/").get_data(as_text=True)
    def options(field: str) -> dict[str, str]:
        select_ = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', html, re.S).group(1)
        return dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_))

    assert options("ethnicity")["01"] == "汉族" and options("gender")["1"] == "男"
    assert options("grade")["3"] == "三年级" and options("hukou_type")  # names, never "01 汉族"
    assert options("health") and options("disability")
    assert not any(re.match(r"\d+ ", label) for f in ("ethnicity", "gender", "health", "disability", "hukou_type")
                   for label in options(f).values())


def test_audit_detail_of_an_archive_backup_is_chinese(as_user, ctx):
    req = make_request("transfer", "pending:1")
    actor = user_of(req.student.school)
    backup = archive.backup_on_leaving(req, actor)
    db.session.commit()
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "archive.backup").order_by(AuditLog.id.desc()))
    assert row.detail.startswith(f"备份 #{backup.id} DA") and f"（变动申请 #{req.id}）" in row.detail
    assert "backup" not in row.detail and "request" not in row.detail
    text = _text(as_user("audit-admin").get("/admin/audit/?flt0_4=archive.backup").get_data(as_text=True))
    assert f"备份 #{backup.id}" in text and "backup #" not in text
    assert labels.person(actor) in text and f"（{actor.unit.name}）" in text and actor.email not in text


def test_audit_log_reads_coded_details_in_words(as_user, ctx):
    login_guard.failed(login_guard.UNKNOWN, None, "nobody-here@xueji.demo")  # as the login form records it
    text = _text(as_user("audit-admin").get("/admin/audit/?flt0_4=login.failed").get_data(as_text=True))
    assert "账户不存在" in text and "unknown_account" not in text


def test_student_export_names_the_status(as_user, ctx):
    pupil = make_pupil(name="导出状态", xjh=None, class_name=None)
    with arranging():
        pupil.status = "suspended"
    db.session.commit()
    resp = as_user("school-heping1").get("/admin/student/export/csv/?search=导出状态")
    assert resp.status_code == 200
    body = resp.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, line = rows[0], rows[1]
    assert "学籍状态" in header and line[header.index("学籍状态")] == "休学"
    assert "suspended" not in body and "True" not in body and "False" not in body
    assert not any(re.search(r"[A-Za-z]", h) for h in header)  # Chinese headers
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id.desc()))
    assert row.detail == "CSV：搜索“导出状态”"


def test_export_audit_names_the_filters(as_user, ctx):
    client = as_user("school-heping1")
    resp = client.get("/admin/student/export/xlsx/?flt0_3=suspended")
    assert resp.status_code == 200
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id.desc()))
    assert row.detail == "XLSX：学籍状态 等于 休学"  # the filter in words, not "xlsx flt0_3=suspended"


def test_lists_say_yes_and_no(as_user, ctx):
    """Yes/no columns of lists (the calendar's 工作日, the accounts' 启用) read 是/否, not an icon titled "true"."""
    from datetime import date

    from models.calendar import CalendarDay

    db.session.add_all([CalendarDay(day=date(2031, 5, 6), is_workday=False, note="防汛停课"),
                        CalendarDay(day=date(2031, 5, 10), is_workday=True, note="调休上班")])
    db.session.commit()
    client = as_user("heping")
    html = client.get("/admin/calendar/?search=防汛停课").get_data(as_text=True)
    row = _text(html[html.index("2031-05-06"):])[:60]
    assert row.startswith("2031-05-06 否 防汛停课") and "fa-minus-circle" not in html and "is_workday: false" not in html
    users = client.get("/admin/users/").get_data(as_text=True)
    assert "fa-check-circle" not in users and ": true" not in users and "是" in _text(users)


def test_school_list_filters_offer_names(as_user, ctx):
    html = as_user("heping").get("/admin/school/").get_data(as_text=True)
    options = [(str(v), str(label)) for group in _filter_groups(html).values() for f in group
               for v, label in (f.get("options") or [])]
    labels = {label for _v, label in options}
    assert {"小学", "初中", "是", "否"} <= labels and not {"primary", "junior", "Yes", "No"} & labels


def test_audit_export_reads_in_words(as_user, ctx):
    req = make_request("transfer", "pending:1")
    archive.backup_on_leaving(req, user_of(req.student.school))
    db.session.commit()
    resp = as_user("audit-admin").get("/admin/audit/export/csv/?flt0_4=archive.backup")
    assert resp.status_code == 200, resp.status_code
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    header, line = rows[0], rows[1]
    assert line[header.index("操作")] == "备份学籍档案" and line[header.index("详情")].startswith("备份 #")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", line[header.index("时间")])
    assert "（" in line[header.index("用户")] and "@" not in line[header.index("用户")]
