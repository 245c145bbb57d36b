"""The data API's change feed without gaps (issue 16, point 5): student_history.txid, the writing
transaction's id on PostgreSQL (default txid_current()), and the feed's index on (txid, id).

Added without a default and then given one: on PostgreSQL a volatile default in ADD COLUMN would
rewrite the whole table; this way existing rows keep NULL (read as 0: long committed) at once.

Revision ID: w_feed
Revises: w_nat
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "w_feed"
down_revision = "w_nat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("student_history", sa.Column("txid", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE student_history ALTER COLUMN txid SET DEFAULT txid_current()")
    op.create_index("ix_student_history_feed", "student_history", [sa.text("coalesce(txid, 0)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_student_history_feed", table_name="student_history")
    with op.batch_alter_table("student_history") as batch:
        batch.drop_column("txid")
