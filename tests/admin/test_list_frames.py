"""admin/list_frames.py: the pupils' list page kept a minute around freshly read rows — per account,
URL, language, total and navbar; never shared between accounts; never holding rows, a token or a
nonce; the same page as one rendered in full."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from sqlalchemy import select

from admin import list_frames
from models.student import Student

TOKENS = re.compile(r'(nonce="|name="csrf-token" content="|name="csrf_token" type="hidden" value="|'
                    r'type="hidden" name="csrf_token" value="|name="_once" value="|data-csrf=")[^"]*"')


@pytest.fixture
def signed_in(as_user):
    """A client past the login's own message (a page with a flashed message is never kept)."""
    def _client(who: str):
        c = as_user(who)
        c.get("/admin/")
        return c
    return _client


@pytest.fixture(autouse=True)
def empty_cache():
    list_frames.clear()
    yield
    list_frames.clear()


def _masked(page: str) -> str:
    return TOKENS.sub(r'\1…"', page)


def _full(app: Flask, client, url: str) -> str:
    """The page rendered in full by Flask-Admin, nothing kept."""
    app.config["LIST_FRAME_SECONDS"] = 0
    try:
        return client.get(url).get_data(as_text=True)
    finally:
        app.config.pop("LIST_FRAME_SECONDS")


URLS = ("/admin/student/", "/admin/student/?sort=1", "/admin/student/?sort=3&desc=1&page_size=50",
        "/admin/student/?search=王", "/admin/student/?flt0_3=enrolled&page=1",
        "/admin/student/?search=%3Cb%3E%E4%B8%8D%E5%AD%98%E5%9C%A8", "/admin/archive_overdue/")


@pytest.mark.parametrize("who", ["school-heping1", "heping", "province"])
def test_a_kept_page_is_the_page_rendered_in_full(app: Flask, signed_in, who: str) -> None:
    c = signed_in(who)
    for url in URLS:
        first = c.get(url).get_data(as_text=True)  # rendered, its frame kept
        kept = c.get(url).get_data(as_text=True)  # the kept frame around the rows read again
        full = _full(app, c, url)
        assert _masked(first) == _masked(kept) == _masked(full), url
    assert list_frames._frames


def test_the_holes_get_this_requests_token_and_nonce(app: Flask, signed_in) -> None:
    c = signed_in("school-heping1")
    c.get("/admin/student/")
    resp = c.get("/admin/student/")
    page = resp.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in page
    assert set(re.findall(r'nonce="([^"]+)"', page)) == {nonce}
    tokens = {html.unescape(t) for t in re.findall(r'(?:csrf_token"(?: type="hidden")? value|data-csrf)="([^"]+)"', page)}
    assert len(tokens) == 1 and "xueji-" not in page
    # the token works: a quick-edit post with it from the kept page is accepted by CSRFProtect
    pupil = re.search(r'data-pk="(\d+)"', page)
    assert pupil
    token = tokens.pop()
    assert c.post("/admin/student/ajax/update/", data={"list_form_pk": pupil.group(1), "phone": "13800138000",
                                                      "csrf_token": token}).status_code == 200


def test_a_kept_frame_never_holds_rows_tokens_or_a_nonce(signed_in) -> None:
    for who in ("school-heping1", "heping", "province"):
        signed_in(who).get("/admin/student/?sort=1")
    assert list_frames._frames
    for _expires, frame in list_frames._frames.values():
        literal = "".join(frame.parts[0::2])
        assert "/admin/student/details/?id=" not in literal  # no row
        assert 'class="col-name"' not in literal
        assert not re.search(r'nonce="[^"]+"', literal)  # only nonce="<hole>"
        assert "_once" not in literal
        assert frame.parts.count(list_frames.ROWS) == 1


def test_the_rows_are_read_on_every_request(app: Flask, signed_in) -> None:
    c = signed_in("school-heping1")
    before = c.get("/admin/student/?sort=1").get_data(as_text=True)
    m = re.search(r'class="col-name">([^<]+)<', before)
    assert m
    # the same URL and total: the frame is kept, but a renamed pupil shows at once
    with app.app_context():
        from sqlalchemy import update

        from extensions import db

        db.session.execute(update(Student).where(Student.name == m.group(1)).values(name="改名测试"))
        db.session.commit()
    after = c.get("/admin/student/?sort=1").get_data(as_text=True)
    assert "改名测试" in after and len(list_frames._frames) == 1


def test_the_frame_follows_the_url_the_total_and_the_navbar(app: Flask, signed_in) -> None:
    c = signed_in("school-heping1")
    c.get("/admin/student/?sort=1")
    c.get("/admin/student/?sort=3&desc=1")
    assert len(list_frames._frames) == 2
    totals = {k[8] for k in list_frames._frames}  # the total, the first of the view's frame_inputs
    assert len(totals) == 1
    (total,) = totals
    page = c.get("/admin/student/?sort=1").get_data(as_text=True)
    assert f"列表 ({total})" in page


def test_a_new_message_shows_in_the_navbar_of_a_kept_page(app: Flask, signed_in) -> None:
    """The navbar's counts are holes of the frame: a new message shows at once, and the frame is kept
    as long as the count stays above zero (zero or not changes the badge's colour: in the key)."""
    c = signed_in("school-heping1")

    def unread(page: str) -> int:
        return int(re.search(r'id="navbar-unread-count"[^>]*>(\d+)<', page).group(1))

    def message() -> None:
        with app.app_context():
            from extensions import db
            from models.people import User
            from services import notifications

            user = db.session.scalar(select(User).where(User.email == "school-heping1@xueji.demo"))
            notifications.notify([user], notifications.STEP_WAITING, "测试消息", "正文")
            db.session.commit()

    message()
    first = c.get("/admin/student/").get_data(as_text=True)
    n = unread(first)
    assert n >= 1 and f'title="未读消息：{n} 条"' in first
    kept = dict(list_frames._frames)
    message()
    second = c.get("/admin/student/").get_data(as_text=True)
    assert unread(second) == n + 1 and f'title="未读消息：{n + 1} 条"' in second
    assert list_frames._frames.keys() == kept.keys()  # the same frame, the new count in its hole
    assert 'class="badge badge-pill badge-danger">' + str(n + 1) + "</span>" in second  # the account menu's badge too


def test_accounts_never_share_a_frame(signed_in) -> None:
    school = signed_in("school-heping1").get("/admin/student/").get_data(as_text=True)
    county = signed_in("heping").get("/admin/student/").get_data(as_text=True)
    assert 'class="col-phone"' in school and 'class="col-phone"' not in county  # a school's own columns
    assert len({k[5] for k in list_frames._frames}) == 2


def test_a_flashed_message_is_shown_once_and_not_kept(app: Flask, signed_in) -> None:
    c = signed_in("school-heping1")
    c.get("/admin/student/")
    with c.session_transaction() as sess:
        sess["_flashes"] = [("info", "一次性提示")]
    assert "一次性提示" in c.get("/admin/student/").get_data(as_text=True)
    assert "一次性提示" not in c.get("/admin/student/").get_data(as_text=True)


def test_the_frame_expires_and_can_be_turned_off(app: Flask, signed_in, monkeypatch) -> None:
    c = signed_in("school-heping1")
    c.get("/admin/student/")
    assert list_frames._frames
    later = list_frames.time.monotonic() + list_frames.FRAME_SECONDS + 1
    monkeypatch.setattr(list_frames.time, "monotonic", lambda: later)
    before = dict(list_frames._frames)
    c.get("/admin/student/")
    assert all(list_frames._frames[k][0] > before[k][0] for k in before)  # rendered again, kept anew
    list_frames.clear()
    app.config["LIST_FRAME_SECONDS"] = 0
    try:
        assert c.get("/admin/student/").status_code == 200
        assert not list_frames._frames
    finally:
        app.config.pop("LIST_FRAME_SECONDS")


def test_a_list_without_rows_is_rendered_in_full(signed_in) -> None:
    c = signed_in("school-heping1")
    page = c.get("/admin/student/?search=没有这个学生名字").get_data(as_text=True)
    assert 'id="no-pupils"' in page or "Nothing matches" in page or "没有" in page
    assert not list_frames._frames  # no rows' hole: nothing kept


def test_the_archive_overdue_list_is_kept_too(signed_in) -> None:
    c = signed_in("school-heping1")
    assert c.get("/admin/archive_overdue/").status_code == 200
    assert c.get("/admin/archive_overdue/").status_code == 200


def test_the_oldest_frames_go_beyond_the_budget(app: Flask, signed_in) -> None:
    c = signed_in("school-heping1")
    c.get("/admin/student/?sort=1")
    (first,) = list_frames._frames.values()
    app.config["LIST_FRAME_BUDGET"] = int(first[1].size * 2.5)  # room for two
    try:
        for url in ("/admin/student/?sort=2", "/admin/student/?sort=3", "/admin/student/?sort=4"):
            c.get(url)
        assert len(list_frames._frames) == 2
        assert [k[3] for k in list_frames._frames] == ["/admin/student/?sort=3", "/admin/student/?sort=4"]
        assert list_frames._kept_size == sum(f.size for _e, f in list_frames._frames.values())
    finally:
        app.config.pop("LIST_FRAME_BUDGET")
