"""What several change types share: opening a status change from the school that holds the
record, the units that decide its steps, finishing it, the record's move to another school, the
pupil's current suspension. The change-type modules (changes/, listed in changes/__init__.py) import
these from here and never one another (the "change-types" contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.changes import COMPLETED, ChangeRequest
from models.org import OrgUnit
from models.status import Suspension
from models.student import Student
from services import archive, audit, classes, clock, codes, paper, scope, students
from services.errors import NotInScope
from services.labels import CODED_FIELDS
from services.workflows import open_request, payload_date, snapshot

if TYPE_CHECKING:
    from models.people import User


def open_change(type_code: str, student: Student, actor: User, **fields: Any) -> ChangeRequest:
    """Open a status change of `student` from the school that holds the record. A pupil outside
    the actor's subtree is NotInScope (404: absent and forbidden look the same)."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    return open_request(type_code, student, actor, from_school=student.school, **fields)


grades_taught = students.grades_taught


def grade_taught(req: ChangeRequest) -> str | None:
    """The grade asked for in the payload is one the pupil's school teaches."""
    grade = (req.payload or {}).get("grade")
    if grade not in grades_taught(req.student.school):
        return _l("This school does not teach grade %(g)s.", g=grade)
    return None


def finish(req: ChangeRequest) -> None:
    """Mark the request done. Flushes, so that the pupil's changes made by the effect are written to
    the history while `workflows.decide` still attributes them to the request and the approver."""
    req.status, req.finished_at = COMPLETED, clock.now()
    db.session.flush()


def school_of(req: ChangeRequest) -> OrgUnit | None:
    return req.student.school


def authority_of(req: ChangeRequest) -> OrgUnit | None:
    return req.student.school.supervisor if req.student.school is not None else None


def current(student: Student) -> Suspension | None:
    """The pupil's suspension that has not ended."""
    return db.session.scalar(
        select(Suspension).where(Suspension.student_id == student.id, Suspension.ended_on.is_(None)).order_by(Suspension.id.desc())
    )


def end_current(student: Student, req: ChangeRequest) -> None:
    """End the pupil's current suspension, if any, by this request (复学, or a death reported meanwhile)."""
    episode = current(student)
    if episode is not None:
        episode.ended_on, episode.ended_by_request_id = clock.today(), req.id


def move_record(req: ChangeRequest, actor: User, to_school: OrgUnit, reason: str, backup_reason: str | None = None,
                *, clear_class: bool = False) -> None:
    """The record moves to another school of the province; the school it leaves keeps an exported
    backup (第十条), the paper file's hand-over starts (第十六条), and the move is written to history
    with the request. `clear_class`: the pupil arrives with no class until the new school assigns one
    (调班, services/classes.py)."""
    student = req.student
    req.archive_backup = snapshot(student)
    archive.backup_on_leaving(req, actor, backup_reason)
    paper.open_handover(req, student.school, to_school)  # 第十六条: the paper file follows, sealed, by the guardian
    with audit.acting(actor, reason=reason, request_id=req.id):
        student.school = to_school
        student.school_id = to_school.id  # the column, so history sees it
        student.scope_path = to_school.path
        if clear_class:
            classes.place(student, None)
        db.session.flush()


def is_own_staff(actor: User, school: OrgUnit) -> bool:
    """Staff of this school: the ones who compile its graduation roster and apply for its certificates."""
    return actor.unit_id == school.id and actor.is_school_user


# --- how a request's facts read (workflows.Fact.show) ---------------------------------------------


def as_day(value: Any) -> str:
    """A day kept in a payload (ISO text) as people read it; empty when it is not a date."""
    day = payload_date({"d": value}, "d")
    return day.isoformat() if day else ""


def as_grade(value: Any) -> str:
    return codes.label("grade", str(value)) if value not in (None, "") else ""


def as_yes_no(value: Any) -> str:
    return str(_l("Yes") if value else _l("No"))


def as_label(labels: dict[str, Any]) -> Callable[[Any], str]:
    """A coded value by its label (an unknown code reads as nothing rather than as the code)."""
    return lambda value: str(labels.get(value, ""))


def as_field_value(field: str, value: Any) -> str:
    """A record field's value in words: codes by their labels, days as ISO dates."""
    if value in (None, ""):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if field in CODED_FIELDS:
        return codes.label(CODED_FIELDS[field], str(value))
    return str(value)
