"""The organisation tree: province → city → county → school (第三条).

The tree is geographic: a school hangs under the county it stands in, so every level
above sees it by path prefix. Who *approves* for a school is a separate link,
`supervisor` (学籍主管部门): the county by default, the city or province for 直管学校.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import ScopePath

PROVINCE, CITY, COUNTY, SCHOOL = "province", "city", "county", "school"
LEVELS = (PROVINCE, CITY, COUNTY, SCHOOL)
AUTHORITY_LEVELS = (PROVINCE, CITY, COUNTY)
SCHOOL_KINDS = ("primary", "junior", "nine_year", "special", "work_study")
# First two digits of our 10-digit 学校标识码: "2" (basic education) + kind digit;
# then the province code (21) and a six-digit sequence.
SCHOOL_KIND_DIGIT = {"primary": "1", "junior": "2", "nine_year": "3", "special": "4", "work_study": "5"}


class OrgUnit(db.Model):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    path: Mapped[str] = mapped_column(ScopePath(), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # School-only attributes
    school_kind: Mapped[str | None] = mapped_column(String(12))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    is_rural: Mapped[bool] = mapped_column(Boolean, default=False)
    central_school_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side="OrgUnit.id", foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[OrgUnit]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="OrgUnit.code"
    )
    supervisor: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id", foreign_keys=[supervisor_id])
    central_school: Mapped[OrgUnit | None] = relationship(
        remote_side="OrgUnit.id", foreign_keys=[central_school_id]
    )

    @property
    def is_school(self) -> bool:
        return self.level == SCHOOL

    @property
    def county(self) -> OrgUnit | None:
        """The county a school stands in (its parent in the geographic tree)."""
        return self.parent if self.is_school else None

    @property
    def is_directly_managed(self) -> bool:
        """直管学校: supervised by the city or province rather than its county."""
        return self.is_school and self.supervisor is not None and self.supervisor.level != COUNTY

    @property
    def full_name(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


def child_path(parent: OrgUnit | None, code: str) -> str:
    return (parent.path if parent else "/") + code + "/"
