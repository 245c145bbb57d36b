"""The public certificate check is rate-limited per client address (nobody guesses codes)."""

from __future__ import annotations

from flask import Flask

from public import limiter


def test_verify_is_rate_limited_per_address(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    limiter.reset()
    try:
        c = app.test_client()
        codes = [c.get("/verify/ABCDEFGHJKLMNPQR").status_code for _ in range(3)]
        assert codes == [404, 404, 404]  # unknown code: the not-found page
        blocked = c.get("/verify/ABCDEFGHJKLMNPQR")
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
        assert c.get("/verify?code=x").status_code == 429  # the form counts too
        other = app.test_client()
        resp = other.get("/verify/ABCDEFGHJKLMNPQR", environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert resp.status_code == 404  # another address has its own budget
    finally:
        limiter.reset()
