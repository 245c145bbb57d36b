"""A real queue worker for the batch tests: a subprocess that builds the app on the test's database,
upload directory and queue storage (QUEUE_IMMEDIATE off) and runs Huey's consumer, while the test's
own process enqueues into the same storage.

`bound_queue` rebinds the test process's Huey (services/queue.py) to that storage for the test and
back to the suite's immediate in-memory queue afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from services import queue

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("QUEUE_TEST_REDIS_URL") or "redis://127.0.0.1:6379/3"  # db 3: this helper's own

WORKER = """
import json, os, sys
from config import TestConfig
from app import create_app
from services.queue import huey

settings = json.loads(os.environ["QUEUE_BATCH_SETTINGS"])
config = TestConfig()
for key, value in settings.items():
    setattr(config, key, value)
create_app(config)
print("worker ready", flush=True)
# periodic=False: the daily sweeps must not run on the test's data at a minute boundary.
huey.create_consumer(workers=1, worker_type="thread", periodic=False).run()
"""


def storage_url(backend: str, tmp: Path) -> str:
    return REDIS_URL if backend == "redis" else f"sqlite:///{tmp / 'queue.db'}"


def clear_storage(url: str) -> None:
    """Empty this test's storage: FLUSHDB of our own Redis db number only, or a new SQLite file."""
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


@contextmanager
def bound_queue(app: Flask, url: str) -> Iterator[None]:
    saved = app.config["QUEUE_URL"], app.config["QUEUE_IMMEDIATE"]
    app.config["QUEUE_URL"], app.config["QUEUE_IMMEDIATE"] = url, False
    queue.init_app(app)
    try:
        yield
    finally:
        app.config["QUEUE_URL"], app.config["QUEUE_IMMEDIATE"] = saved
        queue.init_app(app)


@contextmanager
def running_consumer(app: Flask, url: str, log: Path) -> Iterator[subprocess.Popen]:
    """Start the worker process on the app's database and upload directory; stop it afterwards."""
    settings = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "UPLOAD_DIR": app.config["UPLOAD_DIR"],
                "QUEUE_URL": url, "QUEUE_IMMEDIATE": False}
    env = {**os.environ, "QUEUE_BATCH_SETTINGS": json.dumps(settings), "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "worker ready" in log.read_text() or proc.poll() is not None, 60, "the worker to start")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(ready: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")
