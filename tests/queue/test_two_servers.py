"""The web tier is stateless (issue 15, point 3): two app servers on one PostgreSQL and one Redis serve
one transfer whose steps alternate between them, a session cookie of one works on the other, and an
import started on one is followed to its end on the other (a queue worker on the same Redis)."""

from __future__ import annotations

import io
import os
import time

import pytest
from huey.storage import RedisStorage
from sqlalchemy import create_engine, text

from services.queue import QUEUE_NAME
from tests.helpers import HEPING1
from tests.queue.consumer import REDIS_URL, Consumer, redis_answers
from tests.queue.servers import STEP_RE, Browser, app_servers, free_ports, log_in, own_database, shared_env
from tests.queue.test_import_queue import QUEUED_ROWS, file_rows
from tests.services.test_imports import DIVISION, IMPORT_URL, workbook
from tests.transfer_helpers import TOKEN_RE, png_bytes

pytestmark = pytest.mark.committing


@pytest.fixture
def servers(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("two app servers share one database only on PostgreSQL (TEST_DATABASE_URL); SQLite is one machine's")
    if why := redis_answers():
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({why}): the servers share the queue and rate limits there")
    env = shared_env(REDIS_URL, str(tmp_path / "uploads"))
    env["DATABASE_URL"] = own_database(url, env)
    servers_queue = RedisStorage(QUEUE_NAME, url=REDIS_URL)  # the servers' queue: the production name
    servers_queue.flush_all()  # what an interrupted run may have left (this queue's keys only)
    try:
        with app_servers(env, free_ports(2)) as (a, b):
            yield env, a, b
    finally:
        servers_queue.flush_all()


def one(env: dict[str, str], sql: str, **params):
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).one()
    finally:
        engine.dispose()


def decide(who: Browser, request_id: int) -> None:
    page = who.get(f"/admin/requests/{request_id}/")
    assert page.status_code == 200 and 'id="decide"' in page.text, f"{who.base_url}: {page.status_code}"
    step = STEP_RE.search(page.text).group(1)
    resp = who.post_form(f"/admin/requests/{request_id}/decide", {"step_id": step, "decision": "approve", "comment": "同意"},
                         token_from=f"/admin/requests/{request_id}/")
    assert resp.status_code == 302, resp.text[:2000]


def test_two_app_servers_share_sessions_a_transfer_and_an_import(servers):
    env, a, b = servers
    xjh, name = one(env, "SELECT s.xjh, s.name FROM student s JOIN org_unit o ON o.id = s.school_id "
                         "WHERE o.code = :code ORDER BY s.id LIMIT 1", code=HEPING1)

    # The receiving school starts the transfer on A.
    receiver = log_in(a, "school-shenhe1@xueji.demo")
    new = "/admin/requests/transfer/new"
    found = receiver.post_form(new, {"lookup-term": xjh, "lookup-name": name}).text
    files = {m: (f"{m}.png", io.BytesIO(png_bytes()), "image/png") for m in ("start-contact_form", "start-student_info", "start-hukou")}
    resp = receiver.post_form(new, {"start-pupil": TOKEN_RE.search(found).group(1), "start-reason_code": "hukou_moved",
                                    "start-reason_text": "随父母迁居", "start-hukou_changed": "y"}, token_from=new, files=files)
    assert resp.status_code == 302 and "/admin/requests/" in resp.headers["Location"], resp.text[:2000]
    request_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])

    # A's session cookie is good on B (signed with the same key; nothing is kept in A's memory): the
    # receiving school, logged in on A, reads the request on B and decides the first step there.
    on_b = Browser(b, cookies=receiver.cookies)
    page = on_b.get(f"/admin/requests/{request_id}/")
    assert page.status_code == 200 and "/login" not in page.headers.get("Location", "")
    decide(on_b, request_id)
    # The next steps alternate A, B, A; each actor logged in through the server it uses.
    decide(log_in(a, "shenhe@xueji.demo"), request_id)
    decide(log_in(b, "school-heping1@xueji.demo"), request_id)
    county = log_in(a, "heping@xueji.demo")
    decide(county, request_id)
    # The receiving school reports the pupil arrived, on B; the evidence uploaded on A is served by B.
    assert on_b.post_form(f"/admin/requests/{request_id}/report", {}, token_from=f"/admin/requests/{request_id}/").status_code == 302
    status, steps = one(env, "SELECT r.status, (SELECT string_agg(decision, ',' ORDER BY seq) FROM approval_step "
                             "WHERE request_id = r.id) FROM change_request r WHERE r.id = :id", id=request_id)
    assert status in ("approved", "completed") and steps.split(",") == ["approved"] * 4, (status, steps)
    school = one(env, "SELECT o.code FROM student s JOIN org_unit o ON o.id = s.school_id WHERE s.xjh = :x", x=xjh)[0]
    assert school == "2121000003"  # 沈河区第一小学 holds the record now
    attachment = one(env, "SELECT id FROM attachment WHERE request_id = :id ORDER BY id LIMIT 1", id=request_id)[0]
    assert on_b.get(f"/admin/requests/attachment/{attachment}").status_code == 200

    # An import started on A (the county official, into 和平一小), its progress read on B until the worker (on the same Redis) is done.
    worker = Consumer({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "QUEUE_URL": REDIS_URL,
                       "UPLOAD_DIR": env["UPLOAD_DIR"], "QUEUE_IMMEDIATE": False}, ("services.imports.jobs",))
    try:
        data = workbook(file_rows(QUEUED_ROWS))
        city = log_in(b, "shenyang@xueji.demo")  # follows the import on B (沈阳市 covers 和平区)
        resp = county.post_form(IMPORT_URL + "upload", {"school": HEPING1}, token_from=IMPORT_URL,
                                files={"file": ("新生.xlsx", io.BytesIO(data), "application/octet-stream")})
        assert resp.status_code == 302, resp.text[:2000]
        job_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
        seen, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            state = city.get(f"{IMPORT_URL}job/{job_id}.json").json()
            seen.append(state["status"])
            if state["finished"]:
                break
            assert worker.proc.poll() is None, worker.output()
            time.sleep(0.2)
        assert state["status"] == "done" and state["processed"] == QUEUED_ROWS, (state, worker.output())
        assert set(seen) - {"done"}, seen  # B saw the job before it was done
        assert set(seen) <= {"queued", "validating", "writing", "done"}, seen
        assert "导入已完成" in city.get(f"{IMPORT_URL}job/{job_id}").text
        imported = one(env, "SELECT count(*) FROM student WHERE id_number LIKE :p", p=DIVISION + "%")[0]
        assert imported == QUEUED_ROWS
    finally:
        worker.stop()
