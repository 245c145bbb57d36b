"""The registers (第十二条, 第二十四条): their kinds, the columns of the 增减登记表, the school year
they cover and when they are due, and the units they are printed for.

The 新生花名册 and the 增减登记表 are due one month after the start of the school year; the
graduation roster by 30 July (第十二条: graduation operations end by then). A school's registers
go to its authority; a city- or province-direct school's also to the county where it stands
(第十二条 last paragraph) — the organisation tree is geographic, so that county's scope already
holds the school and its officials find it in their list.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Select, select

from extensions import db
from models.graduation import COMPLETED as GRADUATION_COMPLETED
from models.graduation import GRADUATED
from models.org import COUNTY, SCHOOL, OrgUnit
from services import clock, codes, scope, workflows
from services.errors import NotInScope

if TYPE_CHECKING:
    from models.people import User


NEW, CHANGES, GRADUATES = "new", "changes", "graduates"
ADD, REMOVE = "add", "remove"
TO, FROM = "to", "from"  # which end of a request is the school whose register counts it


@dataclass(frozen=True)
class RosterKind:
    code: str
    prefix: str  # of the printed document's number, like XX/ZX in services/documents.py
    template: str
    title: str  # the official title, printed as is


KINDS = {
    NEW: RosterKind(NEW, "HM", "roster_new.html", "新生花名册"),
    CHANGES: RosterKind(CHANGES, "ZJ", "roster_changes.html", "学生增加和减少情况登记表"),
    GRADUATES: RosterKind(GRADUATES, "BY", "roster_graduates.html", "毕业生花名册"),
}


@dataclass(frozen=True)
class Column:
    """One column of the 增减登记表: its heading on the form and what it counts."""

    code: str
    label: str
    direction: str
    outcome: str | None = None  # a graduation outcome (毕业/结业) instead of change requests


COLUMNS = (
    Column("new", "新生入学", ADD),
    Column("transfer_in", "转入", ADD),
    Column("province_in", "省外转入", ADD),
    Column("continuation", "升学接续", ADD),
    Column("resumption", "复学", ADD),
    Column("abroad_return", "出国复学", ADD),
    Column("dropout_return", "辍学返校", ADD),
    Column("placed_in", "安置转入", ADD),
    Column("transfer_out", "转出", REMOVE),
    Column("province_out", "转往省外", REMOVE),
    Column("suspension", "休学", REMOVE),
    Column("abroad", "出国出境", REMOVE),
    Column("death", "死亡", REMOVE),
    Column("dropout", "辍学", REMOVE),
    Column("placed_out", "安置转出", REMOVE),
    Column("graduated", "毕业", REMOVE, outcome=GRADUATED),
    Column("completed", "结业", REMOVE, outcome=GRADUATION_COMPLETED),
)
COLUMN = {c.code: c for c in COLUMNS}
DIRECTION_LABELS = {ADD: "增加", REMOVE: "减少"}


def columns_for(side: str) -> dict[str, Column]:
    """change type → the column that counts it at the school that is the `side` end of the request.
    Each type declares its columns (ChangeType.roster_columns in changes/<type>.py)."""
    return {ctype.code: COLUMN[column] for ctype in workflows.TYPES.values()
            for column, end in ctype.roster_columns if end == side}


# --- the calendar --------------------------------------------------------------------------------


def year_start(year: int) -> date:
    """The first day of the school year `year`–`year + 1` (the first term of TERMS)."""
    month_day = current_app.config["TERMS"][0][0]
    return date(year, int(month_day[:2]), int(month_day[3:]))


def current_year(today: date | None = None) -> int:
    """The school year that has started last: the round of registers due now or most recently."""
    today = today or clock.today()
    return today.year if today >= year_start(today.year) else today.year - 1


def due_on(year: int) -> date:
    """开学后1个月内: the day before the same day of the following month (1 Sep → 30 Sep)."""
    start = year_start(year)
    following_year, following_month = start.year + start.month // 12, start.month % 12 + 1
    day = min(start.day, calendar.monthrange(following_year, following_month)[1])
    return date(following_year, following_month, day) - timedelta(days=1)


def window(year: int) -> tuple[datetime, datetime]:
    """[start, end) of the school year `year`–`year + 1`."""
    return datetime.combine(year_start(year), datetime.min.time()), datetime.combine(year_start(year + 1), datetime.min.time())


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


# --- units -----------------------------------------------------------------------------------------


def load_unit(actor: User, unit_id: int) -> OrgUnit:
    """A unit inside the actor's subtree (its own included), else NotInScope (→ 404)."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not scope.covers(actor, unit.path):
        raise NotInScope()
    return unit


def child_path(unit: OrgUnit, path: str) -> str:
    """The path of the unit one level below `unit` that holds `path`."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[: scope.depth(unit.path) + 1]) + "/"


def children(unit: OrgUnit) -> list[OrgUnit]:
    """The lines of an aggregate: schools of a county, counties of a city, cities of the province."""
    if unit.level == SCHOOL:
        return [unit]
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code)))


def schools_in(path: str, *, only_active: bool = False) -> Select[Any]:
    query = select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.within(OrgUnit.path, path))
    if only_active:
        query = query.where(OrgUnit.active.is_(True))
    return query.order_by(OrgUnit.code)


def school_kind_label(unit: OrgUnit) -> str:
    """The kind of a school as printed (小学, 初中 …); empty for an authority."""
    return codes.label("school_kind", unit.school_kind) if unit.school_kind else ""


def is_direct(school: OrgUnit) -> bool:
    """直管学校: supervised by the city or province, registered also with the county it stands in."""
    return school.level == SCHOOL and school.supervisor is not None and school.supervisor.level != COUNTY
