"""The pupil list's search (issue 14, point 4) at 3M pupils: the SQL of each kind of search for the
school, county, city and province bench users, new search against the old one, in one run.

    python -m bench.generate --url postgresql+psycopg://root@127.0.0.1/xueji_bench_search --pupils 3000000 --reset
    python -m bench.search_bench --url postgresql+psycopg://root@127.0.0.1/xueji_bench_search --prepare

--prepare loads two guardians per pupil when the guardian table is empty (bench.dedup's COPY: the
phones to search for) and upgrades the schema to head, which creates the search indexes of
migration u4_saved_filters (timed: on a live database that is the lock the upgrade holds).

For each user and each kind of search, the list page GET /admin/student/?search=TERM is loaded
once through the Flask test client with every SQL statement recorded; its statements on student
(the LIMIT 20 list and, for school and county users, the COUNT) are then run --runs times with
EXPLAIN (ANALYZE), and the median of their summed "Execution Time" is the figure. The old search
is measured the same way in the same run, with the view's _apply_search put back to Flask-Admin's
own (ILIKE '%TERM%' on 姓名, 学籍号 and 身份证件号: column_searchable_list).

The terms come from the data: a pupil of the bench school gives the ID and 学籍号 tails, the exact
ID number and a guardian's phone; its given name (two characters, like 小明 in 王小明), its full
name and one character of it are the name searches.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import types
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import BENCH_DOMAIN, bench_config, libpq_dsn  # noqa: E402
from bench.list_pages import LEVELS, LIST_URL, ROW_RE, is_count, login, student_access, touches_student  # noqa: E402

TARGET_MS = 50.0
EXEC_RE = re.compile(r"Execution Time: ([\d.]+) ms")


def log(msg: str = "") -> None:
    print(msg, flush=True)


def prepare(url: str, pupils: int) -> dict[str, float]:
    """Guardians (when there are none) and the schema at head, with the search indexes."""
    from bench.dedup import load_guardians

    timings: dict[str, float] = {}
    with psycopg.connect(libpq_dsn(url), autocommit=True) as raw:
        n_guardians = raw.execute("SELECT count(*) FROM guardian").fetchone()[0]
    if n_guardians == 0:
        load_guardians(url, pupils, timings)
        with psycopg.connect(libpq_dsn(url), autocommit=True) as raw:
            raw.execute("VACUUM (ANALYZE) guardian")
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(bench_config(url))
    with app.app_context():
        t0 = time.perf_counter()
        upgrade(directory=str(ROOT / "migrations"))
        timings["alembic upgrade (search indexes)"] = time.perf_counter() - t0
    with psycopg.connect(libpq_dsn(url), autocommit=True) as raw:
        t0 = time.perf_counter()
        raw.execute("ANALYZE student")
        timings["ANALYZE student"] = time.perf_counter() - t0
    return timings


def pick_terms(raw: psycopg.Connection) -> dict[str, str]:
    """Search terms from a pupil of the bench school with a three-character name and a guardian."""
    # Without guardians (a load-test database: bench/workload.py loads none) the phone kind is left out.
    row = raw.execute(
        """SELECT s.name, s.id_number, s.xjh, g.phone FROM student s
           JOIN "user" u ON u.email = %s JOIN org_unit o ON o.id = u.unit_id
           LEFT JOIN guardian g ON g.student_id = s.id AND g.phone IS NOT NULL
           WHERE s.scope_path = o.path AND char_length(s.name) = 3
           ORDER BY g.phone IS NULL, s.id LIMIT 1""", [f"bench-school@{BENCH_DOMAIN}"]).fetchone()
    if row is None:
        raise SystemExit("no pupil with a three-character name in the bench school")
    name, id_number, _xjh, phone = row
    # A full name of two characters (王磊): the name searches a load test types most.
    short = raw.execute(
        """SELECT s.name FROM student s JOIN "user" u ON u.email = %s JOIN org_unit o ON o.id = u.unit_id
           WHERE s.scope_path = o.path AND char_length(s.name) = 2 ORDER BY s.id LIMIT 1""",
        [f"bench-school@{BENCH_DOMAIN}"]).fetchone()
    # A tail is looked for in the ID number and the 学籍号 at once (two reversed-prefix indexes);
    # the bench's 学籍号 are G + ID number, so an ID tail is a 学籍号 tail as well.
    terms = {
        "name, 2 characters": name[1:],
        "name, 3 characters": name,
        "full name, 2 characters": short[0] if short else "",
        "name, 1 character": name[2],
        "ID tail, 6 digits": id_number[-6:],
        "ID tail, 4 digits": id_number[-4:],
        "guardian phone": phone or "",
        "ID number, exact": id_number,
    }
    return {k: v for k, v in terms.items() if v}


def _explain_ms(raw: psycopg.Connection, stmts: list[tuple[str, object]]) -> tuple[float, list[list[str]]]:
    total, plans = 0.0, []
    for s, p in stmts:
        plan = [r[0] for r in raw.execute("EXPLAIN (ANALYZE) " + s, p).fetchall()]
        total += float(EXEC_RE.search(plan[-1]).group(1))
        plans.append(plan)
    return total, plans


def measure(url: str, runs: int, old_runs: int, levels: tuple[str, ...] = LEVELS, kinds: tuple[str, ...] = ()) -> dict:
    from flask_admin.contrib.sqla import ModelView

    from app import create_app
    from extensions import db

    app = create_app(bench_config(url))
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "student")
    new_search = view._apply_search
    old_search = types.MethodType(ModelView._apply_search, view)  # Flask-Admin's ILIKE '%…%'
    captured: list[tuple[str, object]] = []
    capturing = [False]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if capturing[0]:
            captured.append((statement, parameters))

    results: list[dict] = []
    with psycopg.connect(libpq_dsn(url), autocommit=True) as raw:
        total = raw.execute("SELECT count(*) FROM student").fetchone()[0]
        guardians = raw.execute("SELECT count(*) FROM guardian").fetchone()[0]
        terms = {k: v for k, v in pick_terms(raw).items() if not kinds or k in kinds}
        log(f"[search] {total:,} pupils, {guardians:,} guardians; terms: {terms}")
        for level in levels:
            email = f"bench-{level}@{BENCH_DOMAIN}"
            client = login(app, email)
            for kind, term in terms.items():
                row = {"level": level, "kind": kind, "term": term}
                for label, search, n in (("new", new_search, runs), ("old", old_search, old_runs))[:2 if old_runs else 1]:
                    view._apply_search = search
                    captured.clear()
                    capturing[0] = True
                    resp = client.get(f"{LIST_URL}?search={quote(term)}")
                    capturing[0] = False
                    if resp.status_code != 200:
                        raise SystemExit(f"{email} {kind}: HTTP {resp.status_code}")
                    stmts = [(s, p) for s, p in captured if touches_student(s)]
                    _explain_ms(raw, stmts)  # warm-up
                    times, plans = [], []
                    for _ in range(n):
                        ms, plans = _explain_ms(raw, stmts)
                        times.append(ms)
                    lst = next((pl for (s, _), pl in zip(stmts, plans, strict=True) if not is_count(s)), [])
                    row[label] = {
                        "median_ms": statistics.median(times), "runs_ms": [round(t, 3) for t in times],
                        "rows_shown": len(ROW_RE.findall(resp.get_data(as_text=True))),
                        "n_count": sum(1 for s, _ in stmts if is_count(s)),
                        "list_access": "{} {}".format(*student_access(lst)).strip(),
                        "sql": [s for s, _ in stmts], "plans": plans,
                    }
                view._apply_search = new_search
                results.append(row)
                old = f"old {row['old']['median_ms']:9.2f} ms ({row['old']['rows_shown']} rows)" if "old" in row else ""
                log(f"[search] {level:8} {kind:20} {term!r:24} new {row['new']['median_ms']:8.2f} ms "
                    f"({row['new']['rows_shown']} rows; {row['new']['list_access'][:90]})  {old}")
                for plan in row["new"]["plans"]:
                    for line in plan:
                        log(f"      {line}")
    return {"url": url, "total_pupils": total, "guardians": guardians, "runs": runs, "old_runs": old_runs,
            "terms": terms, "results": results}


def table(res: dict) -> str:
    lines = [
        f"{res['total_pupils']:,} pupils; SQL of the search = EXPLAIN ANALYZE execution time of the page's "
        f"student statements (list + COUNT for school and county), median of {res['runs']} (old: {res['old_runs']})",
        f"{'level':9}| {'search':20}| {'new ms':>8} | {'old ms':>9} | {'rows':>4} | new list query reads student via",
        "-" * 110,
    ]
    for r in res["results"]:
        old = f"{r['old']['median_ms']:9.2f}" if "old" in r else f"{'-':>9}"
        lines.append(f"{r['level']:9}| {r['kind']:20}| {r['new']['median_ms']:8.2f} | {old} | "
                     f"{r['new']['rows_shown']:4} | {r['new']['list_access'][:60]}")
    worst = max(res["results"], key=lambda r: r["new"]["median_ms"])
    lines.append(f"slowest new search: {worst['level']} {worst['kind']} {worst['new']['median_ms']:.2f} ms "
                 f"(target {TARGET_MS:g} ms: {'met' if worst['new']['median_ms'] < TARGET_MS else 'NOT met'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--old-runs", type=int, default=5, help="runs of the old search (seconds each at 3M); 0: not measured")
    ap.add_argument("--prepare", action="store_true", help="load guardians when absent, upgrade to head")
    ap.add_argument("--pupils", type=int, default=3_000_000, help="with --prepare: pupils in the database")
    ap.add_argument("--levels", default=",".join(LEVELS), help="comma-separated: school,county,city,province")
    ap.add_argument("--kinds", default="", help="kinds of search separated by ; (default: all)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if "bench" not in args.url.rstrip("/").rsplit("/", 1)[-1]:
        raise SystemExit("the database name must contain 'bench'")
    if args.prepare:
        log(f"[search] prepared: {prepare(args.url, args.pupils)}")
    res = measure(args.url, args.runs, args.old_runs, tuple(args.levels.split(",")),
                  tuple(k.strip() for k in args.kinds.split(";") if k.strip()))
    log("\n" + table(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=1))
    return 0 if max(r["new"]["median_ms"] for r in res["results"]) < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
