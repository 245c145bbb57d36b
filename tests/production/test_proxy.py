"""ProxyFix for one reverse proxy (issue 15, point 1): the address the proxy appended to
X-Forwarded-For is the client's (the login rate limit counts it), an address one hop further,
which the client could have written itself, is not believed."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask

from public import limiter
from services import proxies
from services.request_log import LOGGER_NAME
from tests.conftest import Client, csrf_from


@pytest.fixture
def behind_one_proxy(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The suite's app as ProductionConfig builds it (PROXY_FIX_COUNT = 1), login limit 3 per minute."""
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored afterwards
    monkeypatch.setitem(app.config, "PROXY_FIX_COUNT", 1)
    proxies.init_app(app)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    app.test_client_class = Client
    yield app
    limiter.reset()


def _login(app: Flask, forwarded_for: str) -> int:
    client: Client = app.test_client()  # type: ignore[assignment]
    # The proxy (10.9.9.9) speaks plain HTTP to the app and says the client used https://xueji.example.cn.
    via_proxy = {"headers": {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https",
                             "X-Forwarded-Host": "xueji.example.cn", "Referer": "https://xueji.example.cn/login"},
                 "environ_base": {"REMOTE_ADDR": "10.9.9.9"}, "base_url": "http://127.0.0.1:8000"}
    page = client.get("/login", **via_proxy)
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post("/login", data={"email": "nobody@xueji.demo", "password": "wrong-Pass-1", "csrf_token": token},
                       **via_proxy)
    return resp.status_code


def test_the_proxy_s_client_address_is_counted_and_a_second_hop_is_not_trusted(behind_one_proxy: Flask, caplog) -> None:
    app = behind_one_proxy
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    assert [_login(app, "203.0.113.7") for _ in range(3)] == [200, 200, 200]
    assert _login(app, "203.0.113.7") == 429  # this client has used its budget
    assert _login(app, "203.0.113.8") == 200  # another client behind the same proxy has its own
    # A client at 203.0.113.7 claims another address; the proxy appends the real one: still throttled.
    assert _login(app, "198.51.100.1, 203.0.113.7") == 429
    posts = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == LOGGER_NAME and json.loads(r.getMessage())["method"] == "POST"]
    assert [p["remote_addr"] for p in posts] == ["203.0.113.7"] * 4 + ["203.0.113.8", "203.0.113.7"]


def test_without_a_proxy_setting_the_header_is_ignored(app: Flask) -> None:
    """PROXY_FIX_COUNT 0 (make run, the suite): X-Forwarded-For is the client's own claim."""
    assert app.config["PROXY_FIX_COUNT"] == 0
    client = app.test_client()
    resp = client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert resp.status_code == 200
    with app.test_request_context("/", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}):
        from flask import request

        assert request.remote_addr == "10.9.9.9"
