"""查重 and 问题学籍 (第七条): one person, one record.

- Hard duplicate: the same ID number anywhere in the province. Refused at entry and at import;
  the message names the school that holds it only to officials (`duplicate_message`).
- Soft duplicates — same name + gender + birth date, or the same guardian (ID number and name)
  with the same pupil name — and invalid ID numbers (legacy data) become `ProblemRecord`s in a
  queue of the school and its authority. Brothers and sisters share guardians but not names,
  so they are not flagged.
- An open problem blocks every new change request of the pupil (services/workflows.py).
- Resolutions, as in the national system: evidence (佐证), corrected data (变更), cancellation
  of the record (删除: status 注销, never a row deletion).
- `scan_province` rescans the whole province set-based: one INSERT … SELECT per kind.

A pair is flagged once, on the record entered later (the higher id; on entry, the record just
saved) with `other_student_id` naming the older one. It is not flagged again while a problem
about it is open, nor after evidence settled it (twins stay twins at the next term's check).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, and_, case, cast, exists, func, insert, literal, or_, select, text, tuple_, update
from sqlalchemy.orm import Session

from extensions import db
from models.changes import OPEN_STATUSES, ChangeRequest
from models.problems import (
    CANCELLED,
    CORRECTED,
    EVIDENCE,
    INVALID_ID,
    OPEN,
    RESOLVED,
    SOFT_GUARDIAN,
    SOFT_NAME_BIRTH,
    ProblemRecord,
)
from models.student import RESIDENT_ID, Guardian, Student
from services import audit, clock, scope, uploads
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from models.people import User

# Records that no longer count as someone's record: 注销, 转出 (out of the province), 死亡.
INACTIVE_STATUSES = ("cancelled", "transferred_out", "deceased")

KIND_LABELS = {
    SOFT_NAME_BIRTH: _l("Same name, gender and birth date"),
    SOFT_GUARDIAN: _l("Same guardian and same name"),
    INVALID_ID: _l("Invalid ID number"),
}
RESOLUTION_LABELS = {
    EVIDENCE: _l("Evidence submitted (佐证)"),
    CORRECTED: _l("Data corrected (变更)"),
    CANCELLED: _l("Record cancelled (注销)"),
}
STATUS_LABELS = {OPEN: _l("Open"), RESOLVED: _l("Resolved")}
# Why an ID number is invalid: the `detail` of an invalid_id problem.
INVALID_REASONS = {
    "missing": _l("A resident ID number is required for this ID type."),
    "length": _l("The ID number must have 18 characters."),
    "characters": _l("The ID number may contain only digits and a final X."),
    "check_digit": _l("The ID number's check digit is wrong."),
    "birth_date": _l("The ID number does not contain a real birth date."),
    "division": _l("The ID number's division code is unknown."),
    "birth_mismatch": _l("The birth date differs from the one in the ID number."),
    "gender_mismatch": _l("The gender does not match the ID number."),
}

ID_PATTERN = "^[0-9]{17}[0-9X]$"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11


def active(column: Any = Student.status) -> Any:
    return column.not_in(INACTIVE_STATUSES)


def detail_text(problem: ProblemRecord) -> str:
    """The problem's detail for a reader: a reason for an invalid ID, else as stored."""
    if problem.kind == INVALID_ID and problem.detail in INVALID_REASONS:
        return str(INVALID_REASONS[problem.detail])
    return problem.detail or ""


# --- hard duplicates ------------------------------------------------------------------


def hard_duplicate(id_number: str | None, exclude_student_id: int | None = None) -> Student | None:
    """The record that already holds this ID number anywhere in the province (any status)."""
    number = (id_number or "").strip().upper()
    if not number:
        return None
    query = select(Student).where(Student.id_number == number)
    if exclude_student_id is not None:
        query = query.where(Student.id != exclude_student_id)
    return db.session.scalars(query.limit(1)).first()


def duplicate_message(holder: Student, actor: User | None) -> str:
    """一人一籍: officials learn which school holds the record, schools only that one exists."""
    if actor is not None and (actor.is_official or actor.is_admin):
        return str(_l("This ID number already belongs to a student record of %(school)s (一人一籍).", school=holder.school.name))
    return str(_l("This ID number already belongs to another student record (一人一籍)."))


# --- invalid ID numbers ------------------------------------------------------------------


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def _division_ok(prefix10: str) -> bool:
    """Division code (6 digits) known for the birth year (4 digits), as services.ids checks it."""
    from stdnum.cn import ric

    from services.ids import make_check_digit

    if len(prefix10) != 10 or not prefix10.isdigit():
        return False
    body = prefix10 + "0101001"
    try:
        ric.get_birth_place(body + make_check_digit(body))
    except Exception:  # stdnum raises ValidationError, or KeyError for a province-only code
        return False
    return True


def invalid_id_reason(id_type: str | None, number: str | None, birth_date: date | None, gender: str | None) -> str | None:
    """Why a record's resident ID number is invalid (a key of INVALID_REASONS), None when it is fine.

    The same tests as services.ids.parse_resident_id and check_against_record, in the same
    order, on the number as stored; `scan_province` asks the same questions in SQL."""
    if id_type != RESIDENT_ID:
        return None
    if not number:
        return "missing"
    if len(number) != 18:
        return "length"
    if not re.fullmatch(ID_PATTERN, number):
        return "characters"
    if CHECK_CHARS[sum(int(d) * w for d, w in zip(number[:17], WEIGHTS, strict=True)) % 11] != number[17]:
        return "check_digit"
    if not _real_date(number[6:14]):
        return "birth_date"
    if not _division_ok(number[:10]):
        return "division"
    if birth_date is not None and number[6:14] != f"{birth_date:%Y%m%d}":
        return "birth_mismatch"
    if gender and ("1" if int(number[16]) % 2 == 1 else "2") != gender:
        return "gender_mismatch"
    return None


# --- flagging one record ------------------------------------------------------------------


def _settled_or_open(status: Any, resolution: Any) -> Any:
    """A pair (or record) is not flagged again while a problem about it is open, nor after
    evidence showed that the records are right (twins stay twins at the next scan)."""
    return or_(status == OPEN, resolution == EVIDENCE)


Collision = tuple[str, int | None, str | None]  # (kind, other student id, detail)
CHUNK = 1000  # values per IN list


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for k in range(0, len(values), CHUNK):
        yield values[k:k + CHUNK]


def collisions(student: Student) -> list[Collision]:
    """(kind, other student id, detail) for every problem this record has now."""
    return collisions_many([student])[student.id]


def collisions_many(students: list[Student]) -> dict[int, list[Collision]]:
    """`collisions` of many saved records with one query per kind (an import checks 500 at once).

    Within the given records a pair belongs to the later one, as if they had been saved one by
    one: the record entered second is the one that collides with the first."""
    found: dict[int, list[Collision]] = {s.id: [] for s in students}
    live = [s for s in students if s.status not in INACTIVE_STATUSES]
    given = {s.id for s in live}

    def counted(student: Student, other: int) -> bool:
        return other != student.id and not (other in given and other > student.id)

    same_person: dict[tuple[Any, ...], list[int]] = {}
    person = tuple_(Student.name, Student.gender, Student.birth_date)
    for keys in _chunks(sorted({(s.name, s.gender, s.birth_date) for s in live}, key=str)):
        for oid, name, gender, birth in db.session.execute(
            select(Student.id, Student.name, Student.gender, Student.birth_date)
            .where(person.in_(keys), active()).order_by(Student.id)
        ):
            same_person.setdefault((name, gender, birth), []).append(oid)
    shared: dict[tuple[Any, ...], list[int]] = {}
    numbers = sorted({g.id_number for s in live for g in s.guardians if g.id_number and g.name})
    for chunk in _chunks(numbers):
        for oid, number, gname, sname in db.session.execute(
            select(Guardian.student_id, Guardian.id_number, Guardian.name, Student.name)
            .join(Student, Student.id == Guardian.student_id)
            .where(Guardian.id_number.in_(chunk), active()).order_by(Guardian.student_id)
        ):
            shared.setdefault((number, gname, sname), []).append(oid)

    for student in live:
        out = found[student.id]
        key = (student.name, student.gender, student.birth_date)
        out += [(SOFT_NAME_BIRTH, oid, None) for oid in same_person.get(key, ()) if counted(student, oid)]
        seen: set[int] = set()
        for g in student.guardians:
            if not g.id_number or not g.name:
                continue
            for oid in shared.get((g.id_number, g.name, student.name), ()):
                if counted(student, oid) and oid not in seen:
                    seen.add(oid)
                    out.append((SOFT_GUARDIAN, oid, g.name))
        reason = invalid_id_reason(student.id_type, student.id_number, student.birth_date, student.gender)
        if reason:
            out.append((INVALID_ID, None, reason))
    return found


def _known(student_ids: list[int]) -> set[tuple[str, frozenset[int | None]]]:
    """(kind, {student, other}) of every open or evidence-settled problem that involves these records."""
    known: set[tuple[str, frozenset[int | None]]] = set()
    for chunk in _chunks(sorted(student_ids)):
        rows = db.session.execute(
            select(ProblemRecord.kind, ProblemRecord.student_id, ProblemRecord.other_student_id).where(
                _settled_or_open(ProblemRecord.status, ProblemRecord.resolution),
                or_(ProblemRecord.student_id.in_(chunk), ProblemRecord.other_student_id.in_(chunk)),
            )
        )
        known.update((kind, frozenset((sid, oid))) for kind, sid, oid in rows)
    return known


def flag_problems(student: Student, actor: User | None) -> list[ProblemRecord]:
    """Put this record's soft duplicates and invalid ID into the queue (not twice); after a save."""
    return flag_problems_many([student], actor)


def flag_problems_many(students: list[Student], actor: User | None) -> list[ProblemRecord]:
    """`flag_problems` for many saved records: a few queries and one flush for all of them."""
    found = collisions_many(students)
    known = _known([s.id for s in students])
    created: list[ProblemRecord] = []
    for student in students:
        mine: list[ProblemRecord] = []
        for kind, other_id, detail in found[student.id]:
            key = (kind, frozenset((student.id, other_id)))
            if key in known:
                continue
            known.add(key)
            mine.append(ProblemRecord(
                student_id=student.id, kind=kind, other_student_id=other_id, detail=detail, status=OPEN,
                scope_path=student.scope_path, created_at=clock.now(),
            ))
        db.session.add_all(mine)
        created += mine
    if created:
        db.session.flush()
        for student in students:
            mine = [p for p in created if p.student_id == student.id]
            if mine:
                audit.record(actor, "problem.flag", "student", student.id, ", ".join(f"#{p.id} {p.kind}" for p in mine))
    return created


def open_problem(student_id: int | None) -> ProblemRecord | None:
    """The pupil's oldest open problem record, if any (it blocks new change requests)."""
    if student_id is None:
        return None
    return db.session.scalars(
        select(ProblemRecord).where(ProblemRecord.student_id == student_id, ProblemRecord.status == OPEN)
        .order_by(ProblemRecord.id).limit(1)
    ).first()


# --- visibility and resolution ----------------------------------------------------------------


def visible_filter(actor: User) -> Any:
    return scope.filter_for(actor, ProblemRecord.scope_path)


def get_visible(actor: User, problem_id: int) -> ProblemRecord:
    return scope.load_scoped(actor, ProblemRecord, problem_id)


def may_resolve(actor: User, problem: ProblemRecord) -> bool:
    """Staff of the pupil's school, or an official (or administrator) whose subtree holds it."""
    student = problem.student
    if not scope.covers(actor, student.scope_path):
        return False
    if actor.unit_id == student.school_id and actor.is_school_user:
        return True
    return actor.is_official or actor.is_admin


def _check_resolvable(problem: ProblemRecord, actor: User) -> None:
    if not scope.covers(actor, problem.student.scope_path):
        raise NotInScope()
    if not may_resolve(actor, problem):
        raise RuleViolation(str(_l("Only staff of the pupil's school or its education authority can resolve a problem record.")))
    if problem.status != OPEN:
        raise RuleViolation(str(_l("This problem record has already been resolved.")))


def _close(problem: ProblemRecord, actor: User, resolution: str, note: str | None, **values: Any) -> None:
    """Resolve with a conditional UPDATE: of two users at once, only one finds the problem open."""
    result = db.session.execute(
        update(ProblemRecord)
        .where(ProblemRecord.id == problem.id, ProblemRecord.status == OPEN)
        .values(status=RESOLVED, resolution=resolution, resolution_note=note, resolved_by_id=actor.id,
                resolved_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RuleViolation(str(_l("This problem record has already been resolved.")))
    db.session.refresh(problem)
    audit.record(actor, f"problem.resolve.{resolution}", "problem_record", problem.id,
                 f"student={problem.student_id} {values.get('evidence_filename') or ''} {note or ''}".strip())


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > 500:
        raise RuleViolation([("note", str(_l("At most %(n)d characters.", n=500)))])
    return text or None


def resolve_with_evidence(problem: ProblemRecord, actor: User, file: FileStorage | None, note: str | None) -> ProblemRecord:
    """佐证: the records are right as they are (e.g. twins); a photo or scan proves it."""
    _check_resolvable(problem, actor)
    note = _note(note)
    if file is None or not file.filename:
        raise RuleViolation([("file", str(_l("Choose the evidence file (JPG, PNG or PDF).")))])
    name = uploads.clean_filename(file.filename)
    data, content_type = uploads.read_checked(file.stream, name)  # refused before anything is stored
    _close(problem, actor, EVIDENCE, note, evidence_filename=name, evidence_content_type=content_type,
           evidence_size=len(data), evidence_sha256=uploads.store(data))
    return problem


def still_collides(problem: ProblemRecord) -> bool:
    """Whether the collision that made the problem still holds, on the data as it is now."""
    student, other = problem.student, problem.other_student
    if problem.kind == INVALID_ID:
        return invalid_id_reason(student.id_type, student.id_number, student.birth_date, student.gender) is not None
    if student.status in INACTIVE_STATUSES or other is None or other.status in INACTIVE_STATUSES:
        return False
    if problem.kind == SOFT_NAME_BIRTH:
        return (student.name, student.gender, student.birth_date) == (other.name, other.gender, other.birth_date)
    mine = {(g.id_number, g.name) for g in student.guardians if g.id_number}
    theirs = {(g.id_number, g.name) for g in other.guardians if g.id_number}
    return student.name == other.name and bool(mine & theirs)


def resolve_by_correction(problem: ProblemRecord, actor: User, note: str | None) -> ProblemRecord:
    """变更: the school has corrected the data; valid only once the collision no longer holds."""
    _check_resolvable(problem, actor)
    note = _note(note)
    db.session.refresh(problem.student)  # judge the data as stored, not a half-edited object
    if problem.other_student is not None:
        db.session.refresh(problem.other_student)
    if still_collides(problem):
        raise RuleViolation(str(_l("The records still collide: correct the data first (变更), then mark the problem corrected.")))
    _close(problem, actor, CORRECTED, note)
    return problem


def resolve_by_cancellation(problem: ProblemRecord, actor: User, note: str | None) -> ProblemRecord:
    """删除: the record is fake or a second record of the same pupil; it ends by status 注销 (never deleted)."""
    _check_resolvable(problem, actor)
    note = _note(note)
    if not note:
        raise RuleViolation([("note", str(_l("Say why the record is cancelled.")))])
    student = problem.student
    busy = db.session.scalar(
        select(ChangeRequest.id).where(ChangeRequest.student_id == student.id, ChangeRequest.status.in_(OPEN_STATUSES))
    )
    if busy is not None:
        message = _l("The pupil has an open request (#%(id)s); finish or withdraw it before cancelling the record.", id=busy)
        raise RuleViolation(str(message))
    _close(problem, actor, CANCELLED, note)
    with audit.acting(actor, reason=note):
        student.status = "cancelled"
        db.session.flush()  # audit._history_on_flush writes the status change with the actor and the reason
    # The record no longer exists for 查重: its other open problems end with it.
    db.session.execute(
        update(ProblemRecord)
        .where(ProblemRecord.student_id == student.id, ProblemRecord.status == OPEN)
        .values(status=RESOLVED, resolution=CANCELLED, resolution_note=note, resolved_by_id=actor.id, resolved_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "student.cancel", "student", student.id, f"problem #{problem.id}: {note}")
    return problem


# --- the province-wide scan -------------------------------------------------------------------


def _yyyymmdd(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(column, "YYYYMMDD")
    return func.strftime("%Y%m%d", column)


def _not_flagged(kind: str, student_id: Any, other_id: Any | None) -> Any:
    """No open (or evidence-settled) problem of this kind for the pair, either way round, or for the record."""
    p, q = ProblemRecord.__table__.alias("p"), ProblemRecord.__table__.alias("q")
    if other_id is None:
        return ~exists().where(_settled_or_open(p.c.status, p.c.resolution), p.c.kind == kind,
                               p.c.student_id == student_id, p.c.other_student_id.is_(None))
    return and_(
        ~exists().where(_settled_or_open(p.c.status, p.c.resolution), p.c.kind == kind,
                        p.c.student_id == student_id, p.c.other_student_id == other_id),
        ~exists().where(_settled_or_open(q.c.status, q.c.resolution), q.c.kind == kind,
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
    )
    dates: set[str] = set()
    places: set[str] = set()
    for p in prefixes:
        if p and p.isdigit():
            dates.add(p[6:14])
            places.add(p[:10])
    return sorted(d for d in dates if not _real_date(d)), sorted(p for p in places if not _division_ok(p))


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


def scan_province(session: Session | None = None, timings: dict[str, float] | None = None) -> dict[str, int]:
    """查重 over the whole province: set-based, one INSERT … SELECT per kind; idempotent
    (open problems, and pairs settled by evidence, are not flagged again). The caller commits.
    Returns the new problems per kind and how many open ones followed their pupil's school;
    `timings`, when given, receives the seconds of each phase."""
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
    return counts
