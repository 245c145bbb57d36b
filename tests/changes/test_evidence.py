"""When a material is required (services/evidence.py): one declaration per material, read in
Python before approval (workflows.missing_materials) and in SQL by the report of completed
changes whose evidence is missing (第十二条, 第三十条). The two readings must give the same answer
on real requests in every state, and a new conditional material needs no SQL written by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

import changes  # noqa: F401 - declares every type
from extensions import db
from models.changes import COMPLETED, Attachment, ChangeRequest
from models.status import ILLNESS, OTHER, Suspension
from services import workflows
from services.change_codes import RESUMPTION, SPECIAL_ATTEND, SPECIAL_MOVE, SUSPENSION, TRANSFER, WORK_STUDY
from services.change_common import school_of
from services.evidence import ALWAYS, Always, Never, Not, PayloadIs, PayloadTrue, Rule
from services.oversight import reports, violations
from services.workflows import ChangeType, Material, StepDef
from tests.builders import make_request, requests_in_every_state

# --- helpers ----------------------------------------------------------------------------------------


def sql_ids(rule: Rule, ids: list[int]) -> set[int]:
    """The requests among `ids` for which the rule's SQL holds, used as a WHERE over change_request."""
    return set(db.session.scalars(select(ChangeRequest.id).where(ChangeRequest.id.in_(ids), rule.sql())))


def sql_holds(rule: Rule, req: ChangeRequest) -> bool:
    return req.id in sql_ids(rule, [req.id])


def _vary(reqs: list[ChangeRequest]) -> None:
    """Give every conditional rule both answers among the requests: some suspensions for another
    reason than illness, transfers with the hukou unchanged or not said, work-study moves and moves
    that do not say their kind, resumptions after a suspension for another reason."""
    for i, req in enumerate(reqs):
        payload = dict(req.payload or {})
        if req.type == SUSPENSION and i % 2:
            payload["reason_kind"] = OTHER
        elif req.type == TRANSFER and i % 3 == 1:
            payload["hukou_changed"] = False
        elif req.type == TRANSFER and i % 3 == 2:
            payload.pop("hukou_changed", None)
        elif req.type in (SPECIAL_MOVE, SPECIAL_ATTEND) and i % 3 == 1:
            payload["kind"] = WORK_STUDY
        elif req.type in (SPECIAL_MOVE, SPECIAL_ATTEND) and i % 3 == 2:
            payload.pop("kind", None)
        elif req.type == RESUMPTION and i % 2:
            db.session.execute(update(Suspension).where(Suspension.student_id == req.student_id).values(reason_kind=OTHER))
        req.payload = payload  # a new dict: the JSON column sees the change
    db.session.flush()


def _ended_and_current(reqs: list[ChangeRequest]) -> tuple[ChangeRequest, ChangeRequest]:
    """Two completed resumptions whose pupil was suspended again, one for each way round: the
    suspension the request ended decides (for another reason, then illness; then the opposite),
    not the pupil's current one."""
    after_other = next(r for r in reqs if r.type == RESUMPTION and r.status == COMPLETED)
    after_illness = make_request(RESUMPTION, "done")
    for req, ended_kind, current_kind in ((after_other, OTHER, ILLNESS), (after_illness, ILLNESS, OTHER)):
        ended = db.session.scalar(select(Suspension).where(Suspension.ended_by_request_id == req.id))
        assert ended is not None
        ended.reason_kind = ended_kind
        db.session.add(Suspension(student_id=req.student_id, request_id=ended.request_id, reason_kind=current_kind,
                                  grade=ended.grade, starts_on=ended.starts_on, ends_on=ended.ends_on))
    db.session.flush()
    return after_other, after_illness


# --- the two readings agree on real requests ----------------------------------------------------------


def test_python_and_sql_agree_for_every_material_of_every_type_in_every_state(ctx):
    reqs = requests_in_every_state()
    _vary(reqs)
    after_other, after_illness = _ended_and_current(reqs)
    reqs.append(after_illness)
    assert {r.type for r in reqs} == set(workflows.TYPES)
    assert len({r.status for r in reqs}) >= 4  # pending, rejected, withdrawn, completed (and approved: 报到)
    for code, ctype in workflows.TYPES.items():
        of_type = [r for r in reqs if r.type == code]
        ids = [r.id for r in of_type]
        for m in ctype.materials:
            python = {r.id for r in of_type if m.required(r)}
            assert python == sql_ids(m.when, ids), (code, m.code)
            assert set(ids) - python == sql_ids(Not(m.when), ids), (code, m.code)  # never NULL: NOT is the opposite
            if isinstance(m.when, Always):
                assert python == set(ids)
            elif isinstance(m.when, Never):
                assert python == set()
            else:  # a condition: both answers occur, so the agreement above is not vacuous
                assert python and python != set(ids), (code, m.code, python)
    recovery = next(m for m in workflows.TYPES[RESUMPTION].materials if m.code == "recovery_certificate")
    assert not recovery.required(after_other) and recovery.required(after_illness)


def test_the_report_finds_exactly_the_requests_the_workflow_finds_incomplete(ctx):
    reqs = requests_in_every_state()
    _vary(reqs)
    ids = [r.id for r in reqs]
    reported = set(db.session.scalars(select(ChangeRequest.id).where(ChangeRequest.id.in_(ids), violations.missing_evidence())))
    assert reported == {r.id for r in reqs if workflows.missing_materials(r)}
    for req in reqs:
        assert [m.code for m in reports.missing_of(req)] == [m.code for m in workflows.missing_materials(req)], req.type


# --- each rule ---------------------------------------------------------------------------------------


@pytest.fixture
def req(ctx) -> ChangeRequest:
    return make_request(SPECIAL_MOVE, "pending:1")


def _with(req: ChangeRequest, payload: dict) -> ChangeRequest:
    req.payload = payload
    db.session.flush()
    return req


def test_always_and_never(req):
    assert Always().holds(req) and sql_holds(Always(), req)
    assert not Never().holds(req) and not sql_holds(Never(), req)
    assert Material("x", "x").when == ALWAYS and Material("x", "x").required(req)
    assert not Material("x", "x", when=Never()).required(req)


@pytest.mark.parametrize(("payload", "expected"), [
    ({"kind": WORK_STUDY}, True),
    ({"kind": "to_special"}, False),
    ({"kind": None}, False),
    ({"kind": 1}, False),
    ({}, False),
])
def test_payload_is(req, payload, expected):
    rule = PayloadIs("kind", WORK_STUDY)
    _with(req, payload)
    assert rule.holds(req) is expected
    assert sql_holds(rule, req) is expected
    assert sql_holds(Not(rule), req) is not expected


def test_payload_is_needs_a_value():
    with pytest.raises(ValueError):
        PayloadIs("kind", "")


@pytest.mark.parametrize(("payload", "expected"), [
    ({"hukou_changed": True}, True),
    ({"hukou_changed": False}, False),
    ({"hukou_changed": None}, False),
    ({}, False),
])
def test_payload_true(req, payload, expected):
    rule = PayloadTrue("hukou_changed")
    _with(req, payload)
    assert rule.holds(req) is expected
    assert sql_holds(rule, req) is expected
    assert sql_holds(Not(rule), req) is not expected


def test_not_is_the_opposite_and_twice_is_the_rule(req):
    _with(req, {"kind": WORK_STUDY})
    rule = PayloadIs("kind", WORK_STUDY)
    assert not Not(rule).holds(req) and not sql_holds(Not(rule), req)
    assert Not(Not(rule)).holds(req) and sql_holds(Not(Not(rule)), req)
    assert Not(Never()).holds(req) and sql_holds(Not(Never()), req)
    assert not Not(Always()).holds(req) and not sql_holds(Not(Always()), req)


def test_a_general_rule_answers_with_its_own_two_readings(req):
    other = make_request(SPECIAL_MOVE, "pending:1")
    rule = Rule(holds=lambda r: r.id == req.id, sql=lambda: ChangeRequest.id == req.id)
    assert rule.holds(req) and not rule.holds(other)
    assert sql_ids(rule, [req.id, other.id]) == {req.id}
    assert sql_ids(Not(rule), [req.id, other.id]) == {other.id}


# --- a new conditional material needs no SQL of its own --------------------------------------------------


def test_a_new_type_with_a_conditional_material_is_reported_without_sql_written_for_it(ctx, monkeypatch):
    permit = Material("permit", "permit", when=PayloadIs("kind", "needs_permit"))
    throwaway = ChangeType(code="throwaway", label="throwaway", steps=(StepDef("school", "school", school_of),),
                           effect=lambda req, actor: None, materials=(permit,))
    monkeypatch.setitem(workflows.TYPES, "throwaway", throwaway)
    needs, other = make_request("throwaway", "done"), make_request("throwaway", "done")
    _with(needs, {"kind": "needs_permit"})
    _with(other, {"kind": "something_else"})
    assert needs.status == other.status == COMPLETED

    def reported() -> set[int]:
        return set(db.session.scalars(select(ChangeRequest.id).where(
            ChangeRequest.id.in_([needs.id, other.id]), violations.not_archived_filter(needs.from_path))))

    assert reported() == {needs.id}
    assert reports.missing_of(needs) == [permit] and reports.missing_of(other) == []
    db.session.add(Attachment(request_id=needs.id, material="permit", filename="permit.png", content_type="image/png",
                              size=1, sha256="0" * 64, uploaded_by_id=needs.requested_by_id))
    db.session.flush()
    assert reported() == set()
