"""Issue 14, point 4: the pupil list's search box (services/pupil_search.py) and saved filters
(admin/saved_filters.py), through the HTTP client. Demo accounts: heping = 和平区 (county),
shenyang = 沈阳市 (city), school-heping1 = 和平一小; 沈河一小 lies in another county."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from sqlalchemy import select

from extensions import db
from models.saved_filter import SavedFilter
from services import pupil_search
from tests.builders import make_guardian, make_pupil
from tests.conftest import csrf_from

HEPING1, SHENHE1 = "2121000001", "2121000003"
LIST = "/admin/student/"


def _search(client, term: str) -> str:
    resp = client.get(f"{LIST}?search={quote(term)}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@dataclass(frozen=True)
class Pupil:
    id: int
    id_number: str
    xjh: str


def _pupil(app, school: str, name: str, phone: str | None = None, **kw) -> Pupil:
    """A pupil committed to the test database. No request context is kept around: requests of
    several clients would share its `g`, and with it the first client's login."""
    with app.app_context():
        if phone:
            kw["guardians"] = [make_guardian("1", name=name[0] + "大明", phone=phone)]
        pupil = make_pupil(school, name=name, **kw)
        db.session.commit()
        return Pupil(pupil.id, pupil.id_number, pupil.xjh)


@pytest.fixture
def xiaoming(app) -> Pupil:
    """王小明 of 和平一小, with a J-学籍号 (so its tail is not the ID number's) and a guardian's phone."""
    return _pupil(app, HEPING1, "王小明", phone="13912345678", xjh="J2120150101" + "00987650")


def test_name_contains_finds_wang_xiaoming_by_xiaoming(as_user, xiaoming):
    client = as_user("heping")
    assert "王小明" in _search(client, "小明")
    assert "王小明" in _search(client, "小")
    assert "王小明" in _search(client, "王小明")
    assert "王小明" not in _search(client, "小红")


@pytest.mark.parametrize("digits", [4, 5, 6])
def test_tail_of_the_id_number_finds_the_pupil(as_user, xiaoming, digits):
    page = _search(as_user("heping"), xiaoming.id_number[-digits:])
    assert "王小明" in page


@pytest.mark.parametrize("digits", [4, 6])
def test_tail_of_the_xjh_finds_the_pupil(as_user, xiaoming, digits):
    assert not xiaoming.id_number.endswith(xiaoming.xjh[-digits:])
    assert "王小明" in _search(as_user("heping"), xiaoming.xjh[-digits:])


def test_guardian_phone_finds_the_pupil(as_user, xiaoming):
    client = as_user("heping")
    assert "王小明" in _search(client, "139 1234 5678")  # spaces as people type them
    assert "王小明" not in _search(client, "13912345679")


def test_full_width_digits_are_read_as_ascii(as_user, xiaoming):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in xiaoming.id_number[-6:])
    assert "王小明" in _search(as_user("heping"), "\u3000" + full_width + " ")


def test_an_18_character_id_number_is_still_exact(as_user, xiaoming):
    client = as_user("heping")
    page = _search(client, xiaoming.id_number.lower())
    assert "王小明" in page
    assert len(re.findall(r'name="rowid"', page)) in (0, 1)  # one row (or no checkboxes at all)
    other = xiaoming.id_number[:-1] + ("0" if xiaoming.id_number[-1] != "0" else "1")
    assert "王小明" not in _search(client, other)
    assert "王小明" in _search(client, xiaoming.xjh)  # the full 学籍号 too


def test_a_pupil_of_another_county_is_never_found(app, as_user, xiaoming):
    other = _pupil(app, SHENHE1, "赵小明", phone="13912345678")
    heping = as_user("heping")
    for term in ("小明", other.id_number[-6:], other.id_number, "13912345678"):
        assert "赵小明" not in _search(heping, term), term
    assert "王小明" in _search(heping, "13912345678")
    school = as_user("school-heping1")
    assert "赵小明" not in _search(school, "小明")
    city = as_user("shenyang")  # 沈阳市 covers both counties
    page = _search(city, "小明")
    assert "王小明" in page and "赵小明" in page


@pytest.mark.parametrize("status", ["suspended", "graduated", "transferred_out", "pending"])
def test_every_status_is_searched(app, as_user, status):
    _pupil(app, HEPING1, "钱小明", status=status)
    assert "钱小明" in _search(as_user("heping"), "小明")


def test_the_search_box_says_what_it_searches(as_user):
    page = as_user("heping").get(LIST).get_data(as_text=True)
    assert "姓名、身份证件号或学籍号后4至6位、监护人电话" in page


def test_a_latin_name_keeps_its_space_and_any_case(app, as_user):
    _pupil(app, HEPING1, "Anna Lee")
    client = as_user("heping")
    for term in ("anna lee", "ANNA  LEE", "na Le", "Lee"):
        assert "Anna Lee" in _search(client, term), term


def test_wildcards_typed_in_a_name_are_plain_characters(as_user, xiaoming):
    client = as_user("heping")
    assert "王小明" not in _search(client, "%")
    assert "王小明" not in _search(client, "王_明")


@pytest.mark.parametrize("raw, kind, text", [
    (" 小 明 ", pupil_search.NAME, "小明"),
    ("１２３４", pupil_search.TAIL, "1234"),
    ("12345x", pupil_search.TAIL, "12345X"),
    ("139-1234", pupil_search.NAME, "139-1234"),
    ("13912345678", pupil_search.PHONE, "13912345678"),
    ("21010220150101123x", pupil_search.EXACT, "21010220150101123X"),
    ("g21010220150101123X", pupil_search.EXACT, "G21010220150101123X"),
    (" 王 小明 ", pupil_search.NAME, "王小明"),
    ("Anna  Lee", pupil_search.NAME, "Anna Lee"),
    ("139 1234 5678", pupil_search.PHONE, "13912345678"),
    ("   ", None, None),
])
def test_what_the_box_reads(raw, kind, text):
    term = pupil_search.classify(raw)
    assert (term.kind, term.text) == (kind, text) if kind else term is None


# --- saved filters ----------------------------------------------------------------------------

def _save(client, name: str, query: str, **extra):
    data = {"endpoint": "student.index_view", "name": name, "query": query, **extra}
    return client.post_form("/admin/saved_filters/save", data, token_from=LIST)


def _rows(app, who: str = "heping") -> list[tuple[int, str, str]]:
    """(id, name, query string) of the saved filters of who@xueji.demo, read in an app context of its own."""
    from models.people import User

    with app.app_context():
        return [(r.id, r.name, r.query_string) for r in db.session.scalars(
            select(SavedFilter).join(User, User.id == SavedFilter.user_id)
            .where(User.email == f"{who}@xueji.demo").order_by(SavedFilter.id))]


def test_save_list_open_and_delete_a_saved_filter(app, as_user, xiaoming):
    client = as_user("heping")
    resp = _save(client, "本区的小明 <b>", "search=%E5%B0%8F%E6%98%8E&flt0_3=enrolled&page=3")
    assert resp.status_code == 302
    assert "page=" not in resp.headers["Location"] and "search=" in resp.headers["Location"]
    ((fid, name, query),) = _rows(app)
    assert (name, query) == ("本区的小明 <b>", "search=%E5%B0%8F%E6%98%8E&flt0_3=enrolled")

    page = client.get(LIST).get_data(as_text=True)
    assert "已保存的筛选" in page
    assert "本区的小明 &lt;b&gt;" in page and "本区的小明 <b>" not in page  # the name is escaped
    assert f"/admin/saved_filters/{fid}/" in page

    opened = client.get(f"/admin/saved_filters/{fid}/")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"{LIST}?search=%E5%B0%8F%E6%98%8E&flt0_3=enrolled")
    assert "王小明" in client.get(opened.headers["Location"]).get_data(as_text=True)

    _save(client, "本区的小明 <b>", "search=1234")  # the same name again replaces it
    assert _rows(app) == [(fid, "本区的小明 <b>", "search=1234")]

    gone = client.post_form(f"/admin/saved_filters/{fid}/delete", {}, token_from=LIST)
    assert gone.status_code == 302
    assert _rows(app) == []
    assert "还没有" in client.get(LIST).get_data(as_text=True)


def test_another_users_saved_filter_answers_404(app, as_user):
    owner = as_user("heping")
    _save(owner, "我的筛选", "search=1234")
    ((fid, _name, _query),) = _rows(app)
    other = as_user("shenhe")
    assert other.get(f"/admin/saved_filters/{fid}/").status_code == 404
    assert other.post_form(f"/admin/saved_filters/{fid}/delete", {}, token_from=LIST).status_code == 404
    assert other.get("/admin/saved_filters/999999/").status_code == 404
    assert len(_rows(app)) == 1
    assert "我的筛选" not in other.get(LIST).get_data(as_text=True)
    assert "我的筛选" in owner.get(LIST).get_data(as_text=True)


def test_saving_and_deleting_need_the_csrf_token(app, as_user):
    client = as_user("heping")
    assert client.post("/admin/saved_filters/save", data={
        "endpoint": "student.index_view", "name": "x", "query": ""}).status_code == 400
    assert _rows(app) == []
    _save(client, "留着", "search=1234")
    ((fid, _name, _query),) = _rows(app)
    assert client.post(f"/admin/saved_filters/{fid}/delete").status_code == 400
    assert len(_rows(app)) == 1


def test_bad_saves_are_refused_in_chinese(app, as_user):
    client = as_user("heping")
    page = client.get(_save(client, "  ", "search=1").headers["Location"]).get_data(as_text=True)
    assert "请填写筛选名称" in page
    page = client.get(_save(client, "长" * 61, "search=1").headers["Location"]).get_data(as_text=True)
    assert "筛选名称不能超过 60 个字" in page
    assert _save(client, "别的列表", "a=1", endpoint="users.index_view").status_code == 400
    assert _rows(app) == []


def test_the_form_on_the_list_carries_its_token(as_user):
    page = as_user("heping").get(f"{LIST}?search=%E5%B0%8F").get_data(as_text=True)
    panel = page.split('id="saved-filters"')[1].split("</div>\n</div>")[0]
    assert csrf_from(panel)
    assert 'name="query" value="search=%E5%B0%8F"' in panel


def test_the_overdue_archives_list_saves_its_own_filters(app, as_user):
    client = as_user("heping")
    assert client.get("/admin/archive_overdue/").status_code == 200
    resp = client.post_form("/admin/saved_filters/save", {"endpoint": "archive_overdue.index_view", "name": "逾期",
                                                           "query": "search=1234"}, token_from="/admin/archive_overdue/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/archive_overdue/")
    assert "逾期" in client.get("/admin/archive_overdue/").get_data(as_text=True).split('id="saved-filters"')[1]
    assert "逾期" not in client.get(LIST).get_data(as_text=True).split('id="saved-filters"')[1].split("</form>")[0]
