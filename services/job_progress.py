"""Progress of background jobs, where every web worker and app server can read it.

A task reports (status, done, total) as it goes; the pages that show a job read it back. It lives in
the queue's storage (services/queue.py: Redis, or the queue's own SQLite file), not in the job's
database row: on SQLite the job's own write transaction holds the database's only write lock for the
whole import, so a row could not be updated until the end. Each report is also a heartbeat: a job
whose worker was killed stops beating, and `stalled` tells the page to show it as failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from huey.constants import EmptyData  # what a storage answers for a missing key

from services.queue import huey

STALLED_AFTER = 120.0  # s without a report: the worker died (a report is written at least every BEAT_EVERY)
BEAT_EVERY = 2.0  # s: reports in between are kept in memory only, unless the status changes


@dataclass(frozen=True)
class Progress:
    status: str
    done: int
    total: int | None
    at: float  # time.time() of the report

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def _key(kind: str, job_id: int | str) -> str:
    return f"progress:{kind}:{job_id}"


_last_written: dict[str, tuple[str, float]] = {}  # key → (status, time): throttles writes, this process only
_THROTTLE_KEEP = 256


def report(kind: str, job_id: int | str, status: str, done: int, total: int | None = None, *, force: bool = False) -> None:
    """Record a job's progress; written at most every BEAT_EVERY seconds unless the status changes."""
    key, t = _key(kind, job_id), time.time()
    last = _last_written.get(key)
    if not force and last is not None and last[0] == status and t - last[1] < BEAT_EVERY:
        return
    huey.storage.put_data(key, huey.serializer.serialize(Progress(status, done, total, t)))
    _last_written[key] = (status, t)
    if len(_last_written) > _THROTTLE_KEEP:  # a long-lived worker sees many jobs: forget the old ones
        for old in [k for k, (_s, at) in _last_written.items() if t - at > BEAT_EVERY]:
            del _last_written[old]


def read(kind: str, job_id: int | str) -> Progress | None:
    raw = huey.storage.peek_data(_key(kind, job_id))
    if raw is None or raw is EmptyData:
        return None
    return huey.serializer.deserialize(raw)


def clear(kind: str, job_id: int | str) -> None:
    key = _key(kind, job_id)
    huey.storage.pop_data(key)
    _last_written.pop(key, None)


def stalled(kind: str, job_id: int | str, *, now: float | None = None) -> bool:
    """True when a job that a worker started has not reported for STALLED_AFTER seconds: the worker
    died. A job no worker has started yet (no report) is waiting, not stalled."""
    seen = read(kind, job_id)
    return seen is not None and (time.time() if now is None else now) - seen.at > STALLED_AFTER
