"""Users and roles (Flask-Security-Too). Every user belongs to one OrgUnit (第二十六条)."""

from __future__ import annotations

from datetime import datetime

from flask_security import AsaList, RoleMixin, UserMixin
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from extensions import db
from models import clock
from models.clock import system_now
from models.org import OrgUnit
from models.types import ScopePath

ADMIN = "admin"
PROVINCE_OFFICIAL, CITY_OFFICIAL, COUNTY_OFFICIAL = "province_official", "city_official", "county_official"
REGISTRAR, PRINCIPAL, DEPUTY = "registrar", "principal", "deputy"
# 三员分立 (issue 13): the system administrator (ADMIN) runs accounts and units, the security
# administrator roles and permissions, the audit administrator reads the audit log only. The
# confidentiality officer (保密管理员) of a unit approves its export requests (第二十八条).
SECURITY_ADMIN, AUDIT_ADMIN, CONFIDENTIALITY_OFFICER = "security_admin", "audit_admin", "confidentiality_officer"
OFFICIAL_ROLE_FOR_LEVEL = {"province": PROVINCE_OFFICIAL, "city": CITY_OFFICIAL, "county": COUNTY_OFFICIAL}
SCHOOL_ROLES = (REGISTRAR, PRINCIPAL, DEPUTY)
# 等保 level 3 (issue 13, point 7): these accounts cannot log in without a second factor (TOTP);
# school accounts may turn it on. Authority accounts also change their password every 180 days (point 6).
AUTHORITY_ROLES = frozenset({*OFFICIAL_ROLE_FOR_LEVEL.values(), ADMIN, SECURITY_ADMIN, AUDIT_ADMIN, CONFIDENTIALITY_OFFICER})
ROLE_LABELS = {
    ADMIN: "系统管理员",
    PROVINCE_OFFICIAL: "省级教育行政部门",
    CITY_OFFICIAL: "市级教育行政部门",
    COUNTY_OFFICIAL: "县级教育行政部门",
    REGISTRAR: "学籍管理员",
    PRINCIPAL: "校长",
    DEPUTY: "分管校领导",
    SECURITY_ADMIN: "安全管理员",
    AUDIT_ADMIN: "审计管理员",
    CONFIDENTIALITY_OFFICER: "保密管理员",
}

roles_users = Table(
    "roles_users",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id"), primary_key=True),
    Column("role_id", Integer, ForeignKey("role.id"), primary_key=True),
)


class Role(db.Model, RoleMixin):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str | None] = mapped_column(String(100))
    permissions: Mapped[str | None] = mapped_column(String(255))

    def __str__(self) -> str:
        return ROLE_LABELS.get(self.name, self.name)


class User(db.Model, UserMixin):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(50), default="")
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    current_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    current_login_ip: Mapped[str | None] = mapped_column(String(64))
    login_count: Mapped[int | None] = mapped_column(Integer)
    # When the account was made: an account never logged in is dormant 90 days after it (issue 13 point 9).
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=system_now)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Denormalised from unit.path so that user lists are scoped like students.
    scope_path: Mapped[str] = mapped_column(ScopePath(), index=True)

    # Account security (issue 13, points 5–7). Login failures since the last success, and the end of
    # a lockout (services/login_guard.py); the password's age and whether its owner must replace it
    # (set when someone else chose it: services/passwords.py); Flask-Security's two-factor fields.
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    tf_primary_method: Mapped[str | None] = mapped_column(String(64))
    tf_totp_secret: Mapped[str | None] = mapped_column(String(255))
    # The time step of the last TOTP code accepted: a code is good once (services/two_factor.py).
    tf_totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    tf_phone_number: Mapped[str | None] = mapped_column(String(128))
    mf_recovery_codes: Mapped[list[str] | None] = mapped_column(MutableList.as_mutable(AsaList()))

    unit: Mapped[OrgUnit] = relationship()
    roles = relationship("Role", secondary=roles_users, backref="users")
    # Read with the account at the start of each request (services/user_store.py), in the same
    # statement: the navbar's 我的消息 badge, and whether the lists need to look for saved filters.
    # None when the account was loaded any other way (then the readers ask the database).
    unread_at_load: Mapped[int | None] = query_expression()
    saved_filters_at_load: Mapped[int | None] = query_expression()

    @property
    def role_names(self) -> set[str]:
        return {r.name for r in self.roles}

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.role_names

    @property
    def is_official(self) -> bool:
        return bool(self.role_names & set(OFFICIAL_ROLE_FOR_LEVEL.values()))

    @property
    def is_school_user(self) -> bool:
        return bool(self.role_names & set(SCHOOL_ROLES))

    @property
    def is_authority(self) -> bool:
        return bool(self.role_names & AUTHORITY_ROLES)

    # Flask-Security hooks (UserMixin, 5.8+). The login form asks is_locked() after the password
    # matched: a locked account stays out even with the right password. The login page shows the
    # one generic failure message whatever is appended here (SECURITY_RETURN_GENERIC_RESPONSES).
    def is_locked(self, form_error: list[str] | None = None) -> bool:
        locked = self.locked_until is not None and self.locked_until > clock.now()
        if locked and form_error is not None:
            form_error.append("登录失败。")
        return locked

    def check_tf_required(self, tf_setup_methods: list[tuple[str, str]], tf_fresh: bool) -> tuple[bool, list[tuple[str, str]]]:
        """Two-factor for authority accounts always (set up at their first login), for others once set up."""
        if self.is_authority or tf_setup_methods:
            return True, tf_setup_methods
        return False, tf_setup_methods

    def check_tf_required_setup(self) -> bool:
        """The setup page offers no "disable" to an account that must keep its second factor."""
        return self.is_authority

    def __str__(self) -> str:
        return f"{self.name or self.email}（{self.unit.name if self.unit else ''}）"
