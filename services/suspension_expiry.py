"""休学到期 (第十九条): suspensions that have ended with no resumption or extension waiting, which
the school must follow up with the family. The school's list (admin/status.py) and the oversight
report (services/oversight/reports.py) read the same query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, select

from models.changes import PENDING, ChangeRequest
from models.lifecycle import StudentStatus
from models.people import User
from models.status import Suspension
from models.student import Student
from services import clock, scope
from services.change_codes import RESUMPTION, SUSPENSION_EXTENSION


def expired_query(actor: User) -> Select[Any]:
    """(Suspension, Student) of every suspension in the actor's scope that has ended with no
    resumption or extension waiting: the school must contact the family (第十九条)."""
    waiting = exists().where(
        ChangeRequest.student_id == Student.id, ChangeRequest.type.in_((RESUMPTION, SUSPENSION_EXTENSION)),
        ChangeRequest.status == PENDING,
    )
    return (
        select(Suspension, Student).join(Student, Student.id == Suspension.student_id)
        .where(Suspension.ended_on.is_(None), Suspension.ends_on < clock.today(), Student.status == StudentStatus.SUSPENDED,
               scope.filter_for(actor, Student.scope_path), ~waiting)
        .order_by(Suspension.ends_on, Suspension.id)
    )
