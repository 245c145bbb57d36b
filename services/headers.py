"""Security headers on every response (issue 13, point 11).

The Content-Security-Policy allows no inline script but those carrying this request's nonce:
Flask-Admin puts it on its own scripts (`Admin(csp_nonce_generator=csp_nonce)` gives templates
`admin_csp_nonce_attribute`), and the app's other templates use `csp_nonce()`. Inline event
handlers (onclick=…) and javascript: URLs are refused by the browser; static/js/csp.js does their
work. Styles may stay inline (Bootstrap's and the templates' style attributes).
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request


def csp_nonce() -> str:
    """One random nonce per request, the same in the header and in every script tag."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str, pdf: bool = False) -> str:
    # A PDF opened in a tab is shown by the browser's own viewer, a plugin: object-src 'none' on the
    # PDF's response could keep some browsers from showing it.
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'self'" if pdf else "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def set_security_headers(resp: Response) -> Response:
    # setdefault: a view that needs a stricter header (public/: Referrer-Policy no-referrer) keeps it.
    resp.headers.setdefault("Content-Security-Policy",
                            content_security_policy(csp_nonce(), pdf=resp.mimetype == "application/pdf"))
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:  # behind a proxy, is_secure needs ProxyFix (X-Forwarded-Proto)
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return resp


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
