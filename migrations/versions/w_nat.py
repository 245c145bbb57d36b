"""The national basic-information form's remaining fields (issue 16, point 4: exchange with the
全国中小学生学籍信息管理系统): on the pupil 姓名拼音, 身份证件有效期, 政治面貌, 特长, 班内学号, 学生来源,
通信地址, 邮政编码, 电子信箱, 主页地址, 是否烈士或优抚子女, 随班就读 and the later versions' fields 43–48;
on the family member 关系说明, 民族, 现住址, 户口所在地, 是否监护人, 职务.

Revision ID: w_nat
Revises: w_notif
Create Date: 2026-12-06 19:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "w_nat"
down_revision = "w_notif"
branch_labels = None
depends_on = None

STUDENT_COLUMNS = (
    ("name_pinyin", sa.String(length=100)),
    ("id_valid_period", sa.String(length=21)),
    ("political_status", sa.String(length=2)),
    ("specialty", sa.String(length=100)),
    ("class_number", sa.String(length=10)),
    ("student_source", sa.String(length=1)),
    ("mailing_address", sa.String(length=200)),
    ("postal_code", sa.String(length=6)),
    ("email", sa.String(length=100)),
    ("homepage", sa.String(length=200)),
    ("inclusive_class", sa.String(length=1)),
    ("school_distance", sa.String(length=8)),
    ("transport_mode", sa.String(length=1)),
)
STUDENT_FLAGS = ("martyr_child", "gov_paid_place", "needs_aid", "one_subsidy", "school_bus")
GUARDIAN_COLUMNS = (
    ("relation_note", sa.String(length=50)),
    ("ethnicity", sa.String(length=2)),
    ("current_address", sa.String(length=200)),
    ("hukou_location", sa.String(length=6)),
    ("job_title", sa.String(length=50)),
)


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy of the student table would lose its
    # expression indexes.
    for name, type_ in STUDENT_COLUMNS:
        op.add_column("student", sa.Column(name, type_, nullable=True))
    for name in STUDENT_FLAGS:  # existing rows read 否, as the model's default
        op.add_column("student", sa.Column(name, sa.Boolean(), nullable=False, server_default="0"))
    for name, type_ in GUARDIAN_COLUMNS:
        op.add_column("guardian", sa.Column(name, type_, nullable=True))
    # The family members entered so far were entered as guardians (监护人).
    op.add_column("guardian", sa.Column("is_guardian", sa.Boolean(), nullable=False, server_default="1"))


def downgrade() -> None:
    for name in ("is_guardian", *(n for n, _t in reversed(GUARDIAN_COLUMNS))):
        op.drop_column("guardian", name)
    for name in (*reversed(STUDENT_FLAGS), *(n for n, _t in reversed(STUDENT_COLUMNS))):
        op.drop_column("student", name)
