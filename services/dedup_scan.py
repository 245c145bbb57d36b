"""The province-wide 查重 scan (第七条, each term's data check): set-based, one INSERT … SELECT per
kind of problem, with the same rules as services/dedup.py applies to one record at entry.

No province in memory: the pairs are found and inserted by the database (INSERT … SELECT), so no
pupil row comes to Python; the only rows that do are the distinct ID-number prefixes (division +
birth date, a few hundred thousand for a province), streamed in batches (`yield_per`: a server-side
cursor on PostgreSQL) and reduced to the few thousand distinct dates and divisions.

`rescan_task` is the same scan as a task of the queue (the CLI's `--background`), reporting its
phases through services/job_progress.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session

from extensions import db
from models.org import PROVINCE
from models.problems import INVALID_ID, OPEN, SOFT_GUARDIAN, SOFT_NAME_BIRTH, ProblemRecord
from models.student import RESIDENT_ID, Guardian, Student
from services import audit, clock, job_progress
from services.dedup import CHECK_CHARS, ID_PATTERN, WEIGHTS, active, division_ok, real_date, settled_or_open
from services.errors import NotInScope
from services.queue import task

PROGRESS_KIND, PROGRESS_ID = "dedup_scan", "province"  # one rescan of the province at a time is shown
KIND_NAMES = {SOFT_NAME_BIRTH: "姓名+性别+出生日期相同", SOFT_GUARDIAN: "监护人及学生姓名相同", INVALID_ID: "身份证号无效"}


def _yyyymmdd(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(column, "YYYYMMDD")
    return func.strftime("%Y%m%d", column)


def _not_flagged(kind: str, student_id: Any, other_id: Any | None) -> Any:
    """No open (or evidence-settled) problem of this kind for the pair, either way round, or for the record."""
    p, q = ProblemRecord.__table__.alias("p"), ProblemRecord.__table__.alias("q")
    if other_id is None:
        return ~exists().where(settled_or_open(p.c.status, p.c.resolution), p.c.kind == kind,
                               p.c.student_id == student_id, p.c.other_student_id.is_(None))
    return and_(
        ~exists().where(settled_or_open(p.c.status, p.c.resolution), p.c.kind == kind,
                        p.c.student_id == student_id, p.c.other_student_id == other_id),
        ~exists().where(settled_or_open(q.c.status, q.c.resolution), q.c.kind == kind,
                        q.c.student_id == other_id, q.c.other_student_id == student_id),
    )


INSERT_COLUMNS = ("student_id", "kind", "other_student_id", "detail", "status", "scope_path", "created_at")


def _inserted(session: Session, rows: Any) -> int:
    """INSERT … SELECT the rows; how many (psycopg reports it only with preserve_rowcount)."""
    statement = insert(ProblemRecord.__table__).from_select(INSERT_COLUMNS, rows)
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def _scan_name_birth(session: Session, stamp: Any) -> int:
    s = Student.__table__
    a, b = s.alias("a"), s.alias("b")
    # Groups first (an index-only pass over ix_student_soft_dup), then the pairs inside them.
    groups = (
        select(s.c.name, s.c.gender, s.c.birth_date)
        .group_by(s.c.name, s.c.gender, s.c.birth_date)
        .having(func.count() > 1)
        .subquery("g")
    )
    pairs = (
        select(b.c.id, literal(SOFT_NAME_BIRTH), a.c.id, literal(None, String), literal(OPEN), b.c.scope_path, literal(stamp))
        .select_from(groups)
        .join(a, and_(a.c.name == groups.c.name, a.c.gender == groups.c.gender, a.c.birth_date == groups.c.birth_date))
        .join(b, and_(b.c.name == a.c.name, b.c.gender == a.c.gender, b.c.birth_date == a.c.birth_date, b.c.id > a.c.id))
        .where(active(a.c.status), active(b.c.status), _not_flagged(SOFT_NAME_BIRTH, b.c.id, a.c.id))
    )
    return _inserted(session, pairs)


def _scan_guardian(session: Session, stamp: Any) -> int:
    s, g = Student.__table__, Guardian.__table__
    a, b, ga, gb = s.alias("a"), s.alias("b"), g.alias("ga"), g.alias("gb")
    shared = (
        select(g.c.id_number, g.c.name)
        .where(g.c.id_number.is_not(None), g.c.id_number != "")
        .group_by(g.c.id_number, g.c.name)
        .having(func.count() > 1)
        .subquery("shared")
    )
    pairs = (
        select(b.c.id, literal(SOFT_GUARDIAN), a.c.id, func.min(ga.c.name), literal(OPEN), b.c.scope_path, literal(stamp))
        .select_from(shared)
        .join(ga, and_(ga.c.id_number == shared.c.id_number, ga.c.name == shared.c.name))
        .join(gb, and_(gb.c.id_number == ga.c.id_number, gb.c.name == ga.c.name, gb.c.student_id > ga.c.student_id))
        .join(a, a.c.id == ga.c.student_id)
        .join(b, and_(b.c.id == gb.c.student_id, b.c.name == a.c.name))
        .where(active(a.c.status), active(b.c.status), _not_flagged(SOFT_GUARDIAN, b.c.id, a.c.id))
        .group_by(b.c.id, a.c.id, b.c.scope_path)
    )
    return _inserted(session, pairs)


def _bad_prefixes(session: Session, resident: Any) -> tuple[list[str], list[str]]:
    """Birth dates (8 digits) that are no real date, and division + year prefixes (10 digits)
    unknown for that year: decided in Python over the distinct division + birth date prefixes
    (a few hundred thousand for a province) that one SQL pass returns."""
    s = Student.__table__
    prefixes = session.scalars(
        select(func.substr(s.c.id_number, 1, 14)).where(resident, func.length(s.c.id_number) == 18).distinct()
        .execution_options(yield_per=10_000)  # streamed: never the whole list at once
    )
    dates: set[str] = set()
    places: set[str] = set()
    for p in prefixes:
        if p and p.isdigit():
            dates.add(p[6:14])
            places.add(p[:10])
    return sorted(d for d in dates if not real_date(d)), sorted(p for p in places if not division_ok(p))


def invalid_reason_sql(dialect: str, bad_dates: list[str], bad_places: list[str]) -> Any:
    """The SQL twin of `invalid_id_reason` (CASE keeps the order, so casts only meet digits)."""
    s = Student.__table__
    n = s.c.id_number
    total = sum((cast(func.substr(n, i + 1, 1), Integer) * w for i, w in enumerate(WEIGHTS)), literal(0))
    check = func.substr(literal(CHECK_CHARS), (total % 11) + 1, 1)
    male = cast(func.substr(n, 17, 1), Integer) % 2 == 1
    whens: list[tuple[Any, str]] = [
        (or_(n.is_(None), n == ""), "missing"),
        (func.length(n) != 18, "length"),
        (~n.regexp_match(ID_PATTERN), "characters"),
        (check != func.substr(n, 18, 1), "check_digit"),
    ]
    if bad_dates:
        whens.append((func.substr(n, 7, 8).in_(bad_dates), "birth_date"))
    if bad_places:
        whens.append((func.substr(n, 1, 10).in_(bad_places), "division"))
    whens += [
        (func.substr(n, 7, 8) != _yyyymmdd(s.c.birth_date, dialect), "birth_mismatch"),
        (s.c.gender != case((male, "1"), else_="2"), "gender_mismatch"),
    ]
    return case(*whens, else_=None)


def _scan_invalid_ids(session: Session, stamp: Any) -> int:
    s = Student.__table__
    dialect = session.get_bind().dialect.name
    resident = and_(s.c.id_type == RESIDENT_ID, active(s.c.status))
    bad_dates, bad_places = _bad_prefixes(session, resident)
    checked = (
        select(s.c.id.label("id"), s.c.scope_path.label("scope_path"),
               invalid_reason_sql(dialect, bad_dates, bad_places).label("reason"))
        .where(resident)
        .subquery("checked")
    )
    rows = (
        select(checked.c.id, literal(INVALID_ID), literal(None, Integer), checked.c.reason, literal(OPEN),
               checked.c.scope_path, literal(stamp))
        .where(checked.c.reason.is_not(None), _not_flagged(INVALID_ID, checked.c.id, None))
    )
    return _inserted(session, rows)


def _rescope(session: Session) -> int:
    """An open problem follows its pupil's school (a transfer decided before it was flagged)."""
    current = select(Student.scope_path).where(Student.id == ProblemRecord.student_id).scalar_subquery()
    result = session.execute(
        update(ProblemRecord)
        .where(ProblemRecord.status == OPEN, ProblemRecord.scope_path != current)
        .values(scope_path=current)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return result.rowcount


def scan_province(session: Session | None = None, timings: dict[str, float] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """查重 over the whole province: set-based, one INSERT … SELECT per kind; idempotent
    (open problems, and pairs settled by evidence, are not flagged again). The caller commits.
    Returns the new problems per kind and how many open ones followed their pupil's school;
    `timings`, when given, receives the seconds of each phase; `progress(done, total)` is called
    after each phase."""
    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))  # the hash joins and aggregates stay in memory
    stamp = clock.now()
    phases = (
        (SOFT_NAME_BIRTH, lambda: _scan_name_birth(session, stamp)),
        (SOFT_GUARDIAN, lambda: _scan_guardian(session, stamp)),
        (INVALID_ID, lambda: _scan_invalid_ids(session, stamp)),
        ("rescoped", lambda: _rescope(session)),
    )
    counts: dict[str, int] = {}
    for name, run in phases:
        started = time.perf_counter()
        counts[name] = run()
        if timings is not None:
            timings[name] = time.perf_counter() - started
        if progress is not None:
            progress(len(counts), len(phases))
    return counts


def summary(counts: dict[str, int]) -> str:
    text = "；".join(f"{name} {counts.get(kind, 0)} 条" for kind, name in KIND_NAMES.items())
    return f"新增问题学籍：{text}；随学生学校更新范围 {counts.get('rescoped', 0)} 条"


@task()
def rescan_task() -> dict[str, int]:
    """查重 as a queued job: scan, audit, commit. Idempotent like the scan itself (a second run adds nothing)."""
    job_progress.report(PROGRESS_KIND, PROGRESS_ID, "running", 0, 4, force=True)

    def beat(done: int, total: int) -> None:
        job_progress.report(PROGRESS_KIND, PROGRESS_ID, "running", done, total, force=True)

    try:
        counts = scan_province(progress=beat)
        audit.record(None, "dedup.scan", "problem", None, summary(counts))
        db.session.commit()
    except Exception:
        db.session.rollback()
        job_progress.report(PROGRESS_KIND, PROGRESS_ID, "failed", 0, 4, force=True)
        raise
    job_progress.report(PROGRESS_KIND, PROGRESS_ID, "done", 4, 4, force=True)
    return counts


def may_rescan(actor: Any) -> bool:
    """The province-wide 查重 covers every school: only an official of the province starts it."""
    return bool(actor.is_official and actor.unit is not None and actor.unit.level == PROVINCE)


def start_rescan(actor: Any) -> None:
    """Queue the province's rescan for this actor; anyone but a province official: NotInScope (404)."""
    if not may_rescan(actor):
        raise NotInScope()
    rescan_task()

