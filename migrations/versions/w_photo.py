"""The pupil's photo (issue 16, point 1): one row per upload, the newest is the current photo.

Revision ID: w_photo
Revises: v_qimport_source
Create Date: 2026-12-06 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "w_photo"
down_revision = "v_qimport_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pupil_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("student.id"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pupil_photo_student", "pupil_photo", ["student_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_pupil_photo_student", table_name="pupil_photo")
    op.drop_table("pupil_photo")
