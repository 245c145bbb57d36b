"""roster submissions (第十二条) and school registrars (第二十六条)

Revision ID: h5_roster_submissions_registrars
Revises: 7ad1b96f49de
Create Date: 2026-12-04 16:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'h5_roster_submissions_registrars'
down_revision = '7ad1b96f49de'
branch_labels = None
depends_on = None


def _path() -> sa.types.TypeEngine:
    return sa.String(length=120).with_variant(sa.String(length=120, collation='C'), 'postgresql')


def upgrade():
    op.create_table('roster_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('scope_path', _path(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('sent_to_id', sa.Integer(), nullable=True),
    sa.Column('also_to_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_size', sa.Integer(), nullable=False),
    sa.Column('xlsx_sha256', sa.String(length=64), nullable=False),
    sa.Column('xlsx_size', sa.Integer(), nullable=False),
    sa.Column('replaced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['also_to_id'], ['org_unit.id'], name=op.f('fk_roster_submission_also_to_id_org_unit')),
    sa.ForeignKeyConstraint(['document_id'], ['printed_document.id'], name=op.f('fk_roster_submission_document_id_printed_document')),
    sa.ForeignKeyConstraint(['school_id'], ['org_unit.id'], name=op.f('fk_roster_submission_school_id_org_unit')),
    sa.ForeignKeyConstraint(['sent_to_id'], ['org_unit.id'], name=op.f('fk_roster_submission_sent_to_id_org_unit')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user.id'], name=op.f('fk_roster_submission_submitted_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_submission'))
    )
    with op.batch_alter_table('roster_submission', schema=None) as batch_op:
        batch_op.create_index('ix_roster_submission_school_kind_year', ['school_id', 'kind', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_submission_scope_path'), ['scope_path'], unique=False)
        batch_op.create_index('ux_roster_submission_current', ['school_id', 'kind', 'year'], unique=True,
                              sqlite_where=sa.text('replaced_at IS NULL'), postgresql_where=sa.text('replaced_at IS NULL'))

    op.create_table('school_registrar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('scope_path', _path(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('appointed_on', sa.Date(), nullable=False),
    sa.Column('full_time', sa.Boolean(), nullable=False),
    sa.Column('formal_staff', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ended_by_id'], ['user.id'], name=op.f('fk_school_registrar_ended_by_id_user')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_school_registrar_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['school_id'], ['org_unit.id'], name=op.f('fk_school_registrar_school_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_registrar'))
    )
    with op.batch_alter_table('school_registrar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_school_registrar_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_school_registrar_scope_path'), ['scope_path'], unique=False)


def downgrade():
    with op.batch_alter_table('school_registrar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_school_registrar_scope_path'))
        batch_op.drop_index(batch_op.f('ix_school_registrar_school_id'))
    op.drop_table('school_registrar')
    with op.batch_alter_table('roster_submission', schema=None) as batch_op:
        batch_op.drop_index('ux_roster_submission_current')
        batch_op.drop_index(batch_op.f('ix_roster_submission_scope_path'))
        batch_op.drop_index('ix_roster_submission_school_kind_year')
    op.drop_table('roster_submission')
