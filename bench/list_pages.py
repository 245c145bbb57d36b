"""Student list page (GET /admin/student/) for the 4 bench users, against the raw SQL it runs.

    python -m bench.list_pages --url postgresql+psycopg://root@127.0.0.1/xueji_bench [--runs 15]

For each user: log in through the Flask test client (CSRF token scraped from /login), warm up,
record every SQL statement of one page load (SQLAlchemy `before_cursor_execute`), then time
the page --runs times. The page's student queries (the id-ordered LIMIT 20 select and, for
school/county users, the COUNT) are then replayed with psycopg directly, with the page's own
SQL text and parameters, and EXPLAIN (ANALYZE, BUFFERS) is printed once per query.

Also recorded per level: the time the page itself spent in SQL (all its statements, timed
around the driver's execute), so that page time splits into SQL and Flask/Jinja; the access
path of the list query against the index it is meant to use (EXPECTED_INDEX); how often
PostgreSQL used a custom or a generic plan for the replayed statements (psycopg prepares a
statement after 5 executions; pg_prepared_statements counts the plans); the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import BENCH_DOMAIN, BENCH_PASSWORD, bench_config, libpq_dsn  # noqa: E402

LEVELS = ("school", "county", "city", "province")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ROW_RE = re.compile(r'href="/admin/student/details/\?id=\d+')
LIST_URL = "/admin/student/"
STOCK_URL = "/stock/student/"  # bench/stock_admin.py
STOCK_ROW_RE = re.compile(r'href="/stock/student/details/\?id=\d+')
# The index each level's list query ("newest 20 in scope") should be answered from
# (services/scope.py: within / listing). The school's must be an equality on scope_path.
EXPECTED_INDEX = {
    "school": "ix_student_scope_id", "county": "ix_student_county_id", "city": "ix_student_city_id", "province": "pk_student",
}


def log(msg: str = "") -> None:
    print(msg, flush=True)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def one_line(stmt: str, width: int = 150) -> str:
    s = " ".join(stmt.split())
    return s if len(s) <= width else s[: width - 3] + "..."


def is_count(stmt: str) -> bool:
    return "count(" in stmt.lower()


def touches_student(stmt: str) -> bool:
    return re.search(r"\bFROM student\b", stmt) is not None


def login(app, email: str):
    client = app.test_client()
    page = client.get("/login")
    m = CSRF_RE.search(page.get_data(as_text=True))
    if not m:
        raise SystemExit("no csrf_token on /login")
    r = client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "csrf_token": m.group(1)})
    if r.status_code not in (302, 303):
        raise SystemExit(f"login failed for {email}: HTTP {r.status_code}")
    if "/tf-validate" in r.headers.get("Location", ""):  # authority accounts: the TOTP step (issue 13)
        from sqlalchemy import select as _select

        from extensions import db
        from models.people import User
        from services.two_factor import current_code

        with app.app_context():
            code = current_code(db.session.scalar(_select(User).where(User.email == email)))
        page = client.get("/tf-validate")
        m = CSRF_RE.search(page.get_data(as_text=True))
        r = client.post("/tf-validate", data={"code": code, "csrf_token": m.group(1) if m else ""})
        if r.status_code not in (302, 303):
            raise SystemExit(f"two-factor step failed for {email}: HTTP {r.status_code}")
    check = client.get(LIST_URL)
    if check.status_code != 200:
        raise SystemExit(f"{email}: {LIST_URL} answered HTTP {check.status_code}")
    return client


def plan_summary(plan: list[str]) -> tuple[bool, list[str]]:
    nodes = []
    for line in plan:
        m = re.search(r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Bitmap Heap Scan)"
                      r"(?: Backward)?)(?: using (\S+))? on (\S+)", line)
        if m:
            nodes.append(f"{m.group(1)}{' using ' + m.group(2) if m.group(2) else ''} on {m.group(3)}")
    used = any(("Index" in n and " on student" in n) or re.match(r"Bitmap Index Scan on (ix_student_|pk_student)", n)
               for n in nodes)
    return used, nodes


def student_access(plan: list[str]) -> tuple[str | None, str]:
    """(index name, its Index Cond or Filter) of the scan on student in an EXPLAIN output."""
    for i, line in enumerate(plan):
        m = re.search(r"(?:Index Only Scan|Index Scan)(?: Backward)? using (\S+) on student\b", line)
        if m is None and re.search(r"Seq Scan on student\b", line):
            return "Seq Scan", ""
        if m is None and re.search(r"Bitmap Heap Scan on student\b", line):
            # The bitmap's index scan follows (a few rows: PostgreSQL sorts them itself).
            m = next((b for b in (re.search(r"Bitmap Index Scan on (ix_student_\w+|pk_student)\b", x)
                                  for x in plan[i + 1:]) if b), None)
            if m:
                c = next((re.search(r"Index Cond: (.*)", x) for x in plan[i + 1:] if "Index Cond:" in x), None)
                return m.group(1), f"Index Cond: {c.group(1)} (bitmap)" if c else "(bitmap)"
        if m:
            cond = ""
            for nxt in plan[i + 1:i + 4]:
                c = re.search(r"(Index Cond|Filter): (.*)", nxt)
                if c:
                    cond = f"{c.group(1)}: {c.group(2)}"
                    break
            return m.group(1), cond
    return None, ""


def access_ok(level: str, index: str | None, cond: str) -> bool:
    if index != EXPECTED_INDEX[level]:
        return False
    if level == "school":  # equality, not a range
        return cond.startswith("Index Cond:") and ">=" not in cond and " = " in cond
    if level in ("county", "city"):
        return cond.startswith("Index Cond:") and "substr(" in cond
    return True


def wait_for_quiet(max_wait: float) -> None:
    """Wait (at most max_wait s) until the 1-minute load average is below half the CPUs."""
    limit = max(1.0, (os.cpu_count() or 1) / 2)
    t0 = time.perf_counter()
    while os.getloadavg()[0] > limit and time.perf_counter() - t0 < max_wait:
        time.sleep(5)
    la = os.getloadavg()[0]
    log(f"[list_pages] load average {la:.2f} (limit {limit:g}, waited {time.perf_counter() - t0:.0f} s"
        f"{'' if la <= limit else '; still above: timings may be noisy'})")


def measure(url: str, runs: int, warmup: int, show_plans: bool, stock: bool = True) -> dict:
    from app import create_app
    from extensions import db

    app = create_app(bench_config(url))
    if stock:
        from bench import stock_admin

        stock_admin.install(app)
    captured: list[tuple[str, object]] = []
    capturing = [False]
    sql_time = [0.0]  # seconds spent in cursor.execute by the app, summed

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if capturing[0]:
            captured.append((statement, parameters))
        context._bench_t0 = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _timed(conn, cursor, statement, parameters, context, executemany):
        t0 = getattr(context, "_bench_t0", None)
        if t0 is not None:
            sql_time[0] += time.perf_counter() - t0

    dsn = libpq_dsn(url)
    results: dict[str, dict] = {}
    load_start = os.getloadavg()
    with psycopg.connect(dsn, autocommit=True) as raw:
        total = raw.execute("SELECT count(*) FROM student").fetchone()[0]
        log(f"[list_pages] database {url.rsplit('/', 1)[-1]}: {total:,} pupils; {runs} runs after {warmup} warm-up loads")
        for level in LEVELS:
            email = f"bench-{level}@{BENCH_DOMAIN}"
            client = login(app, email)
            path = raw.execute(
                'SELECT o.path FROM "user" u JOIN org_unit o ON o.id = u.unit_id WHERE u.email = %s', [email]
            ).fetchone()[0]
            in_scope = raw.execute(
                "SELECT count(*) FROM student WHERE scope_path >= %s AND scope_path < %s", [path, path[:-1] + "0"]
            ).fetchone()[0]
            for _ in range(warmup):
                client.get(LIST_URL)
                if stock:
                    client.get(STOCK_URL)

            # One load with every statement recorded.
            captured.clear()
            capturing[0] = True
            resp = client.get(LIST_URL)
            capturing[0] = False
            html = resp.get_data(as_text=True)
            stmts = list(captured)
            rows_shown = len(ROW_RE.findall(html))
            student_stmts = [(s, p) for s, p in stmts if touches_student(s)]
            list_stmts = [(s, p) for s, p in student_stmts if not is_count(s)]
            count_stmts = [(s, p) for s, p in student_stmts if is_count(s)]

            # The same for stock Flask-Admin (bench/stock_admin.py): its statements and rows.
            stock_stmts: list[tuple[str, object]] = []
            stock_rows = 0
            if stock:
                captured.clear()
                capturing[0] = True
                sresp = client.get(STOCK_URL)
                capturing[0] = False
                stock_stmts = list(captured)
                stock_rows = len(STOCK_ROW_RE.findall(sresp.get_data(as_text=True)))
                if sresp.status_code != 200:
                    raise SystemExit(f"{email}: {STOCK_URL} answered HTTP {sresp.status_code}")

            # The page's student statements, straight through psycopg (same text, same parameters).
            replay = list_stmts + count_stmts
            before = prepared_plans(raw)
            for _ in range(warmup):
                for s, p in replay:
                    raw.execute(s, p).fetchall()

            # Page and raw SQL alternate run by run, so that both see the same machine load.
            page_ms, page_sql_ms, page_cpu_ms = [], [], []
            stock_ms, stock_sql_ms, stock_cpu_ms = [], [], []
            raw_ms, per_stmt = [], {i: [] for i in range(len(replay))}
            for _ in range(runs):
                sql_time[0] = 0.0
                c0, t0 = time.thread_time(), time.perf_counter()
                r = client.get(LIST_URL)
                page_ms.append((time.perf_counter() - t0) * 1000)
                page_cpu_ms.append((time.thread_time() - c0) * 1000)
                page_sql_ms.append(sql_time[0] * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{email}: HTTP {r.status_code}")
                if stock:  # stock right after the project's page: the same machine load for both
                    sql_time[0] = 0.0
                    c0, t0 = time.thread_time(), time.perf_counter()
                    client.get(STOCK_URL)
                    stock_ms.append((time.perf_counter() - t0) * 1000)
                    stock_cpu_ms.append((time.thread_time() - c0) * 1000)
                    stock_sql_ms.append(sql_time[0] * 1000)
                t_run = 0.0
                for i, (s, p) in enumerate(replay):
                    t0 = time.perf_counter()
                    raw.execute(s, p).fetchall()
                    dt = (time.perf_counter() - t0) * 1000
                    per_stmt[i].append(dt)
                    t_run += dt
                raw_ms.append(t_run)

            # Custom or generic plans for the replayed statements during the runs above (psycopg
            # prepares a statement after 5 executions; a generic plan cannot use the substr(...)
            # indexes, whose length is a bound parameter). County and city share one statement text.
            after = prepared_plans(raw)
            prepared = {k: (g - before.get(k, (0, 0))[0], c - before.get(k, (0, 0))[1]) for k, (g, c) in after.items()}

            explains = []
            for i, (s, p) in enumerate(replay):
                plan = [r[0] for r in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + s, p).fetchall()]
                used, nodes = plan_summary(plan)
                index, cond = student_access(plan)
                gen_cust = prepared.get(_norm_sql(s), (None, None))
                explains.append({
                    "kind": "count" if is_count(s) else "list",
                    "sql": s, "params": {k: str(v) for k, v in (p or {}).items()} if isinstance(p, dict) else str(p),
                    "median_ms": statistics.median(per_stmt[i]), "index_used": used, "scan_nodes": nodes, "plan": plan,
                    "student_index": index, "student_cond": cond,
                    "generic_plans": gen_cust[0], "custom_plans": gen_cust[1],
                })
            results[level] = {
                "email": email, "scope": path, "in_scope": in_scope, "rows_shown": rows_shown,
                "page_median_ms": statistics.median(page_ms), "page_p90_ms": pct(page_ms, 0.9),
                "raw_median_ms": statistics.median(raw_ms), "raw_p90_ms": pct(raw_ms, 0.9),
                "page_sql_median_ms": statistics.median(page_sql_ms),
                "page_cpu_median_ms": statistics.median(page_cpu_ms),
                "page_min_ms": min(page_ms), "raw_min_ms": min(raw_ms),
                "page_runs_ms": [round(x, 3) for x in page_ms], "raw_runs_ms": [round(x, 3) for x in raw_ms],
                "page_sql_runs_ms": [round(x, 3) for x in page_sql_ms],
                "statements": [one_line(s) for s, _ in stmts], "n_statements": len(stmts),
                "n_count": sum(1 for s, _ in stmts if is_count(s)),
                "n_student_count": len(count_stmts), "explains": explains,
            }
            if stock:
                results[level].update({
                    "stock_median_ms": statistics.median(stock_ms), "stock_p90_ms": pct(stock_ms, 0.9),
                    "stock_min_ms": min(stock_ms), "stock_sql_median_ms": statistics.median(stock_sql_ms),
                    "stock_cpu_median_ms": statistics.median(stock_cpu_ms),
                    "stock_runs_ms": [round(x, 3) for x in stock_ms], "stock_rows_shown": stock_rows,
                    "stock_statements": [one_line(s) for s, _ in stock_stmts], "stock_n_statements": len(stock_stmts),
                    "stock_n_count": sum(1 for s, _ in stock_stmts if touches_student(s) and is_count(s)),
                })
            lst = next((ex for ex in explains if ex["kind"] == "list"), None)
            if lst is not None:
                results[level]["list_index"] = lst["student_index"]
                results[level]["list_cond"] = lst["student_cond"]
                results[level]["list_access_ok"] = access_ok(level, lst["student_index"], lst["student_cond"])

            log(f"\n=== {level}: {email}  scope {path}  pupils in scope {in_scope:,}  rows shown {rows_shown}")
            log(f"  page ran {len(stmts)} statements ({len(count_stmts)} COUNT on student); page median "
                f"{results[level]['page_median_ms']:.2f} ms, of which SQL {results[level]['page_sql_median_ms']:.2f} ms; "
                f"CPU of this process {results[level]['page_cpu_median_ms']:.2f} ms")
            if lst is not None:
                log(f"  list query reads student via {lst['student_index']} ({lst['student_cond']}): "
                    f"{'as expected' if results[level]['list_access_ok'] else 'EXPECTED ' + EXPECTED_INDEX[level]}")
            for j, (s, _) in enumerate(stmts, 1):
                log(f"    {j}. {one_line(s)}")
            if stock:
                r = results[level]
                log(f"  stock Flask-Admin {STOCK_URL}: {r['stock_n_statements']} statements ({r['stock_n_count']} COUNT), "
                    f"rows shown {stock_rows}; median {r['stock_median_ms']:.2f} ms, of which SQL {r['stock_sql_median_ms']:.2f} ms"
                    f"; CPU {r['stock_cpu_median_ms']:.2f} ms; stock / project {r['stock_median_ms'] / r['page_median_ms']:.2f}x"
                    f" (CPU {r['stock_cpu_median_ms'] / r['page_cpu_median_ms']:.2f}x)")
                for j, s in enumerate(r["stock_statements"], 1):
                    log(f"    {j}. {s}")
            for ex in explains:
                log(f"  raw {ex['kind']}: median {ex['median_ms']:.2f} ms; index used: {'yes' if ex['index_used'] else 'NO'}"
                    f" ({'; '.join(ex['scan_nodes']) or 'no scan node'}); plans after preparing: "
                    f"{ex['custom_plans']} custom, {ex['generic_plans']} generic")
                if show_plans:
                    for line in ex["plan"]:
                        log(f"      {line}")
        app_total = total
        id_order = id_order_of(raw)
    return {"url": url, "total_pupils": app_total, "id_order": id_order, "runs": runs, "levels": results,
            "loadavg_start": load_start, "loadavg_end": os.getloadavg()}


def _norm_sql(x: str) -> str:
    """psycopg sends %(name)s placeholders as $n: the text with placeholders blanked."""
    return " ".join(re.sub(r"%\(\w+\)s|\$\d+", "?", x).split())


def prepared_plans(raw: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """{normalised statement: (generic plans, custom plans)} so far on this connection."""
    rows = raw.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements").fetchall()
    return {_norm_sql(stmt): (gen, cust) for stmt, gen, cust in rows}


def id_order_of(raw: psycopg.Connection) -> str:
    """'by-school' when ids follow the schools (each school's ids contiguous), else 'interleaved'."""
    row = raw.execute(
        "SELECT count(*) FILTER (WHERE school_id IS DISTINCT FROM prev), count(DISTINCT school_id) FROM "
        "(SELECT school_id, lag(school_id) OVER (ORDER BY id) AS prev FROM student WHERE id <= 200000) t"
    ).fetchone()
    return "by-school" if row[0] == row[1] else "interleaved"


def _label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k" if n >= 1000 else str(n)


def province_student_counts(res: dict) -> int:
    """COUNTs over student on the province page (other counts, e.g. the navbar's queue badge, are not the list's)."""
    r = res["levels"]["province"]
    return r.get("n_student_count", r["n_count"])


def table(res: dict) -> str:
    la = res.get("loadavg_start")
    out = [f"pupils in database: {res['total_pupils']:,}   id order: {res.get('id_order', '?')}   (runs: {res['runs']}"
           + (f"; load average {la[0]:.1f} at start, {res['loadavg_end'][0]:.1f} at end)" if la else ")"),
           f"{'level':<9} | {'pupils in scope':>15} | {'page median ms':>14} | {'page p90 ms':>11} | {'page min ms':>11} | "
           f"{'raw SQL median ms':>17} | {'ratio page/raw':>14} | {'page SQL ms':>11} | list query reads student via"]
    out.append("-" * len(out[-1]))
    for level in LEVELS:
        r = res["levels"][level]
        ratio = r["page_median_ms"] / r["raw_median_ms"] if r["raw_median_ms"] else float("nan")
        ok = r.get("list_access_ok")
        access = f"{r.get('list_index')}{'' if ok else ' (EXPECTED ' + EXPECTED_INDEX[level] + ')'}" if ok is not None else "?"
        out.append(f"{level:<9} | {r['in_scope']:>15,} | {r['page_median_ms']:>14.2f} | {r['page_p90_ms']:>11.2f} | "
                   f"{r.get('page_min_ms', float('nan')):>11.2f} | "
                   f"{r['raw_median_ms']:>17.2f} | {ratio:>14.1f} | {r.get('page_sql_median_ms', float('nan')):>11.2f} | {access}")
    n = province_student_counts(res)
    out.append(f"COUNT queries on student run by the province page: {n} ({'OK' if n == 0 else 'MUST BE 0'})")
    out.append("raw SQL = the page's student queries (list + COUNT) replayed with psycopg; page SQL = time the page "
               "spent in all its statements (median); the rest of the page is Flask/Jinja; min = best of the runs")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--no-stock", action="store_true", help="do not time stock Flask-Admin beside the project")
    ap.add_argument("--no-plans", action="store_true", help="do not print the full EXPLAIN output")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                    help="first wait up to S seconds for the load average to drop below half the CPUs")
    args = ap.parse_args(argv)
    if args.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] == "test":
        raise SystemExit("refusing to use the database 'test'")
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    res = measure(args.url, args.runs, args.warmup, not args.no_plans, stock=not args.no_stock)
    log("\n" + table(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=1))
    return 1 if province_student_counts(res) else 0


if __name__ == "__main__":
    raise SystemExit(main())
