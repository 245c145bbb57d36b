"""A real queue for tests: the suite's app switched to SQLite or Redis storage with tasks queued (not
run at once), and a Huey consumer started as a subprocess on the same database, queue and upload
directory, that a test may stop gracefully or SIGKILL in the middle of a job.

The consumer builds the app from config.TestConfig with the test app's own settings laid over it
(JSON in the environment), imports the modules that declare the tasks under test, then runs
`huey.create_consumer(workers=1, worker_type="thread")`. It polls the queue every 0.05–0.3 s (Huey's
idle back-off would otherwise wait up to 10 s), so that a test takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from services import queue

ROOT = Path(__file__).resolve().parents[2]
T = t.TypeVar("T")
REDIS_URL = os.environ.get("QUEUE_TEST_REDIS_URL") or "redis://127.0.0.1:6379/2"  # this project's test db number

CONSUMER = """
import importlib, json, os
from app import create_app
from config import TestConfig

import services.queue
services.queue.huey.name = os.environ.get("XUEJI_TEST_QUEUE_NAME") or services.queue.huey.name  # before create_app binds it
config = TestConfig()
for key, value in json.loads(os.environ["XUEJI_TEST_SETTINGS"]).items():
    setattr(config, key, value)
app = create_app(config)
for module in json.loads(os.environ["XUEJI_TEST_TASK_MODULES"]):
    importlib.import_module(module)
from services.queue import huey

print("consumer ready", os.getpid(), flush=True)
huey.create_consumer(workers=1, worker_type="thread", periodic=False, initial_delay=0.05, backoff=1.5,
                     max_delay=0.3, check_worker_health=False).run()
"""


def redis_answers(url: str = REDIS_URL) -> str | None:
    """None when the Redis of the tests answers, else why not (the reason a test is skipped with).
    With XUEJI_REQUIRE_REDIS=1 (.ci/run sets it) a missing Redis fails the test instead: on CI the
    Redis back end must really be tested, not quietly skipped."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure: not reachable here
        if os.environ.get("XUEJI_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} does not answer ({type(exc).__name__}: {exc}) and XUEJI_REQUIRE_REDIS=1")
        return f"{type(exc).__name__}: {exc}"
    return None


def queue_url_for(backend: str, tmp_path: Path) -> str:
    """The QUEUE_URL of a back end: a temporary SQLite file, or the Redis of the tests (skipped, with
    the reason, when it does not answer)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    why = redis_answers()
    if why:
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({why}); the Redis back end is not tested here")
    return REDIS_URL


def queue_name_for_tests() -> str:
    """The queue's name in the tests: one per xdist worker, so that on the one Redis the consumer of
    one worker never takes a task of another (whose job ids are of another database)."""
    return f"{queue.QUEUE_NAME}-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@contextmanager
def real_queue(app: Flask, url: str) -> Iterator[None]:
    """The app's queue on `url` under queue_name_for_tests(), tasks queued for a consumer; emptied before
    and after (on Redis only this queue's keys: Huey's flush_all, never FLUSHDB), and bound back to
    the suite's queue at the end."""
    saved = app.config["QUEUE_URL"], app.config["QUEUE_IMMEDIATE"], queue.huey.name
    app.config.update(QUEUE_URL=url, QUEUE_IMMEDIATE=False)
    queue.huey.name = queue_name_for_tests()
    queue.init_app(app)
    queue.huey.storage.flush_all()
    try:
        yield
    finally:
        queue.huey.storage.flush_all()
        app.config["QUEUE_URL"], app.config["QUEUE_IMMEDIATE"], queue.huey.name = saved
        queue.init_app(app)


def settings_of(app: Flask) -> dict[str, t.Any]:
    """What the consumer must share with the test's app: the database, the queue and the uploads."""
    return {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "QUEUE_URL", "UPLOAD_DIR")} | {"QUEUE_IMMEDIATE": False}


class Consumer:
    """A consumer subprocess; its output goes to a file, shown when a test needs it."""

    def __init__(self, settings: dict[str, t.Any], modules: t.Sequence[str], queue_name: str | None = None):
        self.log = tempfile.NamedTemporaryFile(prefix="xueji-consumer-", suffix=".log", delete=False)  # noqa: SIM115 (closed in stop)
        environ = dict(os.environ, XUEJI_TEST_QUEUE_NAME=queue_name or "")
        environ.update(XUEJI_TEST_SETTINGS=json.dumps(settings), XUEJI_TEST_TASK_MODULES=json.dumps(list(modules)))
        self.proc = subprocess.Popen([sys.executable, "-c", CONSUMER], cwd=ROOT, env=environ,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine or the OOM killer stops a worker."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # Huey: SIGTERM stops at once (SIGINT would wait for the running task)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@contextmanager
def consumer(app: Flask, modules: t.Sequence[str], **overrides: t.Any) -> Iterator[Consumer]:
    """A consumer on the app's (real) queue and database while the block runs; stopped after it."""
    worker = Consumer(settings_of(app) | overrides, modules, queue.huey.name)
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(check: t.Callable[[], T], timeout: float, what: str, worker: Consumer | None = None, every: float = 0.05) -> T:
    """Poll `check` until it returns something true; fail with `what` (and the consumer's output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if worker is not None and worker.proc.poll() is not None:
            pytest.fail(f"the consumer ended (exit {worker.proc.returncode}) before {what}:\n{worker.output()}")
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}" + (f":\n{worker.output()}" if worker else ""))

