"""Shared helpers for the integration tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from extensions import db
from models.org import OrgUnit
from models.student import Student
from services.ids import make_check_digit


def make_id(division: str, birth: date, seq: int) -> str:
    body = f"{division}{birth:%Y%m%d}{seq:03d}"
    return body + make_check_digit(body)


def school(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def pupil_of(code: str) -> Student:
    """The first pupil of the school with this 学校标识码."""
    return db.session.scalar(select(Student).join(Student.school).where(OrgUnit.code == code).order_by(Student.id))


HEPING1, HEPING2, SHENHE1, XIGANG1, CITYDIRECT, KANGPING_CENTRAL, KANGPING_VILLAGE, HEPING_SPECIAL, WORK_STUDY_SCHOOL = (
    "2121000001", "2221000002", "2121000003", "2321000004", "2321000005", "2121000006", "2121000007", "2421000008", "2521000009",
)


def student_form(**overrides: object) -> dict:
    """A valid create form for a grade-3 boy born 2017-03-15 in 和平区."""
    birth = date(2017, 3, 15)
    data = {
        "name": "测试学生",
        "gender": "1",
        "birth_date": birth.isoformat(),
        "id_type": "1",
        "id_number": make_id("210102", birth, 111),
        "ethnicity": "01",
        "nationality": "156",
        "overseas": "0",
        "health": "1",
        "grade": "3",
        "class_name": "2班",
        "enroll_month": "2024-09",
        "left_behind": "0",
        "disability": "0",
        "hukou_location": "210102",
        "current_address": "和平区南京北街1号",
        "phone": "13800000000",
    }
    data.update({k: v for k, v in overrides.items() if v is not None})
    for k in [k for k, v in overrides.items() if v is None]:
        data.pop(k, None)
    return data
