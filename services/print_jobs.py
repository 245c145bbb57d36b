"""Where a background print job's state lives (a certificate batch, a batch of 学籍卡): one small
JSON record per job beside the stored files (services/storage.py), so that every app server reads
the state a worker on another machine wrote; the job's PDF is a stored file like any other."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from services import clock, uploads
from services.errors import NotInScope

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")  # secrets.token_urlsafe(24); anything else names no job
DONE = "done"


class Job(Protocol):
    id: str
    user_id: int
    status: str
    sha256: str | None
    updated_at: str


J = TypeVar("J", bound=Job)


class JobStore(Generic[J]):
    def __init__(self, folder: str, job_type: type[J], keep: timedelta = timedelta(days=7)) -> None:
        self.folder, self.job_type, self.keep = folder, job_type, keep

    def _name(self, job_id: str) -> str:
        return f"{self.folder}/{job_id}.json"

    def save(self, job: J) -> None:
        job.updated_at = clock.now().isoformat()
        uploads.write_record(self._name(job.id), json.dumps(asdict(job)).encode())  # type: ignore[call-overload]

    def load(self, job_id: str) -> J | None:
        if not JOB_ID.match(job_id or ""):
            return None
        data = uploads.read_record(self._name(job_id))
        try:
            return self.job_type(**json.loads(data)) if data is not None else None
        except (ValueError, TypeError):  # a record of an older shape: no job any more
            return None

    def pdf(self, job: J) -> Path:
        """The finished job's PDF; NotInScope (404) while it is not there."""
        path = uploads.path_of(job.sha256) if job.status == DONE and job.sha256 else None
        if path is None or not path.exists():
            raise NotInScope()
        return path

    def recent(self, user_id: int, limit: int = 5, scanned: int = 200) -> list[J]:
        """This user's latest jobs, newest first (among the `scanned` newest of all users)."""
        jobs: list[J] = []
        for name in uploads.records(self.folder)[:scanned]:
            job = self.load(name.rsplit("/", 1)[-1].removesuffix(".json"))
            if job is not None and job.user_id == user_id:
                jobs.append(job)
                if len(jobs) >= limit:
                    break
        return jobs

    def forget_old(self, now: datetime | None = None) -> int:
        """Delete jobs older than `keep` with their PDF (each PDF carries its own numbers and codes,
        so no other stored file shares its content). Returns how many went."""
        cutoff = (now or clock.now()) - self.keep
        gone = 0
        for name in uploads.records(self.folder):
            job = self.load(name.rsplit("/", 1)[-1].removesuffix(".json"))
            if job is None or datetime.fromisoformat(job.updated_at) >= cutoff:
                continue
            if job.sha256:
                uploads.delete(job.sha256)
            uploads.delete_record(name)
            gone += 1
        return gone

