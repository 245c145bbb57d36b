"""Load test (issue 15, point 7): pupil counts kept by statement-level triggers (PostgreSQL)

Revision ID: v_load_pupil_counts
Revises: v_once_form_submission
Create Date: 2026-12-06 05:00:00

The table exists on both dialects (the models match the schema); only PostgreSQL fills it, with
AFTER … FOR EACH STATEMENT triggers that read the statement's transition tables: one aggregated
INSERT per statement, whatever the number of rows (a 2.3M-row promotion: one GROUP BY over its
old and new rows). SQLite keeps counting its pupils live (models/pupil_count.py says why).
"""
import sqlalchemy as sa
from alembic import op

revision = "v_load_pupil_counts"
down_revision = "v_once_form_submission"
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION xueji_pupil_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pupil_count_delta (school_id, grade, status, n)
  SELECT school_id, grade, status, count(*) FROM new_rows GROUP BY school_id, grade, status;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION xueji_pupil_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pupil_count_delta (school_id, grade, status, n)
  SELECT school_id, grade, status, -count(*) FROM old_rows GROUP BY school_id, grade, status;
  RETURN NULL;
END $$;
-- An UPDATE that changes none of the three columns (an address, a phone) writes nothing.
CREATE OR REPLACE FUNCTION xueji_pupil_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pupil_count_delta (school_id, grade, status, n)
  SELECT school_id, grade, status, sum(n) FROM (
    SELECT school_id, grade, status, 1 AS n FROM new_rows
    UNION ALL
    SELECT school_id, grade, status, -1 FROM old_rows
  ) AS d GROUP BY school_id, grade, status HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION xueji_pupil_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM pupil_count_delta;
  RETURN NULL;
END $$;
"""
TRIGGERS = """
CREATE TRIGGER student_count_insert AFTER INSERT ON student REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION xueji_pupil_count_insert();
CREATE TRIGGER student_count_delete AFTER DELETE ON student REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION xueji_pupil_count_delete();
CREATE TRIGGER student_count_update AFTER UPDATE ON student REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION xueji_pupil_count_update();
CREATE TRIGGER student_count_truncate AFTER TRUNCATE ON student
  FOR EACH STATEMENT EXECUTE FUNCTION xueji_pupil_count_truncate();
"""


def upgrade():
    op.create_table(
        "pupil_count_delta",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil_count_delta")),
    )
    with op.batch_alter_table("pupil_count_delta") as batch_op:
        batch_op.create_index("ix_pupil_count_delta_school_id", ["school_id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    # The pupils already there (one pass over the table, in the same transaction as the triggers).
    op.execute("INSERT INTO pupil_count_delta (school_id, grade, status, n) "
               "SELECT school_id, grade, status, count(*) FROM student GROUP BY school_id, grade, status")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("student_count_insert", "student_count_delete", "student_count_update", "student_count_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON student")
        for name in ("insert", "delete", "update", "truncate"):
            op.execute(f"DROP FUNCTION IF EXISTS xueji_pupil_count_{name}()")
    with op.batch_alter_table("pupil_count_delta") as batch_op:
        batch_op.drop_index("ix_pupil_count_delta_school_id")
    op.drop_table("pupil_count_delta")
