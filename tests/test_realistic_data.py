"""The realistic data (cli/realistic.py, `flask --app app demo-data --realistic N`) and the demo's
requests: what the issue lists is really in them, and every generated ID number is valid."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

import changes  # noqa: F401 - declares every type
from extensions import db
from models.changes import ChangeRequest
from models.student import Guardian, Student
from services import clock, workflows
from services.ids import division_name, make_check_digit
from tests.builders import DOT_NAMES, RARE_NAMES, TURN_OF_YEAR, make_pupil, make_request, states_of
from tests.conftest import _wipe, login


def id_birth(number: str) -> date:
    """The birth day of a well-formed resident ID number: 18 characters, the right check digit, a
    known division, a real date. (services.ids.parse_resident_id also refuses many real adults'
    numbers at present; that is fixed elsewhere, see the guardian rule.)"""
    assert len(number) == 18 and number[:17].isdigit(), number
    assert make_check_digit(number[:17]) == number[17], f"check digit of {number}"
    assert division_name(number[:6]) is not None, f"division of {number}"
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def _load_cli_demo(app: Flask, *args: str) -> str:
    """`flask --app app demo-data …` on an empty database (the tests load a plain province first)."""
    with app.app_context():
        _wipe()
    result = app.test_cli_runner().invoke(args=["demo-data", "--pupils", "30", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_data_has_a_request_of_every_type_in_every_state(app: Flask) -> None:
    """第三章: whoever tries the demo meets every change type pending, refused, withdrawn, overdue,
    decided from above (强制干预) and finished."""
    _load_cli_demo(app)
    with app.app_context():
        today = clock.today()
        for code in workflows.TYPES:
            reqs = db.session.scalars(select(ChangeRequest).where(ChangeRequest.type == code)).all()
            statuses = {r.status for r in reqs}
            if not workflows.TYPES[code].steps:  # decided by the school alone (校内调班): done when opened
                assert statuses == {"completed"}, (code, statuses)
                continue
            assert {"pending", "rejected", "withdrawn"} <= statuses, (code, statuses)
            assert statuses & {"completed", "approved"}, (code, statuses)
            open_steps = [r.current_step for r in reqs if r.status == "pending"]
            assert any(s.due_date < today for s in open_steps if s and s.due_date), f"{code}: no overdue request"
            assert any(s.forced_by_unit_id for r in reqs for s in r.steps), f"{code}: no 强制干预"
            for seq in range(1, len(workflows.TYPES[code].steps) + 1):
                assert any(r.status == "pending" and r.current_seq == seq for r in reqs), f"{code}: nothing pending at step {seq}"


def test_demo_data_without_requests_on_request(app: Flask) -> None:
    _load_cli_demo(app, "--no-requests")
    with app.app_context():
        assert db.session.scalar(select(func.count(ChangeRequest.id))) == 0


def test_realistic_data_has_what_real_records_have(app: Flask) -> None:
    output = _load_cli_demo(app, "--realistic", "70")
    assert "已载入演示数据" in output
    with app.app_context():
        pupils = db.session.scalars(select(Student)).all()
        names = {p.name for p in pupils}
        assert any("𠮷" in n for n in names) and any("䶮" in n for n in names)
        assert any("·" in n for n in names)
        assert any(len(n) >= 10 for n in names), "a minority name of 10 or more characters"
        assert any(p.birth_date.month == 2 and p.birth_date.day == 29 for p in pupils), "a leap-day birthday"
        assert any(p.xjh is None for p in pupils), "a pupil without a 学籍号"
        assert any(p.class_name is None for p in pupils), "a pupil without a class"
        assert any(not p.guardians for p in pupils), "a pupil without guardians"
        assert any(p.phone is None and p.current_address is None for p in pupils), "a pupil without optional items"
        guardian_years = {id_birth(g.id_number).year for g in db.session.scalars(select(Guardian))}
        assert set(range(1930, 2009)) <= guardian_years, "guardians born in every year 1930 … 2008"
        filed = {r.created_at.date() for r in db.session.scalars(select(ChangeRequest))}
        assert {date(2025, 12, 31), date(2026, 1, 1)} <= filed, "requests on both sides of New Year"
        assert {date(2026, 2, 16), date(2026, 2, 24)} <= filed, "requests on both sides of the Spring Festival"


def test_every_generated_id_number_is_valid_and_fits_its_person(app: Flask) -> None:
    _load_cli_demo(app, "--realistic", "30")
    with app.app_context():
        for p in db.session.scalars(select(Student)):
            assert id_birth(p.id_number) == p.birth_date, p.name
            assert int(p.id_number[16]) % 2 == (1 if p.gender == "1" else 0), p.name
            assert p.xjh is None or p.xjh == "G" + p.id_number
        for g in db.session.scalars(select(Guardian)):
            assert 1930 <= id_birth(g.id_number).year <= 2008


def test_builders_make_the_pupils_the_issue_lists(ctx) -> None:
    bare = make_pupil(name=DOT_NAMES[3], bare=True)
    assert bare.xjh is None and bare.class_name is None and bare.guardians == [] and bare.phone is None
    leap = make_pupil(name=RARE_NAMES[0], birth_date=date(2016, 2, 29))
    assert leap.grade == 5 and leap.xjh == "G" + leap.id_number
    waiting = make_pupil(status="pending")
    assert waiting.xjh is None


def test_builders_make_a_request_in_each_state(ctx) -> None:
    for state in states_of("transfer"):
        req = make_request("transfer", state, filed_on=TURN_OF_YEAR[0] if state == "done" else None)
        assert req.id is not None and len(req.steps) == 4
        if state.startswith("pending:"):
            assert req.status == "pending" and req.current_seq == int(state.split(":")[1])
        if state == "forced":
            assert req.steps[0].forced_by_unit_id is not None and req.current_seq == 2
        if state == "done":
            assert req.status == "approved"  # all four agreed; waiting for 报到
        if state == "reported":
            assert req.status == "completed" and req.student.school == req.to_school


def test_a_negative_number_of_realistic_pupils_is_refused_in_chinese(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo-data", "--realistic", "-3"])
    assert result.exit_code != 0 and "不小于 0" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(ChangeRequest.id))) == 0  # nothing was loaded


def test_builder_refuses_a_state_the_type_does_not_have(ctx) -> None:
    with pytest.raises(ValueError, match="pending:3"):
        make_request("enrollment", "pending:3")  # one step only


@pytest.mark.parametrize("name", ["王𠮷", "𠮷田雅", "刘䶮", "阿卜杜热合曼·买买提艾力", "巴特尔·额尔德尼其其格"])
def test_pupil_named_with_rare_characters_or_the_middle_dot_is_accepted(ctx, name: str) -> None:
    """𠮷 (CJK Extension B, beyond U+FFFF) was refused: a pupil so named could not even be edited."""
    from services.students import validate

    pupil = make_pupil(name=name)
    assert [m for f, m in validate(pupil, pupil.school) if f == "name"] == []


def test_name_with_a_digit_is_still_refused(ctx) -> None:
    from services.students import validate

    pupil = make_pupil(name="王小明2")
    assert [f for f, _m in validate(pupil, pupil.school) if f == "name"] == ["name"]


def test_cli_demo_records_each_schools_registrar_and_leaves_the_village_school_flagged(app: Flask) -> None:
    """第二十六条: the demo's schools have their 学籍管理员 on record, so the dashboards flag only the
    school that has none (the village school, which has no registrar account)."""
    from models.rosters import SchoolRegistrar

    _load_cli_demo(app, "--no-requests")
    with app.app_context():
        rows = db.session.scalars(select(SchoolRegistrar)).all()
        assert {r.name for r in rows} >= {"王丽", "赵敏", "孙莉"} and all(r.formal_staff for r in rows)
        held = {r.school.code for r in rows}
        assert "2121000007" not in held and "2121000001" in held
    kangping = login(app, "kangping@xueji.demo").get("/admin/registrars/?missing=1").get_data(as_text=True)
    assert 'id="missing-2121000007"' in kangping and 'id="missing-2121000006"' not in kangping
