"""Finding a pupil held by another school: the one way across the scope rule (services/scope.py).

Two changes start at a school that does not hold the record: 转入 (第十四条: the family brings its
papers to the receiving school, which starts the transfer) and 学籍接续 (第五条: the junior middle
school continues the primary record). That school knows the child from the papers in front of it,
so it finds the pupil by the full ID number (or, for a pupil without a mainland ID, the full 学籍号)
*and* the name together, never by an internal row id, a part of a number or a name alone. The
answer shows only what confirms the match (masked name, school, grade), and every lookup is audited.

Between the lookup and the form that opens the request the page carries a signed, expiring token
bound to the user, not the pupil's row id: a posted id of a pupil outside the user's scope is
refused (404) and a token of another user or an altered one is worth nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select

from extensions import db
from models.student import Student
from services import audit, codes, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

TOKEN_SALT = "pupil-identity"
TOKEN_MAX_AGE = 2 * 3600  # long enough to scan the family's papers, short enough not to linger
MIN_NUMBER = 15  # the shortest full number (an old 15-digit ID); anything shorter is a prefix


def mask_name(name: str | None) -> str:
    """王*明, 李*, 欧**娜: the first and last character stay, the rest is starred."""
    text = (name or "").strip()
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


@dataclass(frozen=True)
class Identified:
    """What the lookup shows: enough to confirm the match, nothing more (no ID number, no address)."""

    masked_name: str
    school_name: str
    grade: str
    token: str


def _clean(number: str | None, name: str | None) -> tuple[str, str]:
    return (number or "").strip().upper(), " ".join((name or "").split())


def identify(actor: User, number: str | None, name: str | None, purpose: str) -> Student | None:
    """The pupil whose full ID number or 学籍号 is `number` and whose name is `name`, or None.
    Audited whether found or not (the number itself is not written to the log)."""
    key, wanted = _clean(number, name)
    student = None
    if len(key) >= MIN_NUMBER and wanted:
        student = db.session.scalar(
            select(Student).where(or_(Student.id_number == key, Student.xjh == key), Student.name == wanted))
    audit.record(actor, "student.lookup", "student", student.id if student else None,
                 f"按证件号或学籍号查找（{key[:6]}…）：{'找到' if student else '未找到'}")
    return student


def shown(actor: User, student: Student) -> Identified:
    return Identified(mask_name(student.name), student.school.name if student.school else "",
                      codes.label("grade", str(student.grade)) if student.grade else "", token_for(actor, student))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=TOKEN_SALT)


def token_for(actor: User, student: Student) -> str:
    return _serializer().dumps({"u": actor.id, "s": student.id})


def from_token(actor: User, token: str | None) -> Student:
    """The pupil a token of this user names. A token altered, forged or of another user is
    NotInScope (404, like an unknown id); an expired one asks for the lookup again."""
    try:
        data = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise RuleViolation(str(_l("The pupil was found too long ago; please look the pupil up again."))) from None
    except BadSignature:
        raise NotInScope() from None
    if not isinstance(data, dict) or data.get("u") != actor.id or not isinstance(data.get("s"), int):
        raise NotInScope()
    student_id = data["s"]
    student = db.session.get(Student, student_id) if 0 < student_id <= scope.MAX_ID else None
    if student is None:
        raise NotInScope()
    return student
