"""The statuses of a student record (学籍状态) and the one table of the moves between them.

A record's status changes only by a lawful cause: an approved change request of a given type, or
one of a few service actions (a problem record resolved by cancellation, a delayed child starting
school). `TRANSITIONS` lists every (from, to) pair with the causes that may make it; anything else
is refused. `services/lifecycle.apply` is the one place that assigns `Student.status` on a stored
record, and `Student`'s validator refuses any other assignment (see `guard`).

The status column stays a plain string (the values below); the enum names the values in code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum


class StudentStatus(StrEnum):
    PENDING = "pending"  # 待核办: entered by the school, waiting for the authority (第五条)
    ENROLLED = "enrolled"  # 在籍
    DELAYED = "delayed"  # 延缓入学 (第四条)
    SUSPENDED = "suspended"  # 休学 (第十九条)
    ABROAD = "abroad"  # 出国出境 (第二十条)
    DROPPED_OUT = "dropped_out"  # 辍学 (第二十三条): the record is kept
    TRANSFERRED_OUT = "transferred_out"  # 转出省外 (第十四条)
    GRADUATED = "graduated"  # 毕业 (第二十四条)
    COMPLETED = "completed"  # 结业 (第二十四条)
    DECEASED = "deceased"  # 死亡 (第二十一条)
    CANCELLED = "cancelled"  # 注销: a fake or second record, or an arrival refused; never deleted


S = StudentStatus

# Causes that are not a change type's code (the change types' codes are the other causes).
NEW_RECORD = "new_record"  # a record is created in its first status
DUPLICATE_CANCELLED = "duplicate_cancelled"  # 问题学籍 resolved by 删除 (services/problems.py)
DELAY_ENDS = "delay_ends"  # the delayed child starts school: the record waits again (第四条)
ARRIVAL_REFUSED = "transfer_in_province.rejected"  # a transfer from another province refused

# The statuses a new record may start in, and the live ones a record may be cancelled from.
INITIAL = frozenset({S.PENDING, S.ENROLLED})
_CANCELLABLE = (S.PENDING, S.ENROLLED, S.DELAYED, S.SUSPENDED, S.ABROAD, S.DROPPED_OUT, S.GRADUATED, S.COMPLETED)
_LIVING = (S.ENROLLED, S.SUSPENDED, S.ABROAD, S.DROPPED_OUT)  # a death is reported for these (第二十一条)

TRANSITIONS: dict[tuple[StudentStatus, StudentStatus], frozenset[str]] = {
    (S.PENDING, S.ENROLLED): frozenset({"enrollment", "transfer_in_province"}),
    (S.PENDING, S.DELAYED): frozenset({"delayed_enrollment"}),
    (S.ENROLLED, S.DELAYED): frozenset({"delayed_enrollment"}),
    (S.DELAYED, S.PENDING): frozenset({DELAY_ENDS}),
    (S.ENROLLED, S.SUSPENDED): frozenset({"suspension"}),
    (S.SUSPENDED, S.ENROLLED): frozenset({"resumption"}),
    (S.ENROLLED, S.ABROAD): frozenset({"abroad"}),
    (S.ABROAD, S.ENROLLED): frozenset({"abroad_return"}),
    (S.ENROLLED, S.DROPPED_OUT): frozenset({"dropout"}),
    (S.DROPPED_OUT, S.ENROLLED): frozenset({"dropout_return"}),
    (S.ENROLLED, S.TRANSFERRED_OUT): frozenset({"transfer_out_province"}),
    (S.ENROLLED, S.GRADUATED): frozenset({"graduation"}),
    (S.ENROLLED, S.COMPLETED): frozenset({"graduation"}),
    (S.GRADUATED, S.ENROLLED): frozenset({"continuation"}),
    (S.COMPLETED, S.ENROLLED): frozenset({"continuation"}),
    (S.PENDING, S.CANCELLED): frozenset({DUPLICATE_CANCELLED, ARRIVAL_REFUSED}),
    **{(living, S.DECEASED): frozenset({"death"}) for living in _LIVING},
    **{(s, S.CANCELLED): frozenset({DUPLICATE_CANCELLED}) for s in _CANCELLABLE if s is not S.PENDING},
}


class IllegalTransition(ValueError):
    """A status change the table does not allow: a programming error, never a user's (the change
    types' preconditions refuse what users may not do, in words, before anything is applied)."""


def refusal(old: str | None, new: str, cause: str) -> str | None:
    """Why `cause` may not move a record from `old` to `new`; None when the table allows it."""
    if old is None:
        return None if cause == NEW_RECORD and new in INITIAL else f"a new record starts {sorted(INITIAL)}, not {new}"
    try:
        pair = (StudentStatus(old), StudentStatus(new))
    except ValueError:
        return f"unknown status {old!r} or {new!r}"
    if cause not in TRANSITIONS.get(pair, ()):
        return f"{cause!r} may not move a record from {old} to {new}"
    return None


# --- the guard on Student.status ---------------------------------------------------------------

_applying: ContextVar[str | None] = ContextVar("lifecycle_applying", default=None)


@contextmanager
def applying(cause: str) -> Iterator[None]:
    """Inside: the status assignments of services/lifecycle for `cause` (checked against the table)."""
    token = _applying.set(cause)
    try:
        yield
    finally:
        _applying.reset(token)


@contextmanager
def arranging() -> Iterator[None]:
    """Inside: any status may be set, unchecked. Only for building past states that no workflow can
    reach today: the demo and realistic data (cli/) and test fixtures (tests/). Never in services."""
    token = _applying.set("*")
    try:
        yield
    finally:
        _applying.reset(token)


def guard(stored: bool, old: str | None, new: str) -> None:
    """Called by Student's validator on every assignment of `status`. A record being created may take
    any status (`services/lifecycle.begin` checks its first one); a stored record's status changes
    only inside `applying` (services/lifecycle.apply), and only as the table allows."""
    if not stored or old == new:
        return
    cause = _applying.get()
    if cause == "*":
        return
    if cause is None:
        raise IllegalTransition(f"student.status {old} → {new} outside services/lifecycle")
    problem = refusal(old, new, cause)
    if problem:
        raise IllegalTransition(problem)
