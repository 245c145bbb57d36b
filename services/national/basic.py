"""The national basic-information spreadsheet of a school or of a unit's area: one header row, the
national column order, the pupils on roll (在籍 and 休学) with their first two family members,
codes as the national system writes them. Streamed: rows read 1,000 at a time, written by
openpyxl's write-only workbook (services/exports.workbook_stream). Who may take it is the export
gate's business (kind national_basic, services/export_gate.py); this module checks the scope and
writes the audit row."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models.lifecycle import StudentStatus
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import audit, exports, scope
from services.errors import NotInScope
from services.national.columns import COLUMNS, NationalColumn, national_value

ON_ROLL = (StudentStatus.ENROLLED.value, StudentStatus.SUSPENDED.value)  # the pupils the national system holds
SHEET = "学生基本信息"


def check_unit(actor: User, unit: OrgUnit | None) -> OrgUnit:
    """The unit whose pupils are exchanged: the actor's own unit or one below it (else NotInScope → 404)."""
    if unit is None or not scope.covers(actor, unit.path):
        raise NotInScope()
    return unit


def pupils(unit: OrgUnit) -> Select:
    """The pupils on roll of the unit's area, school by school, grade, class and record."""
    return (
        select(Student)
        .where(scope.within(Student.scope_path, unit.path), Student.status.in_(ON_ROLL))
        .options(selectinload(Student.guardians), joinedload(Student.school))
        .order_by(Student.scope_path, Student.grade, Student.class_name, Student.id)
    )


def count(unit: OrgUnit) -> int:
    return db.session.scalar(select(func.count()).select_from(pupils(unit).order_by(None).subquery())) or 0


def _getter(col: NationalColumn):  # type: ignore[no-untyped-def]
    return lambda s: national_value(s, col)


def filename(unit: OrgUnit) -> str:
    return f"全国学籍基础信息_{unit.name}.xlsx"


def xlsx_stream(actor: User, unit: OrgUnit) -> Iterator[bytes]:
    """The file, in chunks; audited (the export register line is written by the gate)."""
    check_unit(actor, unit)
    audit.record(actor, "national.export", "org_unit", unit.id, f"全国学籍基础信息表：{unit.name}")
    db.session.commit()  # the audit row stays even when the reader cuts the download off
    columns = [(c.header, _getter(c)) for c in COLUMNS]
    return exports.workbook_stream([(SHEET, columns, pupils(unit))])
