"""Schools in the organisation tree: codes, placement, supervising authority (第三条, 第十五条)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models.org import AUTHORITY_LEVELS, CITY, COUNTY, PROVINCE, SCHOOL, SCHOOL_KIND_DIGIT, SCHOOL_KINDS, OrgUnit, child_path
from services import audit, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

SCHOOL_CODE_RE = re.compile(r"^2[1-5]21\d{6}$")


def school_code_problems(code: str | None, kind: str | None) -> list[tuple[str, str]]:
    if not code or not SCHOOL_CODE_RE.match(code):
        return [("code", str(_l("A school code has 10 digits: 2, the kind digit, 21 and a six-digit sequence.")))]
    if kind in SCHOOL_KIND_DIGIT and code[1] != SCHOOL_KIND_DIGIT[kind]:
        return [("code", str(_l("The second digit of the code must be %(d)s for this kind of school.", d=SCHOOL_KIND_DIGIT[kind])))]
    return []


def save_school(school: OrgUnit, actor: User, is_new: bool) -> OrgUnit:
    """Validate and stage a school. Officials may only place schools inside their subtree."""
    with db.session.no_autoflush:
        problems: list[tuple[str, str]] = []
        school.level = SCHOOL
        county = school.parent
        if county is None or county.level != COUNTY:
            problems.append(("parent", str(_l("Choose the county the school stands in."))))
        elif not scope.covers_unit(actor, county.path):
            raise NotInScope()
        if not school.name or not school.name.strip() or len(school.name) > 100:
            problems.append(("name", str(_l("This field is required."))))
        if school.school_kind not in SCHOOL_KINDS:
            problems.append(("school_kind", str(_l("Choose the kind of school."))))
        if is_new:
            problems += school_code_problems(school.code, school.school_kind)
            taken = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == school.code))
            if school.code and taken is not None:
                problems.append(("code", str(_l("This school code is already in use."))))
        sup = school.supervisor
        if sup is None:
            school.supervisor = sup = county
        if sup is not None and county is not None and (sup.level not in AUTHORITY_LEVELS or not county.path.startswith(sup.path)):
            problems.append(("supervisor", str(_l("The supervising authority must be the county, its city or the province."))))
        central = school.central_school
        same_county = county is not None and central is not None and central.parent_id == county.id
        if central is not None and (central.level != SCHOOL or not same_county or central.id == school.id):
            problems.append(("central_school", str(_l("The township central school must be another school of the same county."))))
        if problems:
            raise RuleViolation(problems)
        if is_new:
            school.path = child_path(county, school.code)
            db.session.add(school)
        db.session.flush()
        audit.record(actor, "school.create" if is_new else "school.update", "org_unit", school.id, school.name)
        return school


# An authority's code extends its parent's by two digits: a city 2101 under the province 21, a county
# 210102 under the city 2101 (GB/T 2260; a development zone with an education bureau of its own has
# a code of the same shape, though not always one in the national table).
CHILD_LEVEL = {PROVINCE: CITY, CITY: COUNTY}
AUTHORITY_CODE_LENGTH = {CITY: 4, COUNTY: 6}


def authority_code_problems(code: str | None, parent: OrgUnit | None) -> list[tuple[str, str]]:
    if parent is None or parent.level not in CHILD_LEVEL:
        return []  # the parent's own problem is reported
    length = AUTHORITY_CODE_LENGTH[CHILD_LEVEL[parent.level]]
    if not code or not code.isdigit() or len(code) != length or not code.startswith(parent.code):
        return [("code", str(_l("The code has %(n)d digits and begins with the code of %(parent)s (%(code)s).",
                                n=length, parent=parent.name, code=parent.code)))]
    if code == parent.code + "0" * (length - len(parent.code)):
        return [("code", str(_l("Digits ending in 00 name the level above, not a new unit.")))]
    return []


def parent_authorities(actor: User) -> list[OrgUnit]:
    """The province and cities of the actor's subtree: where a new city or county can be placed."""
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.level.in_(tuple(CHILD_LEVEL)), OrgUnit.active.is_(True),
                              scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.path)
    ))


def save_authority(unit: OrgUnit, actor: User, is_new: bool) -> OrgUnit:
    """Validate and stage a city or county education authority (教育行政部门) under an authority of
    the actor's subtree. Its level follows from the parent; its code and place never change."""
    with db.session.no_autoflush:
        problems: list[tuple[str, str]] = []
        unit.name = (unit.name or "").strip()
        if not unit.name or len(unit.name) > 100:
            problems.append(("name", str(_l("This field is required."))))
        if is_new:
            parent = unit.parent
            if parent is None or parent.level not in CHILD_LEVEL:
                problems.append(("parent", str(_l("Choose the province or city the new authority belongs to."))))
            elif not scope.covers_unit(actor, parent.path):
                raise NotInScope()
            unit.code = (unit.code or "").strip()
            problems += authority_code_problems(unit.code, parent)
            if unit.code and db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit.code)) is not None:
                problems.append(("code", str(_l("This unit code is already in use."))))
        if problems:
            raise RuleViolation(problems)
        if is_new:
            assert unit.parent is not None
            unit.level = CHILD_LEVEL[unit.parent.level]
            unit.path = child_path(unit.parent, unit.code)
            unit.active = True
            db.session.add(unit)
        db.session.flush()
        audit.record(actor, "authority.create" if is_new else "authority.update", "org_unit", unit.id, unit.name)
        return unit


def authorities_for(actor: User) -> list[OrgUnit]:
    """Authorities an official may name as supervisor: their own chain upwards and their subtree."""
    path = actor.unit.path
    rows = db.session.scalars(select(OrgUnit).where(OrgUnit.level.in_(AUTHORITY_LEVELS)).order_by(OrgUnit.path))
    return [u for u in rows if u.path.startswith(path) or path.startswith(u.path)]


# --- 第十条: merged and closed schools hand their archives over ----------------------------------


def _move_records(source: OrgUnit, target: OrgUnit, actor: User, reason: str, only_left: bool = False) -> int:
    """Set-based move of a school's records (and their archives, which hang off the student) with
    one history row per record."""
    from sqlalchemy import insert, literal, update

    from models.audit import StudentHistory
    from models.student import Student
    from services.clock import now

    cond = [Student.school_id == source.id]
    if only_left:
        cond.append(Student.status != "enrolled")
    when, label = now(), f"{source.name}（{source.code}）→ {target.name}（{target.code}）"
    db.session.execute(insert(StudentHistory).from_select(
        ["student_id", "field", "old_value", "new_value", "reason", "changed_by_id", "changed_at"],
        select(Student.id, literal("school_id"), literal(f"{source.name}（{source.code}）"),
               literal(f"{target.name}（{target.code}）"), literal(reason), literal(actor.id), literal(when)).where(*cond),
    ))
    from models.archive import ArchiveBackup

    # The backups the school kept of pupils who left (第十条) go with its archives.
    db.session.execute(update(ArchiveBackup).where(ArchiveBackup.scope_path == source.path).values(scope_path=target.path)
                       .execution_options(synchronize_session=False))
    moved = db.session.execute(
        # The classes are the old school's: the pupils keep the class name and the new school links them.
        update(Student).where(*cond).values(school_id=target.id, scope_path=target.path, class_id=None,
                                            version_id=Student.version_id + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(actor, "school.handover", "org_unit", source.id, f"{label}: {moved}")
    return moved


def _check_official_over(actor: User, *units: OrgUnit) -> None:
    if not actor.is_official:  # it moves pupils' records: not the system administrator's (三员分立)
        raise RuleViolation(str(_l("Only an education authority can do this.")))
    for unit in units:
        if not scope.covers(actor, unit.path):
            raise NotInScope()


def merge_schools(source: OrgUnit, target: OrgUnit, actor: User) -> int:
    """学校合并: every record of `source` moves to `target`; `source` is closed."""
    _check_official_over(actor, source, target)
    if source.level != SCHOOL or target.level != SCHOOL or source.id == target.id or not target.active:
        raise RuleViolation(str(_l("Choose another, active school to merge into.")))
    moved = _move_records(source, target, actor, str(_l("School merger")))
    source.active = False
    db.session.flush()
    return moved


def close_school(school: OrgUnit, receiver: OrgUnit, actor: User) -> int:
    """学校撤销: pupils in school must have transferred first; the remaining archives go to the unit
    the authority names."""
    from models.student import Student

    _check_official_over(actor, school, receiver)
    if school.level != SCHOOL or receiver.id == school.id or not receiver.active:
        raise RuleViolation(str(_l("Choose the unit that will keep the archives.")))
    in_school = db.session.scalar(select(func.count()).select_from(Student).where(
        Student.school_id == school.id, Student.status == "enrolled"))
    if in_school:
        raise RuleViolation(str(_l("%(n)d pupils are still in school here; transfer them before closing the school.", n=in_school)))
    moved = _move_records(school, receiver, actor, str(_l("School closed")), only_left=True)
    school.active = False
    db.session.flush()
    return moved
