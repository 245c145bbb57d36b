"""Classes (班级) per school year with their head teacher (issue 16, point 7): the school_class
table and student.class_id, and the backfill: the current school year's classes made from the
distinct (school, grade, class_name) of the pupils kept at a school, the pupils linked to them.

Revision ID: w_classes
Revises: w_photo
Create Date: 2026-12-06 12:40:00
"""

from datetime import date, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

revision = "w_classes"
down_revision = "w_photo"
branch_labels = None
depends_on = None

# The records whose class is a class of this school year (not of a year they left or finished).
IN_A_CLASS = ("enrolled", "suspended", "pending")


def _current_school_year(today: date) -> int:
    """As services/classes.current_school_year: after SCHOOL_YEAR_END the next school year is the
    one being prepared. Frozen here (a migration does not import the services that may change)."""
    end = current_app.config.get("SCHOOL_YEAR_END", "07-15") if has_app_context() else "07-15"
    month, day = (int(x) for x in end.split("-"))
    return today.year if (today.month, today.day) > (month, day) else today.year - 1


def _backfill() -> None:
    year = _current_school_year(date.today())
    statuses = ", ".join(f"'{s}'" for s in IN_A_CLASS)  # constants of this file, no user input
    named = f"st.class_name IS NOT NULL AND TRIM(st.class_name) <> '' AND st.status IN ({statuses})"
    op.get_bind().execute(
        sa.text(
            "INSERT INTO school_class (school_id, scope_path, school_year, grade, name, created_at) "
            "SELECT DISTINCT st.school_id, o.path, :year, st.grade, st.class_name, :now "
            f"FROM student st JOIN org_unit o ON o.id = st.school_id WHERE {named}"
        ),
        {"year": year, "now": datetime.now()},
    )
    op.get_bind().execute(
        sa.text(
            "UPDATE student SET class_id = (SELECT c.id FROM school_class c WHERE c.school_id = student.school_id "
            "AND c.school_year = :year AND c.grade = student.grade AND c.name = student.class_name) "
            f"WHERE EXISTS (SELECT 1 FROM student st WHERE st.id = student.id AND {named})"
        ),
        {"year": year},
    )


def upgrade() -> None:
    op.create_table(
        "school_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql"), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("head_teacher", sa.String(length=50), nullable=True),
        sa.Column("head_teacher_phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["org_unit.id"], name=op.f("fk_school_class_school_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_class")),
        sa.UniqueConstraint("school_id", "school_year", "grade", "name", name="uq_school_class_name"),
    )
    op.create_index("ix_school_class_scope_year", "school_class", ["scope_path", "school_year"], unique=False)
    # Not batch mode on SQLite: recreating the student table would lose the expression indexes
    # (migration 0faa2d60e60a does the same for attending_school_id).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE student ADD COLUMN class_id INTEGER CONSTRAINT fk_student_class_id_school_class REFERENCES school_class (id)"
        )
    else:
        op.add_column("student", sa.Column("class_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_student_class_id_school_class", "student", "school_class", ["class_id"], ["id"])
    op.create_index("ix_student_class_id", "student", ["class_id"], unique=False)
    _backfill()


def downgrade() -> None:
    op.drop_index("ix_student_class_id", table_name="student")
    if op.get_bind().dialect.name == "sqlite":  # SQLite (3.35+) drops the column with its REFERENCES clause
        op.execute("ALTER TABLE student DROP COLUMN class_id")
    else:
        op.drop_constraint("fk_student_class_id_school_class", "student", type_="foreignkey")
        op.drop_column("student", "class_id")
    op.drop_index("ix_school_class_scope_year", table_name="school_class")
    op.drop_table("school_class")
