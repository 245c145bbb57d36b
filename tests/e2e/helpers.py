"""Helpers shared by the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

from cli import DEMO_PASSWORD


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("[type=submit]")


def log_out(page) -> None:
    """The navbar's logout: a POST form with the CSRF token (a GET of /logout logs nobody out)."""
    with page.expect_navigation():
        page.click("#logout-form button")
    assert "/login" in page.url, f"logout did not reach the login page: {page.url}"
