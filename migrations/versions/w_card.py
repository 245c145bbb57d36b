"""学生卡 (issue 16, point 3): the pupil_card table — the free student card of 第六条, one valid card
per pupil (a partial unique index), revoked and replaced cards kept.

Revision ID: w_card
Revises: w_classes
Create Date: 2026-12-06 19:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w_card"
down_revision = "w_classes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pupil_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["student.id"], name=op.f("fk_pupil_card_student_id_student")),
        sa.ForeignKeyConstraint(["school_id"], ["org_unit.id"], name=op.f("fk_pupil_card_school_id_org_unit")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user.id"], name=op.f("fk_pupil_card_issued_by_id_user")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"], name=op.f("fk_pupil_card_revoked_by_id_user")),
        sa.ForeignKeyConstraint(["replaced_by_id"], ["pupil_card.id"], name=op.f("fk_pupil_card_replaced_by_id_pupil_card")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil_card")),
        sa.UniqueConstraint("number", name=op.f("uq_pupil_card_number")),
        sa.UniqueConstraint("token", name=op.f("uq_pupil_card_token")),
    )
    op.create_index("ix_pupil_card_student", "pupil_card", ["student_id", "id"], unique=False)
    op.create_index(
        "uq_pupil_card_one_valid",
        "pupil_card",
        ["student_id"],
        unique=True,
        sqlite_where=sa.text("status = 'valid'"),
        postgresql_where=sa.text("status = 'valid'"),
    )


def downgrade() -> None:
    op.drop_index("uq_pupil_card_one_valid", table_name="pupil_card")
    op.drop_index("ix_pupil_card_student", table_name="pupil_card")
    op.drop_table("pupil_card")
