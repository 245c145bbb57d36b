"""Static files' URLs, each built once per app and URL root (issue 15, point 8).

A page links ~25 static files (Flask-Admin's CSS and scripts through `admin/static.html`, ours),
and url_for costs ~50 µs each: ~1.5 ms a page for URLs that never change while the app runs. A
static URL depends only on the app (its rules, APPLICATION_ROOT), the script root it is mounted
under and the arguments (filename, the version `v`); all are in the key.
"""

from __future__ import annotations

import typing as t

from flask import current_app, request, url_for

CACHE_SIZE = 1024
_urls: dict[tuple[t.Any, ...], str] = {}


def static_url(endpoint: str, **kwargs: t.Any) -> str:
    key = (id(current_app._get_current_object()), request.script_root, endpoint,  # type: ignore[attr-defined]
           tuple(sorted((k, str(v)) for k, v in kwargs.items())))
    found = _urls.get(key)
    if found is None:
        if len(_urls) > CACHE_SIZE:  # bounded: only templates choose the arguments
            _urls.clear()
        found = _urls[key] = url_for(endpoint, **kwargs)
    return found
