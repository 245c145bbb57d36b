"""Double submissions (issue 15, point 6): the claimed one-time form tokens

Revision ID: v_once_form_submission
Revises: u4_saved_filters
Create Date: 2026-12-06 05:00:00

One row per form token that a POST has claimed (services/submission_tokens.py); the daily purge
deletes rows older than two days by created_at.
"""
import sqlalchemy as sa
from alembic import op

revision = "v_once_form_submission"
down_revision = "u4_saved_filters"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_submission",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_form_submission_user_id_user")),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_form_submission")),
    )
    with op.batch_alter_table("form_submission") as batch_op:
        batch_op.create_index(batch_op.f("ix_form_submission_created_at"), ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("form_submission") as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submission_created_at"))
    op.drop_table("form_submission")
