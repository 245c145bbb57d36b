"""Export requests and the register of files taken out (第二十八条, issue 13)

Revision ID: s4_export_requests
Revises: h4_assessment_confirmation
Create Date: 2026-12-06 02:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 's4_export_requests'
down_revision = 's5_audit_chain'
branch_labels = None
depends_on = None


def _path() -> sa.types.TypeEngine:
    return sa.String(length=120).with_variant(sa.String(length=120, collation='C'), 'postgresql')


def upgrade():
    op.create_table('export_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('scope_path', _path(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('fields', sa.String(length=100), nullable=False),
    sa.Column('endpoint', sa.String(length=80), nullable=False),
    sa.Column('view_args', sa.Text(), nullable=False),
    sa.Column('query_string', sa.Text(), nullable=False),
    sa.Column('scope_text', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('mimetype', sa.String(length=120), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('produced_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approver_id'], ['user.id'], name=op.f('fk_export_request_approver_id_user')),
    sa.ForeignKeyConstraint(['requester_id'], ['user.id'], name=op.f('fk_export_request_requester_id_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_export_request_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_request')),
    sa.UniqueConstraint('number', name=op.f('uq_export_request_number'))
    )
    with op.batch_alter_table('export_request', schema=None) as batch_op:
        batch_op.create_index('ix_export_request_scope_id', ['scope_path', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_request_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_request_status'), ['status'], unique=False)

    op.create_table('export_download',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('scope_path', _path(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['export_request.id'], name=op.f('fk_export_download_request_id_export_request')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_export_download_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_export_download_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_download'))
    )
    with op.batch_alter_table('export_download', schema=None) as batch_op:
        batch_op.create_index('ix_export_download_scope_id', ['scope_path', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_download_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_download_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('export_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_download_user_id'))
        batch_op.drop_index(batch_op.f('ix_export_download_request_id'))
        batch_op.drop_index('ix_export_download_scope_id')
    op.drop_table('export_download')
    with op.batch_alter_table('export_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_request_status'))
        batch_op.drop_index(batch_op.f('ix_export_request_requester_id'))
        batch_op.drop_index('ix_export_request_scope_id')
    op.drop_table('export_request')
