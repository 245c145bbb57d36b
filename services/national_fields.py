"""Rules of the national form's own fields (issue 16, point 4): 姓名拼音, 身份证件有效期, 邮政编码,
电子信箱, 主页地址, 上下学距离, their code tables, and the family members' 民族, 户口所在地 and lengths.
services/students.validate asks them with every other rule of a record."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from services import codes
from services.ids import division_name

if TYPE_CHECKING:
    from models.student import Guardian, Student

PINYIN_RE = re.compile(r"^[A-Za-züÜ]+( [A-Za-züÜ]+)*$")
VALID_PERIOD_RE = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})-(?:(\d{4})\.(\d{2})\.(\d{2})|长期)$")
POSTAL_RE = re.compile(r"^\d{6}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
HOMEPAGE_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)
DISTANCE_RE = re.compile(r"^\d{1,4}(\.\d{1,2})?$")
OPTIONAL_CODES = {"political_status": "political_status", "student_source": "student_source",
                  "inclusive_class": "inclusive_class", "transport_mode": "transport_mode"}
MAX_LENGTHS = {"name_pinyin": 100, "specialty": 100, "class_number": 10, "mailing_address": 200, "email": 100,
               "homepage": 200}
GUARDIAN_LENGTHS = {"relation_note": 50, "current_address": 200, "job_title": 50}


def _valid_period_problem(text: str) -> str | None:
    m = VALID_PERIOD_RE.match(text)
    if m is None:
        return str(_l("Write the validity period as 2020.06.01-2030.06.01 (or 2020.06.01-长期)."))
    try:
        start = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        end = date(int(m.group(4)), int(m.group(5)), int(m.group(6))) if m.group(4) else None
    except ValueError:
        return str(_l("The validity period contains a date that does not exist."))
    if end is not None and end <= start:
        return str(_l("The validity period must end after it starts."))
    return None


def problems(student: Student) -> list[tuple[str, str]]:
    """(field, message) for each national field of the record (and its family members) that breaks a rule."""
    found: list[tuple[str, str]] = []
    for field, limit in MAX_LENGTHS.items():
        value = getattr(student, field)
        if value and len(value) > limit:
            found.append((field, str(_l("At most %(n)d characters.", n=limit))))
    if student.name_pinyin and not PINYIN_RE.match(student.name_pinyin.strip()):
        found.append(("name_pinyin", str(_l("The name in pinyin may contain only Latin letters and single spaces."))))
    if student.id_valid_period and (why := _valid_period_problem(student.id_valid_period.strip())):
        found.append(("id_valid_period", why))
    if student.postal_code and not POSTAL_RE.match(student.postal_code):
        found.append(("postal_code", str(_l("A postal code has 6 digits."))))
    if student.email and not EMAIL_RE.match(student.email):
        found.append(("email", str(_l("This is not an email address."))))
    if student.homepage and not HOMEPAGE_RE.match(student.homepage):
        found.append(("homepage", str(_l("A home page address starts with http:// or https://."))))
    if student.school_distance and not DISTANCE_RE.match(student.school_distance):
        found.append(("school_distance", str(_l("Write the distance in kilometres, e.g. 2.5."))))
    for field, table in OPTIONAL_CODES.items():
        value = getattr(student, field)
        if value not in (None, "") and not codes.is_known(table, value):
            found.append((field, str(_l("Unknown code %(code)s.", code=value))))
    for g in student.guardians:
        found.extend(("guardians", m) for m in _member_problems(g))
    return found


def _member_problems(g: Guardian) -> list[str]:
    found: list[str] = []
    if g.ethnicity and not codes.is_known("ethnicity", g.ethnicity):
        found.append(str(_l("Unknown code %(code)s.", code=g.ethnicity)))
    if g.hukou_location and division_name(g.hukou_location) is None:
        found.append(str(_l("Unknown administrative division code %(code)s.", code=g.hukou_location)))
    for field, limit in GUARDIAN_LENGTHS.items():
        value = getattr(g, field)
        if value and len(value) > limit:
            found.append(str(_l("At most %(n)d characters.", n=limit)))
    return found
