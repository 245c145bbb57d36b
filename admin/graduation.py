"""Placeholder while the end-of-year work (issue #6) is being built; replaced by its views."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin) -> None:
    """Add this module's views to the admin."""
