"""The student archive (学籍档案, 第八条): one table per section, kept forever (第九条).

Section 1 of 第八条 (basic data and its change history) is the Student row, its guardians and
StudentHistory; the other six sections are the tables below. Every row belongs to a student
(and so follows the student's scope: the archive moves with the pupil, 籍随人走) and records who
created it and when. Rows are never deleted; changes are written to the audit log.

`ArchiveBackup` is the sending school's exported copy (第十条). It carries the *sending* school's
path, so that school keeps seeing its backup after the pupil's record has moved elsewhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, synonym

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.student import Student
from models.types import ScopePath

# ArchiveDocument.kind: the evidence named by 第八条 (2), plus anything else.
DOC_HUKOU, DOC_TRANSFER, DOC_SUSPENSION, DOC_OTHER = "hukou", "transfer", "suspension", "other"
DOC_KINDS = (DOC_HUKOU, DOC_TRANSFER, DOC_SUSPENSION, DOC_OTHER)
# HealthRecord.kind: 体质健康测试, 健康体检, 预防接种 (第八条 (4)).
HEALTH_KINDS = ("test", "checkup", "vaccination")
# Award.level: 校级, 县级, 市级, 省级, 国家级.
AWARD_LEVELS = ("school", "county", "city", "province", "national")
TERMS = (1, 2)  # 第一学期 (autumn), 第二学期 (spring)
TEXT_MAX = 1000  # the free-text fields of the quality report


class ArchiveEntry:
    """Columns every archive row has: the student it belongs to, who created it and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)

    # Relationships on a mixin must be declared per table.
    @declared_attr
    def student(cls) -> Mapped[Student]:  # noqa: N805
        return relationship(Student)

    @declared_attr
    def created_by(cls) -> Mapped[User | None]:  # noqa: N805
        return relationship(User)


class ArchiveDocument(ArchiveEntry, db.Model):
    """学籍信息证明材料 (第八条 (2)): an uploaded photo or scan (JPG/PNG/PDF, checked by content)."""

    __tablename__ = "archive_document"
    # One document per upload of a request, however often the filing runs.
    __table_args__ = (UniqueConstraint("request_id", "attachment_id"),)

    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    # Filed from an approved request (第十二条): its number, and the upload it came from (once each).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))

    # The names used for uploads elsewhere (Attachment): same columns.
    uploaded_by_id = synonym("created_by_id")
    uploaded_at = synonym("created_at")


class QualityReport(ArchiveEntry, db.Model):
    """综合素质发展报告 (第八条 (3)), one per school year and term."""

    __tablename__ = "quality_report"

    school_year: Mapped[str] = mapped_column(String(9))  # "2025-2026"
    term: Mapped[int] = mapped_column(Integer)
    academic_tests: Mapped[str | None] = mapped_column(String(TEXT_MAX))  # 学业考试信息
    sports_arts: Mapped[str | None] = mapped_column(String(TEXT_MAX))  # 体育运动技能与艺术特长
    community_service: Mapped[str | None] = mapped_column(String(TEXT_MAX))  # 参加社区服务和社会实践情况


class HealthRecord(ArchiveEntry, db.Model):
    """体质健康测试, 健康体检, 预防接种 (第八条 (4))."""

    __tablename__ = "health_record"

    kind: Mapped[str] = mapped_column(String(12))
    date: Mapped[dt.date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(String(500))
    result: Mapped[str | None] = mapped_column(String(200))


class Award(ArchiveEntry, db.Model):
    """在校期间的获奖信息 (第八条 (5))."""

    __tablename__ = "award"

    date: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    issuer: Mapped[str | None] = mapped_column(String(100))


class FinancialAid(ArchiveEntry, db.Model):
    """享受资助信息 (第八条 (6))."""

    __tablename__ = "financial_aid"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(50))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    funder: Mapped[str | None] = mapped_column(String(100))


class GradeRecord(ArchiveEntry, db.Model):
    """学业成绩及综合素质评价结果 (第八条 (7)): a score ("95") or a grade ("优秀") per subject and term."""

    __tablename__ = "grade_record"

    school_year: Mapped[str] = mapped_column(String(9))
    term: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(30))
    score: Mapped[str | None] = mapped_column(String(20))
    evaluation: Mapped[str | None] = mapped_column(String(500))


class ArchiveBackup(db.Model):
    """The sending school's read-only exported copy of an archive that left it (第十条)."""

    __tablename__ = "archive_backup"
    __table_args__ = (Index("ix_archive_backup_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    from_school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    xlsx_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    # The sending school's path (not the pupil's current one): who keeps the copy.
    scope_path: Mapped[str] = mapped_column(ScopePath())

    student: Mapped[Student] = relationship()
    from_school: Mapped[OrgUnit] = relationship()
