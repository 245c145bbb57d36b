"""Search (issue 14, point 4): a user's saved list filters; on PostgreSQL the search indexes

Revision ID: u4_saved_filters
Revises: s6_totp_last_counter
Create Date: 2026-12-06 03:30:00

The search indexes (services/pupil_search.py) are PostgreSQL only: SQLite has neither pg_trgm nor
reverse(), and reads the rows of the scope instead. On a live database with millions of pupils
these CREATE INDEX statements hold a write lock on `student` while they run (3M pupils: see
bench/README.md, "Search"); run the upgrade in a quiet hour.
"""
import sqlalchemy as sa
from alembic import op

revision = "u4_saved_filters"
down_revision = "s6_totp_last_counter"
branch_labels = None
depends_on = None

# The characters and the pairs of adjacent characters of a name: pg_trgm finds no trigram in a
# one- or two-character search ("%小明%"), this array does. IMMUTABLE: it is indexed.
NAME_GRAMS = """
CREATE OR REPLACE FUNCTION xueji_name_grams(n text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
    SELECT substr(n, i, 1) FROM generate_series(1, length(n)) AS i
    UNION ALL
    SELECT substr(n, i, 2) FROM generate_series(1, length(n) - 1) AS i
  ) AS s(g)
$$
"""


def upgrade():
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query_string", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_saved_filter_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("user_id", "endpoint", "name", name=op.f("uq_saved_filter_user_id")),
    )
    with op.batch_alter_table("saved_filter") as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filter_user_id"), ["user_id"], unique=False)
    op.create_index("ix_guardian_phone", "guardian", ["phone"], unique=False)
    # A search's COUNT over a county or a school filters the names in this index (no heap reads).
    op.create_index("ix_student_scope_name", "student", ["scope_path", "name"], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(NAME_GRAMS)
    op.execute("CREATE INDEX ix_student_name_trgm ON student USING gin (lower(name) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_student_name_grams ON student USING gin (xueji_name_grams(name))")
    op.execute("CREATE INDEX ix_student_id_number_rev ON student (reverse(id_number) text_pattern_ops)")
    op.execute("CREATE INDEX ix_student_xjh_rev ON student (reverse(xjh) text_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("ix_student_xjh_rev", "ix_student_id_number_rev", "ix_student_name_grams", "ix_student_name_trgm"):
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("DROP FUNCTION IF EXISTS xueji_name_grams(text)")
        # pg_trgm stays: other objects may use it, and it holds no data.
    op.drop_index("ix_student_scope_name", table_name="student")
    op.drop_index("ix_guardian_phone", table_name="guardian")
    with op.batch_alter_table("saved_filter") as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filter_user_id"))
    op.drop_table("saved_filter")
