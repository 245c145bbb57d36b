"""Imports on the task queue (issue 15, point 4): the job keeps its uploaded file, so that a worker
re-reads it and a retry starts from it again; `retryable` marks a job that failed because its worker
stopped or crashed (not because of the file's content), for which the page offers 重试.

Revision ID: v_qimport_source
Revises: v_qbatch_escalation
Create Date: 2026-12-06 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "v_qimport_source"
down_revision = "v_qbatch_escalation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("source_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("retryable", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("retryable")
        batch.drop_column("source_sha256")
