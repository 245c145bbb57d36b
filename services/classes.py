"""Classes (班级): what a class name may be, the classes a school sets up for each school year with
their head teacher (班主任), and the one place where a pupil's class is set.

A pupil refers to its class by `Student.class_id`; `Student.class_name` keeps the class's name as
the display value that imports, exports, rosters and printed documents have always read. `place`
(and `placement_fields`, for a change type's effect) sets both together, so they never disagree.
A class name typed in for a new pupil is linked to the class of that name when the school has
set it up (`link_named`); until then it stays a name only, and the pupil counts as not assigned.

Moving a pupil between classes is 校内调班, the change type of changes/class_change.py; the summer
promotion carries the classes forward or leaves them to be formed again (services/promotion.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, literal, select, update

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.school_class import SchoolClass
from models.student import Student
from services import audit, clock, scope, year_calendar
from services.errors import NotInScope, RuleViolation
from services.grades import grades_taught

if TYPE_CHECKING:
    from models.people import User

MAX_CLASS_NAME = 20  # the column's length (student.class_name, school_class.name)
MAX_REASON = 200
MAX_HEAD_TEACHER = 50
# "2班", "四年级（2）班", "实验班 A": Chinese, letters, digits, spaces and brackets; never markup.
CLASS_NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9 ()（）\-·.#＃]+$")
# A person's name, as for pupils and guardians (services/students.NAME_RE, which imports this module).
HEAD_TEACHER_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·•． .\-]{1,50}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{5,20}$")
# The statuses in which a pupil sits in a class of the school holding the record.
IN_CLASS = ("enrolled", "suspended")
# Records whose class name belongs to the current school year (the backfill of migration w_classes too).
NAMED_CLASS_STATUSES = ("enrolled", "suspended", "pending")


def class_name_problem(value: str | None) -> str | None:
    """Why a class name is refused, None when it may be recorded (empty: no class yet)."""
    name = (value or "").strip()
    if not name:
        return None
    if len(name) > MAX_CLASS_NAME:
        return str(_l("At most %(n)d characters.", n=MAX_CLASS_NAME))
    if not CLASS_NAME_RE.match(name):
        return str(_l("A class name may contain only Chinese characters, letters, digits, spaces and brackets."))
    return None


# --- the school year -----------------------------------------------------------------------------


def current_school_year(today: date | None = None) -> int:
    """The school year whose classes are worked on now: 2026 for 2026–2027. Once the school year has
    ended (SCHOOL_YEAR_END) the summer prepares the next one, which the promotion's classes belong to."""
    today = today or clock.today()
    return today.year if today > year_calendar.day("SCHOOL_YEAR_END", today.year) else today.year - 1


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


# --- a pupil's class -----------------------------------------------------------------------------


def placement_fields(school_class: SchoolClass | None) -> dict[str, Any]:
    """The pupil's fields for being in `school_class` (None: no class): the id and the shown name."""
    if school_class is None:
        return {"class_id": None, "class_name": None}
    return {"class_id": school_class.id, "class_name": school_class.name}


def place(student: Student, school_class: SchoolClass | None) -> None:
    """Put the pupil into `school_class` (None: no class). The history row (old → new class name)
    is written on flush under the caller's audit.acting; the id is internal (services/audit.UNTRACKED)."""
    for name, value in placement_fields(school_class).items():
        setattr(student, name, value)


def choices_for(student: Student, year: int | None = None) -> list[SchoolClass]:
    """The classes a pupil may be placed in: its school's, of its grade, in the school year."""
    return list(
        db.session.scalars(
            select(SchoolClass)
            .where(
                SchoolClass.school_id == student.school_id,
                SchoolClass.grade == student.grade,
                SchoolClass.school_year == (year or current_school_year()),
            )
            .order_by(func.length(SchoolClass.name), SchoolClass.name)
        )
    )


def school_class_names(school_id: int, year: int | None = None) -> list[str]:
    """The names of a school's classes in the school year, each once (a name may be used in several grades)."""
    names = db.session.scalars(
        select(SchoolClass.name)
        .where(SchoolClass.school_id == school_id, SchoolClass.school_year == (year or current_school_year()))
        .distinct()
    )
    return sorted(names, key=lambda n: (len(n), n))


def class_named(student: Student, name: str | None, year: int | None = None) -> SchoolClass | None:
    """The class of the pupil's school and grade with this name in the school year, if set up."""
    if not (name or "").strip():
        return None
    return db.session.scalar(
        select(SchoolClass).where(
            SchoolClass.school_id == student.school_id,
            SchoolClass.grade == student.grade,
            SchoolClass.school_year == (year or current_school_year()),
            SchoolClass.name == name.strip(),
        )
    )


def link_named(student: Student) -> None:
    """A record being created (or corrected while waiting, 待核办) names its class as text: link it
    to the class of that name when the school has set it up, else leave it unlinked."""
    found = class_named(student, student.class_name) if student.school_id else None
    student.class_id = found.id if found is not None else None


# --- the classes of a school ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClassLine:
    school_class: SchoolClass
    pupils: int  # 在籍 and 休学 pupils in the class


def may_manage(actor: User, school: OrgUnit) -> bool:
    """A school sets up its own classes; the authorities read them (the rule of this module's views)."""
    return actor.is_school_user and actor.unit_id == school.id


def _pupil_count() -> Any:
    return (
        select(func.count(Student.id))
        .where(Student.class_id == SchoolClass.id, Student.status.in_(IN_CLASS))
        .correlate(SchoolClass)
        .scalar_subquery()
    )


def classes_in(actor: User, year: int, school: OrgUnit | None = None, *, limit: int = 50, offset: int = 0) -> list[ClassLine]:
    """The classes of the school year in the actor's scope (or of one school in it), by school,
    grade and name, with their pupil counts."""
    query = select(SchoolClass, _pupil_count()).where(scope.filter_for(actor, SchoolClass.scope_path), SchoolClass.school_year == year)
    if school is not None:
        query = query.where(SchoolClass.school_id == school.id)
    query = query.order_by(SchoolClass.scope_path, SchoolClass.grade, func.length(SchoolClass.name), SchoolClass.name)
    return [ClassLine(c, n) for c, n in db.session.execute(query.limit(limit).offset(offset)).all()]


def load_class(actor: User, class_id: int) -> SchoolClass:
    """A class inside the actor's scope, else NotInScope (→ 404: absent and elsewhere look the same)."""
    found = db.session.get(SchoolClass, class_id)
    if found is None or not scope.covers(actor, found.scope_path):
        raise NotInScope()
    return found


def pupil_count(school_class: SchoolClass) -> int:
    return db.session.scalar(select(func.count(Student.id)).where(Student.class_id == school_class.id, Student.status.in_(IN_CLASS))) or 0


def _check_school(actor: User, school: OrgUnit) -> None:
    if not scope.covers(actor, school.path):
        raise NotInScope()
    if school.level != SCHOOL or not may_manage(actor, school):
        raise RuleViolation(str(_l("A school sets up its own classes; education authorities see them.")))


def _problems(
    school: OrgUnit, year: int, grade: int | None, name: str, head_teacher: str, phone: str, school_class: SchoolClass | None
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not 2000 <= year <= 2100:
        problems.append(("school_year", str(_l("Give a school year between 2000 and 2100."))))
    if grade not in grades_taught(school):
        problems.append(("grade", str(_l("The school does not teach this grade."))))
    if not name:
        problems.append(("name", str(_l("This field is required."))))
    elif (problem := class_name_problem(name)) is not None:
        problems.append(("name", problem))
    if head_teacher and not HEAD_TEACHER_RE.match(head_teacher):
        problems.append(("head_teacher", str(_l("A name may contain only Chinese characters, letters, spaces and the middle dot ·."))))
    if phone and not PHONE_RE.match(phone):
        problems.append(("head_teacher_phone", str(_l("A phone number has 5–20 digits."))))
    if not problems:
        same = select(SchoolClass.id).where(
            SchoolClass.school_id == school.id, SchoolClass.school_year == year, SchoolClass.grade == grade, SchoolClass.name == name
        )
        if school_class is not None:
            same = same.where(SchoolClass.id != school_class.id)
        if db.session.scalar(same) is not None:
            problems.append(
                ("name", str(_l("The school already has a class %(name)s in this grade in %(year)s.", name=name, year=year_label(year))))
            )
    return problems


def save_class(
    actor: User,
    school: OrgUnit,
    *,
    year: int,
    grade: int | None,
    name: str | None,
    head_teacher: str | None = None,
    phone: str | None = None,
    school_class: SchoolClass | None = None,
) -> SchoolClass:
    """Create a class of the school (or change `school_class`). Its grade and year stay once pupils
    are in it; a new name is the pupils' new class name too, with a history row each."""
    _check_school(actor, school)
    name, teacher, phone_text = (name or "").strip(), (head_teacher or "").strip(), (phone or "").strip()
    if school_class is not None and school_class.school_id != school.id:
        raise NotInScope()
    problems = _problems(school, year, grade, name, teacher, phone_text, school_class)
    if school_class is not None and (grade, year) != (school_class.grade, school_class.school_year) and pupil_count(school_class):
        problems.append(("grade", str(_l("The grade and school year of a class with pupils do not change."))))
    if problems:
        raise RuleViolation(problems)
    values = {"school_year": year, "grade": grade, "name": name, "head_teacher": teacher or None, "head_teacher_phone": phone_text or None}
    if school_class is None:
        school_class = SchoolClass(school_id=school.id, scope_path=school.path, **values)
        db.session.add(school_class)
        db.session.flush()
        audit.record(actor, "class.create", "school_class", school_class.id, _words(school_class))
        return school_class
    renamed = school_class.name != name
    for key, value in values.items():
        setattr(school_class, key, value)
    if renamed:
        with audit.acting(actor, str(_l("Class renamed"))):
            for pupil in db.session.scalars(select(Student).where(Student.class_id == school_class.id)):
                place(pupil, school_class)
    db.session.flush()
    audit.record(actor, "class.update", "school_class", school_class.id, _words(school_class))
    return school_class


def delete_class(actor: User, school_class: SchoolClass) -> None:
    """Only an empty class goes: no pupil, whatever its status, refers to it."""
    _check_school(actor, school_class.school)
    db.session.flush()  # a pupil moved out in this session counts as out (the session does not autoflush)
    if db.session.scalar(select(func.count(Student.id)).where(Student.class_id == school_class.id)):
        raise RuleViolation(str(_l("Only a class without pupils can be deleted; move its pupils to another class first.")))
    audit.record(actor, "class.delete", "school_class", school_class.id, _words(school_class))
    db.session.delete(school_class)
    db.session.flush()


def _words(school_class: SchoolClass) -> str:
    teacher = f"，班主任 {school_class.head_teacher}" if school_class.head_teacher else ""
    return f"{year_label(school_class.school_year)} {school_class.grade} 年级 {school_class.name}{teacher}"


# --- rosters and assignment ----------------------------------------------------------------------


def roster(school_class: SchoolClass) -> list[Student]:
    """班级名册: every pupil whose class this is, by name (with their status: a pupil who left keeps
    the class they were in)."""
    return list(db.session.scalars(select(Student).where(Student.class_id == school_class.id).order_by(Student.name, Student.id)))


def unassigned(school_class: SchoolClass) -> list[Student]:
    """The pupils of the class's school and grade, in school, who are in no class (a class name
    typed for them that the school has not set up counts as none)."""
    return list(
        db.session.scalars(
            select(Student)
            .where(
                Student.school_id == school_class.school_id,
                Student.grade == school_class.grade,
                Student.class_id.is_(None),
                Student.status.in_(IN_CLASS),
            )
            .order_by(Student.name, Student.id)
        )
    )


def adopt_named_classes(year: int, path: str) -> int:
    """Classes from the class names the pupils of a subtree carry, for `year`, and the pupils linked
    to them; set-based. The same as migration w_classes's backfill (used by the demo province)."""
    named = (
        Student.class_name.is_not(None),
        func.trim(Student.class_name) != "",
        Student.status.in_(NAMED_CLASS_STATUSES),
        scope.within(Student.scope_path, path),
    )
    source = (
        select(Student.school_id, Student.scope_path, literal(year), Student.grade, Student.class_name, literal(clock.now()))
        .where(*named)
        .distinct()
    )
    exists_already = (
        select(SchoolClass.id)
        .where(
            SchoolClass.school_id == Student.school_id,
            SchoolClass.school_year == year,
            SchoolClass.grade == Student.grade,
            SchoolClass.name == Student.class_name,
        )
        .exists()
    )
    created = db.session.execute(
        insert(SchoolClass).from_select(
            ["school_id", "scope_path", "school_year", "grade", "name", "created_at"], source.where(~exists_already)
        )
    ).rowcount
    match = (
        select(SchoolClass.id)
        .where(
            SchoolClass.school_id == Student.school_id,
            SchoolClass.school_year == year,
            SchoolClass.grade == Student.grade,
            SchoolClass.name == Student.class_name,
        )
        .scalar_subquery()
    )
    db.session.execute(
        update(Student).where(*named, Student.class_id.is_(None)).values(class_id=match).execution_options(synchronize_session=False)
    )
    return created
