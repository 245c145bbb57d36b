"""Who imports where, and the web upload as an ImportJob: files of INLINE_ROWS rows or more run as
a task of the queue (services/queue.py) in a worker process, whose progress the upload page polls.

The upload is stored (services/uploads.py) and the task gets the job's id only: it reads the file
again, so nothing of a job lives in the web process (a restart, or another app server, loses
nothing), and a job whose worker died is retried from the same file. Progress and heartbeat go
through services/job_progress.py; a job that stops beating is shown failed, with 重试.
"""

from __future__ import annotations

import io
import logging
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from extensions import db
from models.imports import DONE, FAILED, QUEUED, VALIDATING, ImportJob
from models.org import SCHOOL, OrgUnit
from models.people import REGISTRAR, Role, User
from services import job_progress, scope, uploads
from services.clock import now
from services.errors import NotInScope, RuleViolation
from services.imports.apply import import_rows
from services.imports.columns import ImportRejected, Progress, RowData, RowError
from services.imports.parse import parse, survey
from services.imports.report import error_report_xlsx
from services.imports.validate import check_school
from services.queue import task

log = logging.getLogger(__name__)


# Files of fewer rows are imported during the upload request itself, and the page answers at once.
# Why not queue them too: such a file (a class or two) is written in a few seconds, so the
# registrar sees the result at once instead of a progress page, and a small school's import works
# even while the worker is down or busy with a county's large files. It loses none of the
# queue's guarantees: the import is one transaction (a killed web process writes nothing), its
# progress is reported the same way (a job cut off is shown failed once stalled), and its retry
# goes through the queue from the stored file.
INLINE_ROWS = 500
KIND = "import"  # the job kind in services/job_progress.py


def school_for(actor: User, code: str | None) -> OrgUnit | None:
    """The school an actor imports into: a school user's own school; an official's chosen school
    in scope (None while none is chosen). Another school, or one out of scope, is NotInScope."""
    code = (code or "").strip()
    if actor.unit.level == SCHOOL:
        if code and code != actor.unit.code:
            raise NotInScope()
        return actor.unit
    if not code:
        return None
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == SCHOOL))
    if school is None or not scope.covers(actor, school.path):
        raise NotInScope()
    return school


def schools_in_scope(actor: User, limit: int = 1000) -> list[OrgUnit]:
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.code).limit(limit)
    ))


def default_actor(school: OrgUnit) -> User | None:
    """The school's first registrar (学籍管理员), for imports from the command line."""
    return db.session.scalar(
        select(User).where(User.unit_id == school.id, User.active.is_(True), User.roles.any(Role.name == REGISTRAR)).order_by(User.id)
    )


def may_see_job(actor: User, job: ImportJob) -> bool:
    """The job's own user, or an official whose scope covers the school."""
    if job.user_id == actor.id:
        return True
    return actor.is_official and scope.covers(actor, job.school.path)


def get_job(actor: User, job_id: int) -> ImportJob:
    """The job, if the actor may see it; a job whose worker stopped beating is failed here first."""
    job = db.session.get(ImportJob, job_id)
    if job is None or not may_see_job(actor, job):
        raise NotInScope()
    if not job.finished and job_progress.stalled(KIND, job.id):
        # Its worker was killed (or the machine stopped) before the commit: nothing was written.
        message = str(_l("The import was interrupted because the background worker stopped; nothing was written. "
                         "Press 重试 to run it again from the uploaded file."))
        _finish(job, FAILED, 0, [RowError(0, "", message)], retryable=True)
        job_progress.clear(KIND, job.id)
    return job


def progress_of(job: ImportJob) -> dict[str, Any]:
    """What the page shows: a finished job from its row; a running one from the progress its worker
    reports (readable by every web worker); a job no worker has taken yet is still queued."""
    status, processed = job.status, job.processed
    if not job.finished:
        seen = job_progress.read(KIND, job.id)
        if seen is not None:
            status, processed = seen.status, seen.done
    total = job.total or 0
    finished = status in (DONE, FAILED)
    return {
        "id": job.id, "status": status, "total": total, "processed": processed,
        "percent": 100 if finished else (round(100 * processed / total) if total else 0),
        "error_count": job.error_count, "finished": finished,
        "retryable": bool(job.retryable and job.source_sha256 and status == FAILED),
    }


def _reporter(job_id: int, total: int) -> Progress:
    def progress(status: str, n: int) -> None:
        job_progress.report(KIND, job_id, status, n, total)  # throttled there; each write is a heartbeat

    return progress


def _finish(job: ImportJob, status: str, processed: int, errors: list[RowError] | None = None, *,
            retryable: bool = False) -> None:
    job.status, job.processed, job.finished_at, job.retryable = status, processed, now(), retryable
    if errors:
        job.error_count = len(errors)
        job.errors_sha256 = uploads.store(error_report_xlsx(errors))
    db.session.commit()


def _job(job_id: int) -> ImportJob:
    """The job row, loaded again: a large import clears the session (apply._lighten_session)."""
    return db.session.get(ImportJob, job_id)  # type: ignore[return-value]


def _claim(job_id: int) -> bool:
    """Take a queued job for this run, atomically: a task delivered twice, or a retry pressed twice,
    runs the file once."""
    taken = db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == QUEUED).values(status=VALIDATING, processed=0)
    ).rowcount
    db.session.commit()
    return taken == 1


def run_job(job_id: int, rows: list[RowData]) -> ImportJob:
    """Validate and write a queued job; the job ends done (all rows written) or failed (none)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotInScope()
    if not _claim(job_id):
        return _job(job_id)
    db.session.expire_all()
    job = _job(job_id)
    school, actor, filename, total = job.school, job.user, job.filename, job.total
    progress = _reporter(job_id, total)
    job_progress.report(KIND, job_id, VALIDATING, 0, total, force=True)  # the first heartbeat: a worker has it
    try:
        count = import_rows(rows, school, actor, filename=filename, progress=progress)
    except ImportRejected as exc:
        _finish(_job(job_id), FAILED, 0, exc.errors)
    except RuleViolation as exc:
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", m) for _f, m in exc.problems])
    except Exception:
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        message = str(_l("The import stopped because of an unexpected error; nothing was written. "
                         "Press 重试 to run it again; if it fails again, tell the administrator."))
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", message)], retryable=True)
    else:
        _finish(_job(job_id), DONE, count)
    job_progress.clear(KIND, job_id)  # the row says how it ended
    return _job(job_id)


@task()
def run_import(job_id: int) -> None:
    """The queued import: the stored upload is parsed again here, in the worker."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != QUEUED or not job.source_sha256:
        return  # finished or taken already (a duplicate delivery), or deleted
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
        try:
            with uploads.path_of(job.source_sha256).open("rb") as fh:
                rows = parse(fh)
        except OSError:
            log.exception("import job %s: the stored upload cannot be read", job_id)
            message = str(_l("The uploaded file can no longer be read; nothing was written. Upload the file again."))
            if _claim(job_id):
                _finish(_job(job_id), FAILED, 0, [RowError(0, "", message)])
            return
        if job.total != len(rows):  # the upload counted rows in the XML (blank and note rows too)
            job.total = len(rows)
            db.session.commit()
        run_job(job_id, rows)


def submit_upload(actor: User, school: OrgUnit, filename: str | None, stream: IO[bytes]) -> ImportJob:
    """Parse an upload (refusing bad files at once, before anything is stored), store it and run it
    as a job: inline when small (INLINE_ROWS), else as a task of the queue. The caller shows the job."""
    check_school(school, actor)
    data, about = survey(stream)  # header checked, rows counted in the XML: no cell parsed yet
    rows = parse(io.BytesIO(data)) if about < INLINE_ROWS else None  # a large file is parsed by the worker only
    job = ImportJob(school_id=school.id, user_id=actor.id, filename=uploads.clean_filename(filename), status=QUEUED,
                    total=len(rows) if rows is not None else about, processed=0, error_count=0,
                    source_sha256=uploads.store(data))
    db.session.add(job)
    db.session.commit()  # before the task is queued: the worker reads committed rows only
    if rows is not None:
        return run_job(job.id, rows)
    run_import(job.id)
    return job


def retry(actor: User, job_id: int) -> ImportJob:
    """Queue a job that failed because its worker stopped or crashed again, from its stored file.
    Only who may see the job may retry it (else NotInScope); a job failed by its content is not
    retried (the same file would fail the same way): that is refused with the reason."""
    job = get_job(actor, job_id)
    reset = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == FAILED, ImportJob.retryable.is_(True), ImportJob.source_sha256.is_not(None))
        .values(status=QUEUED, processed=0, error_count=0, errors_sha256=None, finished_at=None, retryable=False)
    ).rowcount
    db.session.commit()
    if reset != 1:
        raise RuleViolation([("", str(_l("This import cannot be run again. Correct the file and upload it again.")))])
    job_progress.clear(KIND, job.id)
    run_import(job.id)
    db.session.expire_all()
    return _job(job.id)
