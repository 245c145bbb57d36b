"""A class at once: issuing the certificates of a school's roster, and printing them as one PDF.

The class prints one A4 page per certificate. A small class is printed during the request; a
bigger one is a task of the queue (services/queue.py), enqueued with the job's id only. The job's
definition and outcome are a small JSON file in the configured storage (UPLOAD_DIR, shared by every
app server and worker), its result PDF is stored like an upload, and its progress and heartbeat go
through services/job_progress.py: a job whose worker died stops beating and shows as failed, with
a retry that enqueues it again.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models.graduation import VALID, Certificate, GraduationRecord
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import audit, clock, job_progress, notifications, scope, uploads
from services.certificates.issuing import certificate_spec, check_issuer, lock_records, principal_of
from services.certificates.kinds import FINAL_GRADE, ISSUED_KINDS, KIND_FOR_OUTCOME, KIND_LABELS
from services.certificates.numbering import allocate
from services.certificates.rendering import arrival_months, pdf_context, render_pages
from services.errors import NotInScope, RuleViolation
from services.labels import zh
from services.print_jobs import JobStore
from services.queue import task

log = logging.getLogger(__name__)


def class_records(school: OrgUnit, year: int, class_name: str | None = None) -> list[GraduationRecord]:
    """The school's roster of `year` (or one class of it), in class and name order."""
    query = (select(GraduationRecord).join(GraduationRecord.student)
             .where(GraduationRecord.school_id == school.id, GraduationRecord.year == year))
    if class_name:
        query = query.where(Student.class_name == class_name)
    return list(db.session.scalars(
        query.options(selectinload(GraduationRecord.student)).order_by(Student.class_name, Student.name, GraduationRecord.id)
    ))


def roster_classes(school: OrgUnit, year: int) -> list[str]:
    """The classes of the school's roster of `year` (for the choice of one class)."""
    return [c for c in db.session.scalars(
        select(Student.class_name).join(GraduationRecord, GraduationRecord.student_id == Student.id)
        .where(GraduationRecord.school_id == school.id, GraduationRecord.year == year, Student.class_name.is_not(None))
        .distinct().order_by(Student.class_name)
    ) if c]


def roster_years(school: OrgUnit) -> list[int]:
    return list(db.session.scalars(
        select(GraduationRecord.year).where(GraduationRecord.school_id == school.id).distinct().order_by(GraduationRecord.year.desc())
    ))


def held_certificates(records: Sequence[GraduationRecord]) -> dict[tuple[int, str], Certificate]:
    """(pupil, kind) → the valid diploma or certificate of completion of these roster lines' pupils."""
    if not records:
        return {}
    rows = db.session.scalars(
        select(Certificate).where(Certificate.student_id.in_([r.student_id for r in records]),
                                  Certificate.kind.in_(ISSUED_KINDS), Certificate.status == VALID)
    )
    return {(c.student_id, c.kind): c for c in rows}


def due_records(records: Sequence[GraduationRecord], held: dict[tuple[int, str], Certificate]) -> list[GraduationRecord]:
    """The roster lines that entitle to a certificate their pupil does not hold yet."""
    return [r for r in records if r.grade == FINAL_GRADE and r.outcome in KIND_FOR_OUTCOME
            and (r.student_id, KIND_FOR_OUTCOME[r.outcome]) not in held]


def issue_class(school: OrgUnit, year: int, actor: User, class_name: str | None = None) -> list[Certificate]:
    """Issue every certificate of the school's roster of `year` (or of one class) that is due and not issued yet."""
    check_issuer(actor, school)
    principal = principal_of(school)
    records = class_records(school, year, class_name)  # in class and name order: the order of the numbers
    lock_records([r.id for r in records])  # refreshes the lines in place
    specs = [certificate_spec(r, r.student, school, KIND_FOR_OUTCOME[r.outcome], actor, principal)  # type: ignore[index]
             for r in due_records(records, held_certificates(records))]
    certs = allocate(specs) if specs else []
    for cert in certs:
        audit.record(actor,  "certificate.issue", "certificate", cert.id,
                     f"{zh(KIND_LABELS[cert.kind])} {cert.number}（学生 #{cert.student_id}）")
    if certs:
        audit.record(actor, "certificate.issue_class", "org_unit", school.id, f"{year} 年：颁发 {len(certs)} 份证书")
    return certs


def _valid_certificates(*where: Any) -> list[Certificate]:
    return list(db.session.scalars(
        select(Certificate).join(Certificate.graduation_record).join(Certificate.student)
        .where(Certificate.kind.in_(ISSUED_KINDS), Certificate.status == VALID, *where)
        .options(selectinload(Certificate.student), selectinload(Certificate.graduation_record), selectinload(Certificate.replaces))
        .order_by(Student.class_name, Student.name, Certificate.id)
    ))


def class_certificates(school: OrgUnit, year: int, class_name: str | None = None) -> list[Certificate]:
    """The valid diplomas and certificates of completion of the school's roster of `year` (or of one class)."""
    where = [Certificate.school_id == school.id, GraduationRecord.year == year]
    if class_name:
        where.append(Student.class_name == class_name)
    return _valid_certificates(*where)


def pupils_certificates(actor: User, student_ids: Sequence[int]) -> list[Certificate]:
    """The valid diplomas and certificates of completion of these pupils, within the actor's scope
    (a pupil who holds none, e.g. not a graduate, simply has no page)."""
    if not student_ids:
        return []
    return [c for c in _valid_certificates(Certificate.student_id.in_(list(student_ids)))
            if scope.covers(actor, c.school.path)]


CHUNK_PAGES = 50  # pages per xhtml2pdf run: the progress steps, and a bound on the renderer's memory
INLINE_PAGES = 20  # smaller classes are printed during the request itself
JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED = "queued", "running", "done", "failed"
JOB_FINISHED = (JOB_DONE, JOB_FAILED)
PROGRESS_KIND = "certificate_print"  # services/job_progress.py key prefix
KEEP_JOBS = timedelta(days=7)  # a class PDF is printed again from the certificates at any time
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass
class PrintJob:
    """A batch print: who asked, which class, how far, and the stored PDF when done."""

    id: str
    user_id: int
    school_id: int
    school_name: str
    year: int
    total: int
    class_name: str | None = None  # one class of the roster; None: the whole roster
    cert_ids: list[int] | None = None  # the certificates of selected pupils, instead of a roster
    status: str = JOB_QUEUED
    processed: int = 0
    sha256: str | None = None
    error: str | None = None
    seconds: float | None = None
    created_at: str = field(default_factory=lambda: clock.now().isoformat())
    updated_at: str = field(default_factory=lambda: clock.now().isoformat())

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED

    @property
    def percent(self) -> int:
        if self.status == JOB_DONE:
            return 100
        return round(100 * self.processed / self.total) if self.total else 0

    def progress(self) -> dict[str, Any]:
        if self.status == JOB_RUNNING:  # the worker reports each chunk through job_progress, not the file
            seen = job_progress.read(PROGRESS_KIND, self.id)
            if seen is not None:
                self.processed = seen.done
        return {"id": self.id, "status": self.status, "total": self.total, "processed": self.processed,
                "percent": self.percent, "finished": self.finished, "error": self.error}


JOB_FOLDER = "certificate-jobs"
_STORE: JobStore[PrintJob] = JobStore(JOB_FOLDER, PrintJob, KEEP_JOBS)
_save, _load = _STORE.save, _STORE.load


def get_job(actor: User, job_id: str) -> PrintJob:
    """A print job of this user (anybody else's, or none: NotInScope → 404)."""
    job = _load(job_id)
    if job is None or job.user_id != actor.id:
        raise NotInScope()
    if not job.finished and job_progress.stalled(PROGRESS_KIND, job.id):  # its worker died mid-way
        job.status, job.error = JOB_FAILED, str(_l("The printing was interrupted. Start it again."))
        _save(job)
    return job


def job_pdf(job: PrintJob) -> Path:
    return _STORE.pdf(job)


Progress = Callable[[int], None]


def render_class(certs: list[Certificate], site: str, progress: Progress | None = None, chunk: int | None = None) -> bytes:
    """All the certificates as one PDF, one page each, rendered `chunk` (CHUNK_PAGES) pages at a time."""
    chunk = chunk or CHUNK_PAGES
    if not certs:
        raise RuleViolation(str(_l("There is no valid certificate to print.")))
    by_school: dict[int, list[int]] = {}
    for cert in certs:
        by_school.setdefault(cert.school_id, []).append(cert.student_id)
    arrived: dict[int, date] = {}
    for school_id, ids in by_school.items():
        arrived.update(arrival_months(db.session.get(OrgUnit, school_id), ids))  # type: ignore[arg-type]
    writer = PdfWriter()
    for start in range(0, len(certs), chunk):
        part = certs[start:start + chunk]
        data = render_pages([pdf_context(c, site, arrived.get(c.student_id)) for c in part])
        writer.append(PdfReader(io.BytesIO(data)))
        if progress is not None:
            progress(start + len(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _run(job: PrintJob, site: str) -> PrintJob:
    started = time.monotonic()
    try:
        school = db.session.get(OrgUnit, job.school_id)
        actor = db.session.get(User, job.user_id)
        if job.cert_ids is not None:
            certs = [c for c in pupils_certificates(actor, [c.student_id for c in _by_ids(job.cert_ids)])
                     if c.id in set(job.cert_ids)]  # scoped again: the job runs later
        else:
            certs = class_certificates(school, job.year, job.class_name)  # type: ignore[arg-type]
        job.status, job.total, job.processed = JOB_RUNNING, len(certs), 0
        _save(job)
        job_progress.report(PROGRESS_KIND, job.id, JOB_RUNNING, 0, job.total, force=True)

        def progress(n: int) -> None:
            job.processed = n
            job_progress.report(PROGRESS_KIND, job.id, JOB_RUNNING, n, job.total)

        data = render_class(certs, site, progress)
        job.sha256 = uploads.store(data)
        audit.record(actor, "print", "certificate_batch", job.school_id,
                     f"{job.school_name} {job.year} 年{(' ' + job.class_name) if job.class_name else ''}：打印 {len(certs)} 份证书 "
                     + "、".join(c.number for c in certs)[:400])
        db.session.commit()
        job.status, job.seconds = JOB_DONE, round(time.monotonic() - started, 2)
    except RuleViolation as exc:
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(exc)
    except Exception:
        log.exception("certificate print job %s failed", job.id)
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(_l("The printing stopped because of an unexpected error."))
    _save(job)
    job_progress.report(PROGRESS_KIND, job.id, job.status, job.processed, job.total, force=True)
    return job


@task()
def print_job_task(job_id: str, site: str, locale: str) -> None:
    """The queued print: the job is read back from storage by its id. A job already finished (a
    second delivery, or one retried and done meanwhile) is left alone."""
    job = _load(job_id)
    if job is None or job.finished:
        return
    with force_locale(locale):
        _run(job, site)
    if job.status == JOB_DONE:  # 我的消息: the batch the user left running is ready
        title = f"{job.school_name} {job.year} 年{(' ' + job.class_name) if job.class_name else ''}证书批量打印"
        notifications.export_ready(job.user_id, title, f"/admin/certificates/job/{job.id}")
        db.session.commit()


def _by_ids(ids: Sequence[int]) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.id.in_(list(ids))))) if ids else []


def start_class_print(school: OrgUnit, year: int, actor: User, site: str, class_name: str | None = None) -> PrintJob:
    """Print the class's certificates as one PDF: inline when small, else as a queued task. The
    caller shows the job's page, which polls its progress."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    total = len(class_certificates(school, year, class_name))
    if not total:
        raise RuleViolation(str(_l("There is no valid certificate to print.")))
    job = PrintJob(id=secrets.token_urlsafe(24), user_id=actor.id, school_id=school.id, school_name=school.name, year=year,
                   total=total, class_name=class_name or None)
    return _start(job, site)


def start_pupils_print(actor: User, certs: Sequence[Certificate], site: str) -> PrintJob:
    """Print the certificates of selected pupils (`pupils_certificates`) as one PDF, like a class."""
    if not certs:
        raise RuleViolation(str(_l("There is no valid certificate to print.")))
    if any(not scope.covers(actor, c.school.path) for c in certs):
        raise NotInScope()
    schools = {c.school_id: c.school.name for c in certs}
    first = certs[0]
    name = first.school.name if len(schools) == 1 else str(_l("Selected pupils"))
    job = PrintJob(id=secrets.token_urlsafe(24), user_id=actor.id, school_id=first.school_id, school_name=name,
                   year=max(c.year for c in certs), total=len(certs), cert_ids=[c.id for c in certs])
    return _start(job, site)


def _start(job: PrintJob, site: str) -> PrintJob:
    forget_old_jobs()
    total = job.total
    _save(job)
    db.session.commit()  # the worker reads committed rows only (and SQLite allows one writer)
    if total < INLINE_PAGES:
        return _run(job, site)
    _enqueue(job, site)
    return _load(job.id) or job  # immediate mode (tests) has run it already


def _enqueue(job: PrintJob, site: str) -> None:
    locale = str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    print_job_task(job.id, site, locale)


def retry_job(actor: User, job_id: str, site: str) -> PrintJob:
    """重试 a failed print (its worker died, or it stopped on an error): the same user, and the
    school still in their scope (NotInScope → 404); enqueued again under the same id."""
    job = get_job(actor, job_id)
    school = db.session.get(OrgUnit, job.school_id)
    if school is None or not scope.covers(actor, school.path):
        raise NotInScope()
    if job.status != JOB_FAILED:
        raise RuleViolation(str(_l("Only a failed printing can be started again.")))
    job.status, job.error, job.processed, job.sha256 = JOB_QUEUED, None, 0, None
    job_progress.clear(PROGRESS_KIND, job.id)
    _save(job)
    _enqueue(job, site)
    return _load(job.id) or job


def forget_old_jobs(now: datetime | None = None) -> int:
    """Delete print jobs older than KEEP_JOBS with their class PDF. Returns how many went."""
    return _STORE.forget_old(now)


def recent_jobs(actor: User, limit: int = 5) -> list[PrintJob]:
    """This user's latest print jobs (their files, newest first)."""
    return _STORE.recent(actor.id, limit)
