"""`flask --app app accounts create-admin EMAIL --unit CODE`: the first accounts of an empty
production database (make serve). Every other account is made on the accounts page by these.

Without it nobody could log in: the migrations make no unit and no account, and `demo-data` makes
the demo province with public passwords. The password is typed twice (never on the command line,
where the shell's history would keep it) and must pass the password rule of every account
(services/passwords.py). With --unit-name, an empty database also gets its province unit, under
which the system administrator then creates the cities, counties and schools.

三员分立: the system administrator (default) runs accounts and units; the security administrator
(--role security_admin) alone grants roles; the audit administrator (--role audit_admin) reads
the audit log. A new province typically creates all three.
"""

from __future__ import annotations

import uuid

import click
from flask import current_app
from flask_babel import force_locale
from flask_security.utils import hash_password
from sqlalchemy import func, select

from extensions import db
from models.org import PROVINCE, OrgUnit, child_path
from models.people import ADMIN, AUDIT_ADMIN, ROLE_LABELS, SECURITY_ADMIN, User
from services import audit, passwords
from services.accounts import EMAIL_RE

DUTY_CHOICES = (ADMIN, SECURITY_ADMIN, AUDIT_ADMIN)


def _unit(code: str, unit_name: str | None) -> tuple[OrgUnit, bool]:
    """The unit of that code, or the province unit made for an empty database (True: made)."""
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is not None:
        return unit, False
    if db.session.scalar(select(OrgUnit.id).limit(1)) is not None:
        raise click.ClickException(f"没有代码为 {code} 的单位。")
    if not unit_name:
        raise click.ClickException(f"数据库中还没有任何单位：请用 --unit-name 给出省级单位 {code} 的名称，例如 --unit-name 辽宁省教育厅。")
    if not (len(code) == 2 and code.isdigit()):
        raise click.ClickException("省级单位的代码是两位数字（GB/T 2260，例如辽宁省为 21）。")
    unit = OrgUnit(code=code, name=unit_name, level=PROVINCE, parent=None, path=child_path(None, code))
    db.session.add(unit)
    db.session.flush()
    return unit, True


def register(accounts: click.Group) -> None:
    @accounts.command("create-admin")
    @click.argument("email")
    @click.option("--unit", "unit_code", required=True, help="账号所属单位的代码（省级为两位数字，例如 21）。")
    @click.option("--unit-name", default=None, help="数据库中还没有任何单位时：新建的省级单位的名称。")
    @click.option("--name", default="", help="使用人的姓名。")
    @click.option("--role", type=click.Choice(DUTY_CHOICES), default=ADMIN, show_default=True,
                  help="三员之一：admin 系统管理员，security_admin 安全管理员，audit_admin 审计管理员。")
    def create_admin(email: str, unit_code: str, unit_name: str | None, name: str, role: str) -> None:
        """创建管理员账号（空数据库的第一个登录账号）；密码需输入两次。"""
        from cli.demo import ensure_roles

        email = email.strip().lower()
        if not EMAIL_RE.match(email) or len(email) > 120:
            raise click.ClickException("请输入有效的邮箱地址。")
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
            raise click.ClickException(f"邮箱 {email} 已有账号。")
        unit, unit_made = _unit(unit_code, unit_name)
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):  # the rule speaks Chinese
            problems = [str(p) for p in passwords.problems(password, email, name)]
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            db.session.rollback()
            raise SystemExit(1)
        roles = ensure_roles()
        user = User(email=email, name=name, password=hash_password(password), active=True, fs_uniquifier=uuid.uuid4().hex,
                    unit=unit, scope_path=unit.path, roles=[roles[role]])
        passwords.set_by_owner(user)  # typed by its holder: no forced change at the first login
        db.session.add(user)
        db.session.flush()
        audit.record(None, "user.create", "user", user.id, f"{email}（命令行创建{ROLE_LABELS[role]}）")
        db.session.commit()
        if unit_made:
            click.echo(f"已创建省级单位：{unit.code} {unit.name}")
        click.echo(f"已创建{ROLE_LABELS[role]}账号 {email}（{unit.name}）。首次登录后按提示设置两步验证（身份验证器应用）。")
