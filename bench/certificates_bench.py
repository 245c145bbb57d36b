"""Certificates of a graduating class: issue N certificates at once, then print them as one PDF.

    .venv/bin/python -m bench.certificates_bench                 # 500 pupils, a fresh SQLite file
    .venv/bin/python -m bench.certificates_bench --pupils 500 --pdf /tmp/class.pdf

A fresh SQLite database (test-like: the real migrations, the demo province) gets N grade-9 pupils
in 沈阳市和平区第二中学 with an approved roster line each (95 % 毕业, 5 % 结业). Timed:
`batch.issue_class` with its COMMIT (numbering, codes), then `batch.render_class`,
the background job's work (N A4 pages with the embedded CJK face and a QR code each, rendered
CHUNK_PAGES at a time and merged), in a process where no PDF was rendered before (the font is
loaded inside the timing). Target: the PDF of 500 certificates in under 60 s.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 60.0
YEAR = 2027
SCHOOL_CODE = "2221000002"  # 沈阳市和平区第二中学, a junior school; its principal signs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pupils", type=int, default=500)
    ap.add_argument("--pdf", type=Path, help="write the class's PDF here")
    args = ap.parse_args(argv)

    from datetime import date, datetime

    from flask_babel import force_locale
    from flask_migrate import upgrade
    from pypdf import PdfReader
    from sqlalchemy import select

    from app import create_app
    from bench.generate import bench_config
    from cli.demo import GIVEN, SURNAMES, load_demo, make_id
    from extensions import db
    from models.graduation import COMPLETED, FAILED, GRADUATED, PASSED, GraduationRecord
    from models.org import OrgUnit
    from models.people import User
    from models.student import Student
    from services import clock
    from services.certificates import batch
    from services.ids import xjh_from_id

    clock.today = lambda: date(YEAR, 7, 1)  # type: ignore[assignment]  # issued on the first of July
    clock.now = lambda: datetime(YEAR, 7, 1, 9, 0)  # type: ignore[assignment]
    workdir = Path(tempfile.mkdtemp(prefix="xueji-cert-bench-"))
    config = bench_config(f"sqlite:///{workdir / 'bench.db'}")
    config.UPLOAD_DIR = str(workdir / "uploads")
    app = create_app(config)
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        upgrade()
        load_demo(pupils=70)
        school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == SCHOOL_CODE))
        registrar = db.session.scalar(select(User).where(User.email == "school-heping2@xueji.demo"))
        rng = random.Random(YEAR)
        taken: set[str] = set()
        students = []
        for i in range(args.pupils):
            birth = date(2012, 9, 1) + (date(2013, 8, 31) - date(2012, 9, 1)) * rng.random()
            number = make_id(rng, "210102", birth, rng.random() < 0.5, taken)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            students.append(Student(
                xjh=xjh_from_id(number), school=school, scope_path=school.path, status="graduated", name=name,
                gender="1" if int(number[-2]) % 2 else "2", birth_date=birth, id_type="1", id_number=number, grade=9,
                class_name=f"{i % 12 + 1}班", enroll_month="2018-09",
            ))
        db.session.add_all(students)
        db.session.flush()
        for i, s in enumerate(students):
            completed = i % 20 == 7
            db.session.add(GraduationRecord(
                student_id=s.id, school_id=school.id, scope_path=school.path, year=YEAR, grade=9,
                assessment=FAILED if completed else PASSED, outcome=COMPLETED if completed else GRADUATED,
            ))
        db.session.commit()
        print(f"[certificates-bench] {args.pupils} pupils on the roster of {school.name} {YEAR} (SQLite, {workdir})", flush=True)

        t0 = time.perf_counter()
        issued = batch.issue_class(school, YEAR, registrar)
        db.session.commit()
        t_issue = time.perf_counter() - t0
        print(f"[certificates-bench] issued {len(issued)} certificates in {t_issue:.2f} s "
              f"({issued[0].number} … {issued[-1].number})", flush=True)

        certs = batch.class_certificates(school, YEAR)
        marks: list[tuple[int, float]] = []
        t0 = time.perf_counter()
        data = batch.render_class(certs, "https://xueji.example.cn",
                                         progress=lambda n: marks.append((n, time.perf_counter() - t0)))
        t_pdf = time.perf_counter() - t0
        pages = len(PdfReader(io.BytesIO(data)).pages)
        for n, at in marks[:: max(1, len(marks) // 5)]:
            print(f"[certificates-bench]   {n:4d} pages after {at:5.1f} s", flush=True)
        if args.pdf:
            args.pdf.write_bytes(data)
        verdict = "OK" if t_pdf < TARGET_S and pages == len(certs) else "TOO SLOW" if pages == len(certs) else "WRONG PAGE COUNT"
        print(f"[certificates-bench] PDF of {pages} pages ({len(data) / 1e6:.1f} MB) in {t_pdf:.1f} s "
              f"= {1000 * t_pdf / max(pages, 1):.0f} ms per certificate; target < {TARGET_S:.0f} s: {verdict}", flush=True)
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
