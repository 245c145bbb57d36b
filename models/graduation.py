"""Finishing compulsory education (第二十四–二十五条): the graduation roster and the certificates.

- GraduationRecord: one line of a school's 毕业生花名册 — a pupil of the graduating grade (9; or
  6, leaving primary school to continue the record, 接续), the school's assessment result, and,
  once the authority has approved the roster (a change request of type "graduation", which
  concerns a school, not one pupil), the outcome: 毕业 (graduated) or 结业 (completed, failed).
- Certificate: 义务教育毕业证书 (diploma), 义务教育修业证明书 (completion) or 学历证明书
  (record_proof, for a lost diploma; valid once the authority approves). Numbered per issuing
  county and year, with a verification code for the public /verify/<code> page; revoked with a
  reason, never deleted; a reissue points at the certificate it replaces.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.changes import ChangeRequest
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student
from models.types import ScopePath

PASSED, FAILED = "passed", "failed"
GRADUATED, COMPLETED = "graduated", "completed"  # the Student.status values the approval sets
DIPLOMA, COMPLETION, RECORD_PROOF = "diploma", "completion", "record_proof"
PENDING_APPROVAL, VALID, REVOKED = "pending", "valid", "revoked"


class GraduationRecord(db.Model):
    __tablename__ = "graduation_record"
    __table_args__ = (
        UniqueConstraint("student_id", "year", name="uq_graduation_record_student_year"),
        Index("ix_graduation_record_school_year", "school_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    year: Mapped[int] = mapped_column(Integer)  # the calendar year of graduation (summer)
    grade: Mapped[int] = mapped_column(Integer)  # 9, or 6 for a primary school
    assessment: Mapped[str | None] = mapped_column(String(10))  # PASSED / FAILED, None until marked
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assessed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 第二十四条: the assessment is organised by the city or county authority, which records or
    # confirms each result (services/graduation.py: assessment_authority). Per pupil: results are
    # confirmed in batches as they come, a recompiled roster adds lines that need their own
    # confirmation, and the authority may record one pupil's result itself.
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))  # the roster's approval
    outcome: Mapped[str | None] = mapped_column(String(10))  # GRADUATED / COMPLETED once approved

    student: Mapped[Student] = relationship()
    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    confirmed_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[confirmed_unit_id])
    request: Mapped[ChangeRequest | None] = relationship()


class Certificate(db.Model):
    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("county_id", "year", "kind", "serial", name="uq_certificate_serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # DIPLOMA / COMPLETION / RECORD_PROOF
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the issuing county (or city for its own schools)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60), unique=True)  # e.g. 和平义毕字〔2027〕第000123号
    verify_code: Mapped[str] = mapped_column(String(20), unique=True)
    graduation_record_id: Mapped[int | None] = mapped_column(ForeignKey("graduation_record.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))  # 学历证明书: the authority's approval
    principal_name: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default=VALID)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))

    student: Mapped[Student] = relationship()
    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])
    county: Mapped[OrgUnit] = relationship(foreign_keys=[county_id])
    graduation_record: Mapped[GraduationRecord | None] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    replaces: Mapped[Certificate | None] = relationship(remote_side=[id])
