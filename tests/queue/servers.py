"""Two app servers for the stateless-web-tier test (issue 15, point 3): their own PostgreSQL database
(migrated, with the demo province), one Redis for the queue and the rate limits, one upload directory,
the same secrets; each a `flask --app app run` subprocess on a port of its own."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from passlib.totp import TOTP
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cli import DEMO_PASSWORD
from services.two_factor import DEMO_TOTP_KEY
from tests.conftest import CSRF_RE

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
PORTS = range(8111, 8120)  # this helper's ports


def source_stamp() -> str:
    """A digest of what the migrated demo database is made from (models, migrations, services, the demo
    loader): the template below is rebuilt when any of it changes."""
    digest = hashlib.sha256()
    for folder in ("models", "migrations", "services", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:32]


def own_database(suite_url: str, env: dict[str, str]) -> str:
    """A fresh PostgreSQL database beside the suite's (`<name>_servers`), migrated, with the demo.

    Migrating and loading the demo through `flask` takes most of a minute here, so it is done once into
    a template database (`<name>_servers_tpl`, stamped with source_stamp() in its comment; made with
    SECRETS, which its password hashes and TOTP secrets depend on) and each
    run copies that (CREATE DATABASE … TEMPLATE: a second)."""
    url = make_url(suite_url)
    name, template, stamp = f"{url.database}_servers", f"{url.database}_servers_tpl", source_stamp()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            current = conn.scalar(text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                                  {"n": template})
            if current != stamp:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{template}"'))
                prepare(env | {"DATABASE_URL": url.set(database=template).render_as_string(hide_password=False)})
                conn.execute(text(f"COMMENT ON DATABASE \"{template}\" IS '{stamp}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# The same on every server, and fixed: the template database's password hashes (salted) and TOTP secrets
# (encrypted) were made with them. Test values for a throw-away database, not the instance's.
SECRETS = {
    "SECRET_KEY": "two-servers-test-secret-key-" + "k" * 40,
    "SECURITY_PASSWORD_SALT": "two-servers-test-salt",
    "SECURITY_TOTP_SECRETS": json.dumps({"1": "two-servers-test-totp-" + "t" * 20}),
    "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS": json.dumps([base64.urlsafe_b64encode(b"two-servers-test-recovery-key-32").decode()]),
}


def shared_env(redis_url: str, upload_dir: str) -> dict[str, str]:
    """What every server (and the worker) is given: the same Redis, storage and secrets (the database
    is added by the caller)."""
    return dict(
        os.environ, REDIS_URL=redis_url, QUEUE_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
        UPLOAD_DIR=upload_dir, LOGIN_RATE_LIMIT="1000 per minute",  # counted in Redis too; the test logs in a few times
        **SECRETS,
        FLASK_DEBUG="0",
    )


def prepare(env: dict[str, str]) -> None:
    for args in (["db", "upgrade"], ["demo-data", "--pupils", "70", "--no-requests"]):
        done = subprocess.run([FLASK, "--app", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def free_ports(n: int) -> list[int]:
    found = []
    for port in PORTS:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"fewer than {n} free ports in {PORTS}")


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def app_servers(env: dict[str, str], ports: list[int]) -> Iterator[list[str]]:
    """`flask --app app run` on each port (no reloader, no debugger), started together; their base URLs
    while the block runs, every one stopped after it."""
    logs, procs = [], []
    try:
        for port in ports:
            log = tempfile.NamedTemporaryFile(prefix=f"xueji-server-{port}-", suffix=".log", delete=False)  # noqa: SIM115 (closed below)
            logs.append(log)
            procs.append(subprocess.Popen(
                [FLASK, "--app", "app", "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger",
                 "--with-threads"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 90
        for base, proc, log in zip(bases, procs, logs, strict=True):
            while not _ready(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server {base} did not start:\n{Path(log.name).read_text()[-3000:]}")
                time.sleep(0.2)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in logs:
            log.close()
            Path(log.name).unlink(missing_ok=True)


class Browser(httpx.Client):
    """One user on one server: cookies kept, redirects not followed (the tests look at them)."""

    def __init__(self, base: str, cookies: httpx.Cookies | None = None):
        super().__init__(base_url=base, follow_redirects=False, timeout=60, cookies=cookies)

    def csrf(self, url: str) -> str:
        page = self.get(url)
        assert page.status_code == 200, f"{url}: {page.status_code}"
        m = CSRF_RE.search(page.text)
        assert m, f"{url} has no CSRF token"
        return m.group(1)

    def post_form(self, url: str, data: dict, token_from: str | None = None, files: dict | None = None) -> httpx.Response:
        return self.post(url, data={"csrf_token": self.csrf(token_from or url), **data}, files=files)


def log_in(base: str, email: str) -> Browser:
    """The login form, and the code step for officials (the demo accounts share DEMO_TOTP_KEY)."""
    b = Browser(base)
    resp = b.post_form("/login", {"email": email, "password": DEMO_PASSWORD})
    assert resp.status_code == 302, f"login of {email} on {base}: {resp.status_code}"
    if "/tf-validate" in resp.headers["Location"]:
        code = TOTP(key=DEMO_TOTP_KEY, format="base32").generate().token
        resp = b.post_form("/tf-validate", {"code": code})
        assert resp.status_code == 302 and "/tf-validate" not in resp.headers["Location"], f"code step of {email} on {base}"
    return b


STEP_RE = re.compile(r'name="step_id"[^>]*value="(\d+)"')
