"""Tokens of the data API (issue 16, point 5): issue, list, revoke, and find a token by its secret.

Who issues: the system administrator (系统管理员, models/people.ADMIN) of a unit, for that unit or a
unit below it — the account that runs a unit's accounts also runs the accounts of the systems that
read it. A token reads pupils only through the export gate (services/export_gate.decide_token): the
sensitive groups it shows in full are those of an approved 数据导出申请 of kind "api" that covers
its scope, chosen at issue; otherwise they are masked (ID numbers, G-学籍号) or withheld.

The secret is shown once, when issued; only its SHA-256 is stored. Every token expires (at most one
year after issue) and may be revoked before.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from extensions import db
from models.api_token import ApiToken
from models.export_request import APPROVED, ExportRequest
from models.org import OrgUnit
from models.people import ADMIN, User
from services import audit, clock, export_gate, scope
from services.errors import NotInScope, RuleViolation

SECRET_PREFIX = "xjt_"  # 学籍通 token: recognisable in logs and by secret scanners
NAME_MAX = 100


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def may_issue(actor: User) -> bool:
    return ADMIN in actor.role_names


def visible(actor: User) -> list[ApiToken]:
    """The tokens whose scope lies in the administrator's subtree, newest first."""
    if not may_issue(actor):
        return []
    q = select(ApiToken).where(scope.within(ApiToken.scope_path, actor.unit.path)).order_by(ApiToken.id.desc())
    return list(db.session.scalars(q.limit(500)))


def load(actor: User, token_id: int) -> ApiToken:
    """A token of the administrator's subtree, else NotInScope (→ 404, absent and foreign alike)."""
    if not may_issue(actor) or not 0 < token_id <= scope.MAX_ID:
        raise NotInScope()
    token = db.session.get(ApiToken, token_id)
    if token is None or not scope.covers_unit(actor, token.scope_path):
        raise NotInScope()
    return token


def scope_units(actor: User) -> list[OrgUnit]:
    """The units a token of this administrator may cover: their own and those below it."""
    if not may_issue(actor):
        return []
    q = select(OrgUnit).where(scope.within(OrgUnit.path, actor.unit.path), OrgUnit.active.is_(True)).order_by(OrgUnit.path)
    return list(db.session.scalars(q.limit(2000)))


def approved_requests(actor: User) -> list[ExportRequest]:
    """Approved 数据接口 requests of the administrator's subtree: what a token's groups may come from."""
    if not may_issue(actor):
        return []
    q = select(ExportRequest).where(scope.within(ExportRequest.scope_path, actor.unit.path),
                                    ExportRequest.kind == export_gate.API, ExportRequest.status == APPROVED)
    return list(db.session.scalars(q.order_by(ExportRequest.id.desc()).limit(200)))


def last_expiry_day(today: date) -> date:
    """"At most one year": the same day a year later (a 29 February's is the 28th), whatever the
    number of days in between (365 or 366)."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)


def _expiry(expires_on: date | None, now: datetime) -> tuple[datetime | None, str | None]:
    """A token works until the end of the day chosen."""
    if expires_on is None:
        return None, "请填写有效期至。"
    if expires_on <= now.date():
        return None, "有效期至须晚于今天。"
    if expires_on > last_expiry_day(now.date()):
        return None, "有效期最长一年。"
    return datetime.combine(expires_on, time(23, 59, 59)), None


def issue(actor: User, name: str, scope_unit_id: int | None, expires_on: date | None,
          groups: Iterable[str] = (), export_request_id: int | None = None) -> Issued:
    """A new token; RuleViolation names the field at fault (名称, 适用范围, 有效期至, 敏感字段, 导出申请)."""
    if not may_issue(actor):
        raise NotInScope()
    now = clock.now()
    problems: list[tuple[str, str]] = []
    name = (name or "").strip()
    if not name:
        problems.append(("name", "请填写令牌名称。"))
    elif len(name) > NAME_MAX:
        problems.append(("name", f"令牌名称最多 {NAME_MAX} 字。"))
    unit = db.session.get(OrgUnit, scope_unit_id) if scope_unit_id else None
    if unit is None or not scope.covers_unit(actor, unit.path):
        problems.append(("scope_unit", "请选择本单位或下级单位。"))
    expires_at, why = _expiry(expires_on, now)
    if why:
        problems.append(("expires_on", why))
    chosen = sorted(set(groups))
    if not set(chosen) <= export_gate.ALL_GROUPS:
        problems.append(("groups", "所选敏感字段不存在。"))
    req = None
    if export_request_id:
        req = db.session.get(ExportRequest, export_request_id)
        if (req is None or req.kind != export_gate.API or req.status != APPROVED
                or not scope.covers_unit(actor, req.scope_path)):
            problems.append(("export_request", "请选择本单位或下级单位已批准的数据接口导出申请。"))
            req = None
        elif unit is not None and not unit.path.startswith(req.scope_path):
            problems.append(("export_request", "该导出申请不涵盖所选的适用范围。"))
    if chosen and req is None and not any(f == "export_request" for f, _m in problems):
        problems.append(("groups", "显示敏感字段须有已批准的数据接口导出申请。"))
    if req is not None and not set(chosen) <= set(req.field_codes):
        problems.append(("groups", "所选敏感字段超出导出申请批准的范围。"))
    if problems:
        raise RuleViolation(problems)
    assert unit is not None and expires_at is not None  # the checks above refused otherwise
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=digest(secret), prefix=secret[:12], issuer_unit_id=actor.unit_id,
                     scope_unit_id=unit.id, scope_path=unit.path, groups=",".join(chosen),
                     export_request_id=req.id if req else None, created_by_id=actor.id, created_at=now,
                     expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.issue", "api_token", token.id,
                 f"{name}｜范围：{unit.name}｜有效期至：{expires_at:%Y-%m-%d}｜敏感字段：{groups_text(chosen)}")
    return Issued(token, secret)


def revoke(actor: User, token: ApiToken) -> ApiToken:
    if not scope.covers_unit(actor, token.scope_path) or not may_issue(actor):
        raise NotInScope()
    if token.revoked_at is not None:
        raise RuleViolation("该令牌已吊销。")
    token.revoked_at, token.revoked_by_id = clock.now(), actor.id
    audit.record(actor, "api_token.revoke", "api_token", token.id, token.name)
    return token


def groups_text(codes: Iterable[str]) -> str:
    return "、".join(export_gate.GROUP_LABELS[c] for c in codes if c in export_gate.GROUP_LABELS) or "无（脱敏）"


def state_text(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked_at is not None:
        return "已吊销"
    return "有效" if token.expires_at > (now or clock.now()) else "已过期"


def find(secret: str | None) -> ApiToken | None:
    """The token of this secret, whatever its state (the gate says whether it may read)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))


def note_use(token: ApiToken, ip: str | None, what: str) -> None:
    """Last use on the token, and one audit row per call (第二十八条): attributed to the token, in
    the scope of the unit it covers, so that the officials of that unit read it in their audit log."""
    token.last_used_at, token.last_used_ip = clock.now(), (ip or "")[:64] or None
    row = audit.record(None, "api.read", "api_token", token.id, f"{token.name}｜{what}"[:500])
    row.user_email = f"令牌 {token.prefix}…"
    row.unit_id, row.scope_path = token.scope_unit_id, token.scope_path
