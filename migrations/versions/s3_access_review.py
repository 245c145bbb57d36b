"""Access recertification (访问权限复核) and the accounts' creation time (dormant accounts), issue 13 point 9.

Revision ID: s3_access_review
Revises: h4_assessment_confirmation
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "s3_access_review"
down_revision = "s2_account_security"
branch_labels = None
depends_on = None


def _path() -> sa.types.TypeEngine:
    return sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
    # Accounts that exist already count as made now: the 90 days before an account that never
    # logged in is disabled start with this upgrade, not at an unknown past.
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    user = sa.table("user", sa.column("created_at", sa.DateTime()))
    op.execute(user.update().values(created_at=now))

    op.create_table(
        "access_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", _path(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["closed_by_id"], ["user.id"], name=op.f("fk_access_review_closed_by_id_user")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["user.id"], name=op.f("fk_access_review_opened_by_id_user")),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"], name=op.f("fk_access_review_unit_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review")),
        sa.UniqueConstraint("unit_id", "term_start", name="uq_access_review_unit_term"),
    )
    with op.batch_alter_table("access_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_review_scope_path"), ["scope_path"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_review_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "access_review_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_access_review_item_decided_by_id_user")),
        sa.ForeignKeyConstraint(["review_id"], ["access_review.id"], name=op.f("fk_access_review_item_review_id_access_review")),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"], name=op.f("fk_access_review_item_unit_id_org_unit")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_access_review_item_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review_item")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_access_review_item_user"),
    )
    with op.batch_alter_table("access_review_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_review_item_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_review_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_review_item_review_id"))
    op.drop_table("access_review_item")
    with op.batch_alter_table("access_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_review_unit_id"))
        batch_op.drop_index(batch_op.f("ix_access_review_scope_path"))
    op.drop_table("access_review")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("created_at")
