"""A class (班级) of a school in one school year, with its head teacher (班主任).

A pupil refers to its class by `Student.class_id`; `Student.class_name` keeps the class's name as
the display value that imports, exports, rosters and printed documents read. Both are set together
by one function, services/classes.place (the class change, the batch assignment, promotion).
`scope_path` copies the school's OrgUnit.path so that the scope rule is one indexed range test,
as for the pupils.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.types import ScopePath


class SchoolClass(db.Model):
    __tablename__ = "school_class"
    __table_args__ = (
        # One class of a name per grade and school year: the constraint, not a check before the
        # insert, decides between two registrars saving the same class at once.
        UniqueConstraint("school_id", "school_year", "grade", "name", name="uq_school_class_name"),
        Index("ix_school_class_scope_year", "scope_path", "school_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    school_year: Mapped[int] = mapped_column(Integer)  # 2026 for the school year 2026–2027
    grade: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(20))
    head_teacher: Mapped[str | None] = mapped_column(String(50))  # 班主任, free text
    head_teacher_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])

    def __str__(self) -> str:
        return self.name
