"""Pupil counts by school, grade and status, kept by the database itself (PostgreSQL only).

The dashboards' count by grade (services/statistics.pupil_counts) read every pupil of the unit: a
county of 45,000 pupils is 45,000 heap pages when ids are interleaved (bench/README.md, "Load
test"). An index-only count would need `grade` in an index, and then the summer promotion's UPDATE
of grade would no longer be HOT (fillfactor 50, bench/README.md "Summer promotion").

So statement-level triggers on `student` (migration v_load_pupil_counts) append one row per
(school, grade, status) that a statement changed, with the signed change. Appending never waits
for another transaction (an import's uncommitted rows hold no lock a registrar's edit needs), and a
reader sums the rows of its schools, which it sees in its own snapshot: always the live count.
`services/statistics.compact_pupil_counts` folds the rows together now and then.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class PupilCountDelta(db.Model):
    __tablename__ = "pupil_count_delta"
    __table_args__ = (Index("ix_pupil_count_delta_school_id", "school_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    school_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: written by a trigger, summed by school
    grade: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)
