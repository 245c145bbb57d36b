"""The list's controls kept a minute per account and URL (issue 15, point 8).

A list page's controls — the tabs with the total, the filter, page-size, bulk-action and export
menus, the search box, the column headers' sort links and the pager — are Flask-Admin macros
(~1.5 ms of CPU a page at 3M) whose output depends only on the account (its roles and unit: which
actions and columns it has), the page's URL (sort, search, filters, page, page size), the language
and the total. They are rendered once per (account, roles, unit, URL, language, total) and kept
FRAGMENT_SECONDS in the worker: a registrar who goes from the list to a pupil and back, or
reloads it, gets the same controls without rendering them again. They hold no token (the forms
among them are GET forms; the bulk actions' POST form with its CSRF token is rendered on every
page) and no pupil data. Another worker renders its own; LIST_FRAGMENT_SECONDS=0 turns it off.
"""

from __future__ import annotations

import time
import typing as t

from flask import current_app, request
from flask_babel import get_locale
from flask_security import current_user

FRAGMENT_SECONDS = 60.0
CACHE_SIZE = 2_000
_fragments: dict[tuple[t.Any, ...], tuple[float, t.Any]] = {}


def cached_fragment(name: str, total: t.Any, caller: t.Callable[[], t.Any]) -> t.Any:
    """`{% call cached_fragment('header', count) %}…{% endcall %}`: the body's output, kept per key."""
    seconds = float(current_app.config.get("LIST_FRAGMENT_SECONDS", FRAGMENT_SECONDS))
    if seconds <= 0 or not current_user.is_authenticated:
        return caller()
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    key = (id(current_app._get_current_object()), name, request.endpoint, request.script_root,  # type: ignore[attr-defined]
           request.full_path, str(get_locale()), user.id, frozenset(user.role_names),
           user.unit.path if user.unit else None, total)
    now = time.monotonic()
    found = _fragments.get(key)
    if found is not None and found[0] > now:
        return found[1]
    if len(_fragments) >= CACHE_SIZE:
        _fragments.clear()
    html = caller()
    _fragments[key] = (now + seconds, html)
    return html
