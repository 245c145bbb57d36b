"""A claimed form submission (issue 15, point 6): the one-time token a POST form carried, claimed
once; a second POST with the same token changes nothing (services/submission_tokens.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.clock import now


class FormSubmission(db.Model):
    __tablename__ = "form_submission"

    # The primary key is the claim: two requests inserting the same token cannot both succeed.
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)  # the daily purge reads it
    # Where the first submission's success sent the user; None while it runs (or for a file answer).
    target: Mapped[str | None] = mapped_column(String(1000))
