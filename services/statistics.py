"""Counts for the dashboards (SPEC §7): pupils, changes, approvals and problem records of a subtree.

Every figure is one GROUP BY query under the same conditions as the list it links to (the
student list, the request queues, the 问题学籍 queue), so a number and its list agree. Nothing
loops over pupils in Python: only the aggregated rows are shaped here.

在籍 counts 休学 too: 学生休学期间学校应为其保留学籍 (第十九条).

Pupils by grade: on PostgreSQL they are summed from `pupil_count_delta`, which statement-level
triggers on `student` keep (models/pupil_count.py): a few hundred rows for a county instead of
its 45,000 pupils' heap pages (316 ms → a few ms at 3M, bench/README.md "Load test"), exact in the
reader's own snapshot, so no unit needs a cache for them. SQLite (demo, tests) counts its pupils.

The changes by month still run over a whole city's or the province's requests; those figures are
kept for a few minutes per unit (`STATISTICS_CACHE_SECONDS`, off under TESTING).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app
from sqlalchemy import extract, func, select, text

from extensions import db
from models.changes import COMPLETED, PENDING, ChangeRequest
from models.org import OrgUnit
from models.problems import OPEN, ProblemRecord
from models.pupil_count import PupilCountDelta
from models.student import Student
from services import clock, scope, workflows
from services.queue import crontab, periodic

if TYPE_CHECKING:
    from models.people import User

IN_RECORD = ("enrolled", "suspended")  # 在籍 (第十九条: a suspended pupil keeps the record)
MONTHS = 12  # changes by month: this month and the eleven before
CACHED_DEPTHS = (1, 2)  # province and city
DEFAULT_CACHE_SECONDS = 300

T = TypeVar("T")


@dataclass(frozen=True)
class PupilCount:
    grade: int
    school_kind: str | None
    status: str
    n: int


@dataclass(frozen=True)
class ChangeCount:
    type: str
    year: int
    month: int
    n: int


# --- a small per-process cache for the wide units ------------------------------------------------

_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cache_seconds() -> int:
    default = 0 if current_app.testing else DEFAULT_CACHE_SECONDS
    return int(current_app.config.get("STATISTICS_CACHE_SECONDS", default))


def _cached(key: tuple[Any, ...], path: str, compute: Callable[[], T]) -> T:
    seconds = _cache_seconds()
    if seconds <= 0 or scope.depth(path) not in CACHED_DEPTHS:
        return compute()
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --- pupils ----------------------------------------------------------------------------------------


def pupil_counts(path: str) -> list[PupilCount]:
    """Pupils of the subtree at `path` by grade, kind of school and status (every status)."""

    if db.session.get_bind().dialect.name == "postgresql":
        # Kept by triggers, but still a sum over the subtree's schools (a city: ~650 schools, 6 ms):
        # kept like the other figures of a wide unit.
        return _cached(("pupils", path), path, lambda: _kept_pupil_counts(path))

    def compute() -> list[PupilCount]:
        rows = db.session.execute(
            select(Student.grade, OrgUnit.school_kind, Student.status, func.count())
            .join(OrgUnit, OrgUnit.id == Student.school_id)
            .where(scope.within(Student.scope_path, path))
            .group_by(Student.grade, OrgUnit.school_kind, Student.status)
        )
        return [PupilCount(int(g), k, s, int(n)) for g, k, s, n in rows]

    return _cached(("pupils", path), path, compute)


def _kept_pupil_counts(path: str) -> list[PupilCount]:
    """The same figures from the trigger-kept deltas: the schools of the subtree by their own path
    (a pupil's scope_path is its school's path), then their delta rows by school."""
    total = func.sum(PupilCountDelta.n)
    rows = db.session.execute(
        select(PupilCountDelta.grade, OrgUnit.school_kind, PupilCountDelta.status, total)
        .join(OrgUnit, OrgUnit.id == PupilCountDelta.school_id)
        .where(scope.within(OrgUnit.path, path))
        .group_by(PupilCountDelta.grade, OrgUnit.school_kind, PupilCountDelta.status)
        .having(total != 0)
    )
    return [PupilCount(int(g), k, s, int(n)) for g, k, s, n in rows]


@periodic(crontab(minute="*/30"))
def compact_pupil_counts_task() -> None:
    """The worker's sweep: fold the deltas every half hour (a busy day adds a few thousand rows)."""
    compact_pupil_counts()
    db.session.commit()


def compact_pupil_counts() -> None:
    """Fold the delta rows into one per (school, grade, status), so readers sum few rows.

    One statement: the rows it deletes are those committed when it starts; rows appended meanwhile
    stay for the next run, so no count is lost or doubled."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(text(
        "WITH gone AS (DELETE FROM pupil_count_delta RETURNING school_id, grade, status, n) "
        "INSERT INTO pupil_count_delta (school_id, grade, status, n) "
        "SELECT school_id, grade, status, sum(n) FROM gone GROUP BY school_id, grade, status HAVING sum(n) <> 0"
    ))


def in_record(counts: list[PupilCount]) -> list[PupilCount]:
    return [c for c in counts if c.status in IN_RECORD]


# --- changes -----------------------------------------------------------------------------------------


def months(today: date | None = None, count: int = MONTHS) -> list[tuple[int, int]]:
    """(year, month 1–12) of this month and the `count - 1` before it, oldest first."""
    today = today or clock.today()
    index = today.year * 12 + today.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def change_counts(actor: User, today: date | None = None) -> list[ChangeCount]:
    """Completed change requests the actor can see, by type and month finished (the last 12 months)."""
    first_year, first_month = months(today)[0]
    since = datetime(first_year, first_month, 1)
    year, month = extract("year", ChangeRequest.finished_at), extract("month", ChangeRequest.finished_at)

    def compute() -> list[ChangeCount]:
        rows = db.session.execute(
            select(ChangeRequest.type, year, month, func.count())
            .where(workflows.visible_filter(actor), ChangeRequest.status == COMPLETED, ChangeRequest.finished_at >= since)
            .group_by(ChangeRequest.type, year, month)
        )
        return [ChangeCount(t, int(y), int(m), int(n)) for t, y, m, n in rows]

    # visible_filter also covers the township central school's rural schools, hence the unit id in the key
    return _cached(("changes", actor.unit.path, actor.unit_id, since), actor.unit.path, compute)


# --- approvals ---------------------------------------------------------------------------------------

QUEUES = ("waiting", "overdue", "pending")  # 待我核办, 已超期 (in my subtree), 待核办 in my area


def approval_counts(actor: User) -> dict[str, dict[str, int]]:
    """queue → change type → open requests, with the queues' own conditions (services/workflows.py)."""
    conditions = {
        "waiting": workflows.queue_filter(actor, "waiting"),
        "overdue": workflows.queue_filter(actor, "overdue"),
        "pending": ChangeRequest.status == PENDING,
    }
    out: dict[str, dict[str, int]] = {}
    for queue, condition in conditions.items():
        rows = db.session.execute(
            select(ChangeRequest.type, func.count())
            .where(workflows.visible_filter(actor), condition)
            .group_by(ChangeRequest.type)
        )
        out[queue] = {t: int(n) for t, n in rows}
    return out


# --- problem records ------------------------------------------------------------------------------


def problem_counts(path: str) -> dict[str, int]:
    """Open 问题学籍 of the subtree by kind."""
    rows = db.session.execute(
        select(ProblemRecord.kind, func.count())
        .where(scope.within(ProblemRecord.scope_path, path), ProblemRecord.status == OPEN)
        .group_by(ProblemRecord.kind)
    )
    return {k: int(n) for k, n in rows}
