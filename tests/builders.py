"""Builders of realistic test data: pupils with or without a 学籍号, a class, guardians or optional
items; guardians of every age; requests of any declared type in any state; an issued certificate;
an open problem record.

Plain functions over cli/realistic.py (the same code makes `flask --app app demo-data --realistic N`)
and the services, for use inside an app context after the demo province is loaded (tests/conftest.py
does that):

    pupil = make_pupil(name="阿卜杜热合曼·买买提艾力", xjh=None, class_name=None, guardians=[])
    req = make_request("transfer_in_province", state="overdue")
    for state in states_of("suspension"): ...
    cert = make_certificate()             # a diploma of 和平区第二中学, issued by its registrar
    problem = make_problem_record()       # an open soft duplicate of a pupil of 和平一小
"""

from __future__ import annotations

from cli.realistic import (
    DOT_NAMES,
    HEPING1,
    HEPING2,
    LEAP_DAYS,
    RARE_NAMES,
    SHENHE1,
    TURN_OF_YEAR,
    birth_for_grade,
    make_guardian,
    make_pupil,
    make_request,
    official_above,
    requests_in_every_state,
    school,
    states_of,
    user_of,
)
from extensions import db
from models.graduation import COMPLETED, FAILED, GRADUATED, PASSED, Certificate, GraduationRecord
from models.people import User
from models.problems import SOFT_NAME_BIRTH, ProblemRecord
from models.school_class import SchoolClass
from models.student import Student
from services import classes, clock, dedup
from services.certificates import issuing

__all__ = [
    "DOT_NAMES", "LEAP_DAYS", "RARE_NAMES", "TURN_OF_YEAR", "make_certificate", "make_class", "make_guardian", "make_problem_record",
    "make_pupil", "make_request", "official_above", "requests_in_every_state", "states_of", "user_of",
]


def make_certificate(school_code: str = HEPING2, *, outcome: str = GRADUATED, pupil: Student | None = None,
                     year: int | None = None, issuer: User | None = None) -> Certificate:
    """A certificate issued by the service (services/certificates/issuing.issue) to a pupil of a
    school with a principal account (和平区第二中学 has one): 毕业 gives a diploma, 结业 a certificate
    of completion. The grade-9 roster line is written directly, as it stands once the authority
    has approved the roster (the roster workflow is tested on its own). Flushed, not committed."""
    unit = school(school_code)
    if pupil is None:
        pupil = make_pupil(unit, grade=9, status=GRADUATED if outcome == GRADUATED else COMPLETED)
    record = GraduationRecord(
        student_id=pupil.id, school_id=unit.id, scope_path=unit.path, year=year or clock.today().year, grade=9,
        assessment=PASSED if outcome == GRADUATED else FAILED, outcome=outcome,
    )
    db.session.add(record)
    db.session.flush()
    issuer = issuer or user_of(unit)
    assert issuer is not None, f"no user at {unit.name}"
    return issuing.issue(record, issuer)


def make_problem_record(school_code: str = HEPING1, *, other_school: str = SHENHE1,
                        name: str = "问题学籍测试") -> ProblemRecord:
    """An open 问题学籍 flagged by the service (services/dedup.flag_problems), as on entry: a pupil of
    `other_school`, then a pupil of `school_code` with the same name, gender and birth date (a soft
    duplicate, which belongs to the record entered later). Flushed, not committed."""
    birth = birth_for_grade(3)
    first = make_pupil(other_school, name=name, birth_date=birth)
    second = make_pupil(school_code, name=name, birth_date=birth)
    flagged = dedup.flag_problems(second, user_of(second.school))
    return next(p for p in flagged if p.kind == SOFT_NAME_BIRTH and p.other_student_id == first.id)


def make_class(school_code: str = HEPING1, grade: int = 3, name: str = "1班", *, year: int | None = None,
               head_teacher: str | None = None) -> SchoolClass:
    """A class of the school (this school year unless `year`), flushed; the one of that name if it exists."""
    unit = school(school_code)
    year = year or classes.current_school_year()
    found = db.session.query(SchoolClass).filter_by(school_id=unit.id, school_year=year, grade=grade, name=name).one_or_none()
    if found is not None:
        return found
    made = SchoolClass(school_id=unit.id, scope_path=unit.path, school_year=year, grade=grade, name=name, head_teacher=head_teacher)
    db.session.add(made)
    db.session.flush()
    return made
