"""`flask --app app accounts create-admin` (issue 15, point 1): the first login of an empty
production database — the password typed twice and checked by the password rule, a 三员 role, an
audit row, and the account logs in (and is sent to set up two-factor)."""

from __future__ import annotations

from flask import Flask
from flask_security.utils import verify_password
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditLog
from models.org import OrgUnit
from models.people import ADMIN, SECURITY_ADMIN, User
from tests.conftest import Client

GOOD = "Kq7!vTz#29Lp"


def _run(app: Flask, *args: str, typed: str = f"{GOOD}\n{GOOD}\n"):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["accounts", "create-admin", *args], input=typed)


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def test_creates_an_administrator_who_can_log_in(app: Flask) -> None:
    result = _run(app, "First.Admin@Example.gov.cn", "--unit", "21", "--name", "张三")
    assert result.exit_code == 0, result.output
    assert "已创建系统管理员账号 first.admin@example.gov.cn" in result.output
    with app.app_context():
        user = _user("first.admin@example.gov.cn")
        assert user is not None and user.role_names == {ADMIN} and user.unit.code == "21"
        assert user.scope_path == user.unit.path and user.active and not user.must_change_password
        assert verify_password(GOOD, user.password) and GOOD not in user.password
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "user.create", AuditLog.object_id == str(user.id))) == 1
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    resp = client.post_form("/login", {"email": "first.admin@example.gov.cn", "password": GOOD})
    assert resp.status_code == 302 and "/tf-" in resp.headers["Location"]  # an authority account: two-factor next


def test_the_other_duty_roles(app: Flask) -> None:
    result = _run(app, "sec@example.gov.cn", "--unit", "21", "--role", "security_admin")
    assert result.exit_code == 0 and "已创建安全管理员账号" in result.output
    with app.app_context():
        assert _user("sec@example.gov.cn").role_names == {SECURITY_ADMIN}  # type: ignore[union-attr]


def test_a_weak_or_mistyped_password_creates_nothing(app: Flask) -> None:
    weak = _run(app, "weak@example.gov.cn", "--unit", "21", typed="password1\npassword1\n")
    assert weak.exit_code == 1
    assert "密码至少需要 10 个字符" in weak.output and "三类" in weak.output
    mistyped = _run(app, "weak@example.gov.cn", "--unit", "21", typed=f"{GOOD}\n{GOOD}x\n")
    assert mistyped.exit_code != 0
    with app.app_context():
        assert _user("weak@example.gov.cn") is None


def test_refusals_in_words(app: Flask) -> None:
    taken = _run(app, "admin@xueji.demo", "--unit", "21")
    assert taken.exit_code != 0 and "已有账号" in taken.output
    unknown = _run(app, "new@example.gov.cn", "--unit", "99", "--unit-name", "某省")
    assert unknown.exit_code != 0 and "没有代码为 99 的单位" in unknown.output  # units exist: no new province
    bad_mail = _run(app, "not-an-address", "--unit", "21")
    assert bad_mail.exit_code != 0 and "有效的邮箱" in bad_mail.output
    with app.app_context():
        assert db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "99")) is None
