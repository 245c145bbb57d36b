"""ID numbers on screen (issue 13, point 4): masked by default, the full number one audited click away.

`masked_id` gives the masked text and a small "显示" button; static/js/reveal_id.js posts the
button's URL (StudentView.reveal_id: scoped, CSRF-checked, audited) and swaps in the answer.
Pages that use it load that script (`reveal_script`).
"""

from __future__ import annotations

import typing as t

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from services.ids import mask_id, mask_xjh

REVEAL_ENDPOINT = "student.reveal_id"


def masked_id(number: str | None, student_id: int, field: str = "id_number") -> Markup:
    """The masked number with its reveal button; nothing for no number. field "xjh": a G-学籍号,
    which contains the ID number."""
    return masked_id_writer(field)(number, student_id)


def masked_id_writer(field: str = "id_number") -> t.Callable[[str | None, int], Markup]:
    """masked_id for one field, with what does not depend on the pupil looked up once: the reveal
    URL around the pupil's id and the button's words. The pupils' list writes 20 a page with one
    (StudentView.column_page_formatters); each lookup goes through Flask's and Babel's context."""
    head, tail = (str(escape(part)) for part in _reveal_url_parts(field))  # the id itself is digits
    title, label = _words()
    mask = mask_xjh if field == "xjh" else mask_id

    def write(number: str | None, student_id: int) -> Markup:
        if not number:
            return Markup("")
        return Markup(
            f'<span class="masked-id text-nowrap"><span data-masked-id>{escape(mask(number))}</span> '
            f'<button type="button" class="btn btn-link btn-sm p-0 align-baseline reveal-id" '
            f'data-reveal-url="{head}{int(student_id)}{tail}" title="{title}">{label}</button></span>'
        )

    return write


_MARK = 987654321987654321  # where the reveal URL takes the pupil's id (an int: the route's converter)


def _reveal_url_parts(field: str) -> tuple[str, str]:
    """url_for(REVEAL_ENDPOINT, …) split where the pupil's id goes (the path's only number), built
    once per field and request (url_for costs ~0.1 ms)."""
    from flask import has_request_context, request

    key = f"xueji.reveal_url.{field}"
    parts = request.environ.get(key) if has_request_context() else None
    if parts is None:
        head, _mark, tail = url_for(REVEAL_ENDPOINT, student_id=_MARK, field=field).partition(str(_MARK))
        parts = (head, tail)
        if has_request_context():
            request.environ[key] = parts
    return parts


_WORDS: dict[str, tuple[Markup, Markup]] = {}  # language -> the button's two texts, escaped


def _words() -> tuple[Markup, Markup]:
    """The button's title and label in the page's language, translated once per language."""
    key = str(get_locale())
    found = _WORDS.get(key)
    if found is None:
        found = (escape(_("Show the full number (the view is recorded in the audit log)")), escape(_("Show number")))
        _WORDS[key] = found
    return found


def is_id_field(field: str) -> bool:
    """`id_number` and a guardian's `guardian1.id_number`, as history rows name them."""
    return field == "id_number" or field.endswith(".id_number")


def masked_history_value(shown: t.Callable[[str, t.Any], str]) -> t.Callable[[str, t.Any], str]:
    """History rows of ID-number (and G-学籍号) changes show the old and new numbers masked (no reveal: a former
    number is not needed to work on the record; the current one is revealed on the page)."""
    def value(field: str, raw: t.Any) -> str:
        if raw and is_id_field(field):
            return mask_id(raw)
        if raw and field in ("xjh", "_created"):  # a G-学籍号 contains the ID number; "_created" shows the 学籍号
            return mask_xjh(raw)
        return shown(field, raw)
    return value


def reveal_script() -> Markup:
    from services.headers import csp_nonce

    return Markup('<script nonce="{}" src="{}"></script>').format(csp_nonce(), url_for("static", filename="js/reveal_id.js"))
