"""第十条: a merged school's archives go to the school it merges into; a closed school's to the unit named."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from models.lifecycle import arranging
from models.org import OrgUnit
from models.student import Student
from services.errors import NotInScope, RuleViolation
from services.org import close_school, merge_schools
from tests.helpers import CITYDIRECT, HEPING1, HEPING2, SHENHE1, school
from tests.transfer_helpers import user


def _count(code: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Student).join(Student.school).where(OrgUnit.code == code))


def test_merger_moves_every_record_with_history_and_closes_the_school(ctx):
    n, before = _count(HEPING2), _count(HEPING1)
    moved = merge_schools(school(HEPING2), school(HEPING1), user("heping"))
    db.session.commit()
    assert moved == n and _count(HEPING1) == before + n and _count(HEPING2) == 0
    assert not school(HEPING2).active
    s = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id).order_by(Student.id.desc()))
    assert s.scope_path == school(HEPING1).path
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.field == "school_id",
                                                           StudentHistory.reason.is_not(None))).all()
    assert len(rows) == n and all(r.changed_by.email == "heping@xueji.demo" for r in rows)


def test_merger_outside_the_county_is_refused(ctx):
    with pytest.raises(NotInScope):
        merge_schools(school(SHENHE1), school(HEPING1), user("heping"))


def test_schools_cannot_merge_themselves(ctx):
    with pytest.raises(RuleViolation):
        merge_schools(school(HEPING1), school(HEPING2), user("school-heping1"))


def test_closing_a_school_with_pupils_in_school_is_refused(ctx):
    with pytest.raises(RuleViolation):
        close_school(school(HEPING2), school(HEPING1), user("heping"))


def test_closed_school_hands_the_archives_of_pupils_who_left_to_the_named_unit(ctx):
    for s in db.session.scalars(select(Student).where(Student.school_id == school(HEPING2).id)):
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            s.status = "graduated"
    db.session.commit()
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "210102"))
    moved = close_school(school(HEPING2), county, user("heping"))
    db.session.commit()
    assert moved > 0 and _count(HEPING2) == 0 and not school(HEPING2).active
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == county.id)) == moved


def test_merge_page_is_for_officials_and_scoped(as_user, app):
    with app.app_context():
        src, dst, other = school(HEPING2).id, school(HEPING1).id, school(CITYDIRECT).id
    assert as_user("school-heping1").get(f"/admin/school/{dst}/merge").status_code == 403
    assert as_user("heping").get(f"/admin/school/{other}/merge").status_code == 404
    c = as_user("heping")
    assert f'value="{other}"' not in c.get(f"/admin/school/{src}/merge").get_data(as_text=True)
    resp = c.post_form(f"/admin/school/{src}/merge", {"target": str(dst)})
    assert resp.status_code == 302
    with app.app_context():
        assert _count(HEPING2) == 0
