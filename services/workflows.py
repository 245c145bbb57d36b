"""The change-request engine (学籍变动, 第三章): each change type is declared once, as data.

The change types themselves live in changes/ (one module each); this module is the registry they
declare into and the engine that runs them. Kept whole (about 700 lines): the declaration
(ChangeType and what it holds), opening, deciding (the conditional UPDATE that makes two approvers
one decision), applying the effect and the queues all read the same step rows and the same
registry; the next split, if it grows, is the declaration part into a module of its own.

A type names its approval steps (who decides, in how many working days), the materials it
needs, its preconditions and the effect applied when the last step approves. Every decision
goes through `decide`, which checks the actor itself, writes audit and history, and takes the
step with a conditional UPDATE so two approvers at once give one decision.

Most requests concern one pupil (`open_request(s)`); a few concern a school as a whole, such as
the graduation roster (`open_school_request`: no pupil, the school as `from_school`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from extensions import db
from models.archive import DOC_OTHER
from models.changes import (
    APPROVED,
    OPEN_STATUSES,
    PENDING,
    REJECTED,
    WITHDRAWN,
    ApprovalStep,
    Attachment,
    ChangeRequest,
    Notification,
)
from models.org import SCHOOL, OrgUnit
from models.people import OFFICIAL_ROLE_FOR_LEVEL, SCHOOL_ROLES, User
from models.student import PENDING as PENDING_RECORD
from models.student import Student
from services import audit, clock, dedup, lifecycle, notifications, scope, uploads, workdays
from services.change_codes import TRANSFER
from services.errors import NotInScope, RuleViolation
from services.evidence import ALWAYS, Rule
from services.labels import zh
from services.lifecycle import Outcome
from services.payloads import Payload, PayloadError

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

# Statuses in which a pupil cannot start a change (第十九条 休学, 第二十条 出国出境, problem records).
BLOCKING_STATUSES = {"suspended": _l("suspended"), "abroad": _l("abroad"), "problem": _l("a problem record")}


@dataclass(frozen=True)
class StepDef:
    role: str
    label: Any
    unit: Callable[[ChangeRequest], OrgUnit | None]
    workdays: int = 10
    # The day the working days count from, when not the day the step starts: a death is
    # cancelled within 10 working days of the day it was reported (第二十一条).
    counts_from: Callable[[ChangeRequest], date] | None = None

    @property
    def by_school(self) -> bool:
        return self.role.endswith("school")


@dataclass(frozen=True)
class Material:
    code: str
    label: Any
    # When the type needs it, read in Python here and in SQL by the missing-evidence report
    # (services/evidence.py: one declaration, both readings).
    when: Rule = ALWAYS

    def required(self, req: ChangeRequest) -> bool:
        return self.when.holds(req)


Check = Callable[[ChangeRequest, User], "str | None"]


@dataclass(frozen=True)
class Fact:
    """One thing a request asks for, as its page shows it: the payload key, its label, and how its
    value reads in words (a date, a label instead of a code); an empty reading is not shown."""

    key: str
    label: Any
    show: Callable[[Any], str] = lambda value: str(value or "")
    # Where the request page's summary box puts it: "asked" (what changes), "reason" (beside the
    # reason, e.g. a suspension's kind of reason) or "date" (a suspension's first and last day).
    kind: str = "asked"

    def row(self, payload: dict) -> tuple[str, str] | None:
        if self.key not in payload:
            return None
        shown = self.show(payload[self.key])
        return (str(self.label), shown) if shown else None


@dataclass(frozen=True)
class ChangeType:
    code: str
    label: Any
    steps: tuple[StepDef, ...]
    # What the approved change does. It may act (notify, file, move the record between schools) and
    # returns what should change in the pupil's record, which the engine applies (services/lifecycle).
    effect: Callable[[ChangeRequest, User], Outcome | None]
    materials: tuple[Material, ...] = ()
    reasons: dict[str, Any] = field(default_factory=dict)
    preconditions: tuple[Check, ...] = ()
    batch_approvable: bool = False
    on_reject: Callable[[ChangeRequest, User], Outcome | None] | None = None  # e.g. a record that was waiting for it
    on_withdraw: Callable[[ChangeRequest, User], None] | None = None  # e.g. a certificate that waited for it
    # May open while other requests of the pupil are open (only one of its own type at a time):
    # a death is reported whatever else was under way; its effect ends the others.
    opens_beside_others: bool = False
    # A basic-data correction (第十一条) is how a problem record (问题学籍) gets fixed, so such a
    # type may open while one is open; status changes may not (第七条).
    open_with_problem: bool = False
    # Blocking statuses (休学, 出国出境) in which this type may still be opened: the change that
    # ends them (复学, 出国复学), or one that applies whatever the pupil's state (death).
    while_blocked: tuple[str, ...] = ()
    # A request about a school (open_school_request): the payload keys that make two requests of
    # this type the same one, e.g. the roster's year; an open one blocks the next.
    same_when: tuple[str, ...] = ()
    # What its request page shows of what is asked (old → new), in words: one Fact per payload key;
    # `summary` adds rows computed from the request (a correction's items, old → new), `notes`
    # remarks with a mark for what needs attention (a death reported late).
    facts: tuple[Fact, ...] = ()
    # The labels of the two schools when the request moves a pupil between them (转出学校, 转入学校),
    # shown as from → to; None when nothing moves between schools (the page names the school).
    ends: tuple[Any, Any] | None = None
    summary: Callable[[ChangeRequest], list[tuple[str, str]]] | None = None
    notes: Callable[[ChangeRequest], list[tuple[str, str, bool]]] | None = None
    # The columns of the 学生增加和减少情况登记表 that count it, with the end of the request that is
    # the counting school (services/rosters/registers.py: "to" or "from").
    roster_columns: tuple[tuple[str, str], ...] = ()
    # The application forms printed from its request page (services/documents.KINDS).
    printable_forms: tuple[str, ...] = ()
    # The kind of archive document (models/archive.DOC_KINDS) its evidence becomes once it takes effect.
    filed_as: str = DOC_OTHER
    # What it asks for, typed (services/payloads.py): the engine stores only what this class declares.
    payload: type[Payload] | None = None
    # The pupil's statuses in which the pupil's page offers its request page (the buttons' order is
    # the registry's); empty for a type opened elsewhere or offered on a rule of its own.
    offered_in: tuple[str, ...] = ()
    # The page that opens it (changes/<type>.py: form, opener, defaults); None when it is opened
    # from a page of its own (a transfer, a roster, a certificate) rather than from the pupil's page.
    page: Any = None
    # Opened by a school that does not hold the record (转入 第十四条, 接续 第五条): the pupil lies
    # outside the opener's scope and is found by full ID number and name (services/pupil_identity.py).
    # Every other type opens only for a pupil inside the opener's subtree (`open_requests`).
    found_by_identity: bool = False


TYPES: dict[str, ChangeType] = {}
DECLARED_IN: dict[str, str] = {}  # code → the module that declared it (changes/<type>.py)


def declare(change_type: ChangeType) -> ChangeType:
    if change_type.code in TYPES and DECLARED_IN.get(change_type.code) != _caller_module():
        raise ValueError(f"change type {change_type.code!r} is declared twice")
    TYPES[change_type.code] = change_type
    DECLARED_IN[change_type.code] = _caller_module()
    return change_type


def _caller_module() -> str:
    return str(sys._getframe(2).f_globals.get("__name__", ""))


def type_of(req: ChangeRequest) -> ChangeType:
    return TYPES[req.type]


def checked_payload(type_code: str, payload: dict | None) -> dict:
    """The payload to store for a new request of this type: what its payload class declares, in
    its JSON form (a key it does not declare, or a value of the wrong kind, is refused loudly)."""
    declared = TYPES[type_code].payload
    return declared.parse(payload).dump() if declared is not None else dict(payload or {})


def payload_of(req: ChangeRequest) -> Payload:
    """The typed view of a stored request's payload."""
    declared = TYPES[req.type].payload
    if declared is None:
        raise PayloadError(f"change type {req.type!r} declares no payload")
    return declared.read(req.payload)


def request_details(req: ChangeRequest) -> list[tuple[str, str]]:
    """What the request asks for, as (label, value) in words: its type's facts of what changes (the
    reasons and dates are `facts_of` their own kind), then its summary."""
    ctype = TYPES[req.type]
    return facts_of(req, "asked") + (ctype.summary(req) if ctype.summary is not None else [])


def facts_of(req: ChangeRequest, kind: str) -> list[tuple[str, str]]:
    """The rows of the request's facts of one kind (Fact.kind), in words."""
    payload = req.payload or {}
    return [row for fact in TYPES[req.type].facts if fact.kind == kind and (row := fact.row(payload)) is not None]


def request_notes(req: ChangeRequest) -> list[tuple[str, str, bool]]:
    """What the type says about this request beside what it asks (label, text, whether to mark it)."""
    notes = TYPES[req.type].notes
    return notes(req) if notes is not None else []


def payload_date(payload: dict | None, key: str) -> date | None:
    """A day kept in a request's payload (ISO text), or None when absent or not a date."""
    value = (payload or {}).get(key)
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


# --- visibility -------------------------------------------------------------------


def visible_filter(actor: User) -> ColumnElement[bool]:
    """Either end in the actor's subtree, or the actor is the township central school of a rural end."""
    path = actor.unit.path
    return or_(
        and_(ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, path)),
        and_(ChangeRequest.to_path.is_not(None), scope.within(ChangeRequest.to_path, path)),
        ChangeRequest.from_central_id == actor.unit_id,
        ChangeRequest.to_central_id == actor.unit_id,
    )


def can_see(actor: User, req: ChangeRequest) -> bool:
    return (
        scope.covers(actor, req.from_path)
        or scope.covers(actor, req.to_path)
        or actor.unit_id in (req.from_central_id, req.to_central_id)
    )


notifications.set_request_visibility(can_see)  # 我的消息 tells of a request only those who see it


def get_visible(actor: User, request_id: int) -> ChangeRequest:
    # The request page shows the pupil, both schools, the requester and its unit, and every step's
    # unit and decider: read with the request (one statement and one for the steps) instead of one lazy load each.
    req = db.session.get(ChangeRequest, request_id, options=(
        joinedload(ChangeRequest.student), joinedload(ChangeRequest.from_school), joinedload(ChangeRequest.to_school),
        joinedload(ChangeRequest.requested_by), joinedload(ChangeRequest.requester_unit),
        selectinload(ChangeRequest.steps).options(joinedload(ApprovalStep.unit), joinedload(ApprovalStep.decided_by),
                                                  joinedload(ApprovalStep.forced_by_unit))))
    if req is None or not can_see(actor, req):
        raise NotInScope()
    return req


# --- opening ------------------------------------------------------------------------


def open_request(
    type_code: str,
    student: Student,
    actor: User,
    *,
    from_school: OrgUnit | None = None,
    to_school: OrgUnit | None = None,
    external_school: str | None = None,
    reason_code: str | None = None,
    reason_text: str | None = None,
    payload: dict | None = None,
    window_override: str | None = None,
) -> ChangeRequest:
    fields = {
        "from_school": from_school, "to_school": to_school, "external_school": external_school,
        "reason_code": reason_code, "reason_text": reason_text, "payload": payload, "window_override": window_override,
    }
    return open_requests(type_code, [student], actor, **fields)[0]


def open_requests(type_code: str, students: list[Student], actor: User, **fields: Any) -> list[ChangeRequest]:
    """`open_request` for many pupils with the same fields (an import's new class): the same
    checks, one query for open requests, one flush. The first refusal raises RuleViolation
    with `.student` set to the pupil it concerns."""
    ctype = TYPES[type_code]
    if not ctype.found_by_identity and any(not scope.covers(actor, s.scope_path) for s in students):
        raise NotInScope()  # the row rule for every page that opens a request: absent and forbidden look alike
    busy = _open_request_ids([s.id for s in students], type_code if ctype.opens_beside_others else None)
    deadlines: dict[tuple[date, int], workdays.Deadline] = {}
    reqs = []
    with db.session.no_autoflush:
        for student in students:
            req = _new_request(type_code, student, actor, **fields)
            problems = _open_problems(ctype, req, actor, busy.get(student.id))
            if problems:
                raise _about(RuleViolation(problems), student)
            try:
                _add_steps(ctype, req)
            except RuleViolation as exc:
                raise _about(exc, student) from None
            if ctype.steps:
                _start_step(req, 1, deadlines)
            reqs.append(req)
    db.session.add_all(reqs)
    db.session.flush()
    for req in reqs:
        audit.record(actor, "request.open", "change_request", req.id, f"{zh(ctype.label)}（学生 #{req.student.id}）")
        if not ctype.steps:  # the requesting school decides (校内调班): the change is made now
            apply_effect(req, actor)
    if ctype.steps and len(reqs) == 1:
        notifications.step_waiting(reqs[0], reqs[0].current_step, zh(ctype.label), actor)  # type: ignore[arg-type]
    elif ctype.steps:  # a class at once (an import): one message per deciding unit, not one per pupil
        notifications.steps_waiting(reqs, zh(ctype.label), actor)
    return reqs


def _about(exc: RuleViolation, student: Student) -> RuleViolation:
    exc.student = student  # type: ignore[attr-defined]
    return exc


def _add_steps(ctype: ChangeType, req: ChangeRequest) -> None:
    for seq, sdef in enumerate(ctype.steps, start=1):
        unit = sdef.unit(req)
        if unit is None:
            raise RuleViolation(str(_l("No unit can decide step %(n)d of this request.", n=seq)))
        req.steps.append(ApprovalStep(seq=seq, role=sdef.role, unit=unit, unit_id=unit.id, workdays=sdef.workdays))


def open_school_request(
    type_code: str,
    school: OrgUnit,
    actor: User,
    *,
    payload: dict | None = None,
    reason_text: str | None = None,
    window_override: str | None = None,
) -> ChangeRequest:
    """A request about a school rather than one pupil (the graduation roster, 第二十四条): no
    student, the school as `from_school`. The pupil checks (blocking status, 问题学籍) do not
    apply; the busy check is an open request of the same type for the same school whose payload
    agrees on the type's `same_when` keys. The preconditions, steps and decisions are as usual."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    ctype = TYPES[type_code]
    payload = checked_payload(type_code, payload)
    grade = payload.get("grade")
    req = ChangeRequest(
        type=type_code, status=PENDING, student=None, from_school=school, from_path=school.path,
        reason_text=(reason_text or "").strip() or None, payload=payload,
        grade_at_request=grade if isinstance(grade, int) else None,
        window_override=(window_override or "").strip() or None,
        requested_by=actor, requested_by_id=actor.id, requester_unit_id=actor.unit_id, requester_unit=actor.unit,
    )
    with db.session.no_autoflush:
        problems = _open_problems(ctype, req, actor, _open_school_request_id(ctype, school, payload))
        if problems:
            raise RuleViolation(problems)
        _add_steps(ctype, req)
        _start_step(req, 1)
    db.session.add(req)
    db.session.flush()
    audit.record(actor, "request.open", "change_request", req.id, f"{zh(ctype.label)}（{school.name}）")
    notifications.step_waiting(req, req.current_step, zh(ctype.label), actor)  # type: ignore[arg-type]
    return req


def _open_school_request_id(ctype: ChangeType, school: OrgUnit, payload: dict) -> int | None:
    """The id of an open request of this type about this school that is the same one (`same_when`)."""
    rows = db.session.execute(
        select(ChangeRequest.id, ChangeRequest.payload)
        .where(ChangeRequest.type == ctype.code, ChangeRequest.from_school_id == school.id,
               ChangeRequest.student_id.is_(None), ChangeRequest.status.in_(OPEN_STATUSES))
        .order_by(ChangeRequest.id)
    )
    # JSON is compared in Python: a school has a handful of such requests, and SQLite and
    # PostgreSQL spell JSON access differently.
    for rid, other in rows:
        if all((other or {}).get(k) == payload.get(k) for k in ctype.same_when):
            return int(rid)
    return None


def _new_request(
    type_code: str, student: Student, actor: User, *, from_school: OrgUnit | None = None, to_school: OrgUnit | None = None,
    external_school: str | None = None, reason_code: str | None = None, reason_text: str | None = None,
    payload: dict | None = None, window_override: str | None = None,
) -> ChangeRequest:
    return ChangeRequest(
        type=type_code, status=PENDING, student=student, from_school=from_school, to_school=to_school,
        from_path=from_school.path if from_school else None, to_path=to_school.path if to_school else None,
        from_central_id=from_school.central_school_id if from_school else None,
        to_central_id=to_school.central_school_id if to_school else None,
        external_school=(external_school or "").strip() or None, reason_code=reason_code,
        reason_text=(reason_text or "").strip() or None, payload=checked_payload(type_code, payload),
        grade_at_request=student.grade,
        window_override=(window_override or "").strip() or None,
        requested_by=actor, requested_by_id=actor.id, requester_unit_id=actor.unit_id, requester_unit=actor.unit,
    )


def _open_request_ids(student_ids: list[int], of_type: str | None = None) -> dict[int, int]:
    """Pupil id → the id of an open request of that pupil (of one type, when given)."""
    found: dict[int, int] = {}
    for k in range(0, len(student_ids), 1000):
        query = select(ChangeRequest.student_id, ChangeRequest.id).where(
            ChangeRequest.student_id.in_(student_ids[k:k + 1000]), ChangeRequest.status.in_(OPEN_STATUSES))
        if of_type is not None:
            query = query.where(ChangeRequest.type == of_type)
        rows = db.session.execute(query)
        for sid, rid in rows:
            found.setdefault(sid, rid)
    return found


# Pupil id → its open requests (id, type), read once for a page (open_requests_read_once).
_READ_ONCE: ContextVar[dict[int, list[tuple[int, str]]] | None] = ContextVar("open_requests_read_once", default=None)


@contextmanager
def open_requests_read_once(student: Student) -> Iterator[None]:
    """Within the block, busy_refusal of this pupil asks the database once, not once per change.

    A pupil's page offers up to seven changes, each asking whether one is open; the page changes
    no request while it is written. Not for a block that files or decides a request."""
    rows = db.session.execute(
        select(ChangeRequest.id, ChangeRequest.type)
        .where(ChangeRequest.student_id == student.id, ChangeRequest.status.in_(OPEN_STATUSES))
        .order_by(ChangeRequest.id)).all()
    token = _READ_ONCE.set({student.id: [(rid, typ) for rid, typ in rows]})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


def busy_refusal(type_code: str, student: Student) -> str | None:
    """Why the pupil cannot start a change of this type because of an open request (one at a time,
    or one of the same type for a type that opens beside others); None when nothing is open.
    `open_requests` applies the same rule to many pupils with one query."""
    of_type = type_code if TYPES[type_code].opens_beside_others else None
    known = (_READ_ONCE.get() or {}).get(student.id)
    if known is not None:
        busy = next((rid for rid, typ in known if of_type is None or typ == of_type), None)
    else:
        busy = _open_request_ids([student.id], of_type).get(student.id)
    if busy is None:
        return None
    return str(_l("The pupil already has an open request (#%(id)s); finish or withdraw it first.", id=busy))


def _open_problems(ctype: ChangeType, req: ChangeRequest, actor: User, busy: int | None) -> list[tuple[str, str]]:
    student = req.student
    if student is not None:  # a request about a school (open_school_request) has no pupil to check
        if student.status in BLOCKING_STATUSES and student.status not in ctype.while_blocked:
            return [("", str(_l("The pupil is %(state)s and cannot start this change.", state=BLOCKING_STATUSES[student.status])))]
        # 第七条: an open 问题学籍 blocks every change until resolved. A new record still waiting for
        # its own approval (待核办) is exempt: that request is part of creating it.
        if not ctype.open_with_problem and student.status != PENDING_RECORD:
            problem = dedup.open_problem(student.id)
            if problem is not None:
                message = _l("The pupil has an open problem record (问题学籍 #%(id)s, 第七条); resolve it before starting a change.",
                             id=problem.id)
                return [("", str(message))]
    if busy is not None and student is None:
        return [("", str(_l("The school already has an open request of this kind (#%(id)s); finish or withdraw it first.", id=busy)))]
    if busy is not None:
        return [("", str(_l("The pupil already has an open request (#%(id)s); finish or withdraw it first.", id=busy)))]
    if ctype.reasons and req.reason_code not in ctype.reasons:
        return [("reason_code", str(_l("Choose one of the lawful reasons.")))]
    problems = []
    for check in ctype.preconditions:
        message = check(req, actor)
        if message:
            problems.append(("", str(message)))
    return problems


def _start_step(req: ChangeRequest, seq: int, deadlines: dict[tuple[date, int], workdays.Deadline] | None = None) -> None:
    """Start step `seq` today; `deadlines` shares the computed due dates among many requests."""
    step = next(s for s in req.steps if s.seq == seq)
    step.started_at = clock.today()
    key = (step_counts_from(req, step), step.workdays)
    known = deadlines if deadlines is not None else {}
    if key not in known:
        known[key] = workdays.add_workdays(*key)
    deadline = known[key]
    step.due_date, step.due_estimated = deadline.due, deadline.estimated
    req.current_seq = seq


def step_counts_from(req: ChangeRequest, step: ApprovalStep) -> date:
    """The day a step's working days count from: the day it started, or its type's own day
    (第二十一条: a death counts from the day it was reported). Also used when a year's calendar
    changes and due dates are recomputed (services/calendar_notices.py)."""
    sdef = type_of(req).steps[step.seq - 1]
    return sdef.counts_from(req) if sdef.counts_from else step.started_at  # type: ignore[return-value]


def is_own_school(actor: User, student: Student) -> bool:
    """Staff of the school that holds the record: the ones who file its status changes and record
    its absences and contacts with the family."""
    return actor.unit_id == student.school_id and actor.is_school_user


def filed_by_own_school(req: ChangeRequest, actor: User) -> str | None:
    """The school that holds the record files the change (第十一、十八、二十、二十一、二十三条: 学校…发起/报);
    its authority decides, it does not file for it."""
    if not is_own_school(actor, req.student):
        return _l("The school that holds the pupil's record files this change.")
    return None


def _material_label(req: ChangeRequest, code: str) -> Any:
    return next((m.label for m in type_of(req).materials if m.code == code), code)


def missing_materials(req: ChangeRequest) -> list[Material]:
    have = {a.material for a in req.attachments}
    return [m for m in type_of(req).materials if m.required(req) and m.code not in have]


def attach_refusal(actor: User, req: ChangeRequest) -> str | None:
    """Why the actor may not add evidence to the request; None when they may (the requesting side, while it is open)."""
    if req.status not in OPEN_STATUSES or actor.unit_id != req.requester_unit_id:
        return str(_l("Only the requesting school can add materials to an open request."))
    return None


def attach(req: ChangeRequest, material: str, file: FileStorage, actor: User) -> Attachment:
    """Add one evidence file; only the requesting side, while the request is open."""
    if not can_see(actor, req):
        raise NotInScope()
    refused = attach_refusal(actor, req)
    if refused:
        raise RuleViolation(refused)
    if material not in {m.code for m in type_of(req).materials}:
        raise RuleViolation(str(_l("Unknown material.")))
    name = uploads.clean_filename(file.filename)
    data, ctype = uploads.read_checked(file.stream, name)
    att = Attachment(
        request=req, material=material, filename=name, content_type=ctype, size=len(data),
        sha256=uploads.store(data), uploaded_by_id=actor.id,
    )
    db.session.add(att)
    db.session.flush()
    audit.record(actor, "request.attach", "change_request", req.id, f"{zh(_material_label(req, material))}：{name}")
    return att


# --- deciding -------------------------------------------------------------------------


def may_decide(actor: User, step: ApprovalStep) -> bool:
    """The step's own unit, in the right capacity: school staff for school steps, officials for authority steps."""
    if actor.unit_id != step.unit_id:
        return False
    if step.role.endswith("school"):
        return bool(actor.role_names & set(SCHOOL_ROLES))
    return OFFICIAL_ROLE_FOR_LEVEL.get(step.unit.level) in actor.role_names


def may_force(actor: User, step: ApprovalStep) -> bool:
    """强制干预: an official of a unit above an overdue step's unit may decide on its behalf."""
    return (
        actor.is_official
        and step.due_date is not None
        and step.due_date < clock.today()
        and step.unit.path != actor.unit.path
        and step.unit.path.startswith(actor.unit.path)
    )


def decide_refusal(actor: User, step: ApprovalStep | None, *, forced: bool = False) -> str | None:
    """Why the actor may not decide the step (on behalf of its unit when `forced`, 强制干预); None when they may."""
    if step is None or step.request.status != PENDING or step.decision is not None or step.request.current_seq != step.seq:
        return str(_l("This step has already been decided."))
    if forced:
        if not may_force(actor, step):
            return str(_l("Forced intervention is only for an overdue step of a unit below yours."))
    elif not may_decide(actor, step):
        return str(_l("This step is decided by %(unit)s.", unit=step.unit.name))
    return None


def decide(step_id: int, actor: User, approve: bool, comment: str | None = None, *, forced: bool = False) -> ApprovalStep:
    step = db.session.get(ApprovalStep, step_id)
    if step is None or (not can_see(actor, step.request) and not (forced and may_force(actor, step))):
        raise NotInScope()
    req = step.request
    comment = (comment or "").strip() or None
    refused = decide_refusal(actor, step, forced=forced)
    if refused:
        raise RuleViolation(refused)
    if forced and not comment:
        raise RuleViolation([("comment", str(_l("Say why you decide on behalf of the overdue unit.")))])
    if not approve and not comment:
        raise RuleViolation([("comment", str(_l("A rejection needs a reason.")))])
    if approve and step.seq == 1:
        missing = missing_materials(req)
        if missing:
            names = "、".join(str(m.label) for m in missing)
            raise RuleViolation(str(_l("Materials missing: %(names)s.", names=names)))
    decided_at = clock.now()
    # The conditional UPDATE is the lock: of two approvers at once, only one finds the step open.
    result = db.session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.id == step.id, ApprovalStep.decision.is_(None))
        .values(
            decision=APPROVED if approve else REJECTED, decided_by_id=actor.id, decided_at=decided_at, comment=comment,
            forced_by_unit_id=actor.unit_id if forced else None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise RuleViolation(str(_l("This step has already been decided.")))
    db.session.refresh(step)
    audit.record(actor, "request.approve" if approve else "request.reject", "change_request", req.id,
                 f"第 {step.seq} 步{'（上级强制处理）' if forced else ''}：{comment or ''}")
    if not approve:
        req.status, req.finished_at, req.current_seq = REJECTED, decided_at, None
        if type_of(req).on_reject is not None:
            with audit.acting(actor, reason=comment, request_id=req.id):
                outcome = type_of(req).on_reject(req, actor)  # type: ignore[misc]
                lifecycle.apply(req.student, outcome, f"{req.type}.rejected")  # flushes inside: history names the approver
    elif step.seq < len(req.steps):
        _start_step(req, step.seq + 1)
    else:
        apply_effect(req, actor)
    db.session.flush()
    _tell_decision(req, step, actor, approve, comment)
    return step


def _tell_decision(req: ChangeRequest, step: ApprovalStep, actor: User, approve: bool, comment: str | None) -> None:
    """我的消息 of a decision, in its transaction: the next step's deciders, the requester when the
    request is decided, and a transfer's other school when one school has acted."""
    label = zh(type_of(req).label)
    told: list[int] = []
    if not approve:
        outcome = "已退回" if req.student is None else "未获批准"  # a school's roster goes back to be corrected
        told = [n.user_id for n in notifications.request_decided(req, label, outcome, actor, comment)]
    elif req.current_seq is not None and req.current_step is not None and req.status == PENDING:
        notifications.step_waiting(req, req.current_step, label, actor)
    else:
        told = [n.user_id for n in notifications.request_decided(req, label, "已批准", actor)]
    if req.type == TRANSFER and step.role in ("receiving_school", "sending_school"):
        receiving = step.role == "receiving_school"
        acting, other = (req.to_school, req.from_school) if receiving else (req.from_school, req.to_school)
        what = ("同意转入" if receiving else "同意转出") if approve else ("不同意转入" if receiving else "不同意转出")
        notifications.transfer_side_acted(req, acting, other, what, actor, exclude=told)


def apply_effect(req: ChangeRequest, actor: User) -> None:
    """The last step approved (or a type without steps was opened): apply the type's effect,
    attributed to the request and the actor, and file its evidence into the archive."""
    req.current_seq = None
    reason = str(type_of(req).label)
    if not type_of(req).steps and req.reason_text:  # decided by the school alone: the history says why
        reason = f"{reason}：{req.reason_text}"[:200]
    with audit.acting(actor, reason=reason, request_id=req.id):
        outcome = type_of(req).effect(req, actor)
        if req.student is not None:
            lifecycle.apply(req.student, outcome, req.type)
        db.session.flush()  # inside: the history rows name the request and the approver
    for follow_up in AFTER_EFFECT:  # e.g. 第十二条: the evidence goes into the pupil's archive
        follow_up(req, actor)


# What runs after every applied effect, registered by the modules that build on the engine (the
# archive files the request's evidence): the engine does not import them, so no import cycle.
AFTER_EFFECT: list[Callable[[ChangeRequest, User], object]] = []


def withdraw_refusal(actor: User, req: ChangeRequest) -> str | None:
    """Why the actor may not withdraw the request; None when they may (the requesting unit, while it waits)."""
    if actor.unit_id != req.requester_unit_id:
        return str(_l("Only the requesting unit can withdraw the request."))
    if req.status != PENDING:
        return str(_l("Only a request still waiting for approval can be withdrawn."))
    return None


def withdraw(req: ChangeRequest, actor: User, reason: str | None = None) -> None:
    """The requesting unit may withdraw until the last step has approved."""
    if not can_see(actor, req):
        raise NotInScope()
    refused = withdraw_refusal(actor, req)
    if refused:
        raise RuleViolation(refused)
    waiting = req.current_step
    req.status, req.finished_at, req.current_seq = WITHDRAWN, clock.now(), None
    if type_of(req).on_withdraw is not None:
        with audit.acting(actor, reason=reason, request_id=req.id):
            type_of(req).on_withdraw(req, actor)  # type: ignore[misc]
    audit.record(actor, "request.withdraw", "change_request", req.id, reason)
    db.session.flush()
    notifications.request_ended(req, waiting, zh(type_of(req).label), "已撤回", reason, actor)


def close_others(req: ChangeRequest, actor: User, why: str) -> list[ChangeRequest]:
    """End the pupil's other open requests as withdrawn (e.g. the pupil died), telling the units
    that asked for them; audited."""
    others = list(db.session.scalars(
        select(ChangeRequest).where(ChangeRequest.student_id == req.student_id, ChangeRequest.id != req.id,
                                    ChangeRequest.status.in_(OPEN_STATUSES))
    ))
    for other in others:
        waiting = other.current_step
        other.status, other.finished_at, other.current_seq = WITHDRAWN, clock.now(), None
        if type_of(other).on_withdraw is not None:
            type_of(other).on_withdraw(other, actor)  # type: ignore[misc]
        audit.record(actor, "request.closed", "change_request", other.id, f"因变动申请 #{req.id} 终止：{why}")
        notify(other.requester_unit, other, str(_l("Request #%(id)s was ended: %(why)s", id=other.id, why=why)))
        notifications.request_ended(other, waiting, zh(type_of(other).label), "已终止", why, actor)
    return others


def notify(unit: OrgUnit | None, req: ChangeRequest, message: str) -> None:
    if unit is not None:
        db.session.add(Notification(unit_id=unit.id, request_id=req.id, message=message))


def notes_for(req: ChangeRequest, unit_id: int | None) -> list[Notification]:
    """What this request told one unit (e.g. a due date computed again after a calendar change)."""
    return list(db.session.scalars(
        select(Notification).where(Notification.request_id == req.id, Notification.unit_id == unit_id).order_by(Notification.id)
    ))


def snapshot(student: Student) -> dict:
    """The record as it stood when it left a school (第十条: the sending school keeps a backup)."""
    from services.audit import _text

    data = {c.key: _text(getattr(student, c.key)) for c in Student.__mapper__.column_attrs if c.key not in ("version_id",)}
    data["guardians"] = [
        {k: getattr(g, k) for k in ("relation", "name", "id_type", "id_number", "phone", "workplace")} for g in student.guardians
    ]
    return data


# --- queues -----------------------------------------------------------------------------

QUEUES = ("waiting", "overdue", "decided", "requested", "all")


def queue_filter(actor: User, queue: str) -> ColumnElement[bool]:
    """Requests of one queue: 待我核办, 已超期, 我已核办, 我发起的, or all visible.

    The open-step queues are `status = pending AND EXISTS (its current step …)`: PostgreSQL turns
    an EXISTS into a semi-join, so it starts from the unit's steps (ix_approval_step_unit_open) and
    reads only their requests. The same test written as `id IN (correlated subquery)` stays a
    subplan run for every visible request (a county: a scan of change_request, ~120,000 in cost,
    which also switched on JIT compilation: 35–50 ms per count on the dashboard, bench/README.md)."""

    def open_step(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        # The current step of a pending request is its undecided one (decide() moves current_seq on
        # or ends the request with each decision); saying so lets the planner use the open-step
        # indexes (ix_approval_step_unit_open, ix_approval_step_open_due).
        current = select(ApprovalStep.id).where(
            ApprovalStep.request_id == ChangeRequest.id, ApprovalStep.seq == ChangeRequest.current_seq,
            ApprovalStep.decision.is_(None), *conditions)
        return and_(ChangeRequest.status == PENDING, current.exists())

    if queue == "waiting":
        return open_step(ApprovalStep.unit_id == actor.unit_id)
    if queue == "overdue":
        below = scope.within(OrgUnit.path, actor.unit.path)
        units = select(OrgUnit.id).where(below)
        return open_step(ApprovalStep.due_date < clock.today(), ApprovalStep.unit_id.in_(units))
    if queue == "decided":
        return ChangeRequest.id.in_(select(ApprovalStep.request_id).where(ApprovalStep.decided_by_id == actor.id))
    if queue == "requested":
        return ChangeRequest.requester_unit_id == actor.unit_id
    return visible_filter(actor)


def days_left(step: ApprovalStep) -> tuple[int, bool] | None:
    """Working days until the step's deadline (negative when overdue) and whether it is estimated."""
    if step.due_date is None or step.decision is not None:
        return None
    n, estimated = workdays.workdays_between(clock.today(), step.due_date)
    return n, estimated or step.due_estimated


def is_school(unit: OrgUnit | None) -> bool:
    return unit is not None and unit.level == SCHOOL
