"""学生学籍卡 in a batch: a class, or selected pupils, as one PDF made by a task of the queue.

Like the certificates' class print (services/certificates/batch.py): the job's definition and
outcome are a small JSON file in the configured storage (UPLOAD_DIR, shared by every app server
and worker), the result PDF is stored like an upload, and progress and heartbeat go through
services/job_progress.py (a job whose worker died stops beating and shows as failed, with a retry).
The cards are rendered CHUNK cards per xhtml2pdf run and merged with pypdf, which bounds the
renderer's memory; each card is numbered (services/student_cards.py) and the batch is audited.

The pupils are read again, within the requester's scope, when the job runs: a pupil who left the
scope meanwhile is left out.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader, PdfWriter

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.people import User
from models.student import Student
from services import audit, clock, export_gate, job_progress, notifications, scope, student_cards, uploads
from services.errors import NotInScope, RuleViolation
from services.print_jobs import JobStore
from services.queue import task

log = logging.getLogger(__name__)

CHUNK = 50  # cards per xhtml2pdf run: the progress steps, and a bound on the renderer's memory
MAX_PUPILS = 2000  # one batch; a bigger one is split by class
JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED = "queued", "running", "done", "failed"
JOB_FINISHED = (JOB_DONE, JOB_FAILED)
PROGRESS_KIND = "student_card_print"  # services/job_progress.py key prefix
KEEP_JOBS = timedelta(days=7)
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

Progress = Callable[[int], None]


@dataclass
class CardJob:
    """A batch of cards: who asked, which pupils, how far, and the stored PDF when done."""

    id: str
    user_id: int
    school_id: int | None  # the class's school; None for selected pupils of several schools
    title: str  # what the job page and the file name say: 和平一小 三年级 2班, or 选定的 12 名学生
    total: int
    grade: int | None = None
    class_name: str | None = None
    student_ids: list[int] | None = None  # selected pupils instead of a class
    groups: list[str] = field(default_factory=list)  # the sensitive groups the gate approved
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
        return {
            "id": self.id,
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "percent": self.percent,
            "finished": self.finished,
            "error": self.error,
        }


_STORE: JobStore[CardJob] = JobStore("student-card-jobs", CardJob, KEEP_JOBS)
_save, _load = _STORE.save, _STORE.load


# --- which pupils ------------------------------------------------------------------------------------


def class_title(school: OrgUnit, grade: int, class_name: str) -> str:
    from services import codes

    return f"{school.name} {codes.label('grade', str(grade))} {class_name}"


def class_pupils(actor: User, school: OrgUnit, grade: int, class_name: str) -> list[Student]:
    """The class's pupils, the school within the actor's scope (NotInScope otherwise)."""
    if school.level != SCHOOL or not scope.covers(actor, school.path):
        raise NotInScope()
    return student_cards.class_students(school, grade, class_name)


def _pupils_of(job: CardJob, actor: User) -> list[Student]:
    if job.student_ids is not None:
        return student_cards.scoped_students(actor, job.student_ids)
    school = db.session.get(OrgUnit, job.school_id)
    if school is None:
        raise NotInScope()
    return class_pupils(actor, school, job.grade or 0, job.class_name or "")


# --- rendering ---------------------------------------------------------------------------------------


def render_batch(
    actor: User,
    pupils: Sequence[Student],
    groups: Sequence[str],
    site: str,
    progress: Progress | None = None,
    chunk: int | None = None,
    numbers: list[str] | None = None,
) -> bytes:
    """The pupils' numbered cards as one PDF, `chunk` (CHUNK) cards per render, merged with pypdf;
    the cards' numbers are appended to `numbers` when given."""
    if not pupils:
        raise RuleViolation(str(_l("There is no pupil to print a record card for.")))
    if len(pupils) > MAX_PUPILS:
        raise RuleViolation(str(_l("At most %(n)d record cards are printed at once: print class by class.", n=MAX_PUPILS)))
    chunk = chunk or CHUNK
    writer = PdfWriter()
    for start in range(0, len(pupils), chunk):
        part = pupils[start : start + chunk]
        data, docs = student_cards.print_cards(actor, part, groups, site)
        if numbers is not None:
            numbers.extend(d.number for d in docs)
        writer.append(PdfReader(io.BytesIO(data)))
        if progress is not None:
            progress(start + len(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def audit_batch(actor: User, title: str, pupils: Sequence[Student], groups: Sequence[str], numbers: Sequence[str] = ()) -> None:
    """One audit row for the batch: what, how many, which groups, the first and last card number."""
    shown = "、".join(export_gate.GROUP_LABELS[g] for g in sorted(groups) if g in export_gate.GROUP_LABELS)
    span = f" {numbers[0]}–{numbers[-1]}" if numbers else ""
    audit.record(
        actor,
        "print",
        "student_card_batch",
        None,
        f"{student_cards.TITLE} {title}：{len(pupils)} 张{('（' + shown + '）') if shown else ''}{span}",
    )


def _run(job: CardJob, site: str) -> CardJob:
    started = time.monotonic()
    try:
        actor = db.session.get(User, job.user_id)
        if actor is None or not actor.active:
            raise NotInScope()
        pupils = _pupils_of(job, actor)  # scoped again: the job runs later
        job.status, job.total, job.processed = JOB_RUNNING, len(pupils), 0
        _save(job)
        job_progress.report(PROGRESS_KIND, job.id, JOB_RUNNING, 0, job.total, force=True)

        def progress(n: int) -> None:
            job.processed = n
            job_progress.report(PROGRESS_KIND, job.id, JOB_RUNNING, n, job.total)

        numbers: list[str] = []
        data = render_batch(actor, pupils, job.groups, site, progress, numbers=numbers)
        job.sha256 = uploads.store(data)
        audit_batch(actor, job.title, pupils, job.groups, numbers)
        db.session.commit()
        job.status, job.seconds = JOB_DONE, round(time.monotonic() - started, 2)
    except RuleViolation as exc:
        db.session.rollback()
        job.status, job.error = JOB_FAILED, "；".join(m for _f, m in exc.problems)
    except NotInScope:
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(_l("The pupils are no longer in your scope."))
    except Exception:
        log.exception("student card job %s failed", job.id)
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(_l("The printing stopped because of an unexpected error."))
    _save(job)
    job_progress.report(PROGRESS_KIND, job.id, job.status, job.processed, job.total, force=True)
    return job


@task()
def card_job_task(job_id: str, site: str, locale: str) -> None:
    """The queued batch, read back by its id; a job already finished (a second delivery) is left alone."""
    job = _load(job_id)
    if job is None or job.finished:
        return
    with force_locale(locale):
        _run(job, site)
    if job.status == JOB_DONE:  # 我的消息: the batch the user left running is ready
        notifications.export_ready(job.user_id, f"学籍卡批量打印（{job.title}）", f"/admin/student_cards/job/{job.id}")
        db.session.commit()


def _enqueue(job: CardJob, site: str) -> CardJob:
    _save(job)
    db.session.commit()  # the worker reads committed rows only
    locale = str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    card_job_task(job.id, site, locale)
    return _load(job.id) or job  # immediate mode (tests) has run it already


# --- starting, following, retrying --------------------------------------------------------------------


def start_class(actor: User, school: OrgUnit, grade: int, class_name: str, site: str, groups: Sequence[str] = ()) -> CardJob:
    """The cards of one class (school, grade, class) as one PDF, in the background."""
    pupils = class_pupils(actor, school, grade, class_name)
    if not pupils:
        raise RuleViolation(str(_l("There is no pupil to print a record card for.")))
    forget_old_jobs()
    job = CardJob(
        id=secrets.token_urlsafe(24),
        user_id=actor.id,
        school_id=school.id,
        title=class_title(school, grade, class_name),
        total=len(pupils),
        grade=grade,
        class_name=class_name,
        groups=sorted(groups),
    )
    return _enqueue(job, site)


def start_pupils(actor: User, student_ids: Sequence[int], site: str, groups: Sequence[str] = ()) -> CardJob:
    """The cards of selected pupils (those in the actor's scope) as one PDF, in the background."""
    pupils = student_cards.scoped_students(actor, student_ids)
    if not pupils:
        raise RuleViolation(str(_l("There is no pupil to print a record card for.")))
    forget_old_jobs()
    schools = {s.school_id for s in pupils}
    job = CardJob(
        id=secrets.token_urlsafe(24),
        user_id=actor.id,
        school_id=schools.pop() if len(schools) == 1 else None,
        title=str(_l("%(n)d selected pupils", n=len(pupils))),
        total=len(pupils),
        student_ids=[s.id for s in pupils],
        groups=sorted(groups),
    )
    return _enqueue(job, site)


def get_job(actor: User, job_id: str) -> CardJob:
    """A job of this user (anybody else's, or none: NotInScope → 404)."""
    job = _load(job_id)
    if job is None or job.user_id != actor.id:
        raise NotInScope()
    if not job.finished and job_progress.stalled(PROGRESS_KIND, job.id):  # its worker died mid-way
        job.status, job.error = JOB_FAILED, str(_l("The printing was interrupted. Start it again."))
        _save(job)
    return job


def job_pdf(job: CardJob) -> Path:
    return _STORE.pdf(job)


def retry_job(actor: User, job_id: str, site: str) -> CardJob:
    """重试 a failed batch: the same user (else 404), enqueued again under the same id."""
    job = get_job(actor, job_id)
    if job.status != JOB_FAILED:
        raise RuleViolation(str(_l("Only a failed printing can be started again.")))
    job.status, job.error, job.processed, job.sha256 = JOB_QUEUED, None, 0, None
    job_progress.clear(PROGRESS_KIND, job.id)
    return _enqueue(job, site)


def forget_old_jobs(now: datetime | None = None) -> int:
    """Delete jobs older than KEEP_JOBS with their PDF. Returns how many went."""
    return _STORE.forget_old(now)
