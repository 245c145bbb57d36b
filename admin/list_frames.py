"""The pupils' list page kept a minute, less its rows and tokens (issue 15, point 8).

A list page is its rows — the pupils, read on every request under the user's scope — inside a frame:
the navbar and menu, the tabs with the total, the filter, page-size, bulk-action and export menus,
the search box, the saved filters, the column headers, the pager and the scripts. The frame is a
function of the account (id, roles, unit, the navbar's name, its saved filters), the
page's URL (sort, search, filters, page, page size), the language, the total and the number of rows
shown. It is rendered by Flask-Admin (templates/admin/student_list.html) once per such key and kept
FRAME_SECONDS in the worker; a registrar who goes from the list to a pupil and back, or reloads it,
gets the same frame around freshly read rows without rendering it again.

What is never kept: the rows (a hole filled by admin/student_rows.py on every request), the CSRF
token, the Content-Security-Policy nonce and the navbar's two counts (holes filled with this
request's values; whether each count is zero is in the key, it changes the badge's colour), and the
`_once` form tokens (added after the view, services/submission_tokens.py). The holes are marked by
random strings made at start-up, which no page, search or name can contain by chance or design.
A page with a flashed message is not kept (the message is shown once). Nothing is shared between
accounts: the account's id is in the key. Another worker keeps its own; LIST_FRAME_SECONDS=0 turns
it off (every page rendered in full).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import typing as t
from dataclasses import dataclass

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_security import current_user
from flask_wtf.csrf import generate_csrf

from services.headers import csp_nonce

FRAME_SECONDS = 60.0
# A frame is 30–60 kB (a province's filter menu lists its schools); the oldest go first beyond this
# many characters per worker (LIST_FRAME_BUDGET), so a worker never holds more than ~32 MB of them.
FRAME_BUDGET = 16_000_000

ROWS, CSRF, NONCE, WAITING, UNREAD = (f"xueji-{name}-{secrets.token_hex(12)}"
                                      for name in ("rows", "csrf", "nonce", "waiting", "unread"))
_HOLES = re.compile(f"({ROWS}|{CSRF}|{NONCE}|{WAITING}|{UNREAD})")


@dataclass(frozen=True)
class Frame:
    parts: tuple[str, ...]  # literal, hole, literal, hole … (re.split with a group: holes at odd indices)
    rows_spec: t.Any  # how the rows are written for this frame (StudentView: columns, checkbox, buttons)
    size: int  # characters

    def fill(self, values: t.Mapping[str, str]) -> str:
        return "".join(values[p] if i % 2 else p for i, p in enumerate(self.parts))


_frames: dict[tuple[t.Any, ...], tuple[float, Frame]] = {}  # oldest first (insertion order)
_kept_size = 0
_lock = threading.Lock()


def _seconds() -> float:
    return float(current_app.config.get("LIST_FRAME_SECONDS", FRAME_SECONDS))


def _key(inputs: tuple[t.Any, ...]) -> tuple[t.Any, ...]:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return (id(current_app._get_current_object()), request.endpoint, request.script_root,  # type: ignore[attr-defined]
            request.full_path, str(get_locale()), user.id, frozenset(user.role_names),
            user.unit.path if user.unit else None, *inputs)


def _csrf_field() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def page(inputs: tuple[t.Any, ...], render: t.Callable[[], t.Any], rows: t.Callable[[t.Any], str],
         numbers: t.Mapping[str, str]) -> t.Any:
    """The list page: the kept frame around `rows(rows_spec)`, or what `render()` answers in full.

    inputs: everything else the frame depends on (the view's frame_inputs: total, rows shown, navbar,
    saved filters). render(): the page by Flask-Admin; while it renders a frame to keep, the view
    writes ROWS where the rows go (is_rendering_frame) and keeps how it writes them (keep_rows_spec),
    and the navbar writes WAITING and UNREAD where its two counts go (admin/menu.navbar_user).
    numbers: the two counts' text for this request ({WAITING: "3", UNREAD: "0"}).
    """
    seconds = _seconds()
    if seconds <= 0 or not current_user.is_authenticated or session.get("_flashes"):
        return render()
    key, now = _key(inputs), time.monotonic()
    found = _frames.get(key)
    if found is None or found[0] <= now:
        frame = _render_frame(render, numbers)
        if not isinstance(frame, Frame):  # a redirect, or a page without the rows' hole: never kept
            return frame
        _keep(key, now + seconds, frame)
    else:
        frame = found[1]
    return frame.fill({ROWS: rows(frame.rows_spec), CSRF: generate_csrf(), NONCE: csp_nonce(), **numbers})


def _keep(key: tuple[t.Any, ...], expires: float, frame: Frame) -> None:
    global _kept_size
    budget = int(current_app.config.get("LIST_FRAME_BUDGET", FRAME_BUDGET))
    with _lock:
        old = _frames.pop(key, None)
        _kept_size -= old[1].size if old else 0
        while _frames and _kept_size + frame.size > budget:
            _kept_size -= _frames.pop(next(iter(_frames)))[1].size
        if frame.size <= budget:
            _frames[key] = (expires, frame)
            _kept_size += frame.size


def is_rendering_frame() -> bool:
    return bool(g.get("xueji.list_frame_rendering"))


def keep_rows_spec(spec: t.Any) -> None:
    g.setdefault("xueji.list_frame_spec", spec)


def _render_frame(render: t.Callable[[], t.Any], numbers: t.Mapping[str, str]) -> t.Any:
    """render() with the CSRF token and the nonce replaced by their holes, cut at the holes: a
    Frame; or what render() answered, with this request's values, when it is not a frame to keep."""
    field = _csrf_field()
    nonce, token = csp_nonce(), g.pop(field, None)
    g.csp_nonce = NONCE
    setattr(g, field, CSRF)
    setattr(g, "xueji.list_frame_rendering", True)
    try:
        html = render()
    finally:
        g.csp_nonce = nonce
        g.pop(field, None)
        if token is not None:
            setattr(g, field, token)
        g.pop("xueji.list_frame_rendering", None)
    spec = g.pop("xueji.list_frame_spec", None)
    if not isinstance(html, str):
        return html  # a response (Flask-Admin redirects, e.g.): no token of ours is in it
    parts = tuple(_HOLES.split(html))
    if parts.count(ROWS) != 1 or spec is None:
        # Rendered without the rows' hole (a list template that writes its own rows): a frame would
        # hold the rows. The page with this request's token and nonce; nothing kept.
        values = {CSRF: generate_csrf(), NONCE: nonce, **numbers}
        return "".join(values.get(p, p) if i % 2 else p for i, p in enumerate(parts))
    return Frame(parts, spec, len(html))


def clear() -> None:
    global _kept_size
    with _lock:
        _frames.clear()
        _kept_size = 0
