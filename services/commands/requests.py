"""The actions of a change request's page: decide, decide on behalf (强制干预), withdraw, add evidence,
record the arrival (报到), admit provisionally (第十五条), print the pupil's information sheet.

The target is the request. Each refusal is the service's own predicate; the service checks it again."""

from __future__ import annotations

import typing as t

from models.changes import ChangeRequest
from models.people import User
from services import arrivals, documents, scope, workflows
from services.commands.base import Command


def _visible(actor: User, req: ChangeRequest) -> bool:
    return workflows.can_see(actor, req)


def _receiving_side(actor: User, req: ChangeRequest) -> bool:
    return scope.covers(actor, req.to_path)


def _decide(actor: User, req: ChangeRequest, *, step_id: int, approve: bool, comment: str | None = None) -> t.Any:
    return workflows.decide(step_id, actor, approve, comment)


def _force(actor: User, req: ChangeRequest, *, step_id: int, approve: bool, comment: str | None = None) -> t.Any:
    return workflows.decide(step_id, actor, approve, comment, forced=True)


def _forceable(actor: User, req: ChangeRequest) -> bool:
    step = req.current_step
    return workflows.can_see(actor, req) or (step is not None and workflows.may_force(actor, step))


def _print_info(actor: User, req: ChangeRequest) -> t.Any:
    return documents.print_for_request(req, "student_info", actor)


DECIDE = Command[ChangeRequest](
    "decide", lambda actor, req: workflows.decide_refusal(actor, req.current_step), _decide, _visible)
FORCE = Command[ChangeRequest](
    "force", lambda actor, req: workflows.decide_refusal(actor, req.current_step, forced=True), _force, _forceable)
WITHDRAW = Command[ChangeRequest](
    "withdraw", workflows.withdraw_refusal,
    lambda actor, req, *, reason=None: workflows.withdraw(req, actor, reason), _visible)
ATTACH = Command[ChangeRequest](
    "attach", workflows.attach_refusal,
    lambda actor, req, *, material, file: workflows.attach(req, material, file, actor), _visible)
REPORT_ARRIVAL = Command[ChangeRequest](
    "report", arrivals.report_refusal, lambda actor, req: arrivals.report_arrival(req, actor), _receiving_side)
# The button is offered once the transfer waits for the sending side; the day it may be used is
# shown beside it, and before that day the service refuses with its own words.
PROVISIONAL = Command[ChangeRequest](
    "provisional", arrivals.provisional_refusal, lambda actor, req: arrivals.admit_provisionally(req, actor),
    _receiving_side)
# A request about a school (the graduation roster) has no pupil: there is no sheet to print (404).
PRINT_PUPIL_INFO = Command[ChangeRequest](
    "print_info", lambda actor, req: documents.print_student_refusal(actor, req.student), _print_info,
    lambda actor, req: req.student is not None and _visible(actor, req))

REQUEST_PAGE: dict[str, Command[ChangeRequest]] = {
    c.name: c for c in (DECIDE, FORCE, WITHDRAW, ATTACH, REPORT_ARRIVAL, PROVISIONAL, PRINT_PUPIL_INFO)
}
