"""Excel imports of new pupils (*beyond the rule*, SPEC §7): one row per uploaded file.

A job is validated, then either written whole or not at all (all-or-nothing); large files run as
a task of the queue (services/imports/jobs.py), which re-reads the stored upload (`source_sha256`),
and the upload page polls the progress the task reports (services/job_progress.py). The error
report (row, column, message) is stored as XLSX through services/uploads.py (`errors_sha256`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User

QUEUED, VALIDATING, WRITING, DONE, FAILED = "queued", "validating", "writing", "done", "failed"
JOB_STATUSES = (QUEUED, VALIDATING, WRITING, DONE, FAILED)
FINISHED = (DONE, FAILED)


class ImportJob(db.Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)  # data rows in the file
    processed: Mapped[int] = mapped_column(Integer, default=0)  # rows done in the current phase
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors_sha256: Mapped[str | None] = mapped_column(String(64))  # the XLSX error report (uploads.store)
    source_sha256: Mapped[str | None] = mapped_column(String(64))  # the uploaded workbook (uploads.store)
    # Failed because its worker stopped or crashed, not because of the file: 重试 runs it again.
    retryable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    school: Mapped[OrgUnit] = relationship()
    user: Mapped[User] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.status} {self.processed}/{self.total}>"
