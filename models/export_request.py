"""Export requests and the register of files taken out (第二十八条, issue 13 points 2–3).

An `ExportRequest` asks to take one kind of file (services/export_gate.py KINDS) with some
sensitive groups, for a stated purpose; the unit above or the unit's 保密管理员 decides; the file is
produced in the background and downloaded by the requester alone within 24 hours. Every file that
leaves, directly or through a request, is one `ExportDownload` row (the register).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath

PENDING, APPROVED, REFUSED, READY, EXPIRED, FAILED = "pending", "approved", "refused", "ready", "expired", "failed"
STATUS_LABELS = {PENDING: "待审批", APPROVED: "已批准", REFUSED: "已驳回", READY: "已生成", EXPIRED: "已过期",
                 FAILED: "生成失败"}


class ExportRequest(db.Model):
    __tablename__ = "export_request"
    __table_args__ = (Index("ix_export_request_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)  # DC-2026-000123
    requester_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())  # the requesting unit's path: the register's scope
    kind: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(String(100), default="")  # sensitive group codes, comma-separated
    endpoint: Mapped[str] = mapped_column(String(80))  # the file's view, replayed as the requester
    view_args: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    query_string: Mapped[str] = mapped_column(Text, default="")  # the list's filters
    scope_text: Mapped[str] = mapped_column(String(300), default="")  # what the requester saw: unit and filters
    status: Mapped[str] = mapped_column(String(12), default=PENDING, index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(120))
    rows: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    produced_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    unit: Mapped[OrgUnit] = relationship()

    @property
    def field_codes(self) -> list[str]:
        return [f for f in (self.fields or "").split(",") if f]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def banner(self) -> str:
        """The watermark line every produced file carries (requester, unit, time, request number)."""
        when = (self.produced_at or now()).strftime("%Y-%m-%d %H:%M")
        who = self.requester.name or self.requester.email
        return f"数据导出申请 {self.number}｜申请人：{who}｜单位：{self.unit.name}｜生成时间：{when}｜仅限申请用途使用，不得扩散"


class ExportDownload(db.Model):
    """One file taken out: direct (request_id empty) or the file of an approved request."""

    __tablename__ = "export_download"
    __table_args__ = (Index("ix_export_download_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_path: Mapped[str] = mapped_column(ScopePath())
    kind: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("export_request.id"), index=True)
    detail: Mapped[str] = mapped_column(String(300), default="")
    rows: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=now)

    user: Mapped[User] = relationship()
    unit: Mapped[OrgUnit] = relationship()
    request: Mapped[ExportRequest | None] = relationship()
