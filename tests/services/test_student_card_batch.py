"""学生学籍卡 in a batch (issue 16, point 2): chunked rendering merged into one PDF, the job on the queue
(run at once in the suite: QUEUE_IMMEDIATE), the pupils scoped again when it runs, retry, cleanup."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cli.realistic import HEPING1, HEPING2, make_pupil, school, user_of
from extensions import db
from models.audit import AuditLog
from services import clock, pdf, student_card_batch
from services.errors import NotInScope, RuleViolation

SITE = "https://xueji.example.cn"


def registrar(code: str = HEPING1):
    return user_of(school(code))


def class_of(n: int, name: str = "批量班", code: str = HEPING1) -> list:
    rows = [make_pupil(code, name=f"学生{i:02d}𠮷", grade=6, class_name=name) for i in range(n)]
    db.session.flush()
    return rows


def test_cards_are_rendered_in_chunks_and_merged(ctx):
    pupils = class_of(5)
    seen: list[int] = []
    data = student_card_batch.render_batch(registrar(), pupils, (), SITE, progress=seen.append, chunk=2)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 5 and seen == [2, 4, 5]
    assert [f"学生{i:02d}" in (reader.pages[i].extract_text() or "") for i in range(5)] == [True] * 5


def test_nothing_to_print_and_too_many_are_refused(ctx, monkeypatch):
    with pytest.raises(RuleViolation):
        student_card_batch.render_batch(registrar(), [], (), SITE)
    monkeypatch.setattr(student_card_batch, "MAX_PUPILS", 2)
    with pytest.raises(RuleViolation) as exc:
        student_card_batch.render_batch(registrar(), class_of(3), (), SITE)
    assert "按班打印" in exc.value.problems[0][1]


def test_a_class_job_runs_on_the_queue_and_stores_one_pdf(ctx):
    class_of(3)
    job = student_card_batch.start_class(registrar(), school(HEPING1), 6, "批量班", SITE)
    assert job.status == student_card_batch.JOB_DONE and job.total == 3 and job.percent == 100
    assert "六年级" in job.title and "批量班" in job.title
    data = student_card_batch.job_pdf(job).read_bytes()
    row = db.session.scalar(select(AuditLog).where(AuditLog.object_type == "student_card_batch").order_by(AuditLog.id.desc()))
    assert "3 张" in row.detail and "批量班" in row.detail and "–XK" in row.detail
    assert len(PdfReader(io.BytesIO(data)).pages) == 3 and "学生学籍卡" in pdf.extract_text(data)


def test_a_class_of_another_school_is_out_of_scope(ctx):
    class_of(2, code=HEPING2)
    with pytest.raises(NotInScope):
        student_card_batch.start_class(registrar(), school(HEPING2), 6, "批量班", SITE)


def test_an_empty_class_is_refused(ctx):
    with pytest.raises(RuleViolation):
        student_card_batch.start_class(registrar(), school(HEPING1), 6, "没有这个班", SITE)


def test_selected_pupils_outside_the_scope_are_left_out(ctx):
    own = class_of(2)
    other = class_of(1, code=HEPING2)
    job = student_card_batch.start_pupils(registrar(), [p.id for p in own + other], SITE)
    assert job.status == student_card_batch.JOB_DONE and job.total == 2 and job.student_ids == sorted(p.id for p in own)


def test_only_its_user_sees_a_job_and_only_a_failed_one_is_retried(ctx, monkeypatch):
    class_of(1)
    job = student_card_batch.start_class(registrar(), school(HEPING1), 6, "批量班", SITE)
    with pytest.raises(NotInScope):
        student_card_batch.get_job(registrar(HEPING2), job.id)
    with pytest.raises(NotInScope):
        student_card_batch.get_job(registrar(), "../../etc/passwd")
    with pytest.raises(RuleViolation):
        student_card_batch.retry_job(registrar(), job.id, SITE)

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(student_card_batch, "render_batch", broken)
    failed = student_card_batch.start_class(registrar(), school(HEPING1), 6, "批量班", SITE)
    assert failed.status == student_card_batch.JOB_FAILED and "意外错误" in failed.error
    with pytest.raises(NotInScope):
        student_card_batch.job_pdf(failed)
    monkeypatch.undo()
    again = student_card_batch.retry_job(registrar(), failed.id, SITE)
    assert again.id == failed.id and again.status == student_card_batch.JOB_DONE


def test_old_jobs_are_forgotten_with_their_pdf(ctx, monkeypatch):
    class_of(1)
    job = student_card_batch.start_class(registrar(), school(HEPING1), 6, "批量班", SITE)
    path = student_card_batch.job_pdf(job)
    later = clock.now() + student_card_batch.KEEP_JOBS + timedelta(days=1)
    assert student_card_batch.forget_old_jobs(later) >= 1
    assert not path.exists()
    with pytest.raises(NotInScope):
        student_card_batch.get_job(registrar(), job.id)
