"""Helpers shared by the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

import time

from passlib.totp import TOTP

from cli import DEMO_PASSWORD
from services.two_factor import DEMO_TOTP_KEY


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in; the authority accounts (two-factor, issue 13) also type the code of the demo secret,
    as a user would read it from an authenticator app."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("[type=submit]")
    totp = TOTP(key=DEMO_TOTP_KEY, format="base32")
    if "/tf-validate" in page.url:
        page.fill("input[name=code]", totp.generate().token)
        with page.expect_navigation():
            page.click("[type=submit]")
    if "/tf-validate" in page.url:  # this code was used by an earlier login (a code is good once): the next one
        time.sleep(totp.period - time.time() % totp.period + 1)
        page.fill("input[name=code]", totp.generate().token)
        with page.expect_navigation():
            page.click("[type=submit]")


def log_out(page) -> None:
    """The navbar's logout: a POST form with the CSRF token (a GET of /logout logs nobody out)."""
    with page.expect_navigation():
        page.click("#logout-form button")
    assert "/login" in page.url, f"logout did not reach the login page: {page.url}"


def watch(page, bad_status: tuple[int, ...] = (404,), resource_types: tuple[str, ...] | None = ("script", "stylesheet")) -> list[str]:
    """The page's problems, collected as they happen: a console message about the Content Security
    Policy, a script error, and a response with one of `bad_status` (for `resource_types` only, or
    any request when None: a 400 is a token that did not match)."""
    problems: list[str] = []

    def console(msg) -> None:
        text = msg.text.lower()
        if "content security policy" in text or "content-security-policy" in text:
            problems.append(f"console {msg.type} at {page.url} {msg.location}: {msg.text}")

    def response(r) -> None:
        if r.status in bad_status and (resource_types is None or r.request.resource_type in resource_types):
            problems.append(f"{r.status} {r.url}")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("response", response)
    return problems
