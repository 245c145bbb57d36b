"""The dashboards' pupils by grade (services/statistics.pupil_counts) equal a direct count of the
pupils at every level after every kind of write: on PostgreSQL they come from the trigger-kept
pupil_count_delta (models/pupil_count.py), on SQLite from the pupils themselves."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import delete, func, select, update

from extensions import db
from models.org import OrgUnit
from models.pupil_count import PupilCountDelta
from models.student import Student
from services import scope, statistics
from tests.helpers import HEPING1, HEPING2, school

pytestmark = pytest.mark.usefixtures("ctx")


def direct(path: str) -> Counter:
    rows = db.session.execute(
        select(Student.grade, OrgUnit.school_kind, Student.status, func.count())
        .join(OrgUnit, OrgUnit.id == Student.school_id)
        .where(scope.within(Student.scope_path, path))
        .group_by(Student.grade, OrgUnit.school_kind, Student.status)
    )
    return Counter({(g, k, s): n for g, k, s, n in rows})


def kept(path: str) -> Counter:
    return Counter({(c.grade, c.school_kind, c.status): c.n for c in statistics.pupil_counts(path)})


def paths() -> list[str]:
    one = school(HEPING1)
    county = db.session.get(OrgUnit, one.parent_id)
    return ["/", county.parent.path, county.path, one.path, school(HEPING2).path]


def assert_all_levels_agree() -> None:
    db.session.flush()
    for path in paths():
        assert kept(path) == direct(path), path
        assert sum(kept(path).values()) > 0 or path == "/"


def test_counts_agree_as_loaded():
    assert_all_levels_agree()


def test_counts_follow_grade_status_school_and_delete():
    one, two = school(HEPING1), school(HEPING2)
    pupils = list(db.session.scalars(select(Student).where(Student.school_id == one.id).order_by(Student.id).limit(4)))
    assert len(pupils) == 4
    before_two = sum(direct(two.path).values())
    # Core statements, as the promotion and the engine's effects write (the lifecycle's checks are not the point here).
    def set_(pupil: Student, **values: object) -> None:
        db.session.execute(update(Student).where(Student.id == pupil.id).values(**values)
                           .execution_options(synchronize_session=False))

    set_(pupils[0], grade=pupils[0].grade % 6 + 1)  # a grade change (the promotion's column)
    set_(pupils[1], status="suspended")  # a status change
    set_(pupils[2], school_id=two.id, scope_path=two.path)  # a move to another school
    db.session.flush()
    assert_all_levels_agree()
    assert sum(kept(two.path).values()) == before_two + 1
    rows_before = db.session.scalar(select(func.count()).select_from(PupilCountDelta))
    set_(pupils[3], phone="13900000000")  # a change of nothing counted writes no delta row
    assert db.session.scalar(select(func.count()).select_from(PupilCountDelta)) == rows_before
    # A pupil with no other rows pointing at it (guardians, history) is deleted outright.
    lone = Student(**{c.key: getattr(pupils[3], c.key) for c in Student.__table__.columns
                      if c.key not in ("id", "xjh", "id_number", "version_id")},
                   xjh="G110101201501010015", id_number="110101201501010015")
    db.session.add(lone)
    db.session.flush()
    assert_all_levels_agree()
    db.session.execute(delete(Student).where(Student.id == lone.id).execution_options(synchronize_session=False))
    db.session.expunge(lone)
    assert_all_levels_agree()


def test_a_bulk_update_and_the_compaction_keep_the_counts():
    one = school(HEPING1)
    db.session.execute(update(Student).where(Student.school_id == one.id, Student.grade < 6)
                       .values(grade=Student.grade + 1).execution_options(synchronize_session=False))
    assert_all_levels_agree()
    statistics.compact_pupil_counts()
    assert_all_levels_agree()
    if db.engine.dialect.name == "postgresql":  # compacted: one row per (school, grade, status) at most
        rows = db.session.execute(select(PupilCountDelta.school_id, PupilCountDelta.grade, PupilCountDelta.status,
                                         func.count()).group_by(PupilCountDelta.school_id, PupilCountDelta.grade,
                                                                PupilCountDelta.status)).all()
        assert rows and all(n == 1 for *_k, n in rows)
