"""三员分立 (separation of duties, issue 13 point 10): who may read pupils, who grants roles.

- The system administrator (系统管理员) runs accounts and units, never pupil data.
- The security administrator (安全管理员) alone changes which roles an account holds.
- The audit administrator (审计管理员) reads the audit log and nothing else.
- The confidentiality officer (保密管理员) approves export requests (第二十八条) and sees nothing
  else of the business pages.
Pupil data (pupils, requests, rosters, certificates, archives, statistics, imports) is read by
the business roles alone: the officials of the authorities and the schools' staff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from models.people import (
    ADMIN,
    AUDIT_ADMIN,
    CONFIDENTIALITY_OFFICER,
    OFFICIAL_ROLE_FOR_LEVEL,
    ROLE_LABELS,
    SCHOOL_ROLES,
    SECURITY_ADMIN,
)

if TYPE_CHECKING:
    from models.people import User

DUTY_ROLES = frozenset({ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})  # the 三员
OFFICIAL_ROLES = frozenset(OFFICIAL_ROLE_FOR_LEVEL.values())
BUSINESS_ROLES = frozenset({*OFFICIAL_ROLES, *SCHOOL_ROLES})
# Whose row scope reaches units' data rows at all: the business roles, and the confidentiality
# officer, whose export-request pages (built elsewhere) list requests of the unit's subtree. The
# officer's views are still closed by role (admin/base.py): the scope alone opens no page.
ROW_SCOPE_ROLES = BUSINESS_ROLES | {CONFIDENTIALITY_OFFICER}


def reads_pupils(user: User) -> bool:
    """Whether the account may see pupil data at all (pages, lists, files)."""
    return bool(user.role_names & BUSINESS_ROLES)


def has_row_scope(user: User) -> bool:
    """Whether the row scope gives the account any row beyond accounts, units and the audit log."""
    return bool(user.role_names & ROW_SCOPE_ROLES)


def grants_roles(user: User) -> bool:
    """Only the security administrator changes which roles an account holds."""
    return SECURITY_ADMIN in user.role_names


def combination_problems(role_names: set[str]) -> list[tuple[str, str]]:
    """A 三员 role is held alone: not two of them, nor one with a business role or the
    confidentiality officer's (the three check one another; an auditor who also runs the
    accounts would audit themselves)."""
    duty = role_names & DUTY_ROLES
    if duty and len(role_names) > 1:
        names = "、".join(ROLE_LABELS[r] for r in sorted(duty))
        return [("roles", str(_l("%(roles)s may not be combined with any other role (三员分立).", roles=names)))]
    return []
