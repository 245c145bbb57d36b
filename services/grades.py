"""The grades each kind of school teaches (小学 1–6, 初中 7–9, 九年一贯制 and the special and
work-study schools 1–9). Its own module so that services/students and services/classes (which
imports nothing of the pupils' record rules) both read it without an import cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.org import OrgUnit

GRADES_BY_KIND = {
    "primary": range(1, 7),
    "junior": range(7, 10),
    "nine_year": range(1, 10),
    "special": range(1, 10),
    "work_study": range(1, 10),
}


def grades_taught(school: OrgUnit | None) -> range:
    """The grades of a school by its kind (GRADES_BY_KIND; an unknown kind: 1–9)."""
    return GRADES_BY_KIND.get((school.school_kind if school else None) or "", range(1, 10))
