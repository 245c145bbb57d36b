"""首页: what the home page says to a user — how many schools lie in their area, their queues
(待我核办, 已超期, 我发起的) and their unit's latest notifications."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from extensions import db
from models.changes import PENDING, ApprovalStep, ChangeRequest, Notification
from models.org import SCHOOL, OrgUnit
from models.people import User
from services import scope, workflows

HOME_QUEUES = ("waiting", "overdue", "requested")
NOTES_SHOWN = 10


@dataclass(frozen=True)
class Home:
    schools: int
    queues: dict[str, int]
    notes: list[Notification]


def home_of(actor: User) -> Home:
    schools = db.session.scalar(
        select(func.count()).select_from(OrgUnit).where(OrgUnit.level == SCHOOL, scope.filter_for(actor, OrgUnit.path))
    )
    queues = {q: queue_count(actor, q) for q in HOME_QUEUES}
    notes = db.session.scalars(
        select(Notification).where(Notification.unit_id == actor.unit_id).order_by(Notification.id.desc()).limit(NOTES_SHOWN)
    ).all()
    return Home(int(schools or 0), queues, list(notes))


def queue_count(actor: User, queue: str) -> int:
    """The size of one queue of the request list (services/workflows.queue_filter): one COUNT."""
    return int(db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        workflows.visible_filter(actor), workflows.queue_filter(actor, queue))) or 0)


def waiting_count(actor: User) -> int:
    """The navbar's badge for 待我处理, on every page: the requests whose current step waits for the
    actor's unit — the size of the queue "waiting" (queue_count(actor, "waiting")), counted from
    the open steps of that unit (index ix_approval_step_unit_open) instead of every request in view.
    The current step of a pending request is the undecided one."""
    return int(db.session.scalar(
        select(func.count()).select_from(ApprovalStep)
        .join(ChangeRequest, ChangeRequest.id == ApprovalStep.request_id)
        .where(ApprovalStep.unit_id == actor.unit_id, ApprovalStep.decision.is_(None),
               # coalesce: the status is checked per row, never the way in (SQLite's planner would
               # otherwise walk every pending request of the province instead of one unit's open steps)
               ApprovalStep.seq == ChangeRequest.current_seq, func.coalesce(ChangeRequest.status, "") == PENDING,
               workflows.visible_filter(actor))
    ) or 0)
