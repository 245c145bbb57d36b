"""Tokens of the read-only data API (issue 16, point 5): the api_token table.

Revision ID: w_api
Revises: w_card
Create Date: 2026-12-06 19:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w_api"
down_revision = "w_card"
branch_labels = None
depends_on = None


def _path() -> sa.types.TypeEngine:
    return sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("issuer_unit_id", sa.Integer(), nullable=False),
        sa.Column("scope_unit_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", _path(), nullable=False),
        sa.Column("groups", sa.String(length=100), nullable=False),
        sa.Column("export_request_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["issuer_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["scope_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["export_request_id"], ["export_request.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token") as batch:
        batch.create_index("ix_api_token_scope_id", ["scope_path", "id"], unique=False)
        batch.create_index("ix_api_token_scope_unit_id", ["scope_unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_index("ix_api_token_scope_unit_id")
        batch.drop_index("ix_api_token_scope_id")
    op.drop_table("api_token")
