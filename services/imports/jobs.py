"""Who imports where, and the web upload as an ImportJob: files of INLINE_ROWS rows or more run
in a background thread whose progress the upload page polls."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import IO, Any

from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from extensions import db
from models.imports import DONE, FAILED, FINISHED, QUEUED, VALIDATING, WRITING, ImportJob
from models.org import SCHOOL, OrgUnit
from models.people import REGISTRAR, Role, User
from services import scope, uploads
from services.clock import now
from services.errors import NotInScope, RuleViolation
from services.imports.apply import import_rows
from services.imports.columns import ImportRejected, Progress, RowData, RowError
from services.imports.parse import parse
from services.imports.report import error_report_xlsx
from services.imports.validate import check_school

log = logging.getLogger(__name__)


INLINE_ROWS = 500  # smaller files are imported during the upload request itself


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
    job = db.session.get(ImportJob, job_id)
    if job is None or not may_see_job(actor, job):
        raise NotInScope()
    if not job.finished and job.id not in _live and job.created_at < now() - STALE_AFTER:
        # Its process ended (a restart) before the commit: nothing was written. Say so.
        _finish(job, FAILED, 0, [RowError(0, "", str(_l("The import was interrupted and nothing was written. Upload the file again.")))])
    return job


# Progress of jobs running in this process: job id → (status, processed). SQLite allows one
# writer, so while the import's transaction is open the row cannot be updated there; the page
# then reads this. On PostgreSQL the row is updated too (other processes see it).
_live: dict[int, tuple[str, int]] = {}
PROGRESS_EVERY = 200  # rows between progress writes to the database
STALE_AFTER = timedelta(hours=1)  # a job still running after this was cut off (20,000 rows take minutes)


def progress_of(job: ImportJob) -> dict[str, Any]:
    status, processed = _live.get(job.id, (job.status, job.processed)) if not job.finished else (job.status, job.processed)
    total = job.total or 0
    return {
        "id": job.id, "status": status, "total": total, "processed": processed,
        "percent": 100 if status in FINISHED else (round(100 * processed / total) if total else 0),
        "error_count": job.error_count, "finished": status in FINISHED,
    }


def _progress_writer(job_id: int) -> Progress:
    sqlite = db.engine.dialect.name == "sqlite"
    last = {"n": -PROGRESS_EVERY, "status": ""}

    def report(status: str, n: int) -> None:
        _live[job_id] = (status, n)
        if n - last["n"] < PROGRESS_EVERY and status == last["status"]:
            return
        last.update(n=n, status=status)
        if sqlite and status == WRITING:
            return  # the import's own transaction holds SQLite's write lock
        with db.engine.begin() as conn:  # its own connection: the import's transaction stays open
            conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(status=status, processed=n))

    return report


def _finish(job: ImportJob, status: str, processed: int, errors: list[RowError] | None = None) -> None:
    job.status, job.processed, job.finished_at = status, processed, now()
    if errors:
        job.error_count = len(errors)
        job.errors_sha256 = uploads.store(error_report_xlsx(errors))
    db.session.commit()


def _job(job_id: int) -> ImportJob:
    """The job row, loaded again: a large import clears the session (apply._lighten_session)."""
    return db.session.get(ImportJob, job_id)  # type: ignore[return-value]


def run_job(job_id: int, rows: list[RowData]) -> ImportJob:
    """Validate and write a queued job; the job ends done (all rows written) or failed (none)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotInScope()
    school, actor = job.school, job.user
    job.status, job.processed = VALIDATING, 0
    db.session.commit()
    filename = job.filename
    try:
        count = import_rows(rows, school, actor, filename=filename, progress=_progress_writer(job_id))
    except ImportRejected as exc:
        _finish(_job(job_id), FAILED, 0, exc.errors)
    except RuleViolation as exc:
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", m) for _f, m in exc.problems])
    except Exception:
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        message = str(_l("The import stopped because of an unexpected error; nothing was written."))
        _finish(_job(job_id), FAILED, 0, [RowError(0, "", message)])
    else:
        _finish(_job(job_id), DONE, count)
    finally:
        _live.pop(job_id, None)
    return _job(job_id)


def _run_in_thread(app: Flask, job_id: int, rows: list[RowData], locale: str) -> None:
    with app.app_context(), force_locale(locale):
        try:
            run_job(job_id, rows)
        except Exception:
            log.exception("import job %s crashed", job_id)
        finally:
            db.session.remove()


def submit_upload(actor: User, school: OrgUnit, filename: str | None, stream: IO[bytes]) -> ImportJob:
    """Parse an upload (refusing bad files at once) and run it as a job: inline when small,
    else in a background thread with its own app context. The caller shows the job."""
    check_school(school, actor)
    rows = parse(stream)
    job = ImportJob(school_id=school.id, user_id=actor.id, filename=uploads.clean_filename(filename),
                    status=QUEUED, total=len(rows), processed=0, error_count=0)
    db.session.add(job)
    db.session.commit()
    if len(rows) < INLINE_ROWS:
        return run_job(job.id, rows)
    _live[job.id] = (QUEUED, 0)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    locale = str(get_locale() or app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    threading.Thread(target=_run_in_thread, args=(app, job.id, rows, locale), name=f"import-job-{job.id}", daemon=True).start()
    return job
