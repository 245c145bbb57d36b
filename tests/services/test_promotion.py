"""正常升级 (summer promotion): set-based, previewable, once per school year, only pupils in school."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from models.lifecycle import arranging
from models.org import OrgUnit
from models.student import Student
from services import promotion
from services.errors import NotInScope, RuleViolation
from tests.helpers import HEPING1, HEPING2, SHENHE1, XIGANG1, pupil_of, school
from tests.transfer_helpers import at, user


def grades(code: str) -> dict[int, str]:
    return {s.id: (s.grade, s.status) for s in db.session.scalars(select(Student).join(Student.school).where(OrgUnit.code == code))}


def county(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def test_promotion_moves_pupils_in_school_up_one_grade(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    before, before_junior = grades(HEPING1), grades(HEPING2)
    run = promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    after = grades(HEPING1)
    for sid, (grade, status) in before.items():
        expected = grade + 1 if status == "enrolled" and grade < 6 else grade
        assert after[sid] == (expected, status)
    movable = sum(1 for g, s in before.values() if s == "enrolled" and g < 6)
    movable += sum(1 for g, s in before_junior.values() if s == "enrolled" and g < 9)
    assert run.promoted == movable > 0


def test_promotion_twice_promotes_once(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    first = promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    after_first = grades(HEPING1)
    second = promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    assert first.promoted > 0 and second.promoted == 0
    assert grades(HEPING1) == after_first
    # An overlapping scope (the city) moves only the pupils outside 和平区.
    shenhe_before = grades(SHENHE1)
    expected = promotion.preview(user("shenyang"), county("2101"), 2027)
    assert expected.already == first.promoted
    city = promotion.promote(user("shenyang"), county("2101"), 2027)
    db.session.commit()
    assert city.promoted == expected.total > 0
    assert grades(HEPING1) == after_first
    assert all(grades(SHENHE1)[sid][0] == g + (s == "enrolled" and g < 6) for sid, (g, s) in shenhe_before.items())


def test_second_run_same_year_other_scope_skips_promoted(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    promotion.promote(user("school-heping1"), school(HEPING1), 2027)
    db.session.commit()
    snapshot = grades(HEPING1)
    promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    assert grades(HEPING1) == snapshot
    assert promotion.preview(user("heping"), county("210102"), 2027).total == 0


def test_next_school_year_promotes_again(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    pupil = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        pupil.grade, pupil.status = 2, "enrolled"
    db.session.commit()
    promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    at(monkeypatch, date(2028, 7, 20))
    promotion.promote(user("heping"), county("210102"), 2028)
    db.session.commit()
    assert db.session.get(Student, pupil.id).grade == 4


def test_suspended_and_graduating_pupils_are_skipped(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    pupils = db.session.scalars(select(Student).join(Student.school).where(OrgUnit.code == HEPING1).order_by(Student.id)).all()
    suspended, last, abroad = pupils[0], pupils[1], pupils[2]
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        suspended.grade, suspended.status = 3, "suspended"
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        last.grade, last.status = 6, "enrolled"
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        abroad.grade, abroad.status = 4, "abroad"
    db.session.commit()
    shown = promotion.preview(user("school-heping1"), school(HEPING1), 2027)
    assert shown.final_grade >= 1 and shown.not_in_school >= 2
    run = promotion.promote(user("school-heping1"), school(HEPING1), 2027)
    db.session.commit()
    assert run.promoted == shown.total
    assert (db.session.get(Student, suspended.id).grade, db.session.get(Student, last.id).grade,
            db.session.get(Student, abroad.id).grade) == (3, 6, 4)


def test_junior_grade_9_stays_and_nine_year_school_moves_6_to_7(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    pupils = db.session.scalars(select(Student).join(Student.school).where(OrgUnit.code == XIGANG1).order_by(Student.id)).all()
    six, nine = pupils[0], pupils[1]
    six.grade, nine.grade = 6, 9
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        six.status = nine.status = "enrolled"
    db.session.commit()
    promotion.promote(user("xigang"), county("210203"), 2027)
    db.session.commit()
    assert (db.session.get(Student, six.id).grade, db.session.get(Student, nine.id).grade) == (7, 9)


def test_preview_matches_the_run_and_writes_nothing(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    before = grades(HEPING1)
    shown = promotion.preview(user("heping"), county("210102"), 2027)
    assert grades(HEPING1) == before
    run = promotion.promote(user("heping"), county("210102"), 2027)
    assert run.promoted == shown.total > 0


def test_promotion_history_in_bulk(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    run = promotion.promote(user("school-heping1"), school(HEPING1), 2027)
    db.session.commit()
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.field == "grade",
                                                           StudentHistory.reason.contains(f"#{run.id}"))).all()
    assert len(rows) == run.promoted
    for r in rows:
        assert int(r.new_value) == int(r.old_value) + 1 and r.changed_by_id == user("school-heping1").id
        assert db.session.get(Student, r.student_id).grade == int(r.new_value)


def test_promotion_outside_scope_refused(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    with pytest.raises(NotInScope):
        promotion.promote(user("shenhe"), county("210102"), 2027)
    with pytest.raises(NotInScope):
        promotion.promote(user("school-shenhe1"), school(HEPING1), 2027)
    with pytest.raises(NotInScope):  # a school runs it for itself only, not for its county
        promotion.promote(user("school-heping1"), county("210102"), 2027)


def test_promotion_for_a_future_school_year_refused(ctx, monkeypatch):
    at(monkeypatch, date(2027, 3, 1))
    with pytest.raises(RuleViolation):
        promotion.promote(user("heping"), county("210102"), 2028)
    assert db.session.scalar(select(func.count()).select_from(StudentHistory).where(StudentHistory.field == "grade")) == 0
