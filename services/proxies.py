"""The reverse proxy in front of the app (PROXY_FIX_COUNT of them; ProductionConfig: one). Their
X-Forwarded-For, -Proto and -Host are believed so that the login rate limit and the audit see the
client's address, and redirects keep https and the public host name. Only the last N hops are
believed: an address the client wrote into X-Forwarded-For itself is ignored."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    n = int(app.config.get("PROXY_FIX_COUNT") or 0)
    if n:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
