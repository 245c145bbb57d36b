"""Creating and editing a student's basic data: validation, 学籍号, scope, history.

Views populate a Student from a form and call `save_student`; it refuses with
RuleViolation (field, message) and the caller rolls back, so nothing is written.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.student import CORE_FIELDS, PENDING, RESIDENT_ID, Guardian, Student
from services import audit, classes, codes, dedup, grades, national_fields, scope
from services.classes import class_name_problem
from services.clock import today
from services.errors import NotInScope, RuleViolation
from services.ids import (
    IdNumberError,
    check_against_record,
    check_guardian_id,
    division_name,
    parse_resident_id,
    temporary_xjh,
    xjh_from_id,
)
from services.labels import history_label

if TYPE_CHECKING:
    from models.people import User

MAX_GUARDIANS = 2
# The grades of each kind of school live in services/grades.py (read by services/classes too);
# named here as well for the modules that import them from the pupils' record rules.
GRADES_BY_KIND, grades_taught = grades.GRADES_BY_KIND, grades.grades_taught


def graduating_grade(school: OrgUnit | None) -> int:
    """6 in a primary school, 9 in junior, nine-year, special and work-study schools."""
    return max(grades_taught(school))


# Chinese names (rare characters too: 𠮷 lies in CJK Extension B, beyond U+FFFF), Latin names of
# foreign pupils, and the middle dot of minority names.
NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·•． .\-]{1,50}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{5,20}$")
OTHER_ID_RE = re.compile(r"^[A-Za-z0-9()\-]{4,30}$")
ENROLL_MONTH_RE = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
CODED_FIELDS = {
    "gender": "gender",
    "ethnicity": "ethnicity",
    "nationality": "nationality",
    "id_type": "id_type",
    "overseas": "overseas",
    "health": "health",
    "hukou_type": "hukou_type",
    "enroll_mode": "enroll_mode",
    "attendance_mode": "attendance_mode",
    "left_behind": "left_behind",
    "disability": "disability",
}
MAX_LENGTHS = {
    "name": 50, "former_name": 50, "native_place": 50,
    "current_address": 200, "home_address": 200, "phone": 20,
}


def _check_name(value: str | None, field: str, problems: list[tuple[str, str]]) -> None:
    if not value or not value.strip():
        problems.append((field, str(_l("This field is required."))))
    elif not NAME_RE.match(value.strip()):
        problems.append((field, str(_l("A name may contain only Chinese characters, letters, spaces and the middle dot ·."))))


def validate(
    student: Student, school: OrgUnit | None, actor: User | None = None, *, ids_checked: bool = False,
) -> list[tuple[str, str]]:
    """Every rule on a student's basic data; an empty list means the record may be saved.

    `ids_checked`: the caller has already looked up this ID number against the database in one
    set-based query (an import), so the per-record 一人一籍 query is skipped."""
    problems: list[tuple[str, str]] = []
    _check_name(student.name, "name", problems)
    if student.former_name:
        _check_name(student.former_name, "former_name", problems)
    for field, limit in MAX_LENGTHS.items():
        value = getattr(student, field)
        if value and len(value) > limit:
            problems.append((field, str(_l("At most %(n)d characters.", n=limit))))
    for field, table in CODED_FIELDS.items():
        value = getattr(student, field)
        if value in (None, "") and field in ("hukou_type", "enroll_mode", "attendance_mode"):
            continue
        if not codes.is_known(table, value):
            problems.append((field, str(_l("Unknown code %(code)s.", code=value))))
    for field in ("birthplace", "hukou_location"):
        value = getattr(student, field)
        if value and division_name(value) is None:
            problems.append((field, str(_l("Unknown administrative division code %(code)s.", code=value))))
    if (class_problem := class_name_problem(student.class_name)) is not None:
        problems.append(("class_name", class_problem))
    if student.phone and not PHONE_RE.match(student.phone):
        problems.append(("phone", str(_l("A phone number has 5–20 digits."))))
    if student.enroll_month and not ENROLL_MONTH_RE.match(student.enroll_month):
        problems.append(("enroll_month", str(_l("Write the enrollment month as YYYY-MM."))))

    if not isinstance(student.birth_date, date):
        problems.append(("birth_date", str(_l("This field is required."))))
    else:
        age = (today() - student.birth_date).days / 365.25
        if age < 3 or age > 25:
            problems.append(("birth_date", str(_l("The birth date is not plausible for a pupil of compulsory education."))))

    if school is None or school.level != SCHOOL:
        problems.append(("school", str(_l("Choose a school."))))
    elif student.grade not in GRADES_BY_KIND.get(school.school_kind or "", range(1, 10)):
        problems.append(("grade", str(_l("This school does not teach grade %(g)s.", g=student.grade))))

    problems.extend(_check_id(student, actor, ids_checked))
    problems.extend(_check_guardians(student.guardians))
    problems.extend(national_fields.problems(student))
    return problems


def _check_id(student: Student, actor: User | None = None, ids_checked: bool = False) -> list[tuple[str, str]]:
    number = (student.id_number or "").strip().upper() or None
    student.id_number = number
    if student.id_type == RESIDENT_ID:
        if not number:
            return [("id_number", str(_l("A resident ID number is required for this ID type.")))]
        try:
            rid = parse_resident_id(number)
        except IdNumberError as exc:
            return [("id_number", str(exc))]
        problems = check_against_record(rid, student.birth_date if isinstance(student.birth_date, date) else None, student.gender)
    else:
        problems = []
        if number and not OTHER_ID_RE.match(number):
            problems.append(("id_number", str(_l("An ID number may contain only letters, digits, brackets and hyphens."))))
    if number and not problems and not ids_checked:
        holder = dedup.hard_duplicate(number, student.id)
        if holder is not None:
            problems.append(("id_number", dedup.duplicate_message(holder, actor)))
    return problems


def _check_guardians(guardians: list[Guardian]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if len(guardians) > MAX_GUARDIANS:
        problems.append(("guardians", str(_l("At most two guardians."))))
    for g in guardians:
        _check_name(g.name, "guardians", problems)
        if not codes.is_known("guardian_relation", g.relation):
            problems.append(("guardians", str(_l("Unknown code %(code)s.", code=g.relation))))
        if g.phone and not PHONE_RE.match(g.phone):
            problems.append(("guardians", str(_l("A phone number has 5–20 digits."))))
        if g.workplace and len(g.workplace) > 100:
            problems.append(("guardians", str(_l("At most %(n)d characters.", n=100))))
        if g.id_number and g.id_type == RESIDENT_ID:
            g.id_number = g.id_number.strip().upper()
            if _kept_as_stored(g):
                continue  # a stored number that fails the rule is shown with a warning, never blocks a save
            try:
                check_guardian_id(g.id_number)
            except IdNumberError as exc:
                problems.append(("guardians", f"{g.name}: {exc}"))
    return problems


def _kept_as_stored(guardian: Guardian) -> bool:
    """The guardian's ID type and number are the ones already saved (not newly typed)."""
    if guardian.id is None:
        return False
    stored_number = scope.stored_value(guardian, "id_number")
    return (
        scope.stored_value(guardian, "id_type") == guardian.id_type
        and (str(stored_number or "")).strip().upper() == guardian.id_number
    )


def guardian_id_warning(guardian: Guardian) -> str | None:
    """Why a guardian's recorded resident ID number fails the rule, for a warning beside it; None when fine."""
    if not guardian.id_number or guardian.id_type != RESIDENT_ID:
        return None
    try:
        check_guardian_id(guardian.id_number)
    except IdNumberError as exc:
        return str(exc)
    return None


def _locked_core_changes(student: Student) -> list[tuple[str, str]]:
    """第十一条: once a record is approved, its core data changes only through a correction request.

    Recording an ID number for a pupil who had none (the temporary J number becomes G) is not
    a correction and stays a direct edit.
    """
    if scope.stored_value(student, "status") == PENDING:
        return []
    problems = []
    for field in CORE_FIELDS:
        old = scope.stored_value(student, field)
        if old == getattr(student, field):
            continue
        if field in ("id_type", "id_number") and not scope.stored_value(student, "id_number"):
            continue
        problems.append((field, str(_l("Core data of an approved record is changed through a correction request (第十一条)."))))
    return problems


def _locked_placement_changes(student: Student) -> list[tuple[str, str]]:
    """The grade and class of a record, once approved, are not edited as data: the grade changes
    only through promotion, retention or an approved change (第十八条 keeps the last term before
    a suspension), the class through 调班 (services/classes.py), each leaving its own trace."""
    if scope.stored_value(student, "status") == PENDING:
        return []  # still being created: the school corrects what the authority sent back
    problems = []
    if scope.stored_value(student, "grade") != student.grade:
        problems.append(("grade", str(_l("The grade changes only through promotion, retention or an approved change."))))
    if (scope.stored_value(student, "class_name") or None) != (student.class_name or None):
        problems.append(("class_name", str(_l("The class is changed with 调班 on the pupil's page."))))
    return problems


def assign_xjh(student: Student) -> None:
    """G + ID for resident-ID holders; otherwise a unique temporary J number (needs student.id)."""
    if student.id_type == RESIDENT_ID and student.id_number:
        student.xjh = xjh_from_id(student.id_number)
    elif not student.xjh or not student.xjh.startswith("J"):
        student.xjh = temporary_xjh(student.birth_date, student.id)


def save_student(student: Student, actor: User, school: OrgUnit | None, reason: str | None = None) -> Student:
    """Validate and stage a new or edited student with its history and audit rows.

    The actor's scope is checked here, not trusted from the view: the school must lie in
    the actor's subtree, and so must the record's previous school when editing.
    """
    if student.id is None:
        stage_new(student, actor, school, reason)
        finish_new([student], actor, reason)
        return student
    with db.session.no_autoflush, audit.acting(actor, reason):
        return _save_existing(student, actor, school)


def stage_new(student: Student, actor: User, school: OrgUnit | None, reason: str | None = None,
              *, ids_checked: bool = False) -> Student:
    """Check a new record and add it, with its creation history row, to the session; the caller
    then calls `finish_new` for one or many staged records (an import stages 500 at a time)."""
    with db.session.no_autoflush, audit.acting(actor, reason):
        _check_scope(actor, school)
        problems = validate(student, school, actor, ids_checked=ids_checked)
        if problems:
            raise RuleViolation(problems)
        _place(student, school)  # type: ignore[arg-type]
        db.session.add(student)
        if student.status != PENDING:  # a waiting record gets its 学籍号 on approval (changes/enrollment.py)
            db.session.flush()  # the id makes the temporary 学籍号 unique
            assign_xjh(student)
        audit.write_creation(student, actor, reason or str(_l("Record created")))
    return student


def finish_new(students: list[Student], actor: User, reason: str | None = None) -> None:
    """Write the staged new records in one flush, then 查重 (第七条) and the audit rows."""
    with db.session.no_autoflush, audit.acting(actor, reason):
        db.session.flush()
        dedup.flag_problems_many(students, actor)  # soft duplicates go to the 问题学籍 queue
        for student in students:
            audit.record(actor, "student.create", "student", student.id, "新建学籍")


def _check_scope(actor: User, school: OrgUnit | None) -> None:
    if school is not None and not scope.covers(actor, school.path):
        raise NotInScope()


def _place(student: Student, school: OrgUnit) -> None:
    student.school = school
    student.school_id = school.id  # the column too, so history sees a move
    student.scope_path = school.path
    for g in student.guardians:
        g.name = g.name.strip()
    student.name = student.name.strip()
    if student.id is None or student.status == PENDING:  # the class typed in while the record is created
        classes.link_named(student)


def _save_existing(student: Student, actor: User, school: OrgUnit | None) -> Student:
    if not scope.covers(actor, scope.stored_value(student, "scope_path")):  # type: ignore[arg-type]
        raise NotInScope()
    _check_scope(actor, school)
    problems = validate(student, school, actor) + _locked_core_changes(student) + _locked_placement_changes(student)
    if problems:
        raise RuleViolation(problems)
    _place(student, school)  # type: ignore[arg-type]
    if student.status != PENDING:
        assign_xjh(student)
    changed = "、".join(history_label(f) for f, _, _ in audit.pending_changes(student))
    db.session.flush()  # audit._history_on_flush writes the field-by-field history
    dedup.flag_problems(student, actor)  # 查重 (第七条): soft duplicates go to the 问题学籍 queue
    audit.record(actor, "student.update", "student", student.id, changed)
    return student


def find_own_pupils(actor: User, term: str, limit: int = 20) -> list[Student]:
    """Pupils of the actor's own school found the way registrars look for them: the full 学籍号,
    the ID number or the exact name."""
    term = (term or "").strip()[:50]
    if not term:
        return []
    key = term.upper()
    return list(db.session.scalars(
        select(Student).where(Student.school_id == actor.unit_id,
                              (Student.xjh == key) | (Student.id_number == key) | (Student.name == term))
        .order_by(Student.name, Student.id).limit(limit)
    ))
