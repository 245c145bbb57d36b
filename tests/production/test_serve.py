"""`make serve` without the install (issue 15, point 1): scripts/serve.py starts gunicorn with two
workers and the queue worker on a free port of this helper, /healthz answers 200 and is logged as
one JSON line, and Ctrl+C (SIGINT) stops both within 10 seconds.

The database is an empty SQLite file and the migrations are skipped (--no-migrate): /healthz needs
no table, and the migrations (`flask db upgrade`, the step before) would double the test's time."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTS = {2: 8102, 1: 8104}  # per test (gunicorn workers → port): under xdist both may run at once
STARTED_RE = re.compile(r"\[serve\] (gunicorn|后台任务进程) 已启动（进程 (\d+)）")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, check, seconds: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return {"status": resp.status, "body": json.load(resp), "request_id": resp.headers["X-Request-ID"]}
    except OSError:
        return None


@pytest.fixture
def serve(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    workers = getattr(request, "param", 2)
    port = PORTS[workers]
    if _port_open(port):
        pytest.skip(f"port {port} is taken")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "SECURITY_PASSWORD_SALT", "SECURITY_TOTP_SECRETS",
                        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS", "REDIS_URL", "QUEUE_URL", "QUEUE_IMMEDIATE",
                        "RATELIMIT_STORAGE_URI", "FLASK_DEBUG", "BIND", "HOST")}
    env.update(XUEJI_INSTANCE=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'xueji.db'}", PORT=str(port),
               WEB_CONCURRENCY=str(workers), QUEUE_WORKERS="1", UPLOAD_DIR=str(tmp_path / "uploads"))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "scripts/serve.py", "--no-migrate"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, log, tmp_path, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for _name, pid in STARTED_RE.findall(log.read_text(encoding="utf-8")):
            if _alive(int(pid)):
                os.kill(int(pid), signal.SIGKILL)


def test_serve_runs_gunicorn_and_the_worker_and_ctrl_c_stops_both(serve) -> None:
    proc, log, instance, port = serve
    health = _wait("/healthz", lambda: _healthz(port), 60)
    assert health["status"] == 200 and health["body"] == {"database": "ok", "queue": "ok"}
    _wait("the queue worker", lambda: "Huey consumer started" in log.read_text(encoding="utf-8"), 60)
    text = log.read_text(encoding="utf-8")
    pids = {name: int(pid) for name, pid in STARTED_RE.findall(text)}
    assert set(pids) == {"gunicorn", "后台任务进程"} and all(_alive(p) for p in pids.values())
    assert "Booting worker" in text and text.count("Booting worker") == 2  # WEB_CONCURRENCY=2

    # The secrets: made on the first run from instance/secrets.json, readable by the owner only.
    env_file = instance / "production.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    stored = json.loads((instance / "secrets.json").read_text())
    assert f"SECRET_KEY='{stored['SECRET_KEY']}'" in env_file.read_text()

    # The request's JSON line, with the id the response carried; gunicorn's own access log is off.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == health["request_id"]]
    assert len(mine) == 1 and mine[0]["rule"] == "/healthz" and mine[0]["status"] == 200 and mine[0]["method"] == "GET"
    assert "GET /healthz" not in text

    stopping = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - stopping < 10, time.monotonic() - stopping
    assert not any(_alive(p) for p in pids.values())
    assert not _port_open(port)
    assert "已全部停止" in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("serve", [1], indirect=True)  # one gunicorn worker: a quicker start
def test_when_the_worker_dies_gunicorn_is_stopped_too(serve) -> None:
    proc, log, _instance, port = serve
    _wait("both processes", lambda: len(STARTED_RE.findall(log.read_text(encoding="utf-8"))) == 2, 60)
    pids = {name: int(pid) for name, pid in STARTED_RE.findall(log.read_text(encoding="utf-8"))}
    _wait("gunicorn", lambda: _healthz(port), 60)
    os.kill(pids["后台任务进程"], signal.SIGKILL)
    assert proc.wait(timeout=10) == 1  # an error: a service manager restarts the whole stack
    assert not _alive(pids["gunicorn"]) and not _port_open(port)
    assert "后台任务进程 意外退出" in log.read_text(encoding="utf-8")
