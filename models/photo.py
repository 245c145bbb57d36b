"""The pupil's photo (学生照片, national form field 13): collected with the basic data and kept by the
school. Every upload is a row; the newest is the current photo and the older ones are its history
(nothing is deleted, 第九条). The stored image is the ID-photo crop (358×441), content-addressed
under UPLOAD_DIR like every other upload (services/uploads.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.clock import now
from models.people import User

# PupilPhoto.source
UPLOAD, BATCH = "upload", "batch"


class PupilPhoto(db.Model):
    __tablename__ = "pupil_photo"
    __table_args__ = (Index("ix_pupil_photo_student", "student_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    sha256: Mapped[str] = mapped_column(String(64))  # the cropped JPEG as stored
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default=UPLOAD)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    uploaded_by: Mapped[User | None] = relationship()
