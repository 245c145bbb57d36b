"""Empty and first-run states say what to do (issue 14, point 8): an empty queue, a school with no
pupils, a year with no roster yet, and the lists of export requests, certificates, problems and the
audit log with no rows. `school-special@xueji.demo` (沈阳市和平区特殊教育学校) has no pupils.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask_babel import force_locale

from admin.audit import AuditView
from admin.changes import QUEUE_EMPTY
from tests.admin.test_request_pages import ENGLISH_RE

TAG_RE = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(TAG_RE.sub(" ", html)))


def _empty_row(html: str) -> str:
    """The text of Flask-Admin's empty-list cell (the model lists)."""
    m = re.search(r'<td colspan="\d+">\s*<div class="text-center">(.*?)</div>', html, re.S)
    assert m, "no empty-list message on the page"
    return text(m.group(1)).strip()


def test_a_school_without_pupils_is_told_how_to_add_them(as_user):
    resp = as_user("school-special").get("/admin/student/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="no-pupils"' in html
    message = _empty_row(html)
    assert message.startswith("本校还没有学生。") and "从 Excel 导入学生" in message and "新建学生" in message, message
    assert 'href="/admin/imports/"' in html and 'href="/admin/student/new/' in html
    assert not ENGLISH_RE.search(message.replace("Excel", ""))  # the program's name is the one Latin word


def test_a_search_that_finds_nothing_says_so_instead(as_user):
    html = as_user("school-special").get("/admin/student/?search=不存在的名字").get_data(as_text=True)
    assert _empty_row(html) == "没有符合搜索或筛选条件的记录。清除条件即可看到全部。"
    assert 'id="no-pupils"' not in html


@pytest.mark.parametrize(("queue", "words"), [
    ("waiting", "暂无待办。新的申请提交后会出现在这里。"),
    ("requested", "本单位还没有发起过申请。可以用上方的按钮发起转学或学籍变动。"),
    ("overdue", "没有超期的申请。"),
])
def test_an_empty_queue_says_what_fills_it(as_user, queue, words):
    resp = as_user("school-special").get(f"/admin/requests/?queue={queue}")
    assert resp.status_code == 200
    assert _empty_row(resp.get_data(as_text=True)) == words


def test_every_queue_has_its_message(app):
    from services import workflows

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for queue in workflows.QUEUES:
            words = str(QUEUE_EMPTY.get(queue, QUEUE_EMPTY["all"]))
            assert words and not ENGLISH_RE.search(words), (queue, words)


def test_a_year_with_no_register_submitted_says_what_to_do_and_by_when(as_user):
    resp = as_user("school-special").get("/admin/rosters/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    m = re.search(r'id="roster-none">(.*?)</p>', html, re.S)
    assert m, "no first-run message on the rosters page"
    words = text(m.group(1))
    assert words.startswith("本学年的名册尚未报送") and "勾选确认" in words
    # the demo's today (December) is past the deadline of 30 September: it says so, and what to do now
    assert re.search(r"在 \d{4}-\d{2}-\d{2} 前报送", words) or re.search(r"截止日期（\d{4}-\d{2}-\d{2}）已过.*立即报送", words), words


def test_a_graduation_roster_not_compiled_says_when(as_user):
    resp = as_user("school-special").get("/admin/graduation/", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    m = re.search(r'id="roster-empty">(.*?)</td>', html, re.S)
    assert m
    words = text(m.group(1))
    assert "花名册中暂无学生" in words and ("编制" in words), words
    assert not ENGLISH_RE.search(words)


def test_no_export_request_yet(as_user):
    html = as_user("school-special").get("/admin/export_requests/").get_data(as_text=True)
    m = re.search(r'id="export-requests-empty">(.*?)</td>', html, re.S)
    assert m and text(m.group(1)).startswith("您还没有提交过导出申请。") and "导出" in text(m.group(1))
    pending = as_user("heping").get("/admin/export_requests/pending").get_data(as_text=True)
    m = re.search(r'id="export-requests-empty">(.*?)</td>', pending, re.S)
    assert m and text(m.group(1)).startswith("暂无待审批的导出申请。")


def test_no_certificate_yet(as_user):
    resp = as_user("school-special").get("/admin/certificates/")
    assert resp.status_code == 200
    words = _empty_row(resp.get_data(as_text=True))
    assert words.startswith("还没有证书。") and "按毕业班发证、打印" in words, words


def test_no_problem_record(as_user):
    resp = as_user("school-special").get("/admin/problems/")
    assert resp.status_code == 200
    assert _empty_row(resp.get_data(as_text=True)).startswith("暂无问题学籍。")


def test_an_audit_search_with_no_rows(as_user):
    c = as_user("audit-admin")
    html = c.get("/admin/audit/?flt0_0=2001-01-01&flt1_1=2001-01-02").get_data(as_text=True)
    assert _empty_row(html) == "没有符合搜索或筛选条件的记录。清除条件即可看到全部。"


def test_the_audit_logs_own_empty_message(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert str(AuditView.empty_list_message) == "暂无日志记录。每次登录、修改、打印和导出都会记录在这里。"


@pytest.mark.parametrize(("who", "path", "first_page"), [
    ("school-heping1", "/admin/student/", None),  # a school with pupils: its first page has rows
    ("heping", "/admin/student/", None),  # an official's counted list
    ("school-special", "/admin/student/", "本校还没有学生。"),  # past the end of an empty list all the same
    ("school-heping1", "/admin/requests/?queue=requested", "本单位还没有发起过申请。"),
])
def test_a_page_past_the_end_says_so_and_leads_back_to_the_first(as_user, who, path, first_page):
    """A stale link or rows gone since: the page is empty, not the list (a school with 497 pupils was
    told it had none and should import them). The link back keeps the sort and the search."""
    client = as_user(who)
    joiner = "&" if "?" in path else "?"
    resp = client.get(f"{path}{joiner}page=99&sort=1&search=")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="no-pupils"' not in html
    assert _empty_row(html) == "这一页已超出列表末尾，没有记录。 回到第一页"
    first = re.search(r'<a href="([^"]+)">回到第一页</a>', html)
    assert first, html
    link = unescape(first.group(1))
    assert link.startswith(path.split("?")[0]) and "page=" not in link and "sort=1" in link
    back = client.get(link)
    page = back.get_data(as_text=True)
    assert back.status_code == 200 and "回到第一页" not in page
    if first_page is None:  # rows, and no empty-list cell
        assert not re.search(r'<td colspan="\d+">\s*<div class="text-center">', page)
    else:
        assert _empty_row(page).startswith(first_page)


def test_a_search_past_the_end_keeps_its_search_on_the_way_back(as_user):
    html = as_user("school-heping1").get("/admin/student/?search=%E7%8E%8B&page=5").get_data(as_text=True)
    link = unescape(re.search(r'<a href="([^"]+)">回到第一页</a>', html).group(1))
    assert "search=%E7%8E%8B" in link and "page=" not in link
