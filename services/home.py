"""首页: what the home page says to a user — how many schools lie in their area, their queues
(待我核办, 已超期, 我发起的) and their unit's latest notifications."""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

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


# The navbar's badge is on every page (one COUNT a page, ~0.5 ms of SQL and ~1 ms of Python): kept
# per unit for BADGE_SECONDS in the worker's memory. In process on purpose: a badge a few seconds
# late is harmless, it is never a decision (the queue page itself always counts afresh), and a
# restarted or another worker just counts again. A commit in this process that touched a request
# or a step empties it at once (_forget_badges), so the user who acts sees the new figure; another
# worker's commit shows within BADGE_SECONDS. Config QUEUE_BADGE_SECONDS (0: no cache).
BADGE_SECONDS = 5.0
_badges: dict[tuple[int, int], tuple[float, int]] = {}  # (app id, unit id) -> (monotonic expiry, count)
_badges_lock = threading.Lock()


def waiting_badge(actor: User) -> int:
    """waiting_count for the navbar, cached per unit (the count depends on the unit alone:
    visible_filter reads the unit's path and id)."""
    seconds = float(current_app.config.get("QUEUE_BADGE_SECONDS", BADGE_SECONDS))
    if seconds <= 0:
        return waiting_count(actor)
    key, now = (id(current_app._get_current_object()), actor.unit_id), time.monotonic()  # type: ignore[attr-defined]
    found = _badges.get(key)
    if found is not None and found[0] > now:
        return found[1]
    count = waiting_count(actor)
    with _badges_lock:
        if len(_badges) > 10_000:  # a province has ~10,000 units; never more than that
            _badges.clear()
        _badges[key] = (now + seconds, count)
    return count


@event.listens_for(Session, "after_flush")
def _note_queue_change(session: Session, _context: object) -> None:
    if any(isinstance(o, (ApprovalStep, ChangeRequest)) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["xueji.queue_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_queue_change(state: t.Any) -> None:
    """Bulk UPDATE/DELETE (e.g. the daily escalation) bypass the flush."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in (ApprovalStep, ChangeRequest):
        state.session.info["xueji.queue_changed"] = True


@event.listens_for(Session, "after_rollback")
def _drop_note(session: Session) -> None:
    session.info.pop("xueji.queue_changed", None)


@event.listens_for(Session, "after_commit")
def _forget_badges(session: Session) -> None:
    if session.info.pop("xueji.queue_changed", False):
        with _badges_lock:
            _badges.clear()


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
