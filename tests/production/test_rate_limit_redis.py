"""Rate-limit counters in Redis (issue 15, point 3): two app instances — two processes, as two
gunicorn workers or two app servers are — share one login budget per client address. With the
default memory:// storage each process would count on its own and let twice as many through.

Redis db 1 is this test's own (FLUSHDB before and after). The login posts name no account, but
each failure is audited and committed by the other processes: the test is `committing`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/1"

# One app instance: posts the login form `n` times from 127.0.0.1 and prints the statuses.
INSTANCE = """
import json, sys
from config import TestConfig
from app import create_app
config = TestConfig()
config.SQLALCHEMY_DATABASE_URI, config.RATELIMIT_STORAGE_URI, tmp, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
config.LOGIN_RATE_LIMIT = "3 per minute"
config.WTF_CSRF_ENABLED = False
config.QUEUE_URL, config.UPLOAD_DIR = f"sqlite:///{tmp}/queue.db", f"{tmp}/uploads"
client = create_app(config).test_client()
codes = [client.post("/login", data={"email": "nobody@xueji.demo", "password": "wrong-Pass-1"}).status_code for _ in range(n)]
print(json.dumps(codes))
"""


def _instance(app: Flask, storage: str, tmp: Path, n: int) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
    out = subprocess.run([sys.executable, "-c", INSTANCE, app.config["SQLALCHEMY_DATABASE_URI"], storage, str(tmp), str(n)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def redis_db1():  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.mark.committing
def test_two_app_instances_share_one_login_budget_in_redis(app: Flask, redis_db1, tmp_path: Path) -> None:
    assert _instance(app, REDIS_URL, tmp_path, 2) == [200, 200]
    assert _instance(app, REDIS_URL, tmp_path, 2) == [200, 429]  # the second instance saw the first one's posts
    assert any(b"login" in key for key in redis_db1.keys("*"))
