"""Two-factor login with TOTP (等保 level 3; issue 13, point 7): Flask-Security's own.

Flask-Security runs the pages (/tf-setup, /tf-validate, recovery codes at /mf-recovery-codes and
/mf-recovery); User.check_tf_required (models/people.py) makes it mandatory for authority
accounts (county, city, province, the administrators) and leaves it optional for schools.

The demo accounts that need it share one fixed secret, DEMO_TOTP_KEY, so that the README's logins
work with any authenticator app or with `flask --app app demo-totp EMAIL`. It is public: it is for
the demo only, and that command refuses every account that is not a demo one or has its own secret.
"""

from __future__ import annotations

import typing as t

from flask_security import Totp
from passlib.totp import TOTP, TotpMatch

from extensions import security

if t.TYPE_CHECKING:
    from models.people import User

AUTHENTICATOR = "authenticator"
DEMO_DOMAIN = "@xueji.demo"
# Demo only, published in the README: never the secret of a real account.
DEMO_TOTP_KEY = "XUEJITONGDEMOKEYXUEJITONGDEMOKEY"


def totp_class(encrypt_cost: int | None) -> type[Totp]:
    """Flask-Security's Totp whose secrets are encrypted with 2**encrypt_cost PBKDF2 rounds (None:
    passlib's default, 14, about 40 ms per use). The tests lower it, as they lower argon2's cost:
    each official's login decrypts the secret once more."""

    class CostedTotp(Totp):
        def __init__(self, secrets: dict[str, str] | dict[int, str], issuer: str):
            super().__init__(secrets, issuer)
            if encrypt_cost is not None:
                self._totp = TOTP.using(issuer=issuer, secrets=secrets, encrypt_cost=encrypt_cost)

        # No replay: Flask-Security leaves it to the application (these two hooks). passlib refuses a
        # code whose time step is not after the last accepted one, so a code seen over a shoulder or
        # in a proxy's log is worth nothing once used. Stored on the user (every web worker sees it);
        # Flask-Security commits it with the login.
        def get_last_counter(self, user: t.Any) -> int | None:
            return getattr(user, "tf_totp_last_counter", None)

        def set_last_counter(self, user: t.Any, tmatch: TotpMatch) -> None:
            user.tf_totp_last_counter = tmatch.counter

    return CostedTotp


def give_demo_secret(user: User) -> None:
    """Set up the authenticator method with the public demo secret (stored encrypted like any other)."""
    # Flask-Security's Totp wraps a passlib TOTP factory bound to SECURITY_TOTP_SECRETS; it has no
    # public "from this key" constructor, so the factory itself makes the (encrypted) JSON.
    totp = security.totp_factory._totp(key=DEMO_TOTP_KEY, format="base32")
    user.tf_totp_secret = totp.to_json(encrypt=True)
    user.tf_primary_method = AUTHENTICATOR


def has_demo_secret(user: User) -> bool:
    return bool(user.tf_totp_secret) and security.totp_factory.get_totp_b32_key(user.tf_totp_secret) == DEMO_TOTP_KEY


def current_code(user: User) -> str:
    """The code an authenticator shows now for this user's secret (the demo command)."""
    assert user.tf_totp_secret
    return security.totp_factory.generate_totp_password(user.tf_totp_secret)


def next_unused_code(user: User) -> str:
    """The code of the first time step after the last one used, when that is now or later: what an
    authenticator shows now, or, right after a login, a code a little ahead (the check accepts
    SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY seconds either way). For tests that log the same
    account in more than once within one step of 30 seconds."""
    assert user.tf_totp_secret
    totp = security.totp_factory._totp.from_source(user.tf_totp_secret)
    now = totp.normalize_time(None)
    step = max(totp._time_to_counter(now), (user.tf_totp_last_counter or -1) + 1)
    return str(totp.generate(time=step * totp.period).token)


def demo_code_refusal(user: User | None) -> str | None:
    """Why `demo-totp` will not print a code for this account, or None."""
    if user is None or not user.email.lower().endswith(DEMO_DOMAIN):
        return "只能为演示账号（@xueji.demo）显示验证码。"
    if not has_demo_secret(user):
        return "该账号未使用演示用的固定两步验证密钥。"
    return None
