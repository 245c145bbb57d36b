"""我的消息 (issue 16, point 6): personal notifications with their mail state, the per-kind mail
preferences, and approval_step.due_soon_at (the 2-working-days reminder, sent once per step).

Revision ID: w_notif
Revises: w_api
Create Date: 2026-12-06 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w_notif"
down_revision = "w_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("mail_mode", sa.String(length=10), nullable=False),
        sa.Column("mailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["change_request.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_notification_unread", "user_notification", ["user_id", "read_at"])
    op.create_index("ix_user_notification_user_id", "user_notification", ["user_id", "id"])
    op.create_index("ix_user_notification_mail", "user_notification", ["mail_mode", "mailed_at"])
    op.create_table(
        "notification_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("mail", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", name="uq_notification_preference_user_kind"),
    )
    with op.batch_alter_table("approval_step") as batch:
        batch.add_column(sa.Column("due_soon_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval_step") as batch:
        batch.drop_column("due_soon_at")
    op.drop_table("notification_preference")
    op.drop_index("ix_user_notification_mail", table_name="user_notification")
    op.drop_index("ix_user_notification_user_id", table_name="user_notification")
    op.drop_index("ix_user_notification_unread", table_name="user_notification")
    op.drop_table("user_notification")
