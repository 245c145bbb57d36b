"""The school's registrars (学籍管理员, 第二十六条).

Each school records who its registrars are: name, phone, the day they were appointed, whether
full-time and whether formal staff. Nothing is deleted: an appointment that ends gets its end
date, so the authority can see who was responsible when.

Who records them: 校长是学校学籍管理的第一责任人 … 分管学生学籍工作的校领导是主管责任人 …
学校学籍管理员是直接责任人 (第二十六条). Appointing (配备或指定) a registrar is the school
leadership's act, so the principal and the deputy in charge add and end entries; a registrar
account sees the list but cannot appoint or dismiss — least of all itself.

学籍管理员应当由各单位或学校的正式工作人员担任: a registrar who is not formal staff is refused
(the field is the principal's recorded statement). 各级学籍管理员的基本信息须报送上一级教育行政部门:
the authorities above see and export the list of their subtree (the scope rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.people import DEPUTY, PRINCIPAL
from models.rosters import SchoolRegistrar
from services import audit, clock, exports, scope
from services.errors import RuleViolation
from services.students import NAME_RE

if TYPE_CHECKING:
    from models.people import User

# A mobile number (11 digits, 1[3-9]…) or a landline with its area code (0xx-xxxxxxx), extension optional.
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
MANAGING_ROLES = frozenset({PRINCIPAL, DEPUTY})
YES_NO = {True: "是", False: "否"}


def may_manage(actor: User, school: OrgUnit) -> bool:
    """The principal or the deputy in charge of the school itself (第二十六条)."""
    return school.level == SCHOOL and actor.unit_id == school.id and bool(actor.role_names & MANAGING_ROLES)


def is_current(today: date | None = None) -> Any:
    """SQL: the appointment has not ended (an end date is the first day without it)."""
    return or_(SchoolRegistrar.ended_on.is_(None), SchoolRegistrar.ended_on > (today or clock.today()))


def validate(name: str, phone: str, appointed_on: date | None, formal_staff: bool | None) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not name or not NAME_RE.match(name):
        problems.append(("name", str(_l("The name may contain only Chinese or Latin letters and the middle dot (·)."))))
    if not PHONE_RE.match(phone or ""):
        problems.append(("phone", str(_l("Enter an 11-digit mobile number or a landline with its area code, like 024-12345678."))))
    if appointed_on is None:
        problems.append(("appointed_on", str(_l("Enter the date of appointment."))))
    elif appointed_on > clock.today():
        problems.append(("appointed_on", str(_l("The date of appointment cannot be in the future."))))
    if formal_staff is not True:
        problems.append(("formal_staff", str(_l("A registrar must be formal staff of the school (第二十六条)."))))
    return problems


def add(actor: User, *, name: str, phone: str, appointed_on: date | None, full_time: bool, formal_staff: bool | None) -> SchoolRegistrar:
    """Record a registrar of the actor's school. The caller commits."""
    school = actor.unit
    if not may_manage(actor, school):
        raise RuleViolation(str(_l("Only the principal or the deputy in charge records the school's registrars (第二十六条).")))
    name, phone = (name or "").strip(), (phone or "").strip()
    problems = validate(name, phone, appointed_on, formal_staff)
    if problems:
        raise RuleViolation(problems)
    row = SchoolRegistrar(school_id=school.id, scope_path=school.path, name=name, phone=phone, appointed_on=appointed_on,
                          full_time=bool(full_time), formal_staff=True, recorded_by_id=actor.id, recorded_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "school_registrar", row.id, f"{school.name} {name}")
    return row


def load(actor: User, registrar_id: int) -> SchoolRegistrar:
    """A registrar entry inside the actor's subtree, else NotInScope (→ 404)."""
    return scope.load_scoped(actor, SchoolRegistrar, registrar_id)  # type: ignore[no-any-return]


def end(actor: User, row: SchoolRegistrar, ended_on: date | None = None) -> SchoolRegistrar:
    """End an appointment (history, not deletion). The caller commits."""
    if not may_manage(actor, row.school):
        raise RuleViolation(str(_l("Only the principal or the deputy in charge records the school's registrars (第二十六条).")))
    ended_on = ended_on or clock.today()
    if row.ended_on is not None:
        raise RuleViolation(str(_l("This appointment has already ended.")))
    if ended_on > clock.today():
        raise RuleViolation([("ended_on", str(_l("The end date cannot be in the future.")))])
    if ended_on < row.appointed_on:
        raise RuleViolation([("ended_on", str(_l("The end date cannot be before the date of appointment.")))])
    row.ended_on, row.ended_by_id = ended_on, actor.id
    audit.record(actor, "update", "school_registrar", row.id, f"{ended_on.isoformat()} 起不再担任学籍管理员")
    return row


def listing(actor: User, *, with_ended: bool = False) -> Select[Any]:
    """The registrars of the actor's subtree (a school: its own), by school then appointment."""
    query = (select(SchoolRegistrar).join(OrgUnit, OrgUnit.id == SchoolRegistrar.school_id)
             .where(scope.filter_for(actor, SchoolRegistrar.scope_path))
             .options(selectinload(SchoolRegistrar.school), selectinload(SchoolRegistrar.recorded_by))
             .order_by(OrgUnit.code, SchoolRegistrar.appointed_on, SchoolRegistrar.id))
    return query if with_ended else query.where(is_current())


def without_registrar(path: str) -> Select[Any]:
    """The active schools of the subtree with no current registrar."""
    has_one = exists().where(SchoolRegistrar.school_id == OrgUnit.id, is_current())
    return (select(OrgUnit).where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), scope.within(OrgUnit.path, path), ~has_one)
            .order_by(OrgUnit.code))


def count_without(path: str) -> int:
    return db.session.scalar(select(func.count()).select_from(without_registrar(path).order_by(None).subquery())) or 0


def state_label(row: SchoolRegistrar) -> str:
    return f"已离任（{row.ended_on.isoformat()}）" if row.ended_on is not None and row.ended_on <= clock.today() else "在任"


COLUMNS: list[exports.ExportColumn] = [
    ("学校", lambda r: r.school.name), ("学校标识码", lambda r: r.school.code), ("姓名", lambda r: r.name),
    ("联系电话", lambda r: r.phone), ("任命日期", lambda r: r.appointed_on), ("是否专职", lambda r: YES_NO[r.full_time]),
    ("是否正式工作人员", lambda r: YES_NO[r.formal_staff]), ("状态", state_label),
    ("登记人", lambda r: r.recorded_by.name if r.recorded_by else ""),
]


def xlsx(actor: User) -> Iterator[bytes]:
    """The registrars of the actor's subtree, the ended appointments on a second sheet; audited.
    The caller has passed the export gate."""
    audit.record(actor, "export", "school_registrar", actor.unit_id, f"学籍管理员名册 Excel（{actor.unit.name}）")
    db.session.commit()
    ended = listing(actor, with_ended=True).where(and_(SchoolRegistrar.ended_on.is_not(None), ~is_current()))
    missing: list[exports.ExportColumn] = [("学校", lambda s: s.name), ("学校标识码", lambda s: s.code)]
    return exports.workbook_stream([
        ("学籍管理员", COLUMNS, db.session.scalars(listing(actor)).all()),
        ("已离任", COLUMNS, db.session.scalars(ended).all()),
        ("未配备学籍管理员的学校", missing, db.session.scalars(without_registrar(scope.user_path(actor))).all()),
    ])
