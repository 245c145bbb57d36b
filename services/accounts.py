"""User accounts: which role fits which unit, and who may manage whom (第二十六条)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_security.utils import hash_password
from sqlalchemy import func, select

from extensions import db
from models.org import SCHOOL
from models.people import ADMIN, OFFICIAL_ROLE_FOR_LEVEL, SCHOOL_ROLES, User
from services import audit, passwords, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.org import OrgUnit

EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def may_manage(actor: User, unit: OrgUnit) -> bool:
    """Admins manage everyone; an official manages the units strictly below their own."""
    if actor.is_admin:
        return True
    return actor.is_official and unit.path != actor.unit.path and scope.covers(actor, unit.path)


def role_problems(unit: OrgUnit | None, role_names: set[str], actor: User) -> list[tuple[str, str]]:
    if unit is None:
        return [("unit", str(_l("Choose a unit.")))]
    if not role_names:
        return [("roles", str(_l("Choose at least one role.")))]
    if ADMIN in role_names and not actor.is_admin:
        return [("roles", str(_l("Only a system administrator can grant that role.")))]
    allowed = set(SCHOOL_ROLES) if unit.level == SCHOOL else {OFFICIAL_ROLE_FOR_LEVEL[unit.level], ADMIN}
    if role_names - allowed:
        return [("roles", str(_l("These roles do not fit a unit of this level.")))]
    return []


def save_user(user: User, actor: User, new_password: str | None, is_new: bool) -> User:
    with db.session.no_autoflush:
        problems: list[tuple[str, str]] = []
        user.email = (user.email or "").strip().lower()
        if not EMAIL_RE.match(user.email) or len(user.email) > 120:
            problems.append(("email", str(_l("Enter a valid e-mail address."))))
        else:
            clash = db.session.scalar(select(User.id).where(func.lower(User.email) == user.email, User.id != user.id))
            if clash is not None:
                problems.append(("email", str(_l("This e-mail address is already in use."))))
        if not is_new and not actor.is_admin:
            old = scope.stored_value(user, "scope_path")
            if old == actor.unit.path or not scope.covers(actor, old):  # type: ignore[arg-type]
                raise NotInScope()
        if user.unit is not None and not may_manage(actor, user.unit):
            raise NotInScope()
        problems += role_problems(user.unit, {r.name for r in user.roles}, actor)
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
        return user
