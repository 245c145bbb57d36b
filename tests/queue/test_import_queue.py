"""Excel imports on a real queue (issue 15, point 4), on both back ends (SQLite storage and Redis)
and both databases: a Huey consumer subprocess does the import; a consumer SIGKILLed while the job
is writing leaves no pupil of the file, the job shows failed with 重试 once it stalls, and a retry
on a new consumer imports the stored file."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from extensions import db
from models.imports import DONE, FAILED, WRITING, ImportJob
from models.student import Student
from services import job_progress
from services.imports import apply, jobs
from tests.conftest import Client, login
from tests.helpers import HEPING1, make_id
from tests.queue.consumer import consumer, queue_url_for, real_queue, wait_for
from tests.services.test_imports import DIVISION, IMPORT_URL, pupil, upload, workbook

pytestmark = pytest.mark.committing  # a consumer process commits on its own connection

ROWS = 2000  # a few thousand, through the consumer
QUEUED_ROWS = 600  # just over INLINE_ROWS: queued, not run in the request
KILLED_ROWS = 1000  # two SESSION_BATCHes: the kill strikes after the first was flushed inside the transaction
TASKS = ("services.imports.jobs",)


def file_rows(n: int) -> list[dict[str, object]]:
    """n valid pupils with distinct ID numbers of DIVISION (no demo pupil has one from there)."""
    rows = []
    for i in range(n):
        birth = date(2016, 1, 1) + timedelta(days=i % 360)
        rows.append(pupil(1, 姓名=f"导入{chr(0x4E00 + i)}", 性别="1 男", 出生日期=birth.isoformat(),
                          身份证件号=make_id(DIVISION, birth, 2 * (i // 360) + 1)))
    return rows


@pytest.fixture(scope="module")
def big_file() -> bytes:
    return workbook(file_rows(ROWS))


@pytest.fixture(scope="module")
def file_to_kill() -> bytes:
    return workbook(file_rows(KILLED_ROWS))


@pytest.fixture(scope="module")
def queued_file() -> bytes:
    return workbook(file_rows(QUEUED_ROWS))


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path) -> str:
    return queue_url_for(request.param, tmp_path)


def pupils_of_the_file(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Student).where(Student.id_number.like(DIVISION + "%")))


def state(c: Client, job_id: int) -> dict:
    return c.get(f"{IMPORT_URL}job/{job_id}.json").get_json()


def job_finished(app: Flask, job_id: int) -> bool:
    with app.app_context():
        return db.session.get(ImportJob, job_id).finished


def job_id_of(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])


def test_a_large_import_completes_through_the_consumer(app: Flask, queue_url: str, big_file: bytes):
    c = login(app, "school-heping1@xueji.demo")
    with real_queue(app, queue_url), consumer(app, TASKS) as worker:
        job_id = job_id_of(upload(c, big_file, HEPING1))
        first = state(c, job_id)  # the request answered before the worker finished
        # Until the worker parses it, the total is the upload's count of the sheet's rows (the
        # template's note row included: services/imports/parse.survey); the end says exactly.
        assert first["status"] != DONE and ROWS <= first["total"] <= ROWS + 1
        seen = {first["status"]}

        def finished() -> bool:
            # The progress as every web worker reads it (the JSON reads the same): asking the page itself
            # every time would, on SQLite, also write its login session's last-seen time once a minute,
            # which waits for the import's one write transaction (SQLite has one writer).
            now = job_progress.read(jobs.KIND, job_id)
            if now is not None:
                seen.add(now.status)
            return job_finished(app, job_id)

        wait_for(finished, 300, "the import to finish", worker, every=0.2)
        end = state(c, job_id)
    assert end["status"] == DONE and end["processed"] == ROWS and end["percent"] == 100, end
    assert seen <= {"queued", "validating", "writing", "done"}
    assert pupils_of_the_file(app) == ROWS
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.finished_at is not None and job.source_sha256
        assert job_progress.read(jobs.KIND, job_id) is None  # the row says how it ended


def test_a_worker_killed_while_writing_leaves_nothing_and_the_job_is_retried(
        app: Flask, queue_url: str, file_to_kill: bytes, monkeypatch: pytest.MonkeyPatch):
    owner = login(app, "school-heping1@xueji.demo")
    with real_queue(app, queue_url):
        with consumer(app, (*TASKS, "tests.queue.beat_often")) as worker:
            job_id = job_id_of(upload(owner, file_to_kill, HEPING1))
            # Killed once the first SESSION_BATCH rows were flushed (written, uncommitted: the report of row
            # 500 comes after that flush), while the second batch is staged and flushed.
            seen = wait_for(lambda: (p := job_progress.read(jobs.KIND, job_id)) and p.status == WRITING
                            and p.done >= apply.SESSION_BATCH and p, 300, "the job to report writing", worker, every=0.02)
            worker.kill()
        assert seen.done >= apply.SESSION_BATCH and not job_finished(app, job_id), "the import ended before the kill"
        assert pupils_of_the_file(app) == 0  # the one transaction died with the worker
        assert state(owner, job_id)["status"] == WRITING  # not stalled yet: it may only be slow

        with monkeypatch.context() as patched:  # a dead worker is told after 0.3 s here, not 2 minutes
            patched.setattr(job_progress, "STALLED_AFTER", 0.3)
            wait_for(lambda: job_progress.stalled(jobs.KIND, job_id), 10, "the job to stall")
            page = owner.get(f"{IMPORT_URL}job/{job_id}").get_data(as_text=True)
        assert 'id="job-failed"' in page and 'id="retry-import"' in page and "重试" in page
        assert state(owner, job_id)["status"] == FAILED and state(owner, job_id)["retryable"]
        assert pupils_of_the_file(app) == 0
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

        retry_url = f"{IMPORT_URL}job/{job_id}/retry"
        assert owner.post(retry_url).status_code == 400  # without the CSRF token
        for outsider in ("school-heping2@xueji.demo", "shenhe@xueji.demo"):  # another school; an official of another county
            other = login(app, outsider)
            assert other.post_form(retry_url, {}, token_from=IMPORT_URL).status_code == 404, outsider
        with app.app_context():
            assert db.session.get(ImportJob, job_id).status == FAILED  # nothing was queued by them

        with consumer(app, TASKS) as worker:
            resp = owner.post(retry_url, data={"csrf_token": token})
            assert resp.status_code == 302 and resp.headers["Location"].endswith(f"job/{job_id}")
            assert owner.post(retry_url, data={"csrf_token": token}).status_code == 302  # a second click queues nothing
            wait_for(lambda: job_finished(app, job_id), 300, "the retried import", worker, every=0.2)
            end = state(owner, job_id)
        assert end["status"] == DONE and end["processed"] == KILLED_ROWS, end
        assert pupils_of_the_file(app) == KILLED_ROWS
        assert "导入已完成" in owner.get(f"{IMPORT_URL}job/{job_id}").get_data(as_text=True)


def test_a_queued_job_says_in_chinese_that_it_waits_for_the_worker(app: Flask, queue_url: str, queued_file: bytes):
    """No worker running: the upload answers at once, the job waits in the queue, and the page says
    so and what to do (not stalled: no worker has reported on it)."""
    c = login(app, "school-heping1@xueji.demo")
    with real_queue(app, queue_url):
        job_id = job_id_of(upload(c, queued_file, HEPING1))
        page = c.get(f"{IMPORT_URL}job/{job_id}").get_data(as_text=True)
        assert "等待后台处理" in page and "请联系系统管理员" in page and 'id="job-hint"' in page
        now = state(c, job_id)
        assert now["status"] == "queued" and not now["finished"] and now["status_hint"].startswith("文件已保存")
        assert pupils_of_the_file(app) == 0
