"""A certificate batch and an approved export, each enqueued by the web side and done by a real
queue worker (a separate process, tests/queue/consumer.py), on both storages: SQLite and
the Redis at 127.0.0.1:6379 (db 3). The database and the upload directory are the test's own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from extensions import db
from models.export_request import READY, ExportRequest
from services import export_requests, job_progress, uploads
from services.certificates import batch
from tests.builders import make_certificate
from tests.queue.consumer import consumer, queue_url_for, real_queue, wait_for
from tests.transfer_helpers import user

BACKENDS = ["sqlite", "redis"]
TASKS = ("services.certificates.batch", "services.export_requests")


@pytest.fixture(params=BACKENDS)
def worker(request, app, tmp_path: Path):
    """The test process enqueues into `backend`'s storage; a worker process consumes it."""
    with real_queue(app, queue_url_for(request.param, tmp_path)), consumer(app, TASKS) as proc:
        yield proc


@pytest.mark.committing
def test_a_certificate_batch_is_printed_by_the_worker(app, as_user, worker, monkeypatch):
    monkeypatch.setattr(batch, "INLINE_PAGES", 0)  # this process only decides: queue it, however small
    with app.test_request_context():
        certs = [make_certificate() for _ in range(3)]
        school_id, year = certs[0].school_id, certs[0].year
        db.session.commit()
    c = as_user("school-heping2")
    resp = c.post_form("/admin/certificates/class/print", {"school_id": school_id, "year": year},
                       token_from=f"/admin/certificates/class/?school_id={school_id}&year={year}")
    job_url = resp.headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]
    state = wait_for(lambda: (s := c.get(job_url + ".json").get_json())["finished"] and s, 90, "the worker to print")
    assert state["status"] == "done" and state["processed"] == 3, state
    seen = job_progress.read(batch.PROGRESS_KIND, job_id)  # the worker's heartbeat, read through the storage
    assert seen is not None and seen.status == "done" and not job_progress.stalled(batch.PROGRESS_KIND, job_id)
    pdf = c.get(state["pdf_url"])
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.data)).pages) == 3
    with app.app_context():
        job = batch._load(job_id)
        stored = uploads.path_of(job.sha256)
        assert stored.is_file() and stored.is_relative_to(Path(app.config["UPLOAD_DIR"]))  # the configured storage
    assert worker.proc.poll() is None


@pytest.mark.committing
def test_an_approved_export_is_produced_by_the_worker(app, as_user, worker):
    with app.test_request_context():
        req = export_requests.create(user("school-heping1"), "student_list", "核对本校学生名单", [], "student.export",
                                     {"export_type": "xlsx"})
        db.session.commit()
        export_requests.decide(user("heping"), req, True)
        db.session.commit()
        request_id, banner_number = req.id, req.number
        export_requests.start(req)  # what the approval's POST does once committed: the id goes on the queue

    def produced() -> ExportRequest | None:
        with app.app_context():
            row = db.session.get(ExportRequest, request_id)
            return row if row.status != "approved" else None

    row = wait_for(produced, 90, "the worker to produce the file")
    assert row.status == READY, (row.status, row.error)
    wait_for(lambda: (p := job_progress.read(export_requests.PROGRESS_KIND, request_id)) and p.status == "finished" and p,
                10, "the worker's last report (written just after its commit)")
    assert not job_progress.stalled(export_requests.PROGRESS_KIND, request_id)
    resp = as_user("school-heping1").get(f"/admin/export_requests/{request_id}/download")
    assert resp.status_code == 200
    first = next(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert banner_number in str(first[0])  # the watermark line the worker added
    assert worker.proc.poll() is None


@pytest.mark.committing
def test_a_batch_whose_worker_is_killed_fails_and_is_retried_on_a_new_worker(app, as_user, worker, monkeypatch, tmp_path):
    """SIGKILL while printing: no result, the heartbeat stops, the page shows 失败 with 重试; the
    retry goes back on the queue and a fresh worker prints it."""
    monkeypatch.setattr(batch, "INLINE_PAGES", 0)
    with app.test_request_context():
        certs = [make_certificate() for _ in range(20)]
        school_id, year = certs[0].school_id, certs[0].year
        db.session.commit()
    c = as_user("school-heping2")
    job_url = c.post_form("/admin/certificates/class/print", {"school_id": school_id, "year": year},
                          token_from=f"/admin/certificates/class/?school_id={school_id}&year={year}").headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]
    wait_for(lambda: (p := job_progress.read(batch.PROGRESS_KIND, job_id)) and p.status == "running", 60, "the print to start")
    worker.kill()
    assert c.get(job_url + ".json").get_json()["status"] == "running"  # a silent worker is not dead at once
    patience = job_progress.STALLED_AFTER
    monkeypatch.setattr(job_progress, "STALLED_AFTER", 1.0)  # the page's patience, shortened
    wait_for(lambda: job_progress.stalled(batch.PROGRESS_KIND, job_id), 10, "the heartbeat to go stale")
    page = c.get(job_url).get_data(as_text=True)
    assert 'id="job-failed"' in page and 'id="retry-batch"' in page
    with app.app_context():
        assert batch._load(job_id).sha256 is None  # nothing half-stored
    monkeypatch.setattr(job_progress, "STALLED_AFTER", patience)  # a live worker beats every 2 s
    assert c.post_form(f"{job_url}/retry", {}, token_from=job_url).status_code == 302
    with consumer(app, TASKS):
        state = wait_for(lambda: (s := c.get(job_url + ".json").get_json())["finished"] and s, 120, "the new worker to print")
    assert state["status"] == "done" and state["processed"] == 20, state
    assert len(PdfReader(io.BytesIO(c.get(state["pdf_url"]).data)).pages) == 20
