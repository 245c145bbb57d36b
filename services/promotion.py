"""正常升级 (summer promotion): every pupil in school moves up one grade, set-based.

One run covers a scope (a school, a county, a city or the province) for one school year and is
a handful of statements whatever its size: an INSERT of the run, one UPDATE of the pupils, one
INSERT … SELECT of their history rows. Only pupils 在籍 move; suspended, abroad, dropped-out,
waiting or finished records keep their grade, and so does the graduating grade (6 in a primary
school, 9 elsewhere), which leaves by graduation or 接续 instead. A pupil moved by a run of
that school year is not moved again, whichever scope the second run has, and neither is a pupil
with an open 问题学籍 (第七条: it blocks every change until resolved). `preview` shows the same
selection before anything is written, grade by grade: who moves, who is held back and why.

第十二条: the promotion runs after the school year has ended — in the province's PROMOTION_WINDOW
(config.py). `why_not_now` is the one place that says when it cannot run; the screen shows it
and `promote` refuses with it.

Classes (models/school_class.py): by default they are carried forward — each class of grade g of
the school year before becomes a class of grade g + 1 of the new year, with its name and head
teacher, and the pupils who move stay together in it (one INSERT … SELECT of the classes, and the
pupils' new class in the same UPDATE that moves them). With `re_form` (重新编班) no class is made
for the new year and the pupils who move leave their class, for the school to assign them again.
The graduating grade gets no new class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, cast, exists, func, insert, literal, literal_column, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.types import String

from extensions import db
from models.audit import StudentHistory
from models.org import OrgUnit
from models.problems import OPEN as PROBLEM_OPEN
from models.problems import ProblemRecord
from models.promotion import PromotionRun
from models.school_class import SchoolClass
from models.student import Student
from services import audit, clock, codes, scope, year_calendar
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

IN_SCHOOL = "enrolled"
LAST_PRIMARY_GRADE, LAST_GRADE = 6, 9


def default_school_year(today: date | None = None) -> int:
    """The school year the next (or current) summer promotion prepares: this year's until its
    window has closed, then next year's."""
    today = today or clock.today()
    return today.year if today <= year_calendar.promotion_window(today.year)[1] else today.year + 1


def window_words(year: int) -> tuple[str, str]:
    """The first and last day of the promotion window of `year`, as the user reads them."""
    start, end = year_calendar.promotion_window(year)
    return year_calendar.words(start), year_calendar.words(end)


def why_not_now(year: int, today: date | None = None) -> str | None:
    """Why the promotion preparing the school year `year`–`year + 1` cannot run today, or None.
    第十二条: 正常升级 follows the end of the school year; the window is the province's (config.py)."""
    today = today or clock.today()
    start, end = year_calendar.promotion_window(year)
    if start <= today <= end:
        return None
    return str(_l("The summer promotion to the school year %(y)d–%(z)d runs after the school year has ended, from %(start)s "
                  "to %(end)s; it cannot run today (%(today)s).", y=year, z=year + 1, start=year_calendar.words(start),
                  end=year_calendar.words(end), today=year_calendar.words(today)))


def _primary_schools() -> Any:
    return select(OrgUnit.id).where(OrgUnit.school_kind == "primary").scalar_subquery()


def _not_yet_promoted(school_year: int) -> Any:
    earlier = select(PromotionRun.id).where(PromotionRun.school_year < school_year)
    return or_(Student.promotion_run_id.is_(None), Student.promotion_run_id.in_(earlier))


def _below_final_grade() -> Any:
    return and_(Student.grade < LAST_GRADE, or_(Student.grade < LAST_PRIMARY_GRADE, Student.school_id.not_in(_primary_schools())))


def _class_below_final_grade() -> Any:
    return and_(SchoolClass.grade < LAST_GRADE,
                or_(SchoolClass.grade < LAST_PRIMARY_GRADE, SchoolClass.school_id.not_in(_primary_schools())))


def _carry_classes_forward(unit: OrgUnit, school_year: int) -> int:
    """The classes of the year before, one grade up, for `school_year` (INSERT … SELECT); a class
    already there (an earlier run of an overlapping scope, or set up by the school) is kept."""
    new = aliased(SchoolClass)
    there = exists().where(new.school_id == SchoolClass.school_id, new.school_year == school_year,
                           new.grade == SchoolClass.grade + 1, new.name == SchoolClass.name)
    carried = select(SchoolClass.school_id, SchoolClass.scope_path, literal(school_year), SchoolClass.grade + 1, SchoolClass.name,
                     SchoolClass.head_teacher, SchoolClass.head_teacher_phone, literal(clock.now())).where(
        scope.within(SchoolClass.scope_path, unit.path), SchoolClass.school_year == school_year - 1,
        _class_below_final_grade(), ~there)
    return db.session.execute(insert(SchoolClass).from_select(
        ["school_id", "scope_path", "school_year", "grade", "name", "head_teacher", "head_teacher_phone", "created_at"], carried,
    )).rowcount


def _class_one_grade_up(school_year: int) -> Any:
    """The pupil's class carried forward: the class of the new year, one grade up, with the name of
    the pupil's class (a correlated subquery of the UPDATE, which reads the row's old grade)."""
    old, new = aliased(SchoolClass), aliased(SchoolClass)
    return (select(new.id).where(old.id == Student.class_id, new.school_id == Student.school_id, new.school_year == school_year,
                                 new.grade == Student.grade + 1, new.name == old.name).scalar_subquery())


def _clear_classes(run: PromotionRun, actor: User, reason: str) -> None:
    """重新编班: the moved pupils leave their class name too, with a history row each."""
    named = and_(Student.promotion_run_id == run.id, Student.class_name.is_not(None))
    db.session.execute(insert(StudentHistory).from_select(
        ["student_id", "field", "old_value", "new_value", "reason", "changed_by_id", "changed_at"],
        select(Student.id, literal("class_name"), Student.class_name, literal(None, String), literal(reason), literal(actor.id),
               literal(clock.now())).where(named)))
    db.session.execute(update(Student).where(named).values(class_name=None).execution_options(synchronize_session=False))


def _open_problem() -> Any:
    """第七条: an open 问题学籍 blocks every change of the pupil, a grade too, until it is resolved."""
    return exists().where(ProblemRecord.student_id == Student.id, ProblemRecord.status == PROBLEM_OPEN)


def eligible(unit: OrgUnit, school_year: int) -> Any:
    """The pupils a run over `unit` for `school_year` moves up."""
    return and_(scope.within(Student.scope_path, unit.path), Student.status == IN_SCHOOL, _below_final_grade(),
                _not_yet_promoted(school_year), ~_open_problem())


# Why a pupil kept at a school is not moved (besides their status: 休学, 出国出境, 辍学 …).
MOVES, ALREADY, FINAL_GRADE, PROBLEM = "moves", "already", "final_grade", "problem"
# Records kept at the school but not in school: listed as held back. Records that left (转出,
# 毕业, 注销 …) are no part of a promotion and not counted.
HELD_STATUSES = ("suspended", "abroad", "dropped_out", "pending", "delayed")
REASONS = {
    ALREADY: _l("already moved up by a run of this school year"),
    FINAL_GRADE: _l("graduating grade: leaves by graduation or 接续"),
    PROBLEM: _l("open problem record (问题学籍, 第七条)"),
}


def reason_label(reason: str) -> str:
    """Why pupils are held back, in words: a reason of REASONS or a status (休学 …)."""
    return str(REASONS[reason]) if reason in REASONS else codes.label("student_status", reason)


@dataclass(frozen=True)
class GradeLine:
    grade: int
    moves: int
    held: dict[str, int]  # reason (ALREADY, FINAL_GRADE, PROBLEM or a status) → pupils held back

    @property
    def held_total(self) -> int:
        return sum(self.held.values())


@dataclass(frozen=True)
class Preview:
    """The dry run of a promotion: per grade who moves and who is held back and why; `blocked`
    says why it cannot run today (None: it can)."""

    school_year: int
    lines: list[GradeLine]
    blocked: str | None = None

    @property
    def by_grade(self) -> dict[int, int]:  # grade now → pupils who move up from it
        return {line.grade: line.moves for line in self.lines if line.moves}

    @property
    def total(self) -> int:
        return sum(line.moves for line in self.lines)

    def _held(self, *reasons: str) -> int:
        return sum(n for line in self.lines for r, n in line.held.items() if r in reasons)

    @property
    def final_grade(self) -> int:  # 在籍 pupils in their school's graduating grade
        return self._held(FINAL_GRADE)

    @property
    def not_in_school(self) -> int:  # suspended, abroad, dropped out, waiting …
        return self._held(*HELD_STATUSES)

    @property
    def already(self) -> int:  # moved by an earlier run of this school year
        return self._held(ALREADY)

    @property
    def problems(self) -> int:
        return self._held(PROBLEM)


def _check(actor: User, unit: OrgUnit) -> None:
    if not scope.covers(actor, unit.path):
        raise NotInScope()
    if not (actor.is_official or (actor.is_school_user and actor.unit_id == unit.id)):
        raise RuleViolation(str(_l("Promotion is run by a school for itself or by an education authority for its area.")))


def _word(value: str) -> Any:
    """A constant of the reason CASE (one of ours, never user input) as SQL text."""
    return literal_column(f"'{value}'")


def preview(actor: User, unit: OrgUnit, school_year: int) -> Preview:
    """Per grade, in one GROUP BY: who moves, who is held back and why; the same rule as `promote`."""
    _check(actor, unit)
    reason = case(
        (~_not_yet_promoted(school_year), _word(ALREADY)),
        (Student.status != IN_SCHOOL, Student.status),
        (~_below_final_grade(), _word(FINAL_GRADE)),
        (_open_problem(), _word(PROBLEM)),
        else_=_word(MOVES),
    )
    # Grouped outside a subquery: the CASE holds bound parameters, which PostgreSQL would not
    # recognise as the same expression in SELECT and GROUP BY.
    pupils = select(Student.grade.label("grade"), reason.label("reason")).where(
        scope.within(Student.scope_path, unit.path), Student.status.in_((IN_SCHOOL, *HELD_STATUSES))).subquery()
    rows = db.session.execute(
        select(pupils.c.grade, pupils.c.reason, func.count()).group_by(pupils.c.grade, pupils.c.reason).order_by(pupils.c.grade)
    ).all()
    lines: dict[int, GradeLine] = {}
    for grade, why, n in rows:
        line = lines.setdefault(grade, GradeLine(grade, 0, {}))
        if why == MOVES:
            lines[grade] = GradeLine(grade, line.moves + n, line.held)
        else:
            line.held[why] = line.held.get(why, 0) + n
    return Preview(school_year, [lines[g] for g in sorted(lines)], why_not_now(school_year))


def promote(actor: User, unit: OrgUnit, school_year: int, *, re_form: bool = False) -> PromotionRun:
    """Move every eligible pupil of `unit`'s subtree up one grade, with one history row each, and
    carry the classes forward (or, `re_form`, leave the pupils to be placed in classes again).
    The caller commits; a concurrent run of an overlapping scope moves each pupil once (the
    UPDATE's condition is checked again on a row another transaction changed)."""
    _check(actor, unit)
    blocked = why_not_now(school_year)
    if blocked:
        raise RuleViolation(blocked)
    run = PromotionRun(school_year=school_year, unit_id=unit.id, scope_path=unit.path, run_by_id=actor.id, run_at=clock.now())
    db.session.add(run)
    db.session.flush()
    classes = 0 if re_form else _carry_classes_forward(unit, school_year)
    moved = db.session.execute(
        update(Student).where(eligible(unit, school_year))
        .values(grade=Student.grade + 1, promotion_run_id=run.id, version_id=Student.version_id + 1, updated_at=clock.now(),
                class_id=None if re_form else _class_one_grade_up(school_year))
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount
    reason = str(_l("Summer promotion %(y)d–%(z)d (run #%(id)d)", y=school_year, z=school_year + 1, id=run.id))
    history = select(
        Student.id, literal("grade"), cast(Student.grade - 1, String), cast(Student.grade, String), literal(reason),
        literal(actor.id), literal(clock.now()),
    ).where(Student.promotion_run_id == run.id)
    db.session.execute(insert(StudentHistory).from_select(
        ["student_id", "field", "old_value", "new_value", "reason", "changed_by_id", "changed_at"], history))
    if re_form:
        _clear_classes(run, actor, reason)
    run.promoted = moved
    placed = "重新编班" if re_form else f"班级顺延 {classes} 个"
    audit.record(actor, "promotion.run", "org_unit", unit.id, f"升级 #{run.id}（{school_year} 学年）：{moved} 人，{placed}")
    db.session.flush()
    db.session.expire_all()  # loaded pupils have new grades in the database
    return run


def runs(actor: User, limit: int = 50) -> list[PromotionRun]:
    """The runs in the actor's scope or above it (a county sees the province's run too)."""
    return list(db.session.scalars(
        select(PromotionRun).where(or_(scope.filter_for(actor, PromotionRun.scope_path),
                                       literal(actor.unit.path).startswith(PromotionRun.scope_path)))
        .order_by(PromotionRun.id.desc()).limit(limit)
    ))
