"""The graduation roster's actions (第二十四条, 第十二条): compile, mark results, confirm results,
submit, submit after 30 July. The target is a Roster (school, year); the refusals are
services/graduation's `…_refusal` predicates, raised from the same checks by its functions."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from models.graduation import GraduationRecord
from models.org import OrgUnit
from models.people import User
from services import graduation, scope
from services.commands.base import Command


@dataclass(frozen=True)
class Roster:
    school: OrgUnit
    year: int


def _in_scope(actor: User, roster: Roster) -> bool:
    return scope.covers(actor, roster.school.path)


def _assess(actor: User, roster: Roster, *, lines: t.Sequence[GraduationRecord] | None = None, passed: bool) -> int:
    """The chosen lines, or (lines None) every pupil not yet marked."""
    if lines is None:
        return graduation.mark_unassessed(actor, roster.school, roster.year, passed)
    return graduation.mark_assessment(actor, lines, passed)


COMPILE = Command[Roster](
    "compile", lambda a, r: graduation.compile_refusal(a, r.school, r.year),
    lambda a, r: graduation.compile_roster(a, r.school, r.year), _in_scope)
ASSESS = Command[Roster]("assess", lambda a, r: graduation.assess_refusal(a, r.school, r.year), _assess, _in_scope)
CONFIRM = Command[Roster](
    "confirm", lambda a, r: graduation.confirm_refusal(a, r.school, r.year),
    lambda a, r: graduation.confirm_assessment(a, r.school, r.year), _in_scope)
SUBMIT = Command[Roster](
    "submit", lambda a, r: graduation.submit_refusal(a, r.school, r.year),
    lambda a, r, *, late_reason=None: graduation.submit_roster(a, r.school, r.year, late_reason=late_reason), _in_scope)
SUBMIT_LATE = Command[Roster](
    "submit_late", lambda a, r: graduation.submit_refusal(a, r.school, r.year, late=True),
    lambda a, r, *, late_reason=None: graduation.submit_roster(a, r.school, r.year, late_reason=late_reason), _in_scope)

ROSTER_PAGE: dict[str, Command[Roster]] = {c.name: c for c in (COMPILE, ASSESS, CONFIRM, SUBMIT, SUBMIT_LATE)}
