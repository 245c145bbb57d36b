"""official calendar year: a State Council holiday notice entered as one record

Revision ID: h3_official_calendar_year
Revises: h5_roster_submissions_registrars
Create Date: 2026-12-04 16:40:00

The existing calendar_day rows stay as they are: they are single-day adjustments from now on
and no longer make a year official (models/calendar.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'h3_official_calendar_year'
down_revision = 'h5_roster_submissions_registrars'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('official_calendar_year',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('notice_number', sa.String(length=200), nullable=False),
    sa.Column('notice_text', sa.Text(), nullable=True),
    sa.Column('days_off', sa.JSON(), nullable=False),
    sa.Column('make_up_days', sa.JSON(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_official_calendar_year_entered_by_id_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_official_calendar_year_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_calendar_year')),
    sa.UniqueConstraint('year', name=op.f('uq_official_calendar_year_year'))
    )


def downgrade():
    op.drop_table('official_calendar_year')
