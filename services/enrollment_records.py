"""A new record (建立学籍, 第七条): staged, checked, written and submitted to the supervising authority.

One pupil entered on a page and a few hundred from an import (services/imports/apply.py) go the
same way: `stage_enrollment` checks and adds, `finish_enrollments` writes (查重 included) and
opens the enrollment requests, which the change type of changes/enrollment.py approves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.changes import ChangeRequest
from models.lifecycle import StudentStatus
from models.org import OrgUnit
from models.student import Student
from services import lifecycle
from services.change_codes import ENROLLMENT
from services.students import finish_new, stage_new
from services.workflows import open_request, open_requests

if TYPE_CHECKING:
    from models.people import User


def enroll(student: Student, actor: User, school: OrgUnit | None, reason: str | None = None) -> Student:
    """A new record entered by a school: saved as 待核办 and submitted to the supervising authority."""
    stage_enrollment(student, actor, school, reason)
    finish_enrollments([student], actor, school, reason)  # type: ignore[arg-type]
    return student


def stage_enrollment(student: Student, actor: User, school: OrgUnit | None, reason: str | None = None,
                     *, ids_checked: bool = False) -> Student:
    """The checks of `enroll` for one new record, which is added to the session but not yet written;
    an import stages a few hundred, then writes them with `finish_enrollments`."""
    lifecycle.begin(student, StudentStatus.PENDING)
    return stage_new(student, actor, school, reason, ids_checked=ids_checked)


def finish_enrollments(students: list[Student], actor: User, school: OrgUnit, reason: str | None = None) -> None:
    """Write staged new records of one school (查重 included) and submit them all to the authority."""
    if students:
        finish_new(students, actor, reason)
        open_requests(ENROLLMENT, students, actor, to_school=school)


def submit_enrollment(student: Student, actor: User) -> ChangeRequest:
    """(Re)submit a waiting record, e.g. after the authority sent it back for corrections."""
    return open_request(ENROLLMENT, student, actor, to_school=student.school)
