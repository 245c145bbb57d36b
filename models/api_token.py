"""Tokens of the read-only data API (/api/v1/, issue 16 point 5).

A token is issued by the system administrator (系统管理员) of a unit for that unit or a unit below
it (its scope), and read by a downstream system in the Authorization header. Only the SHA-256 of
the secret is stored: the secret is shown once when the token is issued. A token always ends: it
has an expiry (at most one year) and may be revoked earlier. The sensitive groups it may show in
full (services/export_gate.py) are those of an approved 数据导出申请 of kind "api" named at issue;
without one every sensitive value is masked or withheld.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.export_request import ExportRequest
from models.org import OrgUnit
from models.people import User
from models.types import ScopePath


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_scope_id", "scope_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the secret, hex: the secret is random (256 bits), so a plain digest is enough and
    # lets the API find the token by an indexed equality.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the secret's first characters, to recognise it in lists
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    scope_path: Mapped[str] = mapped_column(ScopePath())  # the covered unit's path: the rows the token reads
    groups: Mapped[str] = mapped_column(String(100), default="")  # sensitive group codes shown in full, comma-separated
    export_request_id: Mapped[int | None] = mapped_column(ForeignKey("export_request.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

    issuer_unit: Mapped[OrgUnit] = relationship(foreign_keys=[issuer_unit_id])
    scope_unit: Mapped[OrgUnit] = relationship(foreign_keys=[scope_unit_id])
    export_request: Mapped[ExportRequest | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def group_codes(self) -> list[str]:
        return [g for g in (self.groups or "").split(",") if g]

    def usable_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > moment

    def __str__(self) -> str:
        return self.name
