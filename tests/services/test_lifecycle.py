"""The record's statuses move only as the one table allows, and only through services/lifecycle."""

import ast
import json
import pathlib

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import StudentHistory
from models.lifecycle import (
    DUPLICATE_CANCELLED,
    NEW_RECORD,
    TRANSITIONS,
    IllegalTransition,
    StudentStatus,
    arranging,
    refusal,
)
from models.student import Student
from services import lifecycle, workflows
from services.lifecycle import Outcome
from tests.helpers import HEPING1, pupil_of, school
from tests.services.test_students import new_student

ROOT = pathlib.Path(__file__).resolve().parents[2]
S = StudentStatus


def test_a_stored_record_cannot_be_graduated_by_assignment(ctx):
    pupil = pupil_of(HEPING1)
    assert pupil.status == S.ENROLLED
    with pytest.raises(IllegalTransition, match="outside services/lifecycle"):
        pupil.status = "graduated"
    assert pupil.status == S.ENROLLED


def test_a_record_expired_by_a_commit_is_still_guarded(ctx):
    pupil = pupil_of(HEPING1)
    db.session.commit()  # expires the loaded attributes: the guard loads the old status itself
    with pytest.raises(IllegalTransition):
        pupil.status = "deceased"


def test_the_engine_refuses_a_move_the_table_does_not_allow(ctx):
    pupil = pupil_of(HEPING1)
    with pytest.raises(IllegalTransition, match="'suspension' may not move a record from enrolled to graduated"):
        lifecycle.apply(pupil, Outcome(S.GRADUATED), "suspension")
    assert pupil.status == S.ENROLLED


def test_the_engine_applies_a_lawful_move_with_its_fields_and_history(ctx):
    pupil = pupil_of(HEPING1)
    lifecycle.apply(pupil, Outcome(S.SUSPENDED), "suspension")
    assert pupil.status == S.SUSPENDED
    lifecycle.apply(pupil, Outcome(S.ENROLLED, {"grade": 2}), "resumption")
    assert (pupil.status, pupil.grade) == (S.ENROLLED, 2)
    moves = db.session.execute(
        select(StudentHistory.old_value, StudentHistory.new_value)
        .where(StudentHistory.student_id == pupil.id, StudentHistory.field == "status").order_by(StudentHistory.id)
    ).all()
    assert [tuple(m) for m in moves][-2:] == [("enrolled", "suspended"), ("suspended", "enrolled")]


def test_a_new_record_begins_waiting_or_in_school_only(ctx):
    student = new_student()
    with pytest.raises(IllegalTransition):
        lifecycle.begin(student, S.GRADUATED)
    lifecycle.begin(student, S.PENDING)
    assert student.status == "pending"


def test_a_year_group_moves_at_once_only_as_the_table_allows(ctx):
    ids = select(Student.id).where(Student.school_id == school(HEPING1).id)
    with pytest.raises(IllegalTransition):
        lifecycle.apply_to_many(ids, S.ENROLLED, S.DECEASED, "graduation", at=None)  # type: ignore[arg-type]


def test_cancelling_a_duplicate_ends_a_live_record_but_never_a_dead_one():
    assert refusal("enrolled", "cancelled", DUPLICATE_CANCELLED) is None
    assert refusal("deceased", "cancelled", DUPLICATE_CANCELLED) is not None
    assert refusal(None, "enrolled", NEW_RECORD) is None


def test_past_states_are_arranged_only_by_demo_data_and_tests(ctx):
    pupil = pupil_of(HEPING1)
    with arranging():
        pupil.status = "graduated"
    assert pupil.status == "graduated"
    for package in ("services", "admin", "forms", "models", "public", "changes"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "lifecycle.py":
                continue
            assert "arranging(" not in path.read_text(encoding="utf-8"), path


def test_every_status_is_in_the_enum_and_the_code_list():
    listed = json.loads((ROOT / "data" / "codes.json").read_text(encoding="utf-8"))["student_status"]
    assert set(listed) == {s.value for s in StudentStatus}


def test_every_cause_in_the_table_is_a_change_type_or_a_named_service_action(app):
    named = {NEW_RECORD, DUPLICATE_CANCELLED, "delay_ends", "transfer_in_province.rejected"}
    for causes in TRANSITIONS.values():
        for cause in causes:
            assert cause in workflows.TYPES or cause in named, cause


def _assigns_student_status(tree: ast.AST) -> list[int]:
    """Lines that assign `<something>.status` where the something is a pupil (not a request, a step …)."""
    pupils = {"student", "pupil", "s", "model"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if not (isinstance(t, ast.Attribute) and t.attr == "status"):
                        continue
                    owner = t.value
                    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                    if name in pupils:
                        lines.append(node.lineno)
    return lines


def test_no_view_and_no_effect_assigns_a_pupils_status():
    found = {}
    for package in ("services", "admin", "forms", "public", "changes"):
        for path in (ROOT / package).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == "services/lifecycle.py":
                continue
            lines = _assigns_student_status(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                found[path.relative_to(ROOT).as_posix()] = lines
    assert found == {}


def test_an_effect_returns_the_change_and_the_engine_applies_it(ctx):
    """The suspension's effect does not touch the status; the engine moves it, with the request."""
    from tests.changes.helpers import suspend

    pupil = pupil_of(HEPING1)
    suspend(pupil)
    row = db.session.scalar(select(StudentHistory).where(
        StudentHistory.student_id == pupil.id, StudentHistory.field == "status").order_by(StudentHistory.id.desc()))
    assert (row.old_value, row.new_value) == ("enrolled", "suspended")
    assert row.request_id is not None
    with pytest.raises(IllegalTransition):  # nor can anyone set it back by hand afterwards
        pupil.status = "enrolled"
