"""全国学籍对接 on screen (admin/national.py): the page in Chinese, the exports behind the gate and
audited, the upload refused clearly, the review and the apply (CSRF, once), the authorities read
only, and another unit is absent (404)."""

from __future__ import annotations

import io

from sqlalchemy import select

from extensions import db
from models.audit import AuditLog, StudentHistory
from models.student import Student
from tests.export_helpers import open_gate
from tests.helpers import HEPING1, SHENHE1, school
from tests.national_helpers import build_pupils, edited, exported, row_of
from tests.transfer_helpers import user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _setup(app, n: int = 6):
    with app.test_request_context():
        unit = school(HEPING1)
        pupils = build_pupils(unit, n, seed=9)
        p = next(p for p in pupils if p.id_type == "1")
        data = exported(user("school-heping1"), unit)
        row = row_of(data, p.id)
        changed = edited(data, {(row, "联系电话"): "13711112222", (row, "电子信箱"): "new@example.cn"})
        return unit.id, p.id, changed


def _upload(client, unit_id: int, data: bytes, name: str = "全国.xlsx"):
    return client.post_form("/admin/national/reconcile", {"unit_id": str(unit_id), "file": (io.BytesIO(data), name)},
                            token_from="/admin/national/", content_type="multipart/form-data")


def test_the_page_is_in_chinese_under_its_menu_item_and_says_what_happens_next(as_user):
    page = as_user("school-heping1").get("/admin/national/").get_data(as_text=True)
    assert "全国学籍对接" in page and "导出学生基本信息表" in page and "核对全国系统的学生基本信息表" in page
    assert "上传不会修改任何数据" in page and "我的申请" in page
    assert "National" not in page and "Export the" not in page
    # The period of the changes file is labelled as dates (not as the transfer's 转出/转入学校).
    assert '<label class="mr-2" for="changes-start">起始日期</label>' in page
    assert '<label class="mr-2" for="changes-end">截止日期</label>' in page


def test_the_basic_export_needs_an_approved_request(as_user):
    resp = as_user("school-heping1").get("/admin/national/basic.xlsx")
    assert resp.status_code == 302 and "/export_requests/new" in resp.headers["Location"]
    assert "kind=national_basic" in resp.headers["Location"]


def test_the_basic_export_once_allowed_is_a_national_file_and_is_audited(app, as_user, monkeypatch):
    open_gate(monkeypatch)
    resp = as_user("school-heping1").get("/admin/national/basic.xlsx")
    assert resp.status_code == 200 and resp.mimetype == XLSX and "attachment" in resp.headers["Content-Disposition"]
    from openpyxl import load_workbook

    header = next(load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert header[:3] == ("姓名", "性别", "出生日期") and "成员2身份证件号" in header
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "national.export")) is not None


def test_another_units_export_is_absent(app, as_user, monkeypatch):
    open_gate(monkeypatch)
    with app.app_context():
        other = school(SHENHE1).id
    c = as_user("school-heping1")
    assert c.get(f"/admin/national/basic.xlsx?unit_id={other}").status_code == 404
    assert c.get(f"/admin/national/changes.xlsx?unit_id={other}&start=2026-01-01&end=2026-12-31").status_code == 404


def test_a_bad_upload_is_refused_with_a_chinese_message_and_nothing_is_stored(app, as_user):
    c = as_user("school-heping1")
    with app.app_context():
        unit_id = school(HEPING1).id
    page = _upload(c, unit_id, b"%PDF-1.4 not a workbook", "x.xlsx").headers["Location"]
    body = c.get(page).get_data(as_text=True)
    assert "不是 Excel 工作簿" in body
    assert c.get("/admin/national/review", follow_redirects=True).get_data(as_text=True).count("请先上传全国系统的文件") == 1


def test_the_review_shows_the_differences_and_the_apply_changes_only_the_ticked_field_once(app, as_user):
    unit_id, pupil_id, changed = _setup(app)
    c = as_user("school-heping1")
    resp = _upload(c, unit_id, changed)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/national/review")
    page = c.get("/admin/national/review").get_data(as_text=True)
    assert "与全国系统的差异" in page and "联系电话" in page and "13711112222" in page and "电子信箱" in page
    assert f'value="{pupil_id}:phone"' in page

    # Without the CSRF token: refused, nothing changes.
    assert c.post("/admin/national/apply", data={"accept": f"{pupil_id}:phone"}).status_code == 400
    # With it, sent twice with the same form (a double click): one effect.
    html = c.get("/admin/national/review").get_data(as_text=True)
    from tests.conftest import ONCE_RE, csrf_from

    form = {"csrf_token": csrf_from(html), "accept": f"{pupil_id}:phone"}
    once = ONCE_RE.search(html)
    if once:
        form["_once"] = once.group(1)
    first = c.post("/admin/national/apply", data=form, follow_redirects=True).get_data(as_text=True)
    assert "已按全国系统修改1名学生的1项信息" in first
    c.post("/admin/national/apply", data=form, follow_redirects=True)
    with app.app_context():
        p = db.session.get(Student, pupil_id)
        assert p.phone == "13711112222" and p.email != "new@example.cn"
        rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == pupil_id,
                                                               StudentHistory.reason == "全国学籍系统核对")).all()
        assert [(h.field, h.new_value) for h in rows] == [("phone", "13711112222")]


def test_ticking_a_pupil_takes_over_all_of_its_fields(app, as_user):
    unit_id, pupil_id, changed = _setup(app)
    c = as_user("school-heping1")
    _upload(c, unit_id, changed)
    c.post_form("/admin/national/apply", {"accept_pupil": str(pupil_id)}, token_from="/admin/national/review")
    with app.app_context():
        p = db.session.get(Student, pupil_id)
        assert (p.phone, p.email) == ("13711112222", "new@example.cn")


def test_an_authority_sees_the_differences_but_cannot_apply(app, as_user):
    unit_id, pupil_id, changed = _setup(app)
    c = as_user("heping")
    _upload(c, unit_id, changed)
    page = c.get("/admin/national/review").get_data(as_text=True)
    assert "13711112222" in page and 'name="accept"' not in page and "只有学生所在学校可以采用" in page
    assert c.post_form("/admin/national/apply", {"accept": f"{pupil_id}:phone"},
                       token_from="/admin/national/review").status_code == 403


def test_another_school_sees_no_pupil_of_the_file(app, as_user):
    unit_id, _pupil_id, changed = _setup(app)
    with app.app_context():
        other = school(SHENHE1).id
    c = as_user("school-shenhe1")
    assert _upload(c, unit_id, changed).status_code == 404  # the unit is not theirs
    _upload(c, other, changed)
    page = c.get("/admin/national/review").get_data(as_text=True)
    assert "13711112222" not in page and "找不到对应学生的行" in page and 'name="accept"' not in page


def test_the_changes_check_reports_rows_in_chinese(app, as_user):
    with app.app_context():
        unit_id = school(HEPING1).id
    from tests.national_helpers import sheet

    data = sheet([["张三", "1", "20160101", "1", "", "休学", "20260302", "", "", ""]],
                 ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "变动类型", "变动日期", "变动原因", "原学校", "现学校"])
    page = as_user("school-heping1").post_form(
        "/admin/national/changes-check", {"unit_id": str(unit_id), "file": (io.BytesIO(data), "变动.xlsx")},
        token_from="/admin/national/", content_type="multipart/form-data").get_data(as_text=True)
    assert "全国系统学籍变动核对结果" in page and "本系统没有" in page and "未办理任何变动" in page


def test_an_approved_request_produces_the_national_file_which_reads_back_without_difference(app, as_user, monkeypatch):
    """The whole way of 第二十八条: the school asks, the county approves, the file is produced with its
    watermark line; read back for 核对, it shows no difference."""
    from services import export_requests
    from tests.security.test_export_requests import ask, decide, produce

    monkeypatch.setattr(export_requests, "start", lambda req: None)
    c = as_user("school-heping1")
    request_id = ask(c, "/admin/national/basic.xlsx", purpose="与全国中小学生学籍信息管理系统核对学籍")
    decide(as_user("heping"), request_id)
    req = produce(app, request_id)
    assert req.status == "ready", req.error
    resp = c.get(f"/admin/export_requests/{request_id}/download")
    assert resp.status_code == 200
    with app.app_context():
        unit_id = school(HEPING1).id
    _upload(c, unit_id, resp.data)
    page = c.get("/admin/national/review").get_data(as_text=True)
    assert "0名学生有差异，0行找不到" in page, page[:2000]


def test_the_held_file_is_its_own_and_goes_a_day_after_its_upload(app, as_user):
    """The uploaded national file is held under a random name (not among the archive's content-addressed
    files) and removed a day later by the next upload; a review of a removed file asks to upload again."""
    import time

    from services import storage
    from services.national import held_files

    unit_id, _pupil_id, changed = _setup(app)
    c = as_user("school-heping1")
    with app.app_context():
        before = {name for name, _at in storage.current().records(held_files.FOLDER)}  # other tests' uploads
    _upload(c, unit_id, changed)
    with app.app_context():
        new = [name for name, _at in storage.current().records(held_files.FOLDER) if name not in before]
        assert len(new) == 1 and held_files.read(new[0].split("/")[-1].removesuffix(".xlsx")) == changed
        assert held_files.read("../../secrets") is None and held_files.read(None) is None
        # A day and a minute later, the next upload (by anyone) removes it.
        held_files.forget_old(now=time.time())
        assert new[0] in {name for name, _at in storage.current().records(held_files.FOLDER)}
        assert held_files.forget_old(now=time.time() + held_files.KEEP_SECONDS + 60) >= 1
        assert storage.current().records(held_files.FOLDER) == []
    page = c.get("/admin/national/review", follow_redirects=True).get_data(as_text=True)
    assert "已不再保留，请重新上传" in page
