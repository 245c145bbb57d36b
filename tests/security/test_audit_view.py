"""The audit screen (issue 13, point 16): the audit administrator filters the log by date, unit,
user and action; actions have Chinese names; nobody can create, edit or delete a row."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.org import OrgUnit
from models.people import User
from services import audit, clock

URL = "/admin/audit/"
ROOT = Path(__file__).resolve().parents[2]
# Filter indices in URLs (admin/audit.py keeps their order).
DATE_FROM, DATE_TO, UNIT, USER, ACTION = 0, 1, 2, 3, 4


def _user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@xueji.demo"))


def _row(who: str, action: str, detail: str, days_ago: int = 0) -> AuditLog:
    row = audit.record(_user(who), action, "student", 1, detail)
    row.at = clock.now().replace(hour=9, minute=30, second=12) - timedelta(days=days_ago)
    db.session.commit()
    return row


def _body(client, query: str = "") -> str:
    resp = client.get(URL + query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_audit_admin_sees_chinese_actions_minutes_and_name_with_unit(as_user, ctx):
    _row("school-heping1", "student.view", "标记甲")
    html = _body(as_user("audit-admin"))
    assert "标记甲" in html
    assert re.search(r'class="col-action">\s*查看学籍\s*<', html)  # the name, not the code
    assert not re.search(r'class="col-action">\s*student\.view', html)
    heping1 = _user("school-heping1")
    assert f"王丽（{heping1.unit.name}）" in html and heping1.email not in html  # the name without its note （学籍管理员）
    assert re.search(r"\d{4}-\d\d-\d\d 09:30\s*<", html) and "09:30:12" not in html


def test_filter_by_date_range(as_user, ctx):
    _row("heping", "student.view", "十天前的行", days_ago=10)
    _row("heping", "student.view", "今天的行")
    client = as_user("audit-admin")
    ten = (clock.today() - timedelta(days=10)).isoformat()
    html = _body(client, f"?flt0_{DATE_FROM}={ten}&flt1_{DATE_TO}={ten}")
    assert "十天前的行" in html and "今天的行" not in html
    html = _body(client, f"?flt0_{DATE_FROM}={clock.today().isoformat()}")
    assert "今天的行" in html and "十天前的行" not in html


def test_filter_by_unit_includes_its_subordinate_units(as_user, ctx):
    _row("school-heping1", "student.view", "和平一校的行")
    _row("school-shenhe1", "student.view", "沈河一校的行")
    heping = db.session.scalar(select(OrgUnit).where(OrgUnit.id == _user("heping").unit_id))
    html = _body(as_user("audit-admin"), f"?flt0_{UNIT}={heping.id}")
    assert "和平一校的行" in html and "沈河一校的行" not in html


def test_filter_by_user_name_or_email(as_user, ctx):
    _row("school-heping1", "student.view", "甲的行")
    _row("school-heping2", "student.view", "乙的行")
    client = as_user("audit-admin")
    html = _body(client, f"?flt0_{USER}=school-heping2")
    assert "乙的行" in html and "甲的行" not in html
    name = _user("school-heping1").name
    html = _body(client, f"?flt0_{USER}={name}")
    assert "甲的行" in html and "乙的行" not in html


def test_filter_by_action_offers_chinese_names(as_user, ctx):
    _row("heping", "export", "导出的行")
    _row("heping", "student.view", "查看的行")
    client = as_user("audit-admin")
    html = _body(client, f"?flt0_{ACTION}=export")
    assert "导出的行" in html and "查看的行" not in html
    assert "导出名单" in _body(client)  # the filter's options are the Chinese names


def test_officials_keep_their_subtree_only(as_user, ctx):
    _row("school-heping1", "student.view", "和平一校的行")
    _row("school-shenhe1", "student.view", "沈河一校的行")
    html = _body(as_user("heping"))
    assert "和平一校的行" in html and "沈河一校的行" not in html


def test_schools_have_no_audit_screen(as_user, ctx):
    assert as_user("school-heping1").get(URL).status_code == 403


@pytest.mark.parametrize("who", ["audit-admin", "admin", "heping"])
def test_no_create_edit_or_delete(as_user, ctx, who):
    row = _row("heping", "student.view", "不可改的行")
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    client = as_user(who)
    token = client.csrf("/admin/")  # the navbar's logout form: every account has a token, even without this screen
    assert client.get(URL + "new/").status_code in (302, 403, 404)
    assert client.get(f"{URL}edit/?id={row.id}").status_code in (302, 403, 404)
    client.post(URL + "new/", data={"csrf_token": token, "action": "改", "detail": "伪造"})
    client.post(f"{URL}edit/?id={row.id}", data={"csrf_token": token, "detail": "改过"})
    client.post(URL + "delete/", data={"csrf_token": token, "id": str(row.id)})
    client.post(URL + "action/", data={"csrf_token": token, "action": "delete", "rowid": str(row.id)})
    db.session.expire_all()
    assert db.session.get(AuditLog, row.id).detail == "不可改的行"
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) >= before
    assert not db.session.scalar(select(AuditLog).where(AuditLog.detail == "伪造"))
    resp = client.get(URL)
    if who == "admin":  # 三员分立: the system administrator has no audit screen at all
        assert resp.status_code == 403
        return
    html = resp.get_data(as_text=True)
    assert "/admin/audit/edit/" not in html and "/admin/audit/delete/" not in html and "/admin/audit/new/" not in html


def test_every_recorded_action_has_a_chinese_name(ctx):
    """Every action string a `record(` call writes (literal or built from known parts) is in the table."""
    written: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if any(part in {".venv", "tests", "migrations"} for part in path.relative_to(ROOT).parts):
            continue
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r"\brecord\(\s*[\w().]+,\s*\"([a-z_.]+)\"", text))
    # constants: services/archive.py, services/audit_chain.py, services/dormant_accounts.py
    written |= {"archive.add", "archive.edit", "audit.purge", "user.disable_dormant"}
    written |= {f"problem.resolve.{r}" for r in ("evidence", "corrected", "cancelled")}  # services/problems.py
    assert written, "no record( calls found"
    missing = sorted(written - set(audit.ACTION_LABELS))
    assert missing == []
    assert all(re.search(r"[\u4e00-\u9fff]", audit.action_label(code)) for code in audit.ACTION_LABELS)
    assert audit.action_label("student.view.extra") == "查看学籍（其他）"  # a new action of a known family
    assert audit.action_label("unknown.thing") == "其他操作"
