"""Daily sweeps (issue 15 point 4): an overdue approval step is escalated to the unit above once
(`approval_step.escalated_at`), and a suspension's school is reminded of its end once per end date
(`suspension.expiry_reminded_for`: the end date the reminder was about; an extension moves the end
date, so the new end is reminded again).

Revision ID: v_qbatch_escalation
Revises: v_load_pupil_counts
Create Date: 2026-12-06 05:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "v_qbatch_escalation"
down_revision = "v_load_pupil_counts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("approval_step") as batch_op:
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("suspension") as batch_op:
        batch_op.add_column(sa.Column("expiry_reminded_for", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("suspension") as batch_op:
        batch_op.drop_column("expiry_reminded_for")
    with op.batch_alter_table("approval_step") as batch_op:
        batch_op.drop_column("escalated_at")
