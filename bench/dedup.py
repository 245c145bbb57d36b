"""查重 benchmark: `flask --app app check-duplicates` (services.dedup_scan.scan_province) on N pupils.

    python -m bench.dedup --pupils 3000000
    python -m bench.dedup --pupils 30000 --keep --json /tmp/dedup.json

Steps, each timed:
1. bench.generate builds the 辽宁 tree and N pupils by COPY in a database of its own
   (default xueji_bench_dedup, dropped and recreated; the name must contain "bench_dedup").
2. Two guardians per pupil by COPY (bench.generate loads none), each with a valid, unique ID.
3. Injected problems: ~0.5 % of pupils get the name of a pupil with the same birth date and
   gender (soft duplicate, on top of the natural ones of random names); ~0.3 % share a father with the next pupil (brothers and sisters: not
   a problem); ~0.1 % share a father *and* the name with the next pupil (a second registration
   under another birth date); ~0.01 % get an ID number with a wrong check digit.
4. VACUUM ANALYZE, as autovacuum would have done on a live table.
5. scan_province twice in-process (the second run must add nothing), then the CLI once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import GIVEN, SURNAMES, Phase, bench_config, libpq_dsn, log  # noqa: E402
from bench.generate import main as generate_main  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://root@127.0.0.1/xueji_bench_dedup"
GUARDIAN_COLUMNS = ("id", "student_id", "relation", "name", "id_type", "id_number", "phone", "workplace")
BUCKET = "((s.id::bigint * 2654435761) % 10000)"  # a fixed pseudo-random bucket 0..9999 per pupil


def guardian_rows(n: int, seed: int = 2026):
    """Father and mother of pupils 1..n: valid IDs, unique for n up to 3.65 million per division."""
    from services.ids import make_check_digit

    rng = random.Random(seed)
    rand = rng.random
    divisions = ("210102", "210103", "210104", "210105", "210106", "210111", "210112", "210113", "210114")
    first = date(1975, 1, 1)
    days = [(first + timedelta(days=d)).strftime("%Y%m%d") for d in range(7300)]
    ns, ng = len(SURNAMES), len(GIVEN)
    gid = 0
    for k in range(1, n + 1):
        div = divisions[(k // 3_650_000) % len(divisions)]
        born = days[(k * 7919) % 7300]
        pair = (k // 7300) % 500
        for relation, seq in (("1", pair * 2 + 1), ("2", pair * 2)):  # 17th digit odd: male
            body = f"{div}{born}{seq:03d}"
            gid += 1
            name = SURNAMES[int(rand() * ns)] + GIVEN[int(rand() * ng)] + GIVEN[int(rand() * ng)]
            yield (gid, k, relation, name, "1", body + make_check_digit(body), f"139{int(rand() * 90000000) + 10000000}", None)


def load_guardians(url: str, n: int, timings: dict[str, float]) -> None:
    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        idx = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'guardian'::regclass AND NOT x.indisprimary"
        ).fetchall()
        with Phase(f"COPY {2 * n:,} guardians", timings):
            conn.execute("TRUNCATE guardian")
            for name, _ddl in idx:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in GUARDIAN_COLUMNS)
            with conn.cursor() as cur:
                with cur.copy(sql.SQL("COPY guardian ({}) FROM STDIN WITH (FREEZE)").format(cols)) as copy:
                    for row in guardian_rows(n):
                        copy.write_row(row)
                cur.execute("SELECT setval(pg_get_serial_sequence('guardian', 'id'), %s)", [max(2 * n, 1)])
            conn.commit()
        with Phase(f"recreate {len(idx)} guardian indexes", timings):
            for _name, ddl in idx:
                conn.execute(ddl)
            conn.commit()


INJECTIONS = (
    ("soft duplicates (name + gender + birth date)", f"""
        UPDATE student s SET name = x.prev_name
        FROM (SELECT id, lag(name) OVER w AS prev_name, row_number() OVER w AS rn
              FROM student WINDOW w AS (PARTITION BY birth_date, gender ORDER BY id)) x
        WHERE s.id = x.id AND x.rn % 2 = 0 AND {BUCKET} < 100 AND x.prev_name <> s.name"""),
    ("brothers and sisters (shared father, other name)", f"""
        UPDATE guardian g SET id_number = f.id_number, name = f.name
        FROM guardian f, student s
        WHERE s.id = g.student_id AND g.relation = '1' AND f.relation = '1' AND f.student_id = g.student_id + 1
          AND {BUCKET} >= 100 AND {BUCKET} < 130"""),
    ("second registrations (shared father and name)", f"""
        WITH picked AS (SELECT s.id FROM student s WHERE {BUCKET} >= 130 AND {BUCKET} < 140),
        names AS (UPDATE student s SET name = n.name FROM picked p, student n
                  WHERE s.id = p.id AND n.id = p.id + 1 RETURNING s.id)
        UPDATE guardian g SET id_number = f.id_number, name = f.name
        FROM picked p, guardian f
        WHERE g.student_id = p.id AND g.relation = '1' AND f.student_id = p.id + 1 AND f.relation = '1'"""),
    ("invalid ID numbers (check digit)", f"""
        UPDATE student s SET id_number = left(s.id_number, 17) || CASE WHEN right(s.id_number, 1) = '0' THEN '1' ELSE '0' END
        WHERE {BUCKET} >= 140 AND {BUCKET} < 141"""),
)


def inject(url: str, timings: dict[str, float]) -> dict[str, int]:
    done: dict[str, int] = {}
    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("SET work_mem = '256MB'")
        for label, statement in INJECTIONS:
            with Phase(f"inject {label}", timings):
                done[label] = conn.execute(statement).rowcount
                conn.commit()
            log(f"[dedup]   {label}: {done[label]:,} rows changed")
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        with Phase("VACUUM ANALYZE student, guardian", timings):
            conn.execute("VACUUM (ANALYZE) student")
            conn.execute("VACUUM (ANALYZE) guardian")
    return done


def scan(app, label: str, timings: dict[str, float]) -> dict[str, object]:
    from extensions import db
    from services.dedup_scan import scan_province

    phases: dict[str, float] = {}
    with app.app_context():
        t0 = time.perf_counter()
        counts = scan_province(timings=phases)
        db.session.commit()
        elapsed = time.perf_counter() - t0
    timings[label] = elapsed
    log(f"[dedup] {label}: {elapsed:.1f} s; new problems {counts}; phases "
        + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    return {"seconds": elapsed, "counts": counts, "phases": phases}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--pupils", type=int, default=3_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    name = make_url(args.url).database or ""
    if "bench_dedup" not in name:
        raise SystemExit(f"bench/dedup.py uses a database of its own: its name must contain 'bench_dedup', not {name!r}")

    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    generate_main(["--url", args.url, "--pupils", str(args.pupils), "--reset"])

    from app import create_app
    from extensions import db

    app = create_app(bench_config(args.url))
    with app.app_context():
        db.create_all()  # tables whose migration is not written yet (checkfirst: existing ones are left alone)
    load_guardians(args.url, args.pupils, timings)
    injected = inject(args.url, timings)

    first = scan(app, "scan 1", timings)
    second = scan(app, "scan 2 (idempotent)", timings)
    if any(v for k, v in second["counts"].items()):  # type: ignore[union-attr]
        raise SystemExit(f"the second scan found new problems: {second['counts']}")

    with Phase("CLI check-duplicates (third run)", timings):
        env = dict(os.environ, DATABASE_URL=args.url)
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check-duplicates"], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
    log("[dedup] CLI output:\n" + out.stdout.strip())

    with app.app_context():
        from sqlalchemy import func, select

        from models.problems import ProblemRecord

        by_kind = dict(db.session.execute(select(ProblemRecord.kind, func.count()).group_by(ProblemRecord.kind)).all())
        db.session.remove()
        db.engine.dispose()
    total = time.perf_counter() - t_all
    log(f"[dedup] problem records by kind: {by_kind}; total {total:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "pupils": args.pupils, "injected": injected, "scan_1": first, "scan_2": second, "problems": by_kind,
            "timings_s": timings, "total_s": total, "load_average": os.getloadavg(),
        }, ensure_ascii=False, indent=1))
    if not args.keep:
        with psycopg.connect(libpq_dsn(args.url, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        log(f"[dedup] dropped {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
