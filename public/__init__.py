"""Pages without login. Placeholder while the certificate verification page is being built."""

from __future__ import annotations

from flask import Flask


def init_public(app: Flask) -> None:
    """Register the public blueprint(s)."""
