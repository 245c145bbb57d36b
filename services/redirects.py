"""No open redirect (issue 13, point 12): a target taken from the request (`next`, a Referer, a
`url` parameter) is followed only when it is a relative path on this host.

Browsers are lenient: "//evil.example", "/\\evil.example", " //evil.example", "javascript:…" all
leave the site, so anything that is not "/" followed by a non-slash, non-backslash character (or
"/" alone) is refused, after stripping nothing: a target with control characters or spaces is
refused as a whole.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def local_target(target: str | None) -> str | None:
    """`target` as a path on this host, or None. An absolute URL to this very host is reduced to its
    path; any other host, scheme or form is refused."""
    if not target:
        return None
    if any(ord(c) < 33 or c == "\x7f" for c in target):  # browsers strip these; we refuse them
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    return target


def safe_redirect_target(target: str | None, default: str = "/") -> str:
    return local_target(target) or default


def _no_redirect_away(resp):
    """Safety net under every view, the libraries' included (Flask-Security's `next`, Flask-Admin's
    `url`): a redirect whose Location leaves this host goes to the home page instead."""
    location = resp.headers.get("Location") if 300 <= resp.status_code < 400 else None
    if location is not None and local_target(location) is None:
        resp.headers["Location"] = "/"
    return resp


def init_app(app) -> None:
    app.after_request(_no_redirect_away)
