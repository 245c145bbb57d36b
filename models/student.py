"""The student record (学籍) with the national basic-information fields and guardians.

`status` is owned by the lifecycle (models/lifecycle.py: the statuses and the one table of moves
between them; services/lifecycle.py applies them). A stored record's status cannot be assigned
anywhere else: the validator below refuses it.
`scope_path` copies the school's OrgUnit.path so the scope rule is one indexed range test.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from extensions import db
from models.clock import now
from models.lifecycle import StudentStatus, guard
from models.org import OrgUnit
from models.school_class import SchoolClass
from models.types import ScopePath

RESIDENT_ID = "1"  # id_type code of 居民身份证
PENDING = StudentStatus.PENDING.value  # 待核办: entered by the school, waiting for the authority (第五条)

# Fields a school may correct directly (第十二条); everything else in CORE_FIELDS goes
# through a correction request once the record is approved.
VOLATILE_FIELDS = ("left_behind", "migrant_child", "current_address", "phone", "hukou_location")
CORE_FIELDS = ("name", "gender", "birth_date", "id_type", "id_number", "ethnicity")


class Student(db.Model):
    __tablename__ = "student"
    __table_args__ = (
        Index("ix_student_scope_id", "scope_path", "id"),
        # "Newest first" lists of a city / county (services/scope.py:listing).
        Index("ix_student_city_id", func.substr(text("scope_path"), 1, 9), "id"),
        Index("ix_student_county_id", func.substr(text("scope_path"), 1, 16), "id"),
        Index("ix_student_name", "name"),
        Index("ix_student_soft_dup", "name", "gender", "birth_date"),
        # A search's COUNT over a county reads the names from here, not from the heap (one-character
        # name search at 3M: 0.8 s → 0.05 s, bench/README.md "Search").
        Index("ix_student_scope_name", "scope_path", "name"),
        # Search (services/pupil_search.py). PostgreSQL only (migration u4_saved_filters): on SQLite
        # they are expression indexes that autogenerate cannot reflect, so it skips them.
        Index("ix_student_name_trgm", func.lower(text("name")).label("name_lower"),
              postgresql_using="gin", postgresql_ops={"name_lower": "gin_trgm_ops"}),
        Index("ix_student_name_grams", func.xueji_name_grams(text("name")), postgresql_using="gin"),
        Index("ix_student_id_number_rev", func.reverse(text("id_number")).label("id_number_rev"),
              postgresql_ops={"id_number_rev": "text_pattern_ops"}),
        Index("ix_student_xjh_rev", func.reverse(text("xjh")).label("xjh_rev"),
              postgresql_ops={"xjh_rev": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    xjh: Mapped[str | None] = mapped_column(String(20), unique=True)  # 学籍号
    school_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    scope_path: Mapped[str] = mapped_column(ScopePath())
    status: Mapped[str] = mapped_column(String(20), default=StudentStatus.ENROLLED.value, index=True)
    # 第十七条: a pupil who moved between an ordinary and a special school, or into a work-study
    # school, may keep the record at the old school; this names the school actually attended.
    attending_school_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # The last 正常升级 run that moved the pupil (models/promotion.py). No foreign key on purpose:
    # one run updates millions of rows, and a per-row referential check would double its cost.
    promotion_run_id: Mapped[int | None] = mapped_column(Integer)

    name: Mapped[str] = mapped_column(String(50))
    former_name: Mapped[str | None] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    birthplace: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 division code
    native_place: Mapped[str | None] = mapped_column(String(50))  # 籍贯
    ethnicity: Mapped[str] = mapped_column(String(2), default="01")
    nationality: Mapped[str] = mapped_column(String(3), default="156")
    id_type: Mapped[str] = mapped_column(String(1), default=RESIDENT_ID)
    id_number: Mapped[str | None] = mapped_column(String(30), unique=True)
    overseas: Mapped[str] = mapped_column(String(1), default="0")  # 港澳台侨外
    health: Mapped[str] = mapped_column(String(1), default="1")
    hukou_location: Mapped[str | None] = mapped_column(String(6))
    hukou_type: Mapped[str | None] = mapped_column(String(1))

    grade: Mapped[int] = mapped_column(Integer)
    class_name: Mapped[str | None] = mapped_column(String(20))  # the class's name as shown and exported
    # The pupil's class (models/school_class.py); set with class_name by services/classes.place.
    # None: no class yet (未分班), or a name typed in before the school set its classes up.
    class_id: Mapped[int | None] = mapped_column(ForeignKey("school_class.id"), index=True)
    enroll_month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM
    enroll_mode: Mapped[str | None] = mapped_column(String(1))
    attendance_mode: Mapped[str | None] = mapped_column(String(1))

    current_address: Mapped[str | None] = mapped_column(String(200))
    home_address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    only_child: Mapped[bool] = mapped_column(Boolean, default=False)
    preschool: Mapped[bool] = mapped_column(Boolean, default=True)
    left_behind: Mapped[str] = mapped_column(String(1), default="0")
    migrant_child: Mapped[bool] = mapped_column(Boolean, default=False)
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)
    disability: Mapped[str] = mapped_column(String(1), default="0")

    # The rest of the national basic-information form (全国中小学生学籍信息管理系统, issue 16 point 4);
    # codes as in services/national_codes.py. 学籍辅号 is not stored: in an exchange it is our id.
    name_pinyin: Mapped[str | None] = mapped_column(String(100))  # 姓名拼音
    id_valid_period: Mapped[str | None] = mapped_column(String(21))  # 身份证件有效期 2010.06.01-2020.06.01 or …-长期
    political_status: Mapped[str | None] = mapped_column(String(2))  # 政治面貌 (GB/T 4762)
    specialty: Mapped[str | None] = mapped_column(String(100))  # 特长
    class_number: Mapped[str | None] = mapped_column(String(10))  # 班内学号
    student_source: Mapped[str | None] = mapped_column(String(1))  # 学生来源
    mailing_address: Mapped[str | None] = mapped_column(String(200))  # 通信地址
    postal_code: Mapped[str | None] = mapped_column(String(6))  # 邮政编码
    email: Mapped[str | None] = mapped_column(String(100))  # 电子信箱
    homepage: Mapped[str | None] = mapped_column(String(200))  # 主页地址
    martyr_child: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 烈士或优抚子女
    inclusive_class: Mapped[str | None] = mapped_column(String(1))  # 随班就读
    gov_paid_place: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 政府购买学位
    needs_aid: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 需要申请资助
    one_subsidy: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 享受一补
    school_distance: Mapped[str | None] = mapped_column(String(8))  # 上下学距离 in km, as written
    transport_mode: Mapped[str | None] = mapped_column(String(1))  # 上下学交通方式
    school_bus: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 需要乘坐校车

    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)

    school: Mapped[OrgUnit] = relationship(foreign_keys=[school_id])
    attending_school: Mapped[OrgUnit | None] = relationship(foreign_keys=[attending_school_id])
    school_class: Mapped[SchoolClass | None] = relationship(foreign_keys=[class_id])
    guardians: Mapped[list[Guardian]] = relationship(
        back_populates="student", cascade="all, delete-orphan", order_by="Guardian.id"
    )

    __mapper_args__ = {"version_id_col": version_id}

    @validates("status")
    def _status_moves_by_the_table(self, _key: str, value: str) -> str:
        stored = sa_inspect(self).has_identity
        # An expired attribute (after a commit) is loaded to know the status it moves from.
        guard(stored, self.status if stored else self.__dict__.get("status"), value)
        return value

    def __str__(self) -> str:
        return f"{self.name}（{self.xjh or '未分配学籍号'}）"


class Guardian(db.Model):
    """Up to two guardians (监护人) per student."""

    __tablename__ = "guardian"
    __table_args__ = (
        Index("ix_guardian_id_name", "id_number", "name"),
        Index("ix_guardian_phone", "phone"),  # search by a guardian's phone (services/pupil_search.py)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    relation: Mapped[str] = mapped_column(String(1))
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(1), default=RESIDENT_ID)
    id_number: Mapped[str | None] = mapped_column(String(30))
    phone: Mapped[str | None] = mapped_column(String(20))
    workplace: Mapped[str | None] = mapped_column(String(100))
    # The national form's family-member columns (issue 16 point 4).
    relation_note: Mapped[str | None] = mapped_column(String(50))  # 关系说明
    ethnicity: Mapped[str | None] = mapped_column(String(2))  # 民族
    current_address: Mapped[str | None] = mapped_column(String(200))  # 现住址
    hukou_location: Mapped[str | None] = mapped_column(String(6))  # 户口所在地 (GB/T 2260)
    is_guardian: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  # 是否监护人
    job_title: Mapped[str | None] = mapped_column(String(50))  # 职务

    student: Mapped[Student] = relationship(back_populates="guardians")

    def __str__(self) -> str:
        return self.name
