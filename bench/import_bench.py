"""Excel import benchmark: N new pupils in one .xlsx, parsed, validated and written (all-or-nothing).

    .venv/bin/python -m bench.import_bench --rows 10000
    .venv/bin/python -m bench.import_bench --rows 10000 --no-postgres

Each run uses a fresh database with the demo province (cli/demo.py, 2,000 pupils): a SQLite
file in a temporary directory, then the PostgreSQL database xueji_bench_import (created and
dropped here; the name must contain "bench_import"). The rows go to 沈阳市和平区第一小学 as its
registrar, exactly as an upload does (services/imports: parse → apply.import_rows, which checks each
row as it enrolls it; validate_rows, the dry run, is timed on its own). Target: under 60 s for
10,000 rows (parse + import).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import GIVEN, SURNAMES, bench_config, libpq_dsn  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://root@127.0.0.1:5432/xueji_bench_import"
SCHOOL_CODE, REGISTRAR_EMAIL = "2121000001", "school-heping1@xueji.demo"  # a primary school: grades 1–6
DIVISION = "210104"  # 大东区: the demo pupils have 和平/沈河/康平/西岗 IDs, so no collisions
TARGET_S = 60.0


def synthetic_rows(n: int, seed: int = 7) -> list[list[object]]:
    """n valid rows in template column order, with unique, valid ID numbers (GB 11643)."""
    from services.ids import make_check_digit
    from services.imports.columns import COLUMNS

    rng = random.Random(seed)
    headers = [c.header for c in COLUMNS]
    used: set[str] = set()
    out = []
    for i in range(n):
        grade = 1 + i % 6
        birth = date(2026 - 6 - grade, 9, 1) + timedelta(days=rng.randrange(365))
        male = rng.random() < 0.5
        while True:
            seq = rng.randrange(1000)
            if (seq % 2 == 1) != male:
                seq = (seq + 1) % 1000
            body = f"{DIVISION}{birth:%Y%m%d}{seq:03d}"
            number = body + make_check_digit(body)
            if number not in used:
                used.add(number)
                break
        parent_birth = date(1985, 1, 1) + timedelta(days=rng.randrange(3650))
        pbody = f"210102{parent_birth:%Y%m%d}{rng.randrange(1000):03d}"
        values = {
            "姓名": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            "性别": "1 男" if male else "2 女", "出生日期": birth.isoformat(), "身份证件类型": "1 居民身份证",
            "身份证件号": number, "民族": "01 汉族", "国籍/地区": "156 中国", "港澳台侨外": "0 否",
            "出生地": DIVISION, "籍贯": "辽宁沈阳", "户口所在地": DIVISION, "户口性质": "2 非农业户口",
            "健康状况": "1 健康或良好", "年级": f"{grade}", "班级": f"{1 + i % 8}班", "入学年月": f"{2026 - grade + 1}-09",
            "入学方式": "1 就近入学", "就读方式": "1 走读", "现住址": f"大东区小东路{1 + i % 300}号",
            "家庭住址": f"大东区小东路{1 + i % 300}号", "联系电话": f"139{rng.randrange(10**8):08d}",
            "是否独生子女": rng.choice(("是", "否")), "是否受过学前教育": "是", "是否留守儿童": "0 非留守儿童",
            "是否进城务工人员随迁子女": "否", "是否孤儿": "否", "残疾人类型": "0 无",
            "监护人1关系": "1 父亲", "监护人1姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "监护人1身份证件类型": "1 居民身份证", "监护人1身份证件号": pbody + make_check_digit(pbody),
            "监护人1联系电话": f"138{rng.randrange(10**8):08d}",
        }
        out.append([values.get(h) for h in headers])
    return out


def workbook_bytes(rows: list[list[object]]) -> bytes:
    """The template's header and note row, then the rows (write-only, like a large real file)."""
    from openpyxl import Workbook

    from services.imports.columns import COLUMNS, DATA_SHEET, NOTE_PREFIX

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    ws.append([c.header for c in COLUMNS])
    ws.append([NOTE_PREFIX + COLUMNS[0].note] + [c.note for c in COLUMNS[1:]])
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_once(url: str, label: str, data: bytes, n: int, upload_dir: str) -> dict[str, float]:
    from flask_babel import force_locale
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from cli.demo import load_demo
    from extensions import db
    from models.changes import ChangeRequest
    from models.org import OrgUnit
    from models.people import User
    from models.student import PENDING, Student
    from services.imports.apply import import_rows
    from services.imports.parse import parse
    from services.imports.validate import validate_rows

    config = bench_config(url)
    config.UPLOAD_DIR = upload_dir  # type: ignore[attr-defined]
    app = create_app(config)
    with app.app_context(), force_locale("zh_Hans_CN"):
        upgrade()  # the real migrations: the schema has PostgreSQL-only parts (reverse() index) that create_all cannot build on SQLite
        load_demo(pupils=2000)
        db.session.remove()
        school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == SCHOOL_CODE))
        actor = db.session.scalar(select(User).where(User.email == REGISTRAR_EMAIL))
        before = db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id))

        rss_before = _rss_mb("VmRSS")
        _reset_peak_rss()  # the peak from here: parse, dry run and import, as the queue worker's task does them
        t0 = time.perf_counter()
        rows = parse(io.BytesIO(data))
        t_parse = time.perf_counter() - t0

        t0 = time.perf_counter()
        errors = validate_rows(rows, school, actor)
        t_validate = time.perf_counter() - t0
        if errors:
            raise SystemExit(f"[{label}] unexpected errors: {errors[:5]}")

        t0, c0 = time.perf_counter(), time.process_time()
        written = import_rows(rows, school, actor, filename="bench.xlsx")
        t_write, cpu_write = time.perf_counter() - t0, time.process_time() - c0
        rss_peak = _rss_mb("VmHWM")

        after = db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id))
        pending = db.session.scalar(select(func.count()).select_from(Student).where(Student.status == PENDING))
        requests = db.session.scalar(select(func.count()).select_from(ChangeRequest).where(ChangeRequest.type == "enrollment"))
        assert len(rows) == written == n == after - before, (len(rows), written, n, after - before)
        assert pending >= n and requests >= n, (pending, requests)
        db.session.remove()
        db.engine.dispose()
    total = t_parse + t_write  # an upload: parse, then import_rows (each row checked as it is enrolled)
    print(f"[{label}] {n} rows: parse {t_parse:.1f} s; validate only (validate_rows, a dry run) {t_validate:.1f} s; "
          f"import (import_rows: check + enroll + one commit) {t_write:.1f} s; "
          f"upload = parse + import {total:.1f} s — {'OK' if total < TARGET_S else 'OVER'} (target < {TARGET_S:.0f} s)",
          flush=True)
    print(f"[{label}] import: {1000 * t_write / n:.1f} ms per row, of which {1000 * cpu_write / n:.1f} ms CPU of this "
          f"process; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    print(f"[{label}] memory: {rss_before:.0f} MB resident before the upload, peak {rss_peak:.0f} MB while parsing, checking and importing "
          f"(+{rss_peak - rss_before:.0f} MB for {n} rows)", flush=True)
    return {"parse": t_parse, "validate": t_validate, "write": t_write, "total": total, "peak_mb": rss_peak}


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> None:
    """Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so the peak read after the import is the
    import's own, not the demo load's before it."""
    with contextlib.suppress(OSError):  # not Linux: the peak then includes the demo load
        Path("/proc/self/clear_refs").write_text("5")


def _pg(url: str, action: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if "bench_import" not in name:
        raise SystemExit(f"refusing to {action} database {name!r}: its name must contain 'bench_import'")
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if action == "create":
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = workbook_bytes(synthetic_rows(args.rows))
    print(f"[import-bench] built a {len(data) / 1e6:.1f} MB workbook of {args.rows} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="xueji-import-bench-") as tmp:
        if not args.no_sqlite:
            results["sqlite"] = run_once(f"sqlite:///{tmp}/bench.db", "sqlite", data, args.rows, f"{tmp}/uploads")
        if not args.no_postgres:
            _pg(args.pg_url, "create")
            try:
                results["postgresql"] = run_once(args.pg_url, "postgresql", data, args.rows, f"{tmp}/uploads")
            finally:
                _pg(args.pg_url, "drop")
    return 0 if all(r["total"] < TARGET_S for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
