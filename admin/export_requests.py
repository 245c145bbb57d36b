"""数据导出申请 (第二十八条): my requests, those waiting for my decision, and the export register.

Every file-sending view first calls admin/gate.py `gate()`, which leads here when a request is needed.
"""

from __future__ import annotations

import json
import re
import typing as t
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from flask import Response, abort, redirect, request, send_file, url_for
from flask_admin import expose
from flask_admin.menu import MenuLink
from flask_security import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, TextAreaField
from wtforms.validators import Length, Optional

from admin.base import SecureBaseView, attempt, current_actor
from admin.gate import gate  # noqa: F401  (re-exported for the views)
from extensions import db
from models.export_request import PENDING, READY, STATUS_LABELS
from models.org import OrgUnit
from services import duties, export_gate, export_requests, scope
from services.errors import NotInScope

MENU = "数据导出申请"
FILTER_ARG = re.compile(r"flt\d+_(\d+)")  # Flask-Admin's filter parameters: flt<position>_<index into _filters>


def shown_groups() -> frozenset[str]:
    """The groups an export may show in full now: those of the approved request being produced."""
    return export_gate.approved_groups()


class RequestForm(FlaskForm):
    purpose = TextAreaField("导出用途", validators=[Length(max=export_requests.PURPOSE_MAX)])
    fields = SelectMultipleField("敏感字段", choices=list(export_gate.GROUP_LABELS.items()), validators=[Optional()])
    kind = HiddenField()
    view = HiddenField()
    args = HiddenField()
    q = HiddenField()
    scope = HiddenField()


class DecideForm(FlaskForm):
    reason = TextAreaField("驳回理由", validators=[Optional(), Length(max=500)])


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d")
    except ValueError:
        return None


class ExportRequestView(SecureBaseView):
    """The three lists and one request's page: the business roles, and the confidentiality officer
    who approves (三员分立: not the system, security or audit administrators)."""

    allowed_roles = duties.ROW_SCOPE_ROLES

    def _load(self, request_id: int) -> t.Any:
        try:
            return export_requests.load(current_actor(), request_id)
        except NotInScope:
            abort(404)

    def _list(self, tab: str, rows: t.Any, **extra: t.Any) -> str:
        return self.render("admin/export_requests.html", tab=tab, rows=rows, kind_label=export_requests.kind_label,
                           fields_text=export_requests.fields_text, status_labels=STATUS_LABELS,
                           kinds=export_gate.KINDS, requestable=export_gate.REQUESTABLE, **extra)

    @expose("/")
    def index(self) -> str:
        export_requests.expire_due()
        db.session.commit()
        return self._list("mine", export_requests.my_requests(current_actor()))

    @expose("/pending")
    def pending(self) -> str:
        actor = current_actor()
        rows = [r for r in db.session.scalars(export_requests.pending_for(actor).limit(200))
                if export_requests.decide_refusal(actor, r) is None]
        return self._list("pending", rows)

    @expose("/register")
    def register(self) -> str:
        actor = current_actor()
        export_requests.expire_due()
        db.session.commit()
        a = request.args
        date_to = _date(a.get("date_to"))
        f = export_requests.RegisterFilter(
            unit_id=a.get("unit", type=int), user=(a.get("user") or "").strip()[:100], kind=a.get("kind", "")[:40],
            status=a.get("status", "")[:12], date_from=_date(a.get("date_from")),
            date_to=date_to + timedelta(days=1) if date_to else None)
        units = db.session.scalars(
            db.select(OrgUnit).where(scope.within(OrgUnit.path, actor.unit.path)).order_by(OrgUnit.path).limit(500)).all()
        return self._list("register", export_requests.register_requests(actor, f), f=f, units=units,
                          downloads=export_requests.register_downloads(actor, f))

    def filters_text(self, endpoint: str, query_string: str) -> str:
        """The list's filters in words ("学籍状态 等于 在籍；搜索“王”"), not the raw query string: the
        approver reads what will leave. Parameters that are not filters (the export link's own) are left out."""
        view = next((v for v in self.admin._views if v.endpoint == endpoint.partition(".")[0]), None)
        filters = getattr(view, "_filters", None) or []
        parts = []
        for key, value in parse_qsl(query_string or ""):
            if key == "search" and value:
                parts.append(f"搜索“{value}”")
            elif (m := FILTER_ARG.fullmatch(key)) and int(m.group(1)) < len(filters):
                flt = filters[int(m.group(1))]
                options = dict(flt.get_options(view) or [])  # a coded value by its name (状态 "在籍", not "enrolled")
                parts.append(f"{flt.name} {flt.operation()} {options.get(value, value)}")
        return "；".join(parts) or "无（全部记录）"

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> t.Any:
        actor = current_actor()
        form = RequestForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            a = request.args
            form.kind.data, form.view.data, form.args.data = a.get("kind", ""), a.get("view", ""), a.get("args", "{}")
            form.q.data, form.scope.data = a.get("q", ""), a.get("scope", actor.unit.name)
            form.fields.data = [f for f in a.get("fields", "").split(",") if f]
        kind = export_gate.KINDS.get(form.kind.data or "")
        if kind is None or kind.code not in export_gate.REQUESTABLE or form.view.data not in kind.endpoints:
            abort(404)
        try:
            view_args = json.loads(form.args.data or "{}")
        except ValueError:
            abort(400)
        if not isinstance(view_args, dict):
            abort(400)
        form.fields.data = sorted(set(form.fields.data or ()) | kind.carries)
        if request.method == "POST" and form.validate():
            done = attempt(lambda: export_requests.create(
                actor, kind.code, form.purpose.data, form.fields.data, form.view.data, view_args,
                form.q.data or "", form.scope.data or ""), "导出申请已提交，等待审批。", form=form,
                labels={"purpose": "导出用途", "fields": "敏感字段"})
            if done.ok:
                return redirect(url_for(".request_page", request_id=done.value.id))
        return self.render("admin/export_request_new.html", form=form, kind=kind, groups=export_gate.GROUP_LABELS,
                           filters=self.filters_text(form.view.data or "", form.q.data or ""))

    @expose("/<int:request_id>/")
    def request_page(self, request_id: int) -> str:
        actor = current_actor()
        req = self._load(request_id)
        if req.status == READY and req.expires_at and req.expires_at <= export_requests.clock.now():
            export_requests.expire_due()
            db.session.commit()
        export_requests.mark_stale(req)
        return self.render("admin/export_request.html", req=req, kind_label=export_requests.kind_label,
                           fields_text=export_requests.fields_text, can_decide=export_requests.decide_refusal(actor, req) is None,
                           form=DecideForm(formdata=None), is_requester=req.requester_id == actor.id,
                           can_retry=export_requests.retry_refusal(actor, req) is None,
                           pending=PENDING, ready=READY, filters=self.filters_text(req.endpoint, req.query_string))

    def _decide(self, request_id: int, approve: bool) -> Response:
        actor = current_actor()
        req = self._load(request_id)
        form = DecideForm()
        if not form.validate_on_submit():
            abort(400)
        done = attempt(lambda: export_requests.decide(actor, req, approve, form.reason.data or ""),
                       ("已批准，文件正在后台生成。" if req.kind not in export_gate.NOT_PRODUCED else "已批准，可据此签发数据接口令牌。")
                       if approve else "已驳回。", labels={"reason": "驳回理由"})
        if done.ok and approve:
            export_requests.start(done.value)
        return redirect(url_for(".request_page", request_id=request_id))

    @expose("/<int:request_id>/approve", methods=("POST",))
    def approve(self, request_id: int) -> Response:
        return self._decide(request_id, True)

    @expose("/<int:request_id>/refuse", methods=("POST",))
    def refuse(self, request_id: int) -> Response:
        return self._decide(request_id, False)

    @expose("/<int:request_id>/retry", methods=("POST",))
    def retry(self, request_id: int) -> Response:
        """重试 a file whose production failed: those who could approve it (out of scope: 404)."""
        actor = current_actor()
        req = self._load(request_id)
        if not DecideForm().validate_on_submit():
            abort(400)
        done = attempt(lambda: export_requests.retry(actor, req), "已重新提交，文件正在后台生成。")
        if done.ok:
            export_requests.start(done.value)
        return redirect(url_for(".request_page", request_id=request_id))

    @expose("/<int:request_id>/download")
    def download(self, request_id: int) -> Response:
        actor = current_actor()
        decision = export_gate.decide(actor, "approved_export")
        if not decision.allowed:
            return export_gate.refusal(actor, "approved_export", decision.reason)
        done = attempt(lambda: export_requests.download(actor, request_id))  # not the requester: 404
        if not done.ok:
            return export_gate.refusal(actor, "approved_export", "下载链接已过期（24 小时）或文件尚未生成，请重新申请。")
        export_gate.mark_passed("approved_export")
        file = done.value
        return send_file(file.path, mimetype=file.mimetype, as_attachment=True, download_name=file.name)


class ExportMenuLink(MenuLink):
    """待我审批 and 导出登记: shown to those who may open ExportRequestView (no dead links)."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and duties.has_row_scope(current_actor()))
