"""Tokens and pupils for the data API tests (used inside an app context)."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from sqlalchemy import select

from extensions import db
from models.export_request import ExportRequest
from models.org import OrgUnit
from services import api_tokens, clock, export_requests
from tests.transfer_helpers import user


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def issue(code: str, *, groups: t.Iterable[str] = (), request: ExportRequest | None = None, days: int = 30,
          name: str = "区智慧教育平台") -> str:
    """A token of the province's system administrator covering the unit `code`; its secret."""
    issued = api_tokens.issue(user("admin"), name, unit(code).id, clock.today() + timedelta(days=days), groups,
                              request.id if request else None)
    db.session.commit()
    return issued.secret


def approved_api_request(requester: str = "heping", approver: str = "baomi-heping",
                         fields: t.Iterable[str] = ("id_number", "guardian")) -> ExportRequest:
    """A 数据接口 export request of 和平区, approved by its 保密管理员."""
    req = export_requests.create(user(requester), "api", "区平台学籍同步", fields, "api.pupils")
    db.session.flush()
    export_requests.decide(user(approver), req, True)
    db.session.commit()
    return req


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
