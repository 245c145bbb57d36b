"""`flask --app app demo-totp EMAIL`: the current two-factor code of a demo account (issue 13, point 7).

Only for the demo accounts (@xueji.demo) that use the public demo secret (services/two_factor.py):
any other account is refused, so the command cannot stand in for a real account's authenticator.
"""

from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.command("demo-totp")
    @click.argument("email")
    def demo_totp(email: str) -> None:
        """Print the current two-factor code of a demo account (demo accounts only)."""
        from sqlalchemy import func, select

        from extensions import db
        from models.people import User
        from services import two_factor

        user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        refusal = two_factor.demo_code_refusal(user)
        if refusal:
            raise click.ClickException(refusal)
        assert user is not None
        click.echo(two_factor.current_code(user))
