"""Two-factor login with TOTP (issue 13, point 7): mandatory for county, city and province accounts
and for administrators, optional for schools; recovery codes; the demo-totp command."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from passlib.totp import TOTP
from sqlalchemy import select

from cli import DEMO_PASSWORD
from extensions import db, security
from models.people import User
from services import two_factor
from tests.conftest import Client, totp_code

KEY_RE = re.compile(r"<code>([A-Z2-7-]{16,})</code>")
ACTION_RE = re.compile(r'<form action="([^"]*)" method="post" name="two_factor_verify_code_form"')


def _client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def _password_step(app: Flask, email: str) -> tuple[Client, str]:
    c = _client(app)
    resp = c.post_form("/login", {"email": email, "password": DEMO_PASSWORD})
    assert resp.status_code == 302
    return c, resp.headers["Location"]


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _code_for_key(pretty_key: str) -> str:
    return TOTP(key=pretty_key.replace("-", ""), format="base32").generate().token


@pytest.mark.parametrize("who", ["heping", "shenyang", "province", "admin", "security-admin", "audit-admin", "baomi-heping"])
def test_authority_accounts_need_the_code(app: Flask, who: str) -> None:
    c, location = _password_step(app, f"{who}@xueji.demo")
    assert "/tf-validate" in location
    assert c.get("/admin/").status_code == 302  # the password alone opens nothing


def test_an_official_without_the_right_code_stays_out(app: Flask) -> None:
    c, _ = _password_step(app, "heping@xueji.demo")
    page = c.get("/tf-validate").get_data(as_text=True)
    assert "两步验证" in page and "验证码" in page and "Two-Factor" not in page
    right = totp_code(app, "heping@xueji.demo")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    resp = c.post_form("/tf-validate", {"code": wrong})
    assert resp.status_code == 200 and "验证码不正确" in resp.get_data(as_text=True)
    assert c.get("/admin/").status_code == 302
    resp = c.post_form("/tf-validate", {"code": right})
    assert resp.status_code == 302 and c.get("/admin/").status_code == 200


def test_a_code_is_good_once(app: Flask) -> None:
    """No replay: the code that logged in once (seen over a shoulder, or in a proxy's log) does not log
    in a second time; the authenticator's next code does."""
    c, _ = _password_step(app, "heping@xueji.demo")
    used = totp_code(app, "heping@xueji.demo")
    assert c.post_form("/tf-validate", {"code": used}).status_code == 302
    with app.app_context():
        assert _user("heping@xueji.demo").tf_totp_last_counter is not None  # stored for every web worker
    thief, _ = _password_step(app, "heping@xueji.demo")
    resp = thief.post_form("/tf-validate", {"code": used})
    assert resp.status_code == 200 and "验证码不正确" in resp.get_data(as_text=True)
    assert thief.get("/admin/").status_code == 302
    following = totp_code(app, "heping@xueji.demo")  # the next time step's code
    assert following != used
    assert thief.post_form("/tf-validate", {"code": following}).status_code == 302
    assert thief.get("/admin/").status_code == 200


def test_a_recovery_code_works_once(app: Flask) -> None:
    with app.app_context():
        codes = security.mf_recovery_codes_util.create_recovery_codes(_user("heping@xueji.demo"))
        db.session.commit()
        stored = _user("heping@xueji.demo").mf_recovery_codes
        assert stored and codes[0] not in stored  # kept encrypted (SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS)
    c, _ = _password_step(app, "heping@xueji.demo")
    assert "/mf-recovery" in c.get("/tf-validate").get_data(as_text=True)
    page = c.get("/mf-recovery").get_data(as_text=True)
    assert "恢复码" in page and "Recovery" not in page
    resp = c.post_form("/mf-recovery", {"code": codes[0]})
    assert resp.status_code == 302 and c.get("/admin/").status_code == 200
    again, _ = _password_step(app, "heping@xueji.demo")
    resp = again.post_form("/mf-recovery", {"code": codes[0]})
    assert resp.status_code == 200 and "恢复码无效" in resp.get_data(as_text=True)
    assert again.get("/admin/").status_code == 302
    assert again.post_form("/mf-recovery", {"code": codes[1]}).status_code == 302  # another code still works


def test_an_official_without_a_secret_sets_it_up_before_anything_else(app: Flask) -> None:
    with app.app_context():
        user = _user("shenhe@xueji.demo")
        user.tf_totp_secret = user.tf_primary_method = None
        db.session.commit()
    c, location = _password_step(app, "shenhe@xueji.demo")
    assert location.endswith("/tf-setup")
    assert c.get("/admin/student/").status_code == 302  # not logged in until the setup is done
    page = c.get("/tf-setup").get_data(as_text=True)
    assert "必须使用两步验证" in page and "关闭两步验证" not in page and "Two-Factor" not in page
    resp = c.post_form("/tf-setup", {"setup": "authenticator"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'src="data:image/' in page  # the QR code to scan
    key = KEY_RE.search(page).group(1)
    resp = c.post_form("/tf-validate", {"code": _code_for_key(key)}, token_from="/tf-setup")
    assert resp.status_code == 302 and c.get("/admin/student/").status_code == 200
    with app.app_context():
        user = _user("shenhe@xueji.demo")
        assert user.tf_primary_method == "authenticator" and not two_factor.has_demo_secret(user)


def test_two_factor_is_optional_for_a_school_and_can_be_turned_on(app: Flask, as_user) -> None:
    c, location = _password_step(app, "school-heping1@xueji.demo")
    assert "/tf-" not in location and c.get("/admin/").status_code == 200  # no code asked
    assert 'href="/tf-setup"' in c.get("/admin/").get_data(as_text=True)  # 我的账号 → 两步验证
    page = c.get("/tf-setup").get_data(as_text=True)
    assert "学校账号可自愿开启" in page and "未开启" in page
    page = c.post_form("/tf-setup", {"setup": "authenticator"}).get_data(as_text=True)
    key = KEY_RE.search(page).group(1)
    action = html.unescape(ACTION_RE.search(page).group(1))
    resp = c.post_form(action, {"code": _code_for_key(key)}, token_from="/tf-setup")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/mf-recovery-codes")
    page = c.post_form("/mf-recovery-codes", {"generate_new_codes": "1"}).get_data(as_text=True)
    shown = re.findall(r"<li class=\"fs-div\"><code>([^<]+)</code>", page)
    assert len(shown) == 8 and "妥善保管" in page  # SECURITY_MULTI_FACTOR_RECOVERY_CODES_N, once shown
    page = c.get("/tf-setup").get_data(as_text=True)
    assert "已开启" in page and "关闭两步验证" in page  # a school may turn it off again
    _, location = _password_step(app, "school-heping1@xueji.demo")
    assert "/tf-validate" in location  # from now on the code is asked


def test_demo_totp_prints_the_current_code_of_a_demo_account(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-totp", "heping@xueji.demo"])
    assert result.exit_code == 0, result.output
    code = result.output.strip()
    assert re.fullmatch(r"\d{6}", code) and code == totp_code(app, "heping@xueji.demo")
    assert runner.invoke(args=["demo-totp", "HEPING@xueji.demo"]).exit_code == 0


@pytest.mark.parametrize("email, words", [
    ("someone@example.org", "只能为演示账号"),
    ("school-heping1@xueji.demo", "未使用演示用的固定两步验证密钥"),  # a demo account without the demo secret
])
def test_demo_totp_refuses_other_accounts(app: Flask, email: str, words: str) -> None:
    result = app.test_cli_runner().invoke(args=["demo-totp", email])
    assert result.exit_code != 0 and words in result.output and not re.search(r"\b\d{6}\b", result.output)


def test_demo_totp_refuses_a_non_demo_account_with_a_secret(app: Flask) -> None:
    with app.app_context():
        user = _user("heping@xueji.demo")
        user.email = "heping@jyj.example.cn"
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo-totp", "heping@jyj.example.cn"])
    assert result.exit_code != 0 and "只能为演示账号" in result.output


def test_wrong_codes_count_towards_the_lock_and_are_audited(app: Flask) -> None:
    from models.audit import AuditLog

    c, _ = _password_step(app, "heping@xueji.demo")
    right = totp_code(app, "heping@xueji.demo")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert c.post_form("/tf-validate", {"code": wrong}).status_code in (200, 302)
    # Locked: the half-finished login is gone, and the right code does not open anything.
    c.post_form("/tf-validate", {"code": right}, token_from="/login")
    assert c.get("/admin/").status_code == 302
    resp = c.post_form("/login", {"email": "heping@xueji.demo", "password": DEMO_PASSWORD})
    assert resp.status_code == 200 and "登录失败：邮箱或密码不正确。" in resp.get_data(as_text=True)
    with app.app_context():
        assert _user("heping@xueji.demo").locked_until is not None
        details = db.session.scalars(select(AuditLog.detail).where(
            AuditLog.action == "login.failed", AuditLog.user_email == "heping@xueji.demo")).all()
        assert details.count("wrong_code") == 5


def test_the_code_form_is_rate_limited_per_address(app: Flask, monkeypatch) -> None:
    from public import limiter

    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    try:
        c, _ = _password_step(app, "heping@xueji.demo")
        codes = [c.post_form("/tf-validate", {"code": "000000"}).status_code for _ in range(3)]
        assert 429 not in codes
        assert c.post_form("/tf-validate", {"code": totp_code(app, "heping@xueji.demo")}).status_code == 429
    finally:
        limiter.reset()


def test_the_right_password_again_does_not_reset_the_count_of_wrong_codes(app: Flask) -> None:
    for _ in range(5):
        c, _ = _password_step(app, "heping@xueji.demo")
        c.post_form("/tf-validate", {"code": "abcdef"})  # never a code: letters
    with app.app_context():
        assert _user("heping@xueji.demo").locked_until is not None
