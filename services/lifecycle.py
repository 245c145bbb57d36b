"""Applying a status change of a student record: the one place that assigns `Student.status`.

A change type's effect (services/workflows.apply_effect), a hook on rejection, or a service action
(a problem record cancelled, a delayed child starting school) describes what should change as an
`Outcome`; `apply` checks the move against the table of models/lifecycle.py, assigns it with the
other fields the outcome carries, and flushes so that the history rows are written with whoever
`audit.acting` names. A refused move is `IllegalTransition` (a programming error: the types'
preconditions have already refused, in words, what a user may not do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, update

from extensions import db
from models.lifecycle import NEW_RECORD, IllegalTransition, StudentStatus, applying, refusal
from models.student import Student


@dataclass(frozen=True)
class Outcome:
    """What a change does to the pupil's record: the new status (None: unchanged) and other fields
    that move with it (the grade a returning pupil goes into)."""

    status: StudentStatus | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


def apply(student: Student, outcome: Outcome | None, cause: str) -> None:
    """Apply `outcome` to a stored record for `cause` (a change type's code or one of the causes of
    models/lifecycle.py); the caller's `audit.acting` names the actor, reason and request."""
    if outcome is None:
        return
    for name, value in outcome.fields.items():
        setattr(student, name, value)
    if outcome.status is not None and outcome.status != student.status:
        problem = refusal(student.status, outcome.status, cause)
        if problem:
            raise IllegalTransition(problem)
        with applying(cause):
            student.status = outcome.status.value
    db.session.flush()  # the history rows (old → new) are written here, inside the caller's acting


def begin(student: Student, status: StudentStatus) -> None:
    """The first status of a record being created (待核办, or 在籍 for a record brought over)."""
    problem = refusal(None, status, NEW_RECORD)
    if problem:
        raise IllegalTransition(problem)
    student.status = status.value


def apply_to_many(ids: Select, old: StudentStatus, new: StudentStatus, cause: str, *, at: datetime) -> int:
    """Move the records `ids` (a SELECT of student ids) that are in `old` to `new` in one UPDATE; how
    many moved. For a year group at once (the graduation roster), where loading each record would
    cost minutes; the caller writes the history rows set-based too and expires what the session holds."""
    problem = refusal(old, new, cause)
    if problem:
        raise IllegalTransition(problem)
    moved = db.session.execute(
        update(Student).where(Student.id.in_(ids), Student.status == old.value)
        .values(status=new.value, version_id=Student.version_id + 1, updated_at=at)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount
    return int(moved)
