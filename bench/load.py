"""Load test (issue 15, point 7): N concurrent users, each with its own account and session, play
a realistic mix against a running server (gunicorn on PostgreSQL), while one Excel import and one
certificate batch run.

    .venv/bin/python -m bench.load --server http://127.0.0.1:8000 \
        --db postgresql+psycopg://root@127.0.0.1/xueji_bench_load --users 50 --duration 120 --think 0

The accounts and data come from `python -m bench.generate` on a database whose name contains
"load" (bench/workload.py: 30 registrars, 14 county and 8 city officials, ~18,000 change requests).
The database is read directly only to choose test data (pupils to search for, to transfer);
every timed action is an HTTP request of the server.

Users: registrars and officials in proportion (30:14:8 of the accounts, cut to --users). Each
logs in (password, then the TOTP code of the public demo secret for officials), then loops:

  list        GET /admin/student/                       (the first page, newest first)
  search_name GET /admin/student/?search=<full name>    (a pupil of the user's scope)
  search_id   GET /admin/student/?search=<ID number>
  details     GET /admin/student/details/?id=N
  queue       GET /admin/requests/?queue=waiting        (officials) / ?queue=requested (schools)
  request     GET /admin/requests/<id>/                 (one of the queue's requests)
  dashboard   GET /admin/                               (home with the unit's dashboard)
  transfer    registrar: lookup + start form with the four materials (3 requests)
  approve     official: a waiting request's page, then POST decide (approve)

with --think seconds (exponential, mean --think) between actions; 0 saturates. A request answering
4xx/5xx (or a failed form) counts as an error. Results: p50/p95/p99 per kind, requests/s, errors,
load average, printed and written to bench/results/load-<label>.json and .txt.

Where the server's autovacuum is off (this machine's PostgreSQL, for CI), the tables changed since
their last ANALYZE are vacuumed and analysed first, as autovacuum would have done between two runs
(catch_up_vacuum; --vacuum never skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import BENCH_PASSWORD, libpq_dsn  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REQUEST_LINK = re.compile(r"/admin/requests/(\d+)/")
STEP_ID = re.compile(r'name="step_id"[^>]*value="(\d+)"')
TOKEN = re.compile(r'name="start-pupil"[^>]*value="([^"]+)"')
BEIJING = ("110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112", "110113")
KINDS = ("login", "list", "search_name", "search_id", "details", "queue", "request", "dashboard", "transfer", "approve", "import")
SCHOOL_MIX = (("list", 25), ("search_name", 10), ("search_id", 6), ("details", 18), ("queue", 10), ("request", 8),
              ("dashboard", 13), ("transfer", 10))
OFFICIAL_MIX = (("list", 20), ("search_name", 10), ("search_id", 6), ("details", 12), ("queue", 15), ("request", 10),
                ("dashboard", 15), ("approve", 12))


def _png() -> bytes:
    """A valid 1×1 PNG (the upload check reads the file's content, not its name)."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b"")


PNG = _png()


def totp_code() -> str:
    """The current code of the public demo secret (services/two_factor.DEMO_TOTP_KEY)."""
    from passlib.totp import TOTP

    from services.two_factor import DEMO_TOTP_KEY

    return str(TOTP(key=DEMO_TOTP_KEY, format="base32").generate().token)


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    requests: int = 0  # HTTP requests in the measured window

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {what}")


@dataclass
class Account:
    email: str
    level: str  # school, county, city
    unit_id: int
    path: str
    names: list[str] = field(default_factory=list)  # full names of pupils in scope
    ids: list[str] = field(default_factory=list)  # ID numbers of pupils in scope
    pupils: list[int] = field(default_factory=list)  # pupil row ids in scope (details)
    movable: list[tuple[str, str]] = field(default_factory=list)  # (ID number, name) for transfers in


def choose_accounts(db: str, users: int) -> list[Account]:
    """The load accounts in proportion, with test data of each one's scope."""
    with psycopg.connect(libpq_dsn(db)) as conn:
        rows = conn.execute(
            "SELECT u.email, o.level, o.id, o.path, o.school_kind, o.parent_id FROM \"user\" u JOIN org_unit o ON o.id = u.unit_id "
            "WHERE u.email LIKE 'load-%%' ORDER BY u.email").fetchall()
        if not rows:
            raise SystemExit("no load accounts: run python -m bench.generate with --workload first")
        by_level: dict[str, list[tuple]] = {}
        for r in rows:
            by_level.setdefault(r[1], []).append(r)
        total = len(rows)
        picked: list[tuple] = []
        for level in ("school", "county", "city"):
            mine = by_level.get(level, [])
            picked += mine[:max(1, round(users * len(mine) / total))]
        picked = picked[:users]
        accounts = []
        used: set[str] = set()
        for email, level, unit_id, path, kind, parent_id in picked:
            acc = Account(email, level, unit_id, path)
            # Sample pupils of the scope by an id range (fast at 3M: a scan of the scope's index, not a sort).
            sample = conn.execute(
                "SELECT id, name, id_number FROM student WHERE scope_path LIKE %s AND status = 'enrolled' "
                "ORDER BY id DESC LIMIT 400", [path + "%"]).fetchall()
            acc.pupils = [r[0] for r in sample]
            acc.names = [r[1] for r in sample]
            acc.ids = [r[2] for r in sample]
            if level == "school":
                grades = {"primary": (1, 6), "junior": (7, 9)}.get(kind or "", (1, 9))
                cand = conn.execute(
                    "SELECT s.id_number, s.name FROM student s JOIN org_unit o ON o.id = s.school_id "
                    "WHERE o.parent_id = %s AND s.school_id <> %s AND s.status = 'enrolled' AND s.grade BETWEEN %s AND %s "
                    "AND NOT EXISTS (SELECT 1 FROM change_request c WHERE c.student_id = s.id AND c.status IN ('pending', 'approved')) "
                    "ORDER BY s.id DESC LIMIT 300", [parent_id, unit_id, grades[0], grades[1]]).fetchall()
                acc.movable = [(i, n) for i, n in cand if i not in used][:60]
                used.update(i for i, _ in acc.movable)
            accounts.append(acc)
        return accounts


class User:
    def __init__(self, acc: Account, server: str, stats: Stats, think: float, rng: random.Random, timeout: float):
        self.acc, self.stats, self.think, self.rng = acc, stats, think, rng
        self.client = httpx.AsyncClient(base_url=server, timeout=timeout, follow_redirects=False)
        self.measuring = False

    async def get(self, kind: str, url: str, **kw: Any) -> httpx.Response | None:
        return await self._send(kind, "GET", url, **kw)

    async def post(self, kind: str, url: str, **kw: Any) -> httpx.Response | None:
        return await self._send(kind, "POST", url, **kw)

    async def _send(self, kind: str, method: str, url: str, ok: tuple[int, ...] = (200, 302, 303), **kw: Any) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await self.client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.stats.error(kind, f"{method} {url}: {type(exc).__name__}")
            return None
        dt = time.perf_counter() - t0
        if self.measuring:
            self.stats.requests += 1
            self.stats.times[kind].append(dt)
        if r.status_code not in ok:
            self.stats.error(kind, f"{method} {url}: HTTP {r.status_code}")
            return None
        return r

    async def login(self) -> bool:
        page = await self.get("login", "/login")
        m = CSRF.search(page.text) if page else None
        if not m:
            return False
        r = await self.post("login", "/login", data={"email": self.acc.email, "password": BENCH_PASSWORD, "csrf_token": m.group(1)})
        if r is None:
            return False
        if "/tf-validate" in r.headers.get("location", ""):
            page = await self.get("login", "/tf-validate")
            m = CSRF.search(page.text) if page else None
            r = await self.post("login", "/tf-validate", data={"code": totp_code(), "csrf_token": m.group(1) if m else ""})
            if r is None or "/tf-validate" in r.headers.get("location", "") or r.status_code == 200:
                self.stats.error("login", f"{self.acc.email}: two-factor step refused")
                return False
        return r.status_code in (302, 303)

    # --- the actions ------------------------------------------------------------------------
    async def action(self, kind: str) -> None:
        a = self.acc
        if kind == "list":
            await self.get(kind, "/admin/student/")
        elif kind == "search_name" and a.names:
            await self.get(kind, "/admin/student/", params={"search": self.rng.choice(a.names)})
        elif kind == "search_id" and a.ids:
            await self.get(kind, "/admin/student/", params={"search": self.rng.choice(a.ids)})
        elif kind == "details" and a.pupils:
            await self.get(kind, "/admin/student/details/", params={"id": self.rng.choice(a.pupils)})
        elif kind == "queue":
            await self.get(kind, "/admin/requests/", params={"queue": "requested" if a.level == "school" else "waiting"})
        elif kind == "request":
            r = await self.get("queue", "/admin/requests/", params={"queue": "all"})
            ids = REQUEST_LINK.findall(r.text) if r else []
            if ids:
                await self.get(kind, f"/admin/requests/{self.rng.choice(ids)}/")
        elif kind == "dashboard":
            await self.get(kind, "/admin/")
        elif kind == "transfer":
            await self.transfer()
        elif kind == "approve":
            await self.approve()

    async def transfer(self) -> None:
        if not self.acc.movable:
            return
        number, name = self.acc.movable.pop()
        page = await self.get("transfer", "/admin/requests/transfer/new")
        m = CSRF.search(page.text) if page else None
        if not m:
            return
        found = await self.post("transfer", "/admin/requests/transfer/new",
                                data={"csrf_token": m.group(1), "lookup-term": number, "lookup-name": name})
        token = TOKEN.search(found.text) if found else None
        if not token:
            self.stats.error("transfer", f"lookup of a pupil found no start form ({self.acc.email})")
            return
        data = {"csrf_token": m.group(1), "start-pupil": token.group(1), "start-reason_code": "guardian_job",
                "start-reason_text": "父母工作调动"}
        materials = ("contact_form", "student_info", "hukou", "reason_proof")
        files = {f"start-{k}": (f"{k}.png", io.BytesIO(PNG), "image/png") for k in materials}
        r = await self.post("transfer", "/admin/requests/transfer/new", data=data, files=files)
        if r is not None and r.status_code == 200:
            self.stats.error("transfer", f"start form not accepted ({self.acc.email})")

    async def approve(self) -> None:
        r = await self.get("queue", "/admin/requests/", params={"queue": "waiting"})
        ids = REQUEST_LINK.findall(r.text) if r else []
        if not ids:
            return
        rid = self.rng.choice(ids)
        page = await self.get("request", f"/admin/requests/{rid}/")
        if page is None:
            return
        m, step = CSRF.search(page.text), STEP_ID.search(page.text)
        if not (m and step):
            return  # e.g. a transfer step that needs the materials first: the page offers no decision
        await self.post("approve", f"/admin/requests/{rid}/decide",
                        data={"csrf_token": m.group(1), "step_id": step.group(1), "decision": "approve", "comment": "同意"})

    async def run(self, start: float, warmup_end: float, end: float) -> None:
        mix = SCHOOL_MIX if self.acc.level == "school" else OFFICIAL_MIX
        kinds, weights = [k for k, _ in mix], [w for _, w in mix]
        # Logins are spread over the warm-up: each costs an argon2 check (and a TOTP secret's PBKDF2), so
        # 50 at once would queue for tens of seconds behind each other on 2 cores. One retry.
        await asyncio.sleep(self.rng.uniform(0, max(1.0, (warmup_end - start) * 0.6)))
        if not (await self.login() or await self.login()):
            self.stats.error("login", f"{self.acc.email}: login failed")
            return
        while (now := time.monotonic()) < end:
            self.measuring = now >= warmup_end
            await self.action(self.rng.choices(kinds, weights)[0])
            if self.think > 0:
                await asyncio.sleep(min(self.rng.expovariate(1 / self.think), 4 * self.think))
        await self.client.aclose()


# --- the background jobs ------------------------------------------------------------------------------


async def run_import(server: str, db: str, rows: int, stats: Stats, out: dict[str, Any]) -> None:
    """Upload one workbook through the import page as the bench school's registrar, then follow its job."""
    from bench import import_bench

    with psycopg.connect(libpq_dsn(db)) as conn:
        # ID numbers from outside the province (none collides with the generated pupils), and from
        # another district of Beijing for each run, so that a second run's rows are not the first's.
        runs = conn.execute("SELECT count(*) FROM import_job").fetchone()[0]
        import_bench.DIVISION = BEIJING[runs % len(BEIJING)]
        data = import_bench.workbook_bytes(import_bench.synthetic_rows(rows, seed=runs))
        code = conn.execute("SELECT o.code FROM \"user\" u JOIN org_unit o ON o.id = u.unit_id "
                            "WHERE u.email = 'bench-school@xueji.demo'").fetchone()
    if code is None:
        stats.error("import", "no bench-school account")
        return
    acc = Account("bench-school@xueji.demo", "school", 0, "")
    user = User(acc, server, stats, 0, random.Random(1), timeout=300)
    if not await user.login():
        return
    page = await user.get("import", "/admin/imports/")
    m = CSRF.search(page.text) if page else None
    t0 = time.perf_counter()
    r = await user.post("import", "/admin/imports/upload", data={"csrf_token": m.group(1) if m else "", "school": code[0]},
                        files={"file": ("load.xlsx", io.BytesIO(data),
                                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    job = re.search(r"/admin/imports/job/(\d+)", r.headers.get("location", "")) if r is not None else None
    if not job:
        stats.error("import", f"upload refused: HTTP {r.status_code if r is not None else '-'}")
        return
    status = ""
    while time.perf_counter() - t0 < 600:
        await asyncio.sleep(2)
        p = await user.get("import", f"/admin/imports/job/{job.group(1)}.json")
        if p is None:
            continue
        status = p.json().get("status", "")
        if status in ("done", "failed"):  # models/imports.py: queued, validating, writing, then one of these
            break
    out.update(rows=rows, status=status, seconds=round(time.perf_counter() - t0, 1))
    await user.client.aclose()


def start_certificates(pupils: int) -> subprocess.Popen[bytes]:
    """The 500-certificate batch as the worker runs it (bench/certificates_bench.py, its own SQLite
    file): the CPU it takes is taken from the same two cores while the users play."""
    # At the queue worker's priority (cli/queue.py lowers it by QUEUE_WORKER_NICE, 10): the batch is background work.
    return subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "bench.certificates_bench", "--pupils", str(pupils)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


# --- the report ---------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))] * 1000


def report(stats: Stats, args: argparse.Namespace, window: float, loads: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    kinds = {}
    for k in KINDS:
        v = stats.times[k]
        if v:
            kinds[k] = {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1),
                        "p99_ms": round(pct(v, 99), 1), "mean_ms": round(statistics.fmean(v) * 1000, 1)}
    every = [t for k in KINDS for t in stats.times[k]]
    return {
        "label": args.label, "server": args.server, "users": args.users, "think_s": args.think, "duration_s": args.duration,
        "warmup_s": args.warmup, "window_s": round(window, 1), "requests": stats.requests,
        "requests_per_s": round(stats.requests / window, 1) if window else 0,
        "all": {"p50_ms": round(pct(every, 50), 1), "p95_ms": round(pct(every, 95), 1), "p99_ms": round(pct(every, 99), 1)},
        "kinds": kinds, "errors": sum(stats.errors.values()), "errors_by_kind": stats.errors, "error_examples": stats.examples,
        "load_average_start_end": loads, "cpus": os.cpu_count(), **extra,
    }


def as_text(res: dict[str, Any]) -> str:
    lines = [f"load test {res['label']}: {res['users']} users, think {res['think_s']} s, {res['window_s']} s measured "
             f"(after {res['warmup_s']} s warm-up); load average {res['load_average_start_end']} on {res['cpus']} CPUs",
             f"{'kind':<12} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"]
    for k, v in res["kinds"].items():
        lines.append(f"{k:<12} {v['n']:>6} {v['p50_ms']:>9.1f} {v['p95_ms']:>9.1f} {v['p99_ms']:>9.1f}")
    a = res["all"]
    lines.append(f"{'all':<12} {res['requests']:>6} {a['p50_ms']:>9.1f} {a['p95_ms']:>9.1f} {a['p99_ms']:>9.1f}")
    lines.append(f"throughput: {res['requests_per_s']} requests/s; errors: {res['errors']} {res['errors_by_kind'] or ''}")
    for e in res["error_examples"][:10]:
        lines.append(f"  error: {e}")
    if res.get("import"):
        lines.append(f"import during the run: {res['import']}")
    if res.get("certificates"):
        lines.append(f"certificate batch during the run: {res['certificates']}")
    if res.get("worker_rss_mb"):
        lines.append(f"gunicorn RSS after the run (MB, VmRSS): {res['worker_rss_mb']}")
    if res.get("vacuum"):
        lines.append(f"database before the run: {res['vacuum']}")
    return "\n".join(lines)


def worker_rss(pattern: str) -> dict[str, float]:
    """VmRSS (MB) of the gunicorn master and its workers. `pattern` is the master's pid (its
    children are the workers), or a text its command line contains (every such process)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            if pattern.isdigit():
                ppid = re.search(r"PPid:\s+(\d+)", status)
                mine = pid == pattern or (ppid is not None and ppid.group(1) == pattern)
            else:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                mine = pattern in cmd and "bench.load" not in cmd
            rss = re.search(r"VmRSS:\s+(\d+) kB", status)
            if mine and rss:
                out[pid] = round(int(rss.group(1)) / 1024, 1)
        except OSError:
            continue
    return out


def catch_up_vacuum(db: str) -> dict[str, Any]:
    """Where the server runs without autovacuum (this machine's PostgreSQL has `autovacuum = off`
    for CI), VACUUM (ANALYZE) the tables changed since their last ANALYZE, as autovacuum would have
    between two runs on a production server. Without it each run leaves the next one stale
    statistics and dead rows: the previous run's 10,000 imported pupils and transfers, and the
    pupil-count deltas that no ANALYZE had ever seen (the county dashboard's count then scanned the
    whole table: 7.5 ms instead of 1.7)."""
    with psycopg.connect(libpq_dsn(db), autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
            return {"autovacuum": "on"}
        stale = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE n_mod_since_analyze > 0 OR n_dead_tup > 0 "
            "OR last_analyze IS NULL ORDER BY relname").fetchall()]
        t0 = time.perf_counter()
        for table in stale:
            conn.execute(f'VACUUM (ANALYZE) "{table}"')
    took = time.perf_counter() - t0
    print(f"[load] autovacuum is off on this server: VACUUM (ANALYZE) of {len(stale)} tables first ({took:.1f} s)", flush=True)
    return {"autovacuum": "off", "vacuumed_before_run": len(stale), "vacuum_seconds": round(took, 1)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    vacuum = catch_up_vacuum(args.db) if args.vacuum == "auto" else {"autovacuum": "not checked (--vacuum never)"}
    accounts = choose_accounts(args.db, args.users)
    stats = Stats()
    rng = random.Random(args.seed)
    users = [User(a, args.server, stats, args.think, random.Random(rng.random()), args.timeout) for a in accounts]
    start = time.monotonic()
    warmup_end, end = start + args.warmup, start + args.warmup + args.duration
    loads = [round(os.getloadavg()[0], 2)]
    imported: dict[str, Any] = {}
    tasks = [asyncio.create_task(u.run(start, warmup_end, end)) for u in users]
    cert = start_certificates(args.certificates) if args.certificates else None
    if args.import_rows:
        tasks.append(asyncio.create_task(run_import(args.server, args.db, args.import_rows, stats, imported)))
    await asyncio.gather(*tasks[:len(users)])
    window = time.monotonic() - warmup_end
    loads.append(round(os.getloadavg()[0], 2))
    if args.import_rows:
        await tasks[-1]
    extra: dict[str, Any] = {"accounts": {lvl: sum(a.level == lvl for a in accounts) for lvl in ("school", "county", "city")},
                             "import": imported, "vacuum": vacuum}
    if cert is not None:
        # The batch runs on the same cores; on a busy machine it may outlast the window: wait a while, then stop it.
        try:
            text = cert.communicate(timeout=args.certificates_wait)[0].decode(errors="replace")
            extra["certificates"] = {"pupils": args.certificates, "exit": cert.returncode,
                                     "summary": [ln for ln in text.splitlines() if "PDF" in ln or "issued" in ln][-3:]}
        except subprocess.TimeoutExpired:
            cert.kill()
            cert.communicate()
            extra["certificates"] = {"pupils": args.certificates, "finished": False,
                                     "note": f"still rendering {args.certificates_wait:g} s after the window; stopped"}
    if args.rss_pattern:
        extra["worker_rss_mb"] = worker_rss(args.rss_pattern)
    return report(stats, args, window, loads, extra)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=os.environ.get("LOAD_SERVER", "http://127.0.0.1:8000"))
    ap.add_argument("--db", default=os.environ.get("DATABASE_URL", "postgresql+psycopg://root@127.0.0.1/xueji_bench_load"),
                    help="the server's database, read to choose test data")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=float, default=120, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=15, help="seconds of logins and play before measuring")
    ap.add_argument("--think", type=float, default=0, help="mean think time between actions, s (0 saturates)")
    ap.add_argument("--import-rows", type=int, default=10_000, help="rows of the Excel import during the run (0: none)")
    ap.add_argument("--certificates", type=int, default=500, help="certificates of the batch during the run (0: none)")
    ap.add_argument("--certificates-wait", type=float, default=120, help="seconds to wait for the batch after the window")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--rss-pattern", default="gunicorn",
                    help="report VmRSS of the gunicorn master of this pid and its workers (or of every process "
                         "whose command line contains this text)")
    ap.add_argument("--vacuum", choices=("auto", "never"), default="auto",
                    help="auto: when the server's autovacuum is off, VACUUM (ANALYZE) the changed tables before the run")
    ap.add_argument("--label", default=None)
    args = ap.parse_args(argv)
    args.label = args.label or f"u{args.users}-think{args.think:g}"
    res = asyncio.run(main_async(args))
    text = as_text(res)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"load-{args.label}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1))
    (RESULTS / f"load-{args.label}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
