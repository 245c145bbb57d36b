"""Account security (issue 13, points 5–7): login failures and lockout, password age and forced
change, Flask-Security's two-factor fields (TOTP secret, recovery codes).

Revision ID: s2_account_security
Revises: h4_assessment_confirmation
"""

import sqlalchemy as sa
from alembic import op
from flask_security import AsaList

revision = "s2_account_security"
down_revision = "h4_assessment_confirmation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tf_primary_method", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("tf_totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("tf_phone_number", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("mf_recovery_codes", AsaList(), nullable=True))
    # Existing accounts chose their own passwords: their age starts today, no forced change.
    op.execute(sa.text("UPDATE \"user\" SET password_changed_at = CURRENT_TIMESTAMP WHERE password IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        for column in ("mf_recovery_codes", "tf_phone_number", "tf_totp_secret", "tf_primary_method",
                       "must_change_password", "password_changed_at", "locked_until", "failed_login_count"):
            batch_op.drop_column(column)
