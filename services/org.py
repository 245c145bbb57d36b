"""Schools in the organisation tree: codes, placement, supervising authority (第三条, 第十五条)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.org import AUTHORITY_LEVELS, COUNTY, SCHOOL, SCHOOL_KIND_DIGIT, SCHOOL_KINDS, OrgUnit, child_path
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
        elif not scope.covers(actor, county.path):
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


def authorities_for(actor: User) -> list[OrgUnit]:
    """Authorities an official may name as supervisor: their own chain upwards and their subtree."""
    path = actor.unit.path
    rows = db.session.scalars(select(OrgUnit).where(OrgUnit.level.in_(AUTHORITY_LEVELS)).order_by(OrgUnit.path))
    return [u for u in rows if u.path.startswith(path) or path.startswith(u.path)]
