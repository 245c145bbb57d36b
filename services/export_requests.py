"""Export requests (第二十八条): ask, decide, produce in the background, download once-per-user, register.

Deciding is one UPDATE guarded by the status (`WHERE status = 'pending'`): of two approvers acting
at once only the first changes the row, the second is told that it was already decided.

The file is produced by replaying the export's own view as the requester, with `g.export_request`
set (services/export_gate.py allows exactly the approved kind and groups), in a task of the queue
(services/queue.py) enqueued with the request's id once the approval is committed; its heartbeat
goes through services/job_progress.py, so a file whose worker died shows as 生成失败 with a retry
(the same people who could approve it). The file goes into the configured storage (services/uploads).
The watermark line is then added
to the file whatever its type: XLSX a first row on each sheet, CSV a first line, PDF a header and
footer on every page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from flask_babel import force_locale, get_locale
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from extensions import db
from models.export_request import APPROVED, EXPIRED, FAILED, PENDING, READY, REFUSED, ExportDownload, ExportRequest
from models.org import OrgUnit
from models.people import CONFIDENTIALITY_OFFICER, User
from services import audit, clock, export_gate, job_progress, notifications, scope, uploads
from services.errors import NotInScope, RuleViolation
from services.export_watermark import watermark
from services.queue import task

log = logging.getLogger(__name__)
VALID_FOR = timedelta(hours=24)
PURPOSE_MAX = 500


def _err(message: str, field: str = "") -> RuleViolation:
    return RuleViolation([(field, message)]) if field else RuleViolation(message)


# --- asking ------------------------------------------------------------------------------------
def create(actor: User, kind_code: str, purpose: str, fields: Iterable[str], endpoint: str,
           view_args: dict[str, Any] | None = None, query_string: str = "", scope_text: str = "") -> ExportRequest:
    kind = export_gate.KINDS.get(kind_code)
    if kind is None or kind_code not in export_gate.REQUESTABLE or endpoint not in kind.endpoints:
        raise NotInScope()
    if not export_gate.is_business_user(actor):
        raise _err("本账号不处理学生数据，不能申请导出（三员分立）。")
    purpose = (purpose or "").strip()
    if not purpose:
        raise _err("请填写导出用途。", "purpose")
    if len(purpose) > PURPOSE_MAX:
        raise _err(f"导出用途最多 {PURPOSE_MAX} 字。", "purpose")
    chosen = set(fields) | set(kind.carries)
    if not chosen <= (kind.carries | kind.optional):
        raise _err("所选敏感字段不属于此类导出。", "fields")
    req = ExportRequest(
        requester_id=actor.id, unit_id=actor.unit_id, scope_path=actor.unit.path, kind=kind_code, purpose=purpose,
        fields=",".join(sorted(chosen)), endpoint=endpoint, view_args=json.dumps(view_args or {}, sort_keys=True),
        query_string=(query_string or "")[:2000], scope_text=(scope_text or actor.unit.name)[:300], status=PENDING,
        created_at=clock.now(),
    )
    db.session.add(req)
    db.session.flush()
    req.number = f"DC-{req.created_at.year}-{req.id:06d}"
    audit.record(actor, "export.request", "export_request", req.id,
                 f"{req.number} {kind.label} 字段:{fields_text(req)} 用途:{purpose}"[:500])
    return req


def fields_text(req: ExportRequest) -> str:
    return "、".join(export_gate.GROUP_LABELS[f] for f in req.field_codes if f in export_gate.GROUP_LABELS) or "无敏感字段"


def kind_label(code: str) -> str:
    kind = export_gate.KINDS.get(code)
    return kind.label if kind else code


# --- who sees and who decides ----------------------------------------------------------------
def visible(actor: User) -> ColumnElement[bool]:
    """The register's scope: requests of the actor's unit and of the units below it."""
    return scope.within(ExportRequest.scope_path, actor.unit.path)


def load(actor: User, request_id: int) -> ExportRequest:
    req = db.session.get(ExportRequest, request_id)
    if req is None:
        raise NotInScope()
    if req.requester_id == actor.id or scope.covers(actor, req.scope_path):
        return req
    raise NotInScope()


def decide_refusal(actor: User, req: ExportRequest) -> str | None:
    """Why `actor` may not decide `req` (None: they may). The level above (an official of an
    ancestor unit) or a 保密管理员 of the requesting unit or above; never the requester."""
    if req.requester_id == actor.id:
        return "申请人不能审批自己的申请。"
    if req.status != PENDING:
        return "该申请已处理。"
    return approver_refusal(actor, req)


def approver_refusal(actor: User, req: ExportRequest) -> str | None:
    """Who may approve a request of its unit, whatever its status (deciding, and 重试 of its file)."""
    path, own = req.scope_path, actor.unit.path
    if not path.startswith(own):
        return "只能审批本单位及下级单位的申请。"
    if CONFIDENTIALITY_OFFICER in actor.role_names:
        return None
    if actor.is_official and path != own:
        return None
    return "只有上级教育行政部门或本单位保密管理员可以审批。"


def pending_for(actor: User) -> Select:
    """The requests `actor` may decide: pending, in their subtree, not their own (checked again
    one by one on the page: an official sees only those of units below their own)."""
    cond = [visible(actor), ExportRequest.status == PENDING, ExportRequest.requester_id != actor.id]
    if CONFIDENTIALITY_OFFICER not in actor.role_names:
        cond.append(ExportRequest.scope_path != actor.unit.path)
        if not actor.is_official:
            cond.append(ExportRequest.id.is_(None))
    return select(ExportRequest).where(*cond).order_by(ExportRequest.id.desc())


def decide(actor: User, req: ExportRequest, approve: bool, reason: str = "") -> ExportRequest:
    why = decide_refusal(actor, req)
    if why:
        raise _err(why)
    reason = (reason or "").strip()
    if not approve and not reason:
        raise _err("驳回须填写理由。", "reason")
    now = clock.now()
    done = db.session.execute(
        update(ExportRequest).where(ExportRequest.id == req.id, ExportRequest.status == PENDING)
        .values(status=APPROVED if approve else REFUSED, approver_id=actor.id, decided_at=now,
                refusal_reason=None if approve else reason[:500])
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # another approver was first: their decision stands
        db.session.rollback()
        raise _err("该申请已由他人处理。")
    db.session.refresh(req)
    audit.record(actor, "export.approve" if approve else "export.refuse", "export_request", req.id,
                 f"{req.number} {'' if approve else reason}"[:500])
    return req


# --- producing ----------------------------------------------------------------------------------
PROGRESS_KIND = "export_request"  # services/job_progress.py key prefix


def start(req: ExportRequest) -> None:
    """Enqueue the approved file's production (the caller has committed: the worker reads committed rows)."""
    if req.kind in export_gate.NOT_PRODUCED:  # an API request: the approval itself is what a token uses
        return
    locale = str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    produce_task(req.id, locale)


@task()
def produce_task(request_id: int, locale: str) -> None:
    with force_locale(locale):
        produce(current_app._get_current_object(), request_id)  # type: ignore[attr-defined]


def retry_refusal(actor: User, req: ExportRequest) -> str | None:
    """Why `actor` may not start a failed file again (None: they may): only a file that failed,
    and only someone who could have approved the request."""
    if req.status != FAILED or req.approver_id is None:
        return "只有生成失败的已批准申请可以重试。"
    return approver_refusal(actor, req)


def retry(actor: User, req: ExportRequest) -> ExportRequest:
    """重试: back to 已批准 and enqueued again (the caller commits first, then calls `start`)."""
    why = retry_refusal(actor, req)
    if why:
        raise _err(why)
    done = db.session.execute(
        update(ExportRequest).where(ExportRequest.id == req.id, ExportRequest.status == FAILED)
        .values(status=APPROVED, error=None).execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # two clicks, or two people: the first retry stands
        db.session.rollback()
        raise _err("该申请已在重新生成。")
    db.session.refresh(req)
    job_progress.clear(PROGRESS_KIND, req.id)
    audit.record(actor, "export.retry", "export_request", req.id, f"{req.number} 重新生成")
    return req


def _replay(app: Flask, req: ExportRequest) -> tuple[bytes, str, str, int | None]:
    """Call the export's view as the requester; (body, mimetype, file name, rows when the view
    wrote the watermark line itself while streaming: services/exports.py, else None)."""
    adapter = app.url_map.bind("localhost")
    path = adapter.build(req.endpoint, json.loads(req.view_args or "{}"))
    url = f"{path}?{req.query_string}" if req.query_string else path
    with app.test_request_context(url):
        g._login_user = req.requester  # flask_login reads the user from g first
        g.export_request = req
        g.export_beat = lambda rows: job_progress.report(PROGRESS_KIND, req.id, "running", rows)  # a long file keeps beating
        resp = app.make_response(app.view_functions[req.endpoint](**json.loads(req.view_args or "{}")))
        if resp.status_code != 200 or not export_gate.is_file_response(resp):
            raise _err("导出未能生成：数据已不在您的权限范围内或已变化。")
        resp.direct_passthrough = False
        body = resp.get_data()  # bounded by EXPORT_MAX_ROWS; written row by row by the view
        resp.close()
        name = _file_name(resp.headers.get("Content-Disposition", ""), req)
        rows = g.export_rows if g.get("export_bannered") else None
        return body, resp.mimetype or "application/octet-stream", name, rows


def _file_name(disposition: str, req: ExportRequest) -> str:
    from urllib.parse import unquote

    if "filename*=UTF-8''" in disposition:
        return unquote(disposition.split("filename*=UTF-8''", 1)[1].split(";", 1)[0])
    if "filename=" in disposition:
        return disposition.split("filename=", 1)[1].split(";", 1)[0].strip('"')
    return f"{req.number}"


def produce(app: Flask, request_id: int) -> ExportRequest | None:
    req = db.session.get(ExportRequest, request_id)
    if req is None or req.status != APPROVED:
        return req
    job_progress.report(PROGRESS_KIND, request_id, "running", 0, 1, force=True)  # the heartbeat starts
    try:
        req.produced_at = clock.now()
        body, mimetype, name, rows = _replay(app, req)
        if rows is None:  # a file the view could not mark while writing it (a PDF): marked afterwards
            body, rows = watermark(body, mimetype, req.banner())
        req.file_sha256, req.file_name, req.mimetype, req.rows = uploads.store(body), f"{req.number}_{name}"[:200], mimetype, rows
        req.status, req.expires_at = READY, req.produced_at + VALID_FOR
        audit.record(req.requester, "export.produce", "export_request", req.id, f"{req.number} {rows} 行 {name}"[:500])
        notifications.export_ready(req.requester_id, f"数据导出申请 {req.number}（{kind_label(req.kind)}）",
                                   f"/admin/export_requests/{req.id}/")
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        _fail(request_id, str(exc))
    except Exception:
        log.exception("export request %s failed", request_id)
        db.session.rollback()
        _fail(request_id, "生成时出现意外错误，可重试或重新申请。")
    job_progress.report(PROGRESS_KIND, request_id, "finished", 1, 1, force=True)
    return db.session.get(ExportRequest, request_id)


def mark_stale(req: ExportRequest) -> None:
    """An approved file whose worker stopped beating (the process died while producing it): say
    so, so that it is retried instead of waited for forever. A file no worker has started yet
    (the queue is busy) is still waiting, not failed."""
    if req.status == APPROVED and job_progress.stalled(PROGRESS_KIND, req.id):
        req.status, req.error = FAILED, "生成中断（后台进程已停止），可重试。"
        db.session.commit()


def _fail(request_id: int, message: str) -> None:
    req = db.session.get(ExportRequest, request_id)
    if req is not None:
        req.status, req.error = FAILED, message[:300]
        db.session.commit()


# --- downloading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadyFile:
    path: Path
    mimetype: str
    name: str


def expire_due(now: datetime | None = None) -> int:
    """Files older than 24 hours: status 已过期 and the file deleted. Returns how many."""
    now = now or clock.now()
    due = db.session.scalars(select(ExportRequest).where(ExportRequest.status == READY, ExportRequest.expires_at <= now)).all()
    for req in due:
        _expire(req)
    return len(due)


def _expire(req: ExportRequest) -> None:
    if req.file_sha256:
        uploads.delete(req.file_sha256)
    req.status, req.file_sha256 = EXPIRED, None
    audit.record(None, "export.expire", "export_request", req.id, req.number)


def download(actor: User, request_id: int) -> ReadyFile:
    """The requester's file: anyone else gets 404; after 24 hours it is gone (status 已过期)."""
    req = db.session.get(ExportRequest, request_id)
    if req is None or req.requester_id != actor.id:
        raise NotInScope()
    if req.status == READY and req.expires_at is not None and req.expires_at <= clock.now():
        _expire(req)
        db.session.commit()
    if req.status != READY or not req.file_sha256 or not uploads.path_of(req.file_sha256).exists():
        raise _err("下载链接已过期或文件尚未生成。" if req.status != EXPIRED else "下载链接已过期（24 小时），请重新申请。")
    db.session.execute(update(ExportRequest).where(ExportRequest.id == req.id)
                       .values(downloads=ExportRequest.downloads + 1).execution_options(synchronize_session=False))
    note_file(actor, req.kind, f"{req.number} {req.file_name}", rows=req.rows, request=req)
    db.session.refresh(req)
    return ReadyFile(uploads.path_of(req.file_sha256), req.mimetype or "application/octet-stream", req.file_name or req.number or "")


def note_file(actor: User, kind_code: str, detail: str, rows: int | None = None, request: ExportRequest | None = None) -> None:
    """One line of the register and one audit row for a file that leaves (not while producing:
    the approved file is counted when its requester downloads it)."""
    if request is None and g.get("export_request") is not None:
        return
    db.session.add(ExportDownload(user_id=actor.id, unit_id=actor.unit_id, scope_path=actor.unit.path, kind=kind_code,
                                  request_id=request.id if request else None, detail=detail[:300], rows=rows,
                                  at=clock.now()))
    audit.record(actor, "export.download", "export_request" if request else "export", request.id if request else None,
                 f"{kind_label(kind_code)} {detail}"[:500])


# --- the register -------------------------------------------------------------------------------
@dataclass
class RegisterFilter:
    unit_id: int | None = None
    user: str = ""
    kind: str = ""
    status: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None


def _unit_path(unit_id: int | None) -> str | None:
    unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    return unit.path if unit else None


def _register_filtered(q: Select, f: RegisterFilter, *, scope_col: Any, user_col: Any, kind_col: Any, time_col: Any) -> Select:
    """The register's filters, the same for requests and downloads: unit (and below), user, kind, dates."""
    path = _unit_path(f.unit_id)
    if path:
        q = q.where(scope.within(scope_col, path))
    if f.user:
        q = q.join(User, User.id == user_col).where(or_(User.email.contains(f.user), User.name.contains(f.user)))
    if f.kind:
        q = q.where(kind_col == f.kind)
    if f.date_from:
        q = q.where(time_col >= f.date_from)
    if f.date_to:
        q = q.where(time_col < f.date_to)
    return q


def register_requests(actor: User, f: RegisterFilter, limit: int = 200) -> list[ExportRequest]:
    q = _register_filtered(select(ExportRequest).where(visible(actor)), f, scope_col=ExportRequest.scope_path,
                           user_col=ExportRequest.requester_id, kind_col=ExportRequest.kind, time_col=ExportRequest.created_at)
    if f.status:
        q = q.where(ExportRequest.status == f.status)
    return list(db.session.scalars(q.order_by(ExportRequest.id.desc()).limit(limit)))


def register_downloads(actor: User, f: RegisterFilter, limit: int = 200) -> list[ExportDownload]:
    q = _register_filtered(select(ExportDownload).where(scope.within(ExportDownload.scope_path, actor.unit.path)), f,
                           scope_col=ExportDownload.scope_path, user_col=ExportDownload.user_id,
                           kind_col=ExportDownload.kind, time_col=ExportDownload.at)
    return list(db.session.scalars(q.order_by(ExportDownload.id.desc()).limit(limit)))


def my_requests(actor: User) -> list[ExportRequest]:
    return list(db.session.scalars(select(ExportRequest).where(ExportRequest.requester_id == actor.id)
                                   .order_by(ExportRequest.id.desc()).limit(200)))


def count_pending(actor: User) -> int:
    return db.session.scalar(select(func.count()).select_from(pending_for(actor).subquery())) or 0
