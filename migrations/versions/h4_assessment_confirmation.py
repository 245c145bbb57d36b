"""The city or county authority confirms each graduation assessment result (第二十四条).

Revision ID: h4_assessment_confirmation
Revises: h6_paper_file_and_filed_evidence
"""

import sqlalchemy as sa
from alembic import op

revision = "h4_assessment_confirmation"
down_revision = "h6_paper_file_and_filed_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("graduation_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_graduation_record_confirmed_by_id_user"), "user", ["confirmed_by_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_graduation_record_confirmed_unit_id_org_unit"), "org_unit",
                                    ["confirmed_unit_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("graduation_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_graduation_record_confirmed_unit_id_org_unit"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_graduation_record_confirmed_by_id_user"), type_="foreignkey")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_unit_id")
        batch_op.drop_column("confirmed_by_id")
