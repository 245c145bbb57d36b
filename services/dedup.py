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
- `scan_province` (services/dedup_scan.py) rescans the whole province set-based: one INSERT … SELECT per kind.
- Resolution (services/problems.py): who may resolve, and the three ways.

A pair is flagged once, on the record entered later (the higher id; on entry, the record just
saved) with `other_student_id` naming the older one. It is not flagged again while a problem
about it is open, nor after evidence settled it (twins stay twins at the next term's check).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, tuple_

from extensions import db
from models.problems import CANCELLED, CORRECTED, EVIDENCE, INVALID_ID, OPEN, RESOLVED, SOFT_GUARDIAN, SOFT_NAME_BIRTH, ProblemRecord
from models.student import RESIDENT_ID, Guardian, Student
from services import audit, clock
from services.labels import zh

if TYPE_CHECKING:

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
    if actor is not None and actor.is_official:
        return str(_l("This ID number already belongs to a student record of %(school)s (一人一籍).", school=holder.school.name))
    return str(_l("This ID number already belongs to another student record (一人一籍)."))


# --- invalid ID numbers ------------------------------------------------------------------


def real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def division_ok(prefix10: str) -> bool:
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
    if not real_date(number[6:14]):
        return "birth_date"
    if not division_ok(number[:10]):
        return "division"
    if birth_date is not None and number[6:14] != f"{birth_date:%Y%m%d}":
        return "birth_mismatch"
    if gender and ("1" if int(number[16]) % 2 == 1 else "2") != gender:
        return "gender_mismatch"
    return None


# --- flagging one record ------------------------------------------------------------------


def settled_or_open(status: Any, resolution: Any) -> Any:
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
                settled_or_open(ProblemRecord.status, ProblemRecord.resolution),
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
                audit.record(actor, "problem.flag", "student", student.id,
                             "、".join(f"问题学籍 #{p.id}（{zh(KIND_LABELS[p.kind])}）" for p in mine))
    return created


def open_problem(student_id: int | None) -> ProblemRecord | None:
    """The pupil's oldest open problem record, if any (it blocks new change requests)."""
    if student_id is None:
        return None
    return db.session.scalars(
        select(ProblemRecord).where(ProblemRecord.student_id == student_id, ProblemRecord.status == OPEN)
        .order_by(ProblemRecord.id).limit(1)
    ).first()
