"""The one password rule (等保 level 3; issue 13, point 6), and when a password must be replaced.

Every place a password is set asks `problems()`: Flask-Security's change-password form through
`PasswordPolicy` (registered as its `password_util_cls`), the user admin through services/accounts.py.
The rule:
- at least PASSWORD_MIN_LENGTH characters (SECURITY_PASSWORD_LENGTH_MIN), with 3 of the 4
  character classes (upper case, lower case, digit, symbol);
- not the account's name: neither the e-mail address's local part nor the user's name;
- not one of the 10,000 most common passwords (the ranked list zxcvbn ships, from leaked
  password dumps; compared without case).

A password must be replaced when someone else chose it (an administrator created the account or
reset the password: `must_change_password`), and for authority accounts when it is older than
PASSWORD_MAX_AGE_DAYS. public/account_security.py sends such a user to the change-password page.
A password's age is wall-clock time (models.clock.system_now), not services.clock: moving the
school calendar (the tests' and the demo's time travel to next summer) must not expire passwords.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from flask_security import PasswordUtil
from flask_security.signals import password_changed

from models.clock import system_now

if t.TYPE_CHECKING:
    from flask import Flask

    from models.people import User

COMMON_LIST_SIZE = 10_000
REQUIRED_CLASSES = 3


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, lower case (zxcvbn's list is ranked, most common first)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"][:COMMON_LIST_SIZE])


def _classes(password: str) -> int:
    return sum((
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ))


def _account_names(email: str | None, name: str | None) -> set[str]:
    names = {(email or "").split("@", 1)[0].strip().lower(), (name or "").strip().lower()}
    return {n for n in names if n}


def problems(password: str, email: str | None = None, name: str | None = None) -> list[str]:
    """What is wrong with a new password, in Chinese, each message naming its rule; [] when it is fine."""
    found: list[str] = []
    minimum = int(current_app.config.get("SECURITY_PASSWORD_LENGTH_MIN", 10))
    if len(password) < minimum:
        found.append(_("The password must have at least %(n)d characters.", n=minimum))
    if _classes(password) < REQUIRED_CLASSES:
        found.append(_("The password must mix at least 3 of: upper-case letters, lower-case letters, digits and symbols."))
    lowered = password.lower()
    if any(lowered == n or (len(n) >= 4 and n in lowered) for n in _account_names(email, name)):
        found.append(_("The password must not contain the account name."))
    if lowered in common_passwords():
        found.append(_("The password is one of the 10,000 most common passwords."))
    return found


class PasswordPolicy(PasswordUtil):
    """Flask-Security's password check, replaced by the rule above (change-password page)."""

    def validate(self, password: str, is_register: bool, **kwargs: t.Any) -> tuple[list | None, str]:
        pnorm = self.normalize(password)
        user = kwargs.get("user")
        if is_register:
            found = problems(pnorm, kwargs.get("email"), kwargs.get("name"))
        else:
            found = problems(pnorm, getattr(user, "email", None), getattr(user, "name", None))
        return (found or None), pnorm


def set_by_other(user: User) -> None:
    """Someone else chose this password (account created or reset): its owner replaces it at first login."""
    user.password_changed_at = system_now()
    user.must_change_password = True


def set_by_owner(user: User) -> None:
    user.password_changed_at = system_now()
    user.must_change_password = False


def change_reason(user: User) -> str | None:
    """Why the user must change the password before anything else, or None."""
    if user.must_change_password:
        return _("Your password was set by someone else. Choose your own password before you continue.")
    max_age = int(current_app.config.get("PASSWORD_MAX_AGE_DAYS", 180))
    changed = user.password_changed_at
    if user.is_authority and (changed is None or system_now() - changed > timedelta(days=max_age)):
        return _("Your password is more than %(n)d days old. Choose a new password before you continue.", n=max_age)
    return None


def init_app(app: Flask) -> None:
    """The owner's change on Flask-Security's page ends a forced change and restarts the age."""

    @password_changed.connect_via(app)
    def _on_changed(sender: t.Any, user: User, **extra: t.Any) -> None:
        set_by_owner(user)  # the view commits after this signal
