"""Where a pupil's hukou lies, seen from the school, and which authorities hear of a dropout
(第二十三条). Shared by the dropout change (changes/departures.py) and its printed report to the
township government (services/documents.py), so that printing does not import a change type.
"""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models.changes import ChangeRequest
from models.org import COUNTY, OrgUnit
from models.student import Student
from services.ids import division_name


def hukou_county(student: Student) -> str | None:
    """The county (区/县) of the pupil's hukou: a known GB/T 2260 code below city level."""
    code = student.hukou_location or ""
    return code if len(code) == 6 and not code.endswith("00") and division_name(code) else None


# Where the pupil's hukou lies, seen from the school (第二十三条: the county of the hukou is told).
HUKOU_SAME_COUNTY, HUKOU_OTHER_COUNTY, HUKOU_OTHER_PROVINCE, HUKOU_UNKNOWN = "same_county", "other_county", "other_province", "unknown"


def _province_code(school: OrgUnit) -> str:
    return school.path.strip("/").split("/")[0]


def hukou_place(student: Student) -> tuple[str, str | None, str]:
    """(where, code, name) of the pupil's hukou: in the school's county, in another county of the
    province, outside the province, or unknown (no code, or not precise enough to name a county)."""
    code = student.hukou_location or ""
    name = division_name(code) or code
    if len(code) != 6 or not code.isdigit():
        return HUKOU_UNKNOWN, None, ""
    if not code.startswith(_province_code(student.school)):
        return HUKOU_OTHER_PROVINCE, code, name
    county = hukou_county(student)
    if county is None:
        return HUKOU_UNKNOWN, code, name
    school_county = student.school.county
    if school_county is not None and school_county.code == county:
        return HUKOU_SAME_COUNTY, county, name
    return HUKOU_OTHER_COUNTY, county, name


def county_authority(code: str | None) -> OrgUnit | None:
    """The county education bureau of a GB/T 2260 county code, when it has an account here."""
    if not code:
        return None
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == COUNTY))


def dropout_authorities(req: ChangeRequest) -> list[OrgUnit]:
    """第二十三条: the county bureau where the school stands (县级教育行政部门) and the supervising
    authority (学籍主管部门) when it is another (a school managed directly by the city)."""
    school = req.student.school
    units = [u for u in (school.county, school.supervisor) if u is not None]
    return list(dict.fromkeys(units))
