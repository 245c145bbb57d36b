"""Shared fixtures of the end-to-end browser tests: the real app served over HTTP, driven by
headless chromium.

Needs Debian's chromium at /usr/bin/chromium (Playwright's own browsers are never downloaded).
If it is missing the tests fail, unless XUEJI_SKIP_E2E=1 is set, then they are skipped.
"""

from __future__ import annotations

import os
import threading
import typing as t
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
]
TIMEOUT_MS = 8_000
VIEWPORT = {"width": 1400, "height": 900}
STATIC_MAX_AGE = 3600  # seconds the browser may keep a static file


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served on 127.0.0.1 at a free port (port 0: the OS picks one).

    Static files (Bootstrap, jQuery, Flask-Admin's scripts) may be cached by the browser, as a
    deployment's web server lets them be: otherwise each page of a journey fetched its twenty
    assets again from this one-process server."""
    max_age = app.config["SEND_FILE_MAX_AGE_DEFAULT"]
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = max_age


@pytest.fixture(scope="session")
def browser():
    """One chromium per xdist worker, started by the first browser test it runs; every test still
    gets fresh browser contexts (own cookies and cache)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("XUEJI_SKIP_E2E") == "1":
            pytest.skip(message)
        pytest.fail(message + ", or set XUEJI_SKIP_E2E=1 to skip the browser tests", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser, live_server: str) -> Iterator[Callable[[], t.Any]]:
    """new_page() → a page in a fresh browser context (own cookies: one login each); all are closed at the end."""
    contexts = []

    def _new_page():
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    try:
        yield _new_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page):
    return new_page()
