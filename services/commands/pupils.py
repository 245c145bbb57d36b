"""The status changes a school opens from its pupil's page (第十七–二十三条), one command per
request page. The rule of which pages a pupil's status offers lives here, below the screens:
the pupil's page, the "start a change" search and the page's own POST ask the same command.

`allowed(actor, pupil)` says why not: another school holds the record, the pupil's status does
not allow this change, the record was not placed here (第二十二条 return), or the pupil already has an
open request. `run(actor, pupil, open=…)` calls the page's opener (a service function) after the
check; the service checks its own preconditions again when it opens the request.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.changes import COMPLETED, ChangeRequest
from models.lifecycle import StudentStatus
from models.people import User
from models.student import Student
from services import scope, workflows
from services.change_codes import CLASS_CHANGE, JUVENILE_PLACEMENT, JUVENILE_RETURN
from services.commands.base import Command, first_refusal

ENROLLED, SUSPENDED = StudentStatus.ENROLLED, StudentStatus.SUSPENDED
# Offered apart from the status buttons: 回原校 only where the record was placed (第二十二条); 调班
# beside the pupil's class on the pupil's page.
APART = (JUVENILE_RETURN, CLASS_CHANGE)


def kinds_for(status: str) -> list[str]:
    """The request pages the pupil's status offers, in the registry's order: each change type
    declares the statuses in which the pupil's page offers it (ChangeType.offered_in)."""
    return [code for code, ctype in workflows.TYPES.items() if status in ctype.offered_in]


def placed_here(student: Student) -> bool:
    """Whether the record sits at a 第二十二条 institution's school it was placed at (and not yet returned)."""
    last = db.session.scalar(
        select(ChangeRequest).where(
            ChangeRequest.student_id == student.id, ChangeRequest.status == COMPLETED,
            ChangeRequest.type.in_((JUVENILE_PLACEMENT, JUVENILE_RETURN)),
        ).order_by(ChangeRequest.id.desc())
    )
    return last is not None and last.type == JUVENILE_PLACEMENT and last.to_school_id == student.school_id


def applies(kind: str, student: Student) -> bool:
    """Whether the pupil's status offers this change at all (else its button is not shown)."""
    if kind == "juvenile_return":
        return student.status == ENROLLED and placed_here(student)
    if kind == CLASS_CHANGE:
        return student.status in (ENROLLED, SUSPENDED)
    return kind in kinds_for(student.status)


def _busy(kind: str, student: Student) -> str | None:
    # Every page opens the change type of its own name (the 第十七条 page: special_move or special_attend,
    # which open alike).
    return workflows.busy_refusal(kind, student)


def _refusal(kind: str) -> t.Callable[[User, Student], str | None]:
    def refusal(actor: User, student: Student) -> str | None:
        return first_refusal(
            lambda: None if workflows.is_own_school(actor, student)
            else _l("The school that holds the pupil's record files this change."),
            lambda: None if applies(kind, student)
            else _l("The pupil's status does not allow this change."),
            lambda: _busy(kind, student),
        )
    return refusal


def _in_scope(actor: User, student: Student) -> bool:
    return scope.covers(actor, student.scope_path)


def _open(actor: User, student: Student, *, open: t.Callable[[], ChangeRequest]) -> ChangeRequest:
    return open()


class _StatusChanges(Mapping[str, Command[Student]]):
    """kind → its command, for every type that declares a request page (built when first asked:
    the registry is complete only once changes/ has been imported, above this layer)."""

    def __init__(self) -> None:
        self._made: dict[str, Command[Student]] = {}

    def _kinds(self) -> list[str]:
        return [code for code, ctype in workflows.TYPES.items() if ctype.page is not None]

    def __getitem__(self, kind: str) -> Command[Student]:
        if kind not in self._made:
            if kind not in self._kinds():
                raise KeyError(kind)
            self._made[kind] = Command[Student](f"status.{kind}", _refusal(kind), _open, _in_scope)
        return self._made[kind]

    def __iter__(self) -> t.Iterator[str]:
        return iter(self._kinds())

    def __len__(self) -> int:
        return len(self._kinds())


STATUS_CHANGES = _StatusChanges()


def offered(actor: User, student: Student) -> list[tuple[str, str | None]]:
    """The status changes of the pupil's page for this user: (kind, None) when allowed, (kind,
    reason) when the status offers it but something stands in the way (shown disabled, with why).
    Staff of other units see none."""
    if not workflows.is_own_school(actor, student):
        return []
    kinds = (["juvenile_return"] if applies("juvenile_return", student) else []) + kinds_for(student.status)
    return [(kind, STATUS_CHANGES[kind].allowed(actor, student)) for kind in kinds]
