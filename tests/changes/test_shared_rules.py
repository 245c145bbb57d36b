"""The rules every status-change type of 第十七–二十三条 shares, parametrized over all of them."""

from __future__ import annotations

import pytest

from changes import departures, placements, suspension
from extensions import db
from services import workflows
from services.errors import NotInScope
from tests.changes.helpers import (
    NEW_TYPES,
    OPENERS,
    decide_all,
    give_all,
    open_requests,
    ready,
    refused,
    staff,
    state,
    term_time,  # noqa: F401  (autouse: term time is today)
)
from tests.helpers import HEPING2, school
from tests.services.test_dedup import flag
from tests.transfer_helpers import upload, user


def test_every_new_type_is_covered():
    modules = {suspension.__name__, departures.__name__, placements.__name__}
    assert {code for code, t in workflows.TYPES.items() if t.effect.__module__ in modules} == set(NEW_TYPES) == set(OPENERS)


@pytest.mark.parametrize("code", NEW_TYPES)
def test_reject_needs_a_reason_and_leaves_the_status_unchanged(ctx, code):
    pupil, open_as = ready(code)
    before = state(pupil)
    req = open_as(staff(pupil.school_id))
    assert req.type == code
    give_all(req)
    decide_all(req, but_last=True)  # the last step refuses
    decider = staff(req.current_step.unit_id)
    problem = refused(lambda: workflows.decide(req.current_step.id, decider, False, "  "))
    assert problem.problems[0][0] == "comment"
    workflows.decide(req.current_step.id, decider, False, "材料与事实不符")
    db.session.commit()
    assert (req.status, req.current_seq, req.steps[-1].comment) == ("rejected", None, "材料与事实不符")
    assert state(pupil) == before
    assert open_as(staff(pupil.school_id)).status == "pending"  # a new request may follow


@pytest.mark.parametrize("code", NEW_TYPES)
def test_requester_can_withdraw(ctx, code):
    pupil, open_as = ready(code)
    before = state(pupil)
    requester = staff(pupil.school_id)
    req = open_as(requester)
    give_all(req)
    decide_all(req, but_last=True)
    decider = staff(req.current_step.unit_id)
    refused(lambda: workflows.withdraw(req, decider if decider.unit_id != requester.unit_id
                                       else staff(pupil.school.supervisor_id)))  # only the requesting unit withdraws
    workflows.withdraw(req, requester, "家长撤回申请")
    db.session.commit()
    assert req.status == "withdrawn" and state(pupil) == before and open_requests(pupil) == 0
    refused(lambda: workflows.withdraw(req, requester))


@pytest.mark.parametrize("code", NEW_TYPES)
def test_open_problem_record_blocks(ctx, code):
    pupil, open_as = ready(code)
    flag(pupil)
    refused(lambda: open_as(staff(pupil.school_id)), "第七条")
    assert open_requests(pupil) == 0


@pytest.mark.parametrize("code", NEW_TYPES)
def test_two_requests_at_once_refused(ctx, code):
    pupil, open_as = ready(code)
    first = open_as(staff(pupil.school_id))
    db.session.commit()
    refused(lambda: open_as(staff(pupil.school_id)))
    assert open_requests(pupil) == 1
    workflows.withdraw(first, staff(pupil.school_id))
    db.session.commit()
    assert open_as(staff(pupil.school_id)).status == "pending"  # it was refused only because of the first


@pytest.mark.parametrize("code", NEW_TYPES)
def test_user_outside_scope_gets_not_in_scope(ctx, code):
    pupil, open_as = ready(code)
    outsider = user("school-xigang1")
    with pytest.raises(NotInScope):
        open_as(outsider)
    db.session.rollback()
    req = open_as(staff(pupil.school_id))
    db.session.commit()
    with pytest.raises(NotInScope):
        workflows.decide(req.current_step.id, outsider, True, "同意")
    with pytest.raises(NotInScope):
        workflows.withdraw(req, outsider)
    for material in workflows.type_of(req).materials[:1]:
        with pytest.raises(NotInScope):
            workflows.attach(req, material.code, upload(), outsider)
    db.session.rollback()
    assert req.status == "pending" and not req.attachments


@pytest.mark.parametrize("code", NEW_TYPES)
def test_filed_by_the_school_that_holds_the_record(ctx, code):
    pupil, open_as = ready(code)
    authority = staff(pupil.school.supervisor_id)
    refused(lambda: open_as(authority))  # in scope, but the school files and the authority decides
    other_school = staff(school(HEPING2).id)
    with pytest.raises(NotInScope):
        open_as(other_school)
    db.session.rollback()
    assert open_requests(pupil) == 0
