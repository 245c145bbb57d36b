"""User accounts: which role fits which unit, and who may manage whom (第二十六条, 三员分立).

The system administrator and the officials create accounts and change their details; only the
security administrator changes which roles an account holds (services/duties.py). A new account
therefore starts without a role, except a school account created by an official of an authority
above it: it starts as that school's registrar (学籍管理员), the role nearly every school account
has. That default gives the official nothing they do not already see (the school is in their
area), whereas a system administrator's new account stays roleless until the security
administrator grants it: otherwise the administrator could create an account, log in with it and
read pupils.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_security.utils import hash_password
from sqlalchemy import func, inspect, select

from extensions import db
from models.org import SCHOOL
from models.people import (
    ADMIN,
    CONFIDENTIALITY_OFFICER,
    OFFICIAL_ROLE_FOR_LEVEL,
    REGISTRAR,
    ROLE_LABELS,
    SCHOOL_ROLES,
    SECURITY_ADMIN,
    Role,
    User,
)
from services import audit, duties, passwords, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.org import OrgUnit

EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
ACCOUNT_ADMINS = frozenset({ADMIN, SECURITY_ADMIN})  # manage accounts of their whole subtree, own unit included


def _manages_path(actor: User, path: str | None) -> bool:
    if actor.role_names & ACCOUNT_ADMINS:
        return scope.covers_unit(actor, path)
    return actor.is_official and path != actor.unit.path and scope.covers_unit(actor, path)


def may_manage(actor: User, unit: OrgUnit) -> bool:
    """The administrators manage the accounts of their subtree; an official the units strictly below."""
    return _manages_path(actor, unit.path)


def may_create(actor: User) -> bool:
    """The system administrator and the officials create accounts; the security administrator does not."""
    return ADMIN in actor.role_names or actor.is_official


def fitting_roles(unit: OrgUnit) -> set[str]:
    if unit.level == SCHOOL:
        return {*SCHOOL_ROLES, CONFIDENTIALITY_OFFICER}
    return {OFFICIAL_ROLE_FOR_LEVEL[unit.level], *duties.DUTY_ROLES, CONFIDENTIALITY_OFFICER}


def role_problems(unit: OrgUnit | None, role_names: set[str], actor: User) -> list[tuple[str, str]]:
    if unit is None:
        return [("unit", str(_l("Choose a unit.")))]
    if role_names - fitting_roles(unit):
        return [("roles", str(_l("These roles do not fit a unit of this level.")))]
    return duties.combination_problems(role_names)


def _role_names_before(user: User) -> set[str]:
    history = inspect(user).attrs.roles.history
    if not history.has_changes():
        return {r.name for r in user.roles}
    return {r.name for r in (*history.unchanged, *history.deleted)}


def role_text(role_names: set[str]) -> str:
    """Roles as a reader sees them: 学籍管理员、校长 (无 when none)."""
    return "、".join(ROLE_LABELS.get(r, r) for r in sorted(role_names)) or "无"


def default_roles(unit: OrgUnit | None, actor: User) -> list[Role]:
    """What a new account holds when its creator may not grant roles (see the module's docstring)."""
    if unit is not None and unit.level == SCHOOL and actor.is_official:
        return list(db.session.scalars(select(Role).where(Role.name == REGISTRAR)))
    return []


def save_user(user: User, actor: User, new_password: str | None, is_new: bool) -> User:
    with db.session.no_autoflush:
        problems: list[tuple[str, str]] = []
        before = set() if is_new else _role_names_before(user)
        after = {r.name for r in user.roles}
        if user.id == actor.id and after != before:  # checked first: the actor's own rights are what changed
            raise RuleViolation([("roles", str(_l("Nobody changes the roles of their own account.")))])
        if is_new and not may_create(actor):
            raise RuleViolation(str(_l("Only a system administrator or an education authority creates accounts.")))
        user.email = (user.email or "").strip().lower()
        if not EMAIL_RE.match(user.email) or len(user.email) > 120:
            problems.append(("email", str(_l("Enter a valid e-mail address."))))
        else:
            clash = db.session.scalar(select(User.id).where(func.lower(User.email) == user.email, User.id != user.id))
            if clash is not None:
                problems.append(("email", str(_l("This e-mail address is already in use."))))
        if not is_new and not _manages_path(actor, scope.stored_value(user, "scope_path")):  # type: ignore[arg-type]
            raise NotInScope()
        if user.unit is not None and not may_manage(actor, user.unit):
            raise NotInScope()
        if after != before and not duties.grants_roles(actor):
            problems.append(("roles", str(_l("Only the security administrator changes an account's roles (三员分立)."))))
        if is_new and not duties.grants_roles(actor):
            user.roles = default_roles(user.unit, actor)
            after = {r.name for r in user.roles}
        problems += role_problems(user.unit, after, actor)
        if is_new and not new_password:
            problems.append(("new_password", str(_l("A new account needs a password."))))
        if new_password:  # the one password rule (services/passwords.py), as on the change-password page
            problems += [("new_password", m) for m in passwords.problems(new_password, user.email, user.name)]
        if problems:
            raise RuleViolation(problems)
        if new_password:
            user.password = hash_password(new_password)
            if user.id != actor.id:  # chosen by someone else: its owner replaces it at first login
                passwords.set_by_other(user)
            else:
                passwords.set_by_owner(user)
        if is_new:
            user.fs_uniquifier = uuid.uuid4().hex
            db.session.add(user)
        user.scope_path = user.unit.path
        db.session.flush()
        audit.record(actor, "user.create" if is_new else "user.update", "user", user.id, user.email)
        if after != before:
            audit.record(actor, "user.roles", "user", user.id, f"{user.email}：{role_text(before)} → {role_text(after)}")
        return user


def disable_account(user: User, actor: User, reason: str) -> None:
    """Stop an account (访问权限复核: the unit above decided so); audited with the reason."""
    if not may_manage(actor, user.unit):
        raise NotInScope()
    user.active = False
    audit.record(actor, "user.disable", "user", user.id, f"{user.email}：{reason}")


