"""A user's saved list filters (issue 14, point 4): a name for a list's query string."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.clock import now


class SavedFilter(db.Model):
    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", "name"),)  # saving a name again replaces it

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(80))  # the list view, e.g. "student.index_view"
    name: Mapped[str] = mapped_column(String(60))
    query_string: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
