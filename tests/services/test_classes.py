"""班级管理 (issue 16, point 7): classes per school year with a head teacher, the one function that
sets a pupil's class (id and shown name together), and the summer promotion that carries the
classes forward — or, 重新编班, leaves the pupils to be placed again."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from changes.class_change import request_class_change
from extensions import db
from models.audit import StudentHistory
from models.school_class import SchoolClass
from models.student import Student
from services import classes, promotion
from services.errors import NotInScope, RuleViolation
from tests.builders import RARE_NAMES, make_class, make_pupil
from tests.helpers import HEPING1, HEPING2, SHENHE1, make_id, school
from tests.transfer_helpers import at, user

YEAR = 2026  # the demo's school year (today: December 2026)


def _save(who: str = "school-heping1", **values):
    args = {"year": YEAR, "grade": 3, "name": "7班", "head_teacher": "张老师", "phone": "13900001111", **values}
    return classes.save_class(user(who), school(HEPING1), **args)


def _fields(problems: list[tuple[str, str]]) -> set[str]:
    return {f for f, _m in problems}


# --- the school year -------------------------------------------------------------------------


def test_the_current_school_year_turns_when_the_school_year_ends(app):
    with app.app_context():
        assert classes.current_school_year(date(2026, 12, 6)) == 2026
        assert classes.current_school_year(date(2027, 7, 15)) == 2026  # SCHOOL_YEAR_END: the last day
        assert classes.current_school_year(date(2027, 7, 16)) == 2027  # the summer prepares 2027–2028
        assert classes.year_label(2026) == "2026—2027学年"


# --- setting up classes ----------------------------------------------------------------------


def test_a_school_sets_up_a_class_with_its_head_teacher(ctx):
    made = _save(head_teacher=RARE_NAMES[0] if RARE_NAMES else "吉𠮷")
    db.session.commit()
    assert (made.school.code, made.school_year, made.grade, made.name, made.head_teacher_phone) == (HEPING1, YEAR, 3, "7班", "13900001111")
    assert made.scope_path == school(HEPING1).path


def test_the_same_class_name_twice_in_a_grade_and_year_is_refused_clearly(ctx):
    _save()
    with pytest.raises(RuleViolation, match="已有") as exc:
        _save(head_teacher="李老师")
    assert _fields(exc.value.problems) == {"name"}
    _save(grade=4)  # another grade may have its own 7班
    _save(year=YEAR + 1)  # and so may the next school year


def test_bad_values_are_refused_beside_their_fields(ctx):
    with pytest.raises(RuleViolation) as exc:
        _save(name="<b>1</b>", head_teacher="<script>x</script>", phone="abc", grade=8)  # a primary school has no grade 8
    assert _fields(exc.value.problems) == {"name", "head_teacher", "head_teacher_phone", "grade"}
    with pytest.raises(RuleViolation, match="20"):
        _save(name="班" * 21)
    with pytest.raises(RuleViolation):
        _save(name="  ")


def test_an_authority_reads_classes_but_does_not_set_them_up(ctx):
    with pytest.raises(RuleViolation, match="学校"):
        _save("heping")
    with pytest.raises(NotInScope):
        _save("school-shenhe1")  # another school: as if it did not exist


def test_officials_see_the_classes_of_their_area_only(ctx):
    own = _save()
    other = make_class(SHENHE1, 2, "8班")
    seen = {line.school_class.id for line in classes.classes_in(user("heping"), YEAR, limit=1000)}
    assert own.id in seen and other.id not in seen
    assert other.id in {line.school_class.id for line in classes.classes_in(user("shenyang"), YEAR, limit=1000)}
    with pytest.raises(NotInScope):
        classes.load_class(user("heping"), other.id)
    with pytest.raises(NotInScope):
        classes.load_class(user("school-heping1"), other.id)


def test_renaming_a_class_renames_it_for_its_pupils_with_history(ctx):
    made = _save()
    pupil = make_pupil(HEPING1, grade=3, name="王小明")
    classes.place(pupil, made)
    db.session.commit()
    _save(name="七班", school_class=made)
    db.session.commit()
    assert (pupil.class_id, pupil.class_name) == (made.id, "七班")
    row = db.session.scalar(
        select(StudentHistory)
        .where(StudentHistory.student_id == pupil.id, StudentHistory.field == "class_name")
        .order_by(StudentHistory.id.desc())
    )
    assert (row.old_value, row.new_value) == ("7班", "七班")


def test_only_an_empty_class_is_deleted(ctx):
    made = _save()
    pupil = make_pupil(HEPING1, grade=3)
    classes.place(pupil, made)
    db.session.commit()
    with pytest.raises(RuleViolation, match="没有学生"):
        classes.delete_class(user("school-heping1"), made)
    classes.place(pupil, None)
    classes.delete_class(user("school-heping1"), made)
    db.session.commit()
    assert db.session.get(SchoolClass, made.id) is None


# --- a pupil's class -------------------------------------------------------------------------


def test_a_class_change_sets_the_class_and_its_name_together_with_history(ctx):
    target = _save()
    pupil = make_pupil(HEPING1, grade=3, name="吉𠮷", class_name=None, xjh=None)
    request_class_change(pupil, user("school-heping1"), target, "新生分班")
    db.session.commit()
    assert (pupil.class_id, pupil.class_name) == (target.id, "7班")
    rows = db.session.scalars(
        select(StudentHistory).where(StudentHistory.student_id == pupil.id, StudentHistory.field.in_(("class_name", "class_id")))
    ).all()
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [("class_name", None, "7班")]  # the id is not history


def test_a_class_change_needs_a_class_set_up_for_the_pupils_grade(ctx):
    pupil = make_pupil(HEPING1, grade=3)
    with pytest.raises(RuleViolation, match="没有") as exc:
        request_class_change(pupil, user("school-heping1"), "99班", "理由")
    assert _fields(exc.value.problems) == {"class_name"}
    other_grade = make_class(HEPING1, 4, "8班")
    with pytest.raises(RuleViolation, match="没有"):
        request_class_change(pupil, user("school-heping1"), other_grade, "理由")


def test_a_new_pupils_typed_class_is_linked_to_the_class_of_that_name(ctx):
    from services.students import save_student
    from tests.services.test_students import new_student

    target = _save(name="5班")
    pupil = save_student(new_student(grade=3, class_name="5班"), user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert pupil.class_id == target.id
    other_id = make_id("210102", date(2017, 3, 15), 223)
    unknown = save_student(
        new_student(grade=3, class_name="未建班", name="李四", id_number=other_id), user("school-heping1"), school(HEPING1)
    )
    assert unknown.class_id is None and unknown.class_name == "未建班"


def test_unassigned_pupils_are_those_of_the_grade_in_no_class(ctx):
    made = _save()
    placed, free, typed = (make_pupil(HEPING1, grade=3, name=n) for n in ("甲", "乙", "丙"))
    left = make_pupil(HEPING1, grade=3, name="丁", status="pending")  # waiting for the authority: not yet on the roll
    classes.place(placed, made)
    classes.place(free, None)
    typed.class_id = None  # a class name typed before the school set its classes up
    db.session.flush()
    waiting = {s.id for s in classes.unassigned(made)}
    assert free.id in waiting and typed.id in waiting and placed.id not in waiting and left.id not in waiting


# --- the summer promotion --------------------------------------------------------------------


def _school_with_classes() -> dict[str, SchoolClass]:
    """和平一小 in 2026–2027 with two third-grade classes, one fifth and one sixth (graduating)."""
    made = {
        "3-1": make_class(HEPING1, 3, "1班", year=YEAR, head_teacher="张老师"),
        "3-2": make_class(HEPING1, 3, "2班", year=YEAR, head_teacher="李老师"),
        "5-1": make_class(HEPING1, 5, "1班", year=YEAR),
        "6-1": make_class(HEPING1, 6, "1班", year=YEAR, head_teacher="赵老师"),
    }
    made["3-1"].head_teacher_phone = "13900002222"
    return made


def _pupils_in(made: dict[str, SchoolClass]) -> dict[str, list[Student]]:
    out: dict[str, list[Student]] = {}
    for key, cls in made.items():
        out[key] = [make_pupil(HEPING1, grade=cls.grade, name=f"学生{key}{i}") for i in range(2)]
        for s in out[key]:
            classes.place(s, cls)
    db.session.commit()
    return out


def _new_year_class(grade: int, name: str) -> SchoolClass | None:
    return db.session.scalar(
        select(SchoolClass).where(
            SchoolClass.school_id == school(HEPING1).id,
            SchoolClass.school_year == YEAR + 1,
            SchoolClass.grade == grade,
            SchoolClass.name == name,
        )
    )


def test_promotion_carries_the_classes_forward_with_their_pupils(ctx, monkeypatch):
    made = _school_with_classes()
    pupils = _pupils_in(made)
    watched = pupils["3-1"][0].id

    def class_rows() -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(StudentHistory)
            .where(StudentHistory.student_id == watched, StudentHistory.field == "class_name")
        )

    before = class_rows()
    at(monkeypatch, date(2027, 7, 20))
    promotion.promote(user("school-heping1"), school(HEPING1), YEAR + 1)
    db.session.commit()
    for key, (grade, name) in {"3-1": (4, "1班"), "3-2": (4, "2班"), "5-1": (6, "1班")}.items():
        new = _new_year_class(grade, name)
        assert new is not None and new.head_teacher == made[key].head_teacher and new.scope_path == made[key].scope_path
        for s in pupils[key]:
            assert (s.grade, s.class_id, s.class_name) == (grade, new.id, name)
    assert _new_year_class(4, "1班").head_teacher_phone == "13900002222"
    assert _new_year_class(7, "1班") is None  # the graduating grade of a primary school gets no class
    for s in pupils["6-1"]:
        assert (s.grade, s.class_id) == (6, made["6-1"].id)
    # The pupils' history: the grade moved; the class name did not change, so no class row.
    assert class_rows() == before


def test_a_second_run_of_an_overlapping_area_makes_no_second_class(ctx, monkeypatch):
    _school_with_classes()
    at(monkeypatch, date(2027, 7, 20))
    promotion.promote(user("school-heping1"), school(HEPING1), YEAR + 1)
    db.session.commit()

    def in_heping1() -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(SchoolClass)
            .where(SchoolClass.school_year == YEAR + 1, SchoolClass.school_id == school(HEPING1).id)
        )

    before = in_heping1()
    assert before > 0
    promotion.promote(user("shenyang"), school(HEPING1).parent.parent, YEAR + 1)  # the city, over the same school
    db.session.commit()
    assert in_heping1() == before
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SchoolClass)
            .where(SchoolClass.school_year == YEAR + 1, SchoolClass.school_id == school(SHENHE1).id)
        )
        > 0
    )  # the rest of the city carried
    dup = db.session.execute(
        select(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name, func.count())
        .where(SchoolClass.school_year == YEAR + 1)
        .group_by(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
        .having(func.count() > 1)
    ).all()
    assert dup == []


def test_a_junior_school_carries_grades_7_and_8_but_not_9(ctx, monkeypatch):
    seven, nine = make_class(HEPING2, 7, "1班", year=YEAR), make_class(HEPING2, 9, "1班", year=YEAR)
    pupil = make_pupil(HEPING2, grade=7, name="初一学生")
    classes.place(pupil, seven)
    db.session.commit()
    at(monkeypatch, date(2027, 7, 20))
    promotion.promote(user("school-heping2"), school(HEPING2), YEAR + 1)
    db.session.commit()
    new_years = {
        (c.grade, c.name)
        for c in db.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school(HEPING2).id, SchoolClass.school_year == YEAR + 1)
        )
    }
    assert (8, "1班") in new_years and (10, "1班") not in new_years
    assert pupil.grade == 8 and pupil.class_name == "1班" and pupil.school_class.school_year == YEAR + 1
    assert nine.school_year == YEAR


def test_re_forming_the_classes_leaves_the_pupils_to_be_placed_again(ctx, monkeypatch):
    made = _school_with_classes()
    pupils = _pupils_in(made)
    at(monkeypatch, date(2027, 7, 20))
    run = promotion.promote(user("school-heping1"), school(HEPING1), YEAR + 1, re_form=True)
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SchoolClass)
            .where(SchoolClass.school_year == YEAR + 1, SchoolClass.school_id == school(HEPING1).id)
        )
        == 0
    )
    for key in ("3-1", "3-2", "5-1"):
        for s in pupils[key]:
            assert s.grade == made[key].grade + 1 and (s.class_id, s.class_name) == (None, None)
            row = db.session.scalar(
                select(StudentHistory)
                .where(StudentHistory.student_id == s.id, StudentHistory.field == "class_name")
                .order_by(StudentHistory.id.desc())
            )
            assert (row.old_value, row.new_value) == (made[key].name, None) and f"#{run.id}" in row.reason
    for s in pupils["6-1"]:  # the graduating grade keeps its class
        assert (s.grade, s.class_id, s.class_name) == (6, made["6-1"].id, "1班")
    # The school places them again, into a class it sets up for the new school year.
    again = classes.save_class(user("school-heping1"), school(HEPING1), year=YEAR + 1, grade=4, name="1班", head_teacher="钱老师")
    assert {s.id for s in classes.unassigned(again)} >= {s.id for s in pupils["3-1"] + pupils["3-2"]}
    request_class_change(pupils["3-2"][0], user("school-heping1"), again, "重新编班")
    assert pupils["3-2"][0].class_id == again.id
