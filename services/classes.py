"""校内调班: a pupil's class within the school, changed as its own recorded action.

The edit form does not change the class (nor the grade) of a record once it is approved: a class
change is this action, by the staff of the pupil's school, with a reason, and it leaves a
StudentHistory row (services/audit.py writes it when the change is flushed). Self-contained on
purpose, so that it can later become a declared change type.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from extensions import db
from models.student import Student
from services import audit, scope
from services.errors import NotInScope, RuleViolation
from services.workflows import is_own_school

if TYPE_CHECKING:
    from models.people import User

MAX_CLASS_NAME = 20  # the column's length (student.class_name)
MAX_REASON = 200
# "2班", "四年级（2）班", "实验班 A": Chinese, letters, digits, spaces and brackets; never markup.
CLASS_NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9 ()（）\-·.#＃]+$")
# The statuses in which a pupil sits in a class of the school holding the record.
IN_CLASS_STATUSES = ("enrolled", "suspended")


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


def change_class(student: Student, actor: User, new_class: str | None, reason: str | None) -> None:
    """调班 (or a first class for a pupil who has none): the pupil's school only, with a reason."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    if not is_own_school(actor, student):
        raise RuleViolation(str(_l("The staff of the pupil's own school change the pupil's class.")))
    if student.status not in IN_CLASS_STATUSES:
        raise RuleViolation(str(_l("Only a pupil on the school's roll (在籍 or 休学) is placed in a class.")))
    name, why = (new_class or "").strip(), (reason or "").strip()
    problems = []
    if not name:
        problems.append(("class_name", str(_l("Give the new class."))))
    elif (problem := class_name_problem(name)) is not None:
        problems.append(("class_name", problem))
    elif name == (student.class_name or ""):
        problems.append(("class_name", str(_l("The pupil is already in this class."))))
    if not why:
        problems.append(("reason", str(_l("Give the reason for the class change."))))
    elif len(why) > MAX_REASON:
        problems.append(("reason", str(_l("At most %(n)d characters.", n=MAX_REASON))))
    if problems:
        raise RuleViolation(problems)
    old = student.class_name
    with audit.acting(actor, reason=str(_l("Class change")) + "：" + why):
        student.class_name = name
        db.session.flush()  # the history row (old → new class, by whom, why) is written here
    audit.record(actor, "student.class_change", "student", student.id, f"{old or ''} → {name}")
