"""问题学籍 resolution (第七条), as in the national system: evidence (佐证), corrected data (变更),
cancellation of the record (删除: status 注销, never a row deletion). The problem is visible and
resolvable within the scope of the school and its authority; services/dedup.py finds and flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from extensions import db
from models.changes import OPEN_STATUSES, ChangeRequest
from models.lifecycle import DUPLICATE_CANCELLED, StudentStatus
from models.problems import CANCELLED, CORRECTED, EVIDENCE, INVALID_ID, OPEN, RESOLVED, SOFT_NAME_BIRTH, ProblemRecord
from services import audit, clock, lifecycle, scope, uploads
from services.dedup import INACTIVE_STATUSES, invalid_id_reason
from services.errors import NotInScope, RuleViolation
from services.lifecycle import Outcome

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from models.people import User


def visible_filter(actor: User) -> Any:
    return scope.filter_for(actor, ProblemRecord.scope_path)


def get_visible(actor: User, problem_id: int) -> ProblemRecord:
    return scope.load_scoped(actor, ProblemRecord, problem_id)


def may_resolve(actor: User, problem: ProblemRecord) -> bool:
    """Staff of the pupil's school, or an official (or administrator) whose subtree holds it."""
    student = problem.student
    if not scope.covers(actor, student.scope_path):
        return False
    if actor.unit_id == student.school_id and actor.is_school_user:
        return True
    return actor.is_official


def _check_resolvable(problem: ProblemRecord, actor: User) -> None:
    if not scope.covers(actor, problem.student.scope_path):
        raise NotInScope()
    refused = resolve_refusal(actor, problem)
    if refused:
        raise RuleViolation(refused)


def resolve_refusal(actor: User, problem: ProblemRecord) -> str | None:
    """Why the actor may not resolve the problem record; None when they may."""
    if not may_resolve(actor, problem):
        return str(_l("Only staff of the pupil's school or its education authority can resolve a problem record."))
    if problem.status != OPEN:
        return str(_l("This problem record has already been resolved."))
    return None


def _close(problem: ProblemRecord, actor: User, resolution: str, note: str | None, **values: Any) -> None:
    """Resolve with a conditional UPDATE: of two users at once, only one finds the problem open."""
    result = db.session.execute(
        update(ProblemRecord)
        .where(ProblemRecord.id == problem.id, ProblemRecord.status == OPEN)
        .values(status=RESOLVED, resolution=resolution, resolution_note=note, resolved_by_id=actor.id,
                resolved_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RuleViolation(str(_l("This problem record has already been resolved.")))
    db.session.refresh(problem)
    audit.record(actor, f"problem.resolve.{resolution}", "problem_record", problem.id,
                 f"学生 #{problem.student_id} {values.get('evidence_filename') or ''} {note or ''}".strip())


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > 500:
        raise RuleViolation([("note", str(_l("At most %(n)d characters.", n=500)))])
    return text or None


def resolve_with_evidence(problem: ProblemRecord, actor: User, file: FileStorage | None, note: str | None) -> ProblemRecord:
    """佐证: the records are right as they are (e.g. twins); a photo or scan proves it."""
    _check_resolvable(problem, actor)
    note = _note(note)
    if file is None or not file.filename:
        raise RuleViolation([("file", str(_l("Choose the evidence file (JPG, PNG or PDF).")))])
    name = uploads.clean_filename(file.filename)
    data, content_type = uploads.read_checked(file.stream, name)  # refused before anything is stored
    _close(problem, actor, EVIDENCE, note, evidence_filename=name, evidence_content_type=content_type,
           evidence_size=len(data), evidence_sha256=uploads.store(data))
    return problem


def still_collides(problem: ProblemRecord) -> bool:
    """Whether the collision that made the problem still holds, on the data as it is now."""
    student, other = problem.student, problem.other_student
    if problem.kind == INVALID_ID:
        return invalid_id_reason(student.id_type, student.id_number, student.birth_date, student.gender) is not None
    if student.status in INACTIVE_STATUSES or other is None or other.status in INACTIVE_STATUSES:
        return False
    if problem.kind == SOFT_NAME_BIRTH:
        return (student.name, student.gender, student.birth_date) == (other.name, other.gender, other.birth_date)
    mine = {(g.id_number, g.name) for g in student.guardians if g.id_number}
    theirs = {(g.id_number, g.name) for g in other.guardians if g.id_number}
    return student.name == other.name and bool(mine & theirs)


def resolve_by_correction(problem: ProblemRecord, actor: User, note: str | None) -> ProblemRecord:
    """变更: the school has corrected the data; valid only once the collision no longer holds."""
    _check_resolvable(problem, actor)
    note = _note(note)
    db.session.refresh(problem.student)  # judge the data as stored, not a half-edited object
    if problem.other_student is not None:
        db.session.refresh(problem.other_student)
    if still_collides(problem):
        raise RuleViolation(str(_l("The records still collide: correct the data first (变更), then mark the problem corrected.")))
    _close(problem, actor, CORRECTED, note)
    return problem


def resolve_by_cancellation(problem: ProblemRecord, actor: User, note: str | None) -> ProblemRecord:
    """删除: the record is fake or a second record of the same pupil; it ends by status 注销 (never deleted)."""
    _check_resolvable(problem, actor)
    note = _note(note)
    if not note:
        raise RuleViolation([("note", str(_l("Say why the record is cancelled.")))])
    student = problem.student
    busy = db.session.scalar(
        select(ChangeRequest.id).where(ChangeRequest.student_id == student.id, ChangeRequest.status.in_(OPEN_STATUSES))
    )
    if busy is not None:
        message = _l("The pupil has an open request (#%(id)s); finish or withdraw it before cancelling the record.", id=busy)
        raise RuleViolation(str(message))
    _close(problem, actor, CANCELLED, note)
    with audit.acting(actor, reason=note):  # the history row names the actor and the reason
        lifecycle.apply(student, Outcome(StudentStatus.CANCELLED), DUPLICATE_CANCELLED)
    # The record no longer exists for 查重: its other open problems end with it.
    db.session.execute(
        update(ProblemRecord)
        .where(ProblemRecord.student_id == student.id, ProblemRecord.status == OPEN)
        .values(status=RESOLVED, resolution=CANCELLED, resolution_note=note, resolved_by_id=actor.id, resolved_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "student.cancel", "student", student.id, f"问题学籍 #{problem.id}：{note}")
    return problem
