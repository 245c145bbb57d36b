"""正常升级: one row per promotion run (a school, county, city or the province for one school year).

A promoted pupil points at the run that moved it (`Student.promotion_run_id`), so a second run
of the same school year — the same scope or an overlapping one — skips it, and the run's
history rows are written from exactly the pupils it moved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath


class PromotionRun(db.Model):
    __tablename__ = "promotion_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_year: Mapped[int] = mapped_column(Integer, index=True)  # 2027 = the school year 2027–28
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    promoted: Mapped[int] = mapped_column(Integer, default=0)
    run_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    run_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    unit: Mapped[OrgUnit] = relationship()
    run_by: Mapped[User] = relationship()
