"""A job whose worker died: its last heartbeat, written long ago (services/job_progress.py)."""

from __future__ import annotations

import time

from services import job_progress
from services.queue import huey


def dead_worker(kind: str, job_id: int | str, *, seconds_ago: float = job_progress.STALLED_AFTER + 60) -> None:
    """Store a last report of a running job as a worker that died `seconds_ago` left it."""
    stale = job_progress.Progress("running", 1, 2, time.time() - seconds_ago)
    huey.storage.put_data(f"progress:{kind}:{job_id}", huey.serializer.serialize(stale))
    assert job_progress.stalled(kind, job_id)
