"""What a class name may be, wherever one is recorded: the record's form, an import, 校内调班
(the change type of changes/class_change.py, which moves a pupil between classes)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    pass

MAX_CLASS_NAME = 20  # the column's length (student.class_name)
MAX_REASON = 200
# "2班", "四年级（2）班", "实验班 A": Chinese, letters, digits, spaces and brackets; never markup.
CLASS_NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9 ()（）\-·.#＃]+$")


def class_name_problem(value: str | None) -> str | None:
    """Why a class name is refused, None when it may be recorded (empty: no class yet)."""
    name = (value or "").strip()
    if not name:
        return None
    if len(name) > MAX_CLASS_NAME:
        return str(_l("At most %(n)d characters.", n=MAX_CLASS_NAME))
    if not CLASS_NAME_RE.match(name):
        return str(_l("A class name may contain only Chinese characters, letters, digits, spaces and brackets."))
    return None
