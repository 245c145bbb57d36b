"""The time step of the last TOTP code accepted per account: a code is good once (issue 13, point 7)

Revision ID: s6_totp_last_counter
Revises: s4_export_requests
Create Date: 2026-12-06 03:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "s6_totp_last_counter"
down_revision = "s4_export_requests"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("tf_totp_last_counter", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("tf_totp_last_counter")
