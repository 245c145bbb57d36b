"""Certificate numbers (第二十四条): 和平义毕字〔2027〕第000123号.

Numbers run per issuing unit, graduating year and kind (the year of the roster, not of the day
it is printed; `numbering_year`). The issuing unit is the school's county, or the supervisor of
a city- or province-direct school (which prints the forms, 第二十四条). The serial is max+1,
taken in a savepoint; the unique constraint uq_certificate_serial settles a race, and the loser
takes the next number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.graduation import Certificate, GraduationRecord
from models.org import COUNTY, OrgUnit
from services import clock
from services.certificates.kinds import KIND_WORDS
from services.certificates.verification import new_code
from services.errors import RuleViolation

log = logging.getLogger(__name__)




MAX_TRIES = 10  # numbering attempts before giving up (each loses only to a concurrent issuer)
SERIAL_DIGITS = 6


def issuing_unit(school: OrgUnit) -> OrgUnit:
    """The unit whose numbering a school's certificates use: its county, or the supervisor of a
    city- or province-direct school (直管学校)."""
    unit = school.supervisor if school.is_directly_managed else school.parent
    if unit is None:  # pragma: no cover - a school always hangs under a county
        raise RuleViolation(str(_l("The school has no issuing education authority.")))
    return unit


_AUTHORITY_SUFFIXES = ("教育和体育局", "教育体育局", "教育委员会", "教育局", "教育厅", "教体局", "教委")
_DIVISION_SUFFIXES = ("自治县", "自治州", "自治区", "自治旗", "区", "县", "市", "省", "旗")


def division_of(unit: OrgUnit) -> str:
    """和平区教育局 → 和平区: the division an authority serves."""
    name = unit.name
    for suffix in _AUTHORITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def short_name(unit: OrgUnit) -> str:
    """和平区教育局 → 和平, 沈阳市教育局 → 沈阳: the prefix of a certificate number."""
    name = division_of(unit)
    for suffix in _DIVISION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def printed_by(unit: OrgUnit) -> str:
    """Who prints the forms (第二十四条: 市或县（市、区）教育行政部门统一印制): 沈阳市和平区教育局."""
    if unit.level == COUNTY and unit.parent is not None:
        return division_of(unit.parent) + unit.name
    return unit.name


def format_number(unit: OrgUnit, kind: str, year: int, serial: int) -> str:
    return f"{short_name(unit)}{KIND_WORDS[kind]}字〔{year}〕第{serial:0{SERIAL_DIGITS}d}号"


def _next_serial(county_id: int, year: int, kind: str) -> int:
    top = db.session.scalar(
        select(func.max(Certificate.serial)).where(Certificate.county_id == county_id, Certificate.year == year,
                                                   Certificate.kind == kind)
    )
    return (top or 0) + 1


def _is_number_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "certificate" in text and any(k in text for k in ("serial", "number", "verify_code", "unique", "duplicate"))


def allocate(specs: Sequence[dict[str, Any]]) -> list[Certificate]:
    """Create certificates from `specs` (column values without serial, number and code), numbered
    consecutively per (issuing unit, year, kind).

    Each attempt runs in a savepoint. Two issuers at once may read the same highest serial; the
    unique constraint refuses the second insert (on PostgreSQL once the first commits), its
    savepoint is rolled back and it reads the highest serial again — so no serial repeats and the
    caller's transaction survives. New objects are built for every attempt: a rolled-back
    savepoint expunges the ones it had added.
    """
    units = {s["county_id"]: db.session.get(OrgUnit, s["county_id"]) for s in specs}
    for attempt in range(1, MAX_TRIES + 1):
        certs: list[Certificate] = []
        try:
            with db.session.begin_nested():
                serials: dict[tuple[int, int, str], int] = {}
                for spec in specs:
                    key = (spec["county_id"], spec["year"], spec["kind"])
                    serial = serials[key] = serials[key] + 1 if key in serials else _next_serial(*key)
                    number = format_number(units[spec["county_id"]], spec["kind"], spec["year"], serial)  # type: ignore[arg-type]
                    certs.append(Certificate(**spec, serial=serial, number=number, verify_code=new_code()))
                db.session.add_all(certs)
                db.session.flush()
        except IntegrityError as exc:
            if not _is_number_clash(exc):
                raise
            log.info("certificate numbering clashed (attempt %d), taking the next numbers", attempt)
            time.sleep(0.01 * attempt)
            continue
        return certs
    raise RuleViolation(str(_l("Certificate numbers are being allocated by another issuer right now; please try again.")))


def numbering_year(record: GraduationRecord | None) -> int:
    """The year in 〔〕: the graduating year of the pupil's roster (the summer that ends the school
    year), whenever the certificate is printed — a class graduating in 2027 is 〔2027〕 even when
    issued in December 2026 or in 2028. The issue date is printed separately (issued_at)."""
    return record.year if record is not None else clock.today().year
