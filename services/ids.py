"""Resident ID numbers (GB 11643) and 学籍号 (第六条).

python-stdnum's cn.ric does the check digit, the birth date and the division code
(its GB/T 2260 table); here we add what the 学籍 rules need on top of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from services import clock

PROVINCE_CODE = "21"  # 辽宁


class IdNumberError(ValueError):
    """A user-facing reason why an ID number is refused."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    gender: str  # "1" male, "2" female (GB/T 2261.1)
    division: str


def _well_formed(raw: str | None) -> str:
    """The GB 11643 form: 18 characters, 17 digits and a digit or X, the right check digit."""
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise IdNumberError(_l("The ID number must have 18 characters."))
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError(_l("The ID number may contain only digits and a final X."))
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError(_l("The ID number's check digit is wrong."))
    return number


def _birth_date(number: str) -> date:
    try:
        return ric.get_birth_date(number)
    except stdnum_exc.ValidationError:
        raise IdNumberError(_l("The ID number does not contain a real birth date.")) from None


def parse_resident_id(raw: str | None) -> ResidentId:
    """Validate a pupil's 18-digit 居民身份证号 and return what it encodes; IdNumberError says why not.

    The pupil's own number is checked strictly: its division code must be one stdnum knows for
    the birth year (a child is registered soon after birth). A guardian's is not: see
    `check_guardian_id`.
    """
    number = _well_formed(raw)
    birth = _birth_date(number)
    try:
        ric.get_birth_place(number)
    except (stdnum_exc.ValidationError, KeyError):  # KeyError: a province- or city-only code such as 210199
        raise IdNumberError(_l("The ID number's division code is unknown.")) from None
    gender = "1" if int(number[16]) % 2 == 1 else "2"
    return ResidentId(number=number, birth_date=birth, gender=gender, division=number[:6])


GUARDIAN_BORN_FROM = date(1930, 1, 1)



def check_guardian_id(raw: str | None, today: date | None = None) -> str:
    """The one rule for a guardian's 居民身份证号; returns the number, IdNumberError says why not.

    Valid is a well-formed GB 11643 number with the right check digit and a real birth date of
    someone born 1930 or later and not after today — and nothing else (no age rule: a guardian
    born late in 2008 holds a valid number months before turning 18). In particular no
    division-code check: an adult's number keeps the code of where it was first issued, often
    a division abolished since (e.g. 210120 沈阳市市区 until 1983), or one that stdnum dates
    after the holder's birth year (210102 和平区 "[1983-]" refuses everyone born before 1983).
    """
    number = _well_formed(raw)
    birth = _birth_date(number)
    if birth < GUARDIAN_BORN_FROM:
        raise IdNumberError(_l("A guardian's ID number must show a birth date in 1930 or later."))
    if birth > (today or clock.today()):
        raise IdNumberError(_l("The ID number's birth date is in the future."))
    return number


def check_against_record(rid: ResidentId, birth_date: date | None, gender: str | None) -> list[tuple[str, str]]:
    """(field, message) for each way the ID disagrees with the record's own data."""
    problems: list[tuple[str, str]] = []
    if birth_date is not None and rid.birth_date != birth_date:
        message = _l("The birth date differs from the one in the ID number (%(d)s).", d=rid.birth_date.isoformat())
        problems.append(("birth_date", str(message)))
    if gender and rid.gender != gender:
        problems.append(("gender", str(_l("The gender does not match the ID number."))))
    return problems


def make_check_digit(first17: str) -> str:
    """Check digit for 17 digits (used by demo data and benchmarks to build valid IDs)."""
    return ric.calc_check_digit(first17 + "0")


def xjh_from_id(number: str) -> str:
    """National 学籍号 for a resident-ID holder: "G" + the ID number."""
    return "G" + number


def temporary_xjh(birth_date: date, serial: int) -> str:
    """System-issued number for pupils without a mainland ID: J + province + birth date + serial.

    The serial is the student's own primary key, which makes the number unique.
    """
    return f"J{PROVINCE_CODE}{birth_date:%Y%m%d}{serial:08d}"


def mask_id(number: str | None) -> str:
    """210102********1234: division code and last four, for lists."""
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(len(number) - 4, 0) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_xjh(xjh: str | None) -> str:
    """A G-number contains the ID number, so lists mask it the same way; J-numbers are shown whole."""
    if xjh and xjh.startswith("G"):
        return "G" + mask_id(xjh[1:])
    return xjh or ""


def division_name(code: str | None) -> str | None:
    """Name of a GB/T 2260 division code from stdnum's table, None when unknown."""
    from stdnum import numdb

    if not code or len(code) != 6 or not code.isdigit():
        return None
    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    if not info:
        return None
    # Historic names carry year ranges, e.g. "[1983-]和平区" or "[-1994]旧名,[1995-]新名": keep the latest.
    parts = [re.sub(r"\[[^\]]*\]", "", info.get(k, "").split(",")[-1]) for k in ("province", "prefecture", "county")]
    return "".join(parts) or None
