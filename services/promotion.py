"""正常升级 (summer promotion): every pupil in school moves up one grade, set-based.

One run covers a scope (a school, a county, a city or the province) for one school year and is
a handful of statements whatever its size: an INSERT of the run, one UPDATE of the pupils, one
INSERT … SELECT of their history rows. Only pupils 在籍 move; suspended, abroad, dropped-out,
waiting or finished records keep their grade, and so does the graduating grade (6 in a primary
school, 9 elsewhere), which leaves by graduation or 接续 instead. A pupil moved by a run of
that school year is not moved again, whichever scope the second run has. `preview` shows the
same selection before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, cast, func, insert, literal, or_, select, update
from sqlalchemy.types import String

from extensions import db
from models.audit import StudentHistory
from models.org import OrgUnit
from models.promotion import PromotionRun
from models.student import Student
from services import audit, clock, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

IN_SCHOOL = "enrolled"
LAST_PRIMARY_GRADE, LAST_GRADE = 6, 9


def default_school_year(today: date | None = None) -> int:
    """The school year a summer promotion prepares: from June on, the one starting that September."""
    today = today or clock.today()
    return today.year if today.month >= 6 else today.year - 1


def _primary_schools() -> Any:
    return select(OrgUnit.id).where(OrgUnit.school_kind == "primary").scalar_subquery()


def _not_yet_promoted(school_year: int) -> Any:
    earlier = select(PromotionRun.id).where(PromotionRun.school_year < school_year)
    return or_(Student.promotion_run_id.is_(None), Student.promotion_run_id.in_(earlier))


def _below_final_grade() -> Any:
    return and_(Student.grade < LAST_GRADE, or_(Student.grade < LAST_PRIMARY_GRADE, Student.school_id.not_in(_primary_schools())))


def eligible(unit: OrgUnit, school_year: int) -> Any:
    """The pupils a run over `unit` for `school_year` moves up."""
    return and_(scope.within(Student.scope_path, unit.path), Student.status == IN_SCHOOL, _below_final_grade(),
                _not_yet_promoted(school_year))


@dataclass(frozen=True)
class Preview:
    school_year: int
    by_grade: dict[int, int]  # grade now → pupils who move up from it
    final_grade: int  # 在籍 pupils in their school's graduating grade (not moved; not yet promoted this year)
    not_in_school: int  # suspended, abroad, dropped out, waiting … (not moved)
    already: int  # moved by an earlier run of this school year

    @property
    def total(self) -> int:
        return sum(self.by_grade.values())


def _check(actor: User, unit: OrgUnit) -> None:
    if not scope.covers(actor, unit.path):
        raise NotInScope()
    if not (actor.is_official or actor.is_admin or (actor.is_school_user and actor.unit_id == unit.id)):
        raise RuleViolation(str(_l("Promotion is run by a school for itself or by an education authority for its area.")))


def preview(actor: User, unit: OrgUnit, school_year: int) -> Preview:
    _check(actor, unit)
    in_scope = scope.within(Student.scope_path, unit.path)
    by_grade = dict(db.session.execute(
        select(Student.grade, func.count()).where(eligible(unit, school_year)).group_by(Student.grade).order_by(Student.grade)
    ).all())
    fresh = _not_yet_promoted(school_year)
    final = db.session.scalar(select(func.count()).select_from(Student).where(
        in_scope, fresh, Student.status == IN_SCHOOL, ~_below_final_grade()))
    not_in_school = db.session.scalar(select(func.count()).select_from(Student).where(
        in_scope, fresh, Student.status != IN_SCHOOL, _below_final_grade()))
    already = db.session.scalar(select(func.count()).select_from(Student).where(in_scope, ~fresh))
    return Preview(school_year, by_grade, final or 0, not_in_school or 0, already or 0)


def promote(actor: User, unit: OrgUnit, school_year: int) -> PromotionRun:
    """Move every eligible pupil of `unit`'s subtree up one grade, with one history row each.
    The caller commits; a concurrent run of an overlapping scope moves each pupil once (the
    UPDATE's condition is checked again on a row another transaction changed)."""
    _check(actor, unit)
    if school_year > clock.today().year:
        raise RuleViolation(str(_l("The school year %(y)d has not begun to be prepared yet.", y=school_year)))
    run = PromotionRun(school_year=school_year, unit_id=unit.id, scope_path=unit.path, run_by_id=actor.id, run_at=clock.now())
    db.session.add(run)
    db.session.flush()
    moved = db.session.execute(
        update(Student).where(eligible(unit, school_year))
        .values(grade=Student.grade + 1, promotion_run_id=run.id, version_id=Student.version_id + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount
    reason = str(_l("Summer promotion %(y)d–%(z)d (run #%(id)d)", y=school_year, z=school_year + 1, id=run.id))
    history = select(
        Student.id, literal("grade"), cast(Student.grade - 1, String), cast(Student.grade, String), literal(reason),
        literal(actor.id), literal(clock.now()),
    ).where(Student.promotion_run_id == run.id)
    db.session.execute(insert(StudentHistory).from_select(
        ["student_id", "field", "old_value", "new_value", "reason", "changed_by_id", "changed_at"], history))
    run.promoted = moved
    audit.record(actor, "promotion.run", "org_unit", unit.id, f"#{run.id} {school_year}: {moved}")
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
