"""Indexes on change_request.from_central_id and to_central_id, and on the open steps by due date
(issue 15, point 7).

visible_filter (services/workflows.py) ORs four ends of a request: from_path, to_path (indexed)
and the township central school of either side (not indexed). With one end unindexed PostgreSQL
cannot combine the four in a BitmapOr, and every queue count and dashboard figure of a county
tested each pending request of the province (5 ms a count at 13,000 requests); with them, 0.8 ms.
Partial: most requests have no central school.

ix_approval_step_open_due: the queue 已超期 of a county or a city reads the undecided steps past
their due date from the index alone (1.7 ms) instead of scanning every step ever decided (7.7 ms
for a city at 38,000 steps).

Revision ID: w_reqix
Revises: w_feed
Create Date: 2026-12-07 04:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "w_reqix"
down_revision = "w_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("from_central_id", "to_central_id"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_change_request_{column}", "change_request", [column],
                        postgresql_where=where, sqlite_where=where)
    open_only = sa.text("decision IS NULL")
    op.create_index("ix_approval_step_open_due", "approval_step", ["due_date", "unit_id", "request_id", "seq"],
                    postgresql_where=open_only, sqlite_where=open_only)


def downgrade() -> None:
    op.drop_index("ix_approval_step_open_due", table_name="approval_step")
    for column in ("from_central_id", "to_central_id"):
        op.drop_index(f"ix_change_request_{column}", table_name="change_request")
