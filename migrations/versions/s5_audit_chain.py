"""The audit log becomes a hash chain (issue 13, point 16): prev_hash and row_hash on every row.

Existing rows are chained here in id order, exactly as models/audit.py chains new ones (the hash
rule is copied, not imported: a migration must keep meaning what it meant when it ran).

Revision ID: s5_audit_chain
Revises: h4_assessment_confirmation
"""

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "s5_audit_chain"
down_revision = "s1_login_sessions"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
HASHED_FIELDS = ("at", "user_id", "user_email", "unit_id", "scope_path", "action", "object_type",
                 "object_id", "detail", "ip", "prev_hash")


def _value(field, value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return int(value) if field in ("user_id", "unit_id") else str(value)


def _digest(values: dict) -> str:
    data = json.dumps([_value(f, values.get(f)) for f in HASHED_FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))

    log = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
        sa.column("user_id", sa.Integer), sa.column("user_email", sa.String), sa.column("unit_id", sa.Integer),
        sa.column("scope_path", sa.String), sa.column("action", sa.String), sa.column("object_type", sa.String),
        sa.column("object_id", sa.String), sa.column("detail", sa.String), sa.column("ip", sa.String),
        sa.column("prev_hash", sa.String), sa.column("row_hash", sa.String),
    )
    conn = op.get_bind()
    head, after = GENESIS, 0
    while True:  # in batches of ids: a production log has millions of rows
        rows = conn.execute(sa.select(log).where(log.c.id > after).order_by(log.c.id).limit(5000)).mappings().all()
        if not rows:
            break
        for row in rows:
            values = dict(row)
            if values["at"] is None:
                values["at"] = datetime(1970, 1, 1)
            values["prev_hash"] = head
            head = _digest(values)
            conn.execute(sa.update(log).where(log.c.id == row["id"]).values(at=values["at"], prev_hash=values["prev_hash"], row_hash=head))
        after = rows[-1]["id"]

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
