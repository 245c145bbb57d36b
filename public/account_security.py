"""The web side of account security (issue 13, points 5 and 6).

- The login form may be posted LOGIN_RATE_LIMIT times per client address (Flask-Limiter, the
  limiter of the public pages; counters in RATELIMIT_STORAGE_URI). Showing the page is not counted.
  Beyond it the Chinese 429 page answers (app.py). The two-factor code and the recovery code
  forms have the same budget each (nobody tries a million codes after a stolen password).
- A logged-in user who must replace the password (set by someone else, or an authority account's
  password older than PASSWORD_MAX_AGE_DAYS: services/passwords.change_reason) is sent to the
  change-password page from every other page, with the reason, until it is done.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_security import current_user

from public import limiter
from services import login_guard, passwords

# What a user who must change the password can still reach: that page, logging out, the language
# switch and the static files its page needs.
ALLOWED_WHILE_FORCED = frozenset({"security.change_password", "security.logout", "set_language", "static", "admin.static"})


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def init_account_security(app: Flask) -> None:
    for endpoint in ("security.login", "security.two_factor_token_validation", "security.mf_recovery"):
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(_login_limit, methods=["POST"], scope="login")(view)
    login_guard.init_app(app)
    passwords.init_app(app)

    @app.before_request
    def _forced_password_change():  # type: ignore[no-untyped-def]
        if request.endpoint in ALLOWED_WHILE_FORCED or not current_user.is_authenticated:
            return None
        reason = passwords.change_reason(current_user)
        if reason is None:
            return None
        flash(reason, "warning")
        return redirect(url_for("security.change_password"))
