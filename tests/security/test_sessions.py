"""Sessions (issue 13, point 8): logout is a POST with a CSRF token and ends the session on the
server; idle and absolute expiry; one session per account; cookie flags."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from config import Config
from extensions import db
from models.people import User
from models.sessions import LoginSession
from services import clock
from tests.conftest import csrf_from, login

STUDENTS = "/admin/student/"


def _logout(client):
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    return client.post("/logout", data={"csrf_token": token})


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _refused_with(client, message: str) -> None:
    resp = client.get(STUDENTS)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert message in page, page
    assert client.get(STUDENTS).status_code == 302  # and it stays logged out


def _row(app, email: str) -> LoginSession:
    """The newest session row of the account, read afresh."""
    with app.app_context():
        row = db.session.scalars(select(LoginSession).join(User, User.id == LoginSession.user_id)
                                 .where(User.email == email).order_by(LoginSession.created_at.desc())).first()
        db.session.expunge(row)
        return row


def test_the_navbar_logs_out_with_a_post_form_carrying_the_csrf_token(as_user):
    html = as_user("school-heping1").get("/admin/").get_data(as_text=True)
    form = html.split('id="logout-form"', 1)[1].split("</form>", 1)[0]
    assert 'method="post"' in form and 'action="/logout"' in form and 'name="csrf_token"' in form
    assert "退出" in form
    assert 'href="/logout"' not in html


def test_logout_by_post_with_the_token_logs_out(as_user, app):
    c = as_user("school-heping1")
    resp = _logout(c)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert c.get(STUDENTS).status_code == 302
    assert _audited(app, "logout") == ["school-heping1@xueji.demo"]


def _audited(app, action: str) -> list[str]:
    from models.audit import AuditLog

    with app.app_context():
        return [r.user_email for r in db.session.scalars(select(AuditLog).where(AuditLog.action == action))]


def test_logout_without_the_token_is_refused_and_the_user_stays_logged_in(as_user):
    c = as_user("school-heping1")
    resp = c.post("/logout")
    assert resp.status_code == 400
    assert "表单" in resp.get_data(as_text=True)  # the Chinese "form expired" page
    assert c.get(STUDENTS).status_code == 200


def test_get_logout_answers_in_chinese_not_an_english_405(as_user, app):
    for client in (as_user("school-heping1"), app.test_client()):
        resp = client.get("/logout")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 405
        assert "Method Not Allowed" not in html and "not allowed" not in html.lower()
        assert "此地址不能直接打开" in html
    # and a GET does not log anyone out
    c = as_user("school-heping2")
    c.get("/logout")
    assert c.get(STUDENTS).status_code == 200


def test_a_copy_of_the_cookie_opens_nothing_after_logout(as_user, app):
    c = as_user("school-heping1")
    stolen = _session_cookie(c)
    assert _logout(c).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get(STUDENTS)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert "本会话已结束" in thief.get("/login").get_data(as_text=True)
    assert _row(app, "school-heping1@xueji.demo").end_reason == "logout"


def test_a_login_on_a_second_device_ends_the_first_session_which_says_why(app):
    first = login(app, "school-heping1@xueji.demo")
    assert first.get(STUDENTS).status_code == 200
    second = login(app, "school-heping1@xueji.demo")
    assert second.get(STUDENTS).status_code == 200
    _refused_with(first, "您的账号已在另一台设备登录，本会话已结束。")
    assert second.get(STUDENTS).status_code == 200  # the newer session is untouched


def test_an_idle_session_expires_after_30_minutes(as_user, app, monkeypatch):
    c = as_user("school-heping1")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29))
    assert c.get(STUDENTS).status_code == 200  # 29 minutes idle: still open, and seen again now
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29 + 31))
    _refused_with(c, "会话因 30 分钟无操作已过期，请重新登录。")
    assert _row(app, "school-heping1@xueji.demo").end_reason == "idle"
    assert _audited(app, "session.end") == ["school-heping1@xueji.demo"]


def test_every_session_expires_after_12_hours_even_when_active(as_user, app, monkeypatch):
    c = as_user("school-heping1")
    start = clock.now()
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes: never idle
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + timedelta(minutes=m))
        assert c.get("/admin/").status_code == 200, minutes
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=12))
    _refused_with(c, "会话已达 12 小时上限")
    assert _row(app, "school-heping1@xueji.demo").end_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(as_user, app, monkeypatch):
    c = as_user("school-heping1")
    start = _row(app, "school-heping1@xueji.demo").last_seen_at
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=50))
    c.get("/admin/")
    assert _row(app, "school-heping1@xueji.demo").last_seen_at == start
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=70))
    c.get("/admin/")
    assert _row(app, "school-heping1@xueji.demo").last_seen_at == start + timedelta(seconds=70)


def test_a_disabled_account_s_session_ends(as_user, app):
    c = as_user("school-heping1")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "school-heping1@xueji.demo"))
        user.active = False
        db.session.commit()
    _refused_with(c, "您的账号已停用，本会话已结束。")


def test_a_remember_me_cookie_does_not_bring_back_a_session(app):
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    resp = c.post("/login", data={"email": "school-heping1@xueji.demo", "password": "Xueji@2026",
                                  "remember": "y", "csrf_token": token})
    assert resp.status_code == 302
    remember = c.get_cookie("remember_token")
    assert remember is not None  # Flask-Security still sets it when asked…
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    resp = fresh.get(STUDENTS)  # …but it opens nothing without the server's session
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_the_login_page_offers_no_remember_me(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "#remember-ctr { display: none; }" in html


def test_static_files_and_the_login_page_are_not_checked(as_user, app, monkeypatch):
    c = as_user("school-heping1")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
    assert c.get("/static/js/csp.js").status_code == 200
    assert c.get("/admin/static/vendor/jquery.min.js").status_code == 200
    assert _row(app, "school-heping1@xueji.demo").ended_at is None  # the static files ended nothing


def test_cookies_are_httponly_lax_and_secure_under_https(app, monkeypatch):
    monkeypatch.setenv("HTTPS", "1")
    secure = Config()
    assert secure.SESSION_COOKIE_SECURE is True and secure.REMEMBER_COOKIE_SECURE is True
    monkeypatch.delenv("HTTPS")
    assert Config().SESSION_COOKIE_SECURE is False  # `make run` on http://localhost keeps working
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=app.config["SESSION_MAX_HOURS"])
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", secure.SESSION_COOKIE_SECURE)
    c = app.test_client()
    token = csrf_from(c.get("/login", base_url="https://localhost").get_data(as_text=True))
    resp = c.post("/login", data={"email": "school-heping1@xueji.demo", "password": "Xueji@2026",
                                  "csrf_token": token}, base_url="https://localhost",
                  headers={"Referer": "https://localhost/login"})  # Flask-WTF checks it over HTTPS
    assert resp.status_code == 302
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_not_secure_over_plain_http(app):
    c = app.test_client()
    resp = c.get("/login")
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
