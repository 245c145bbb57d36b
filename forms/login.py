"""The login form: Flask-Security's, plus the failure count, the lockout and the audit of every
failed attempt (issue 13, point 5; the rules are services/login_guard.py).

Flask-Security's LoginForm.validate looks the account up, checks the password, then whether the
account is active and whether it is locked (User.is_locked). Afterwards its state tells what
went wrong: no account (`user` is None), a wrong password (`user_authenticated` still False),
a disabled or a locked account. The page shows one generic message for all of them.
"""

from __future__ import annotations

import typing as t

from flask_security import LoginForm

from services import login_guard


class GuardedLoginForm(LoginForm):
    def validate(self, **kwargs: t.Any) -> bool:
        ok = super().validate(**kwargs)
        if self.ifield is None:
            return ok  # the form itself was incomplete (no address, no password, no CSRF token): no attempt
        user = self.user
        if ok:
            return True  # the count is reset when the login is complete (services/login_guard.py)
        if user is None:
            kind = login_guard.UNKNOWN
        elif not self.user_authenticated:
            kind = login_guard.WRONG_PASSWORD
        elif not user.is_active:
            kind = login_guard.DISABLED
        elif user.is_locked():
            kind = login_guard.LOCKED
        else:
            return ok  # e.g. confirmation required: not a failed credential
        login_guard.failed(kind, user, self.email.data if hasattr(self, "email") else None)
        return False
