"""数据接口令牌 (issue 16, point 5): the system administrator of a unit issues, lists and revokes the
tokens of the read-only API (api/) for their unit and the units below it (services/api_tokens.py).

The secret is shown once, on the page that answers the issuing POST (never stored, never flashed:
a flash would keep it in the session). A token of another subtree answers 404. Revoking asks for
a confirmation page first, then a POST with the CSRF token.
"""

from __future__ import annotations

import typing as t
from datetime import date, datetime

from flask import Response, abort, make_response, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import Optional

from admin.base import SecureBaseView, attempt, current_actor
from models.people import ADMIN
from services import api_tokens, clock, export_gate, export_requests
from services.errors import NotInScope


class IssueForm(FlaskForm):
    name = StringField("令牌名称")
    scope_unit = SelectField("适用范围", coerce=str, validate_choice=False)
    expires_on = StringField("有效期至")
    groups = SelectMultipleField("敏感字段", choices=list(export_gate.GROUP_LABELS.items()), validators=[Optional()],
                                 validate_choice=False)
    export_request = SelectField("数据导出申请", coerce=str, validate_choice=False)


class ConfirmForm(FlaskForm):
    pass


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 11 else None


def _day(value: str | None) -> date | None:
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def _no_store(body: str) -> Response:
    resp = make_response(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp


class ApiTokenView(SecureBaseView):
    """For the system administrator (系统管理员) alone."""

    allowed_roles = frozenset({ADMIN})

    def _load(self, token_id: int) -> t.Any:
        try:
            return api_tokens.load(current_actor(), token_id)
        except NotInScope:
            abort(404)

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        return self.render("admin/api_tokens.html", tokens=api_tokens.visible(actor), state=api_tokens.state_text,
                           groups_text=api_tokens.groups_text, now=clock.now())

    def _form(self) -> IssueForm:
        actor = current_actor()
        form = IssueForm(request.form if request.method == "POST" else None)
        form.scope_unit.choices = [(str(u.id), u.name) for u in api_tokens.scope_units(actor)]
        form.export_request.choices = [("", "不关联（敏感字段全部脱敏）")] + [
            (str(r.id), f"{r.number} {r.unit.name}（{export_requests.fields_text(r)}）")
            for r in api_tokens.approved_requests(actor)]
        return form

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> t.Any:
        actor = current_actor()
        form = self._form()
        if request.method == "GET":
            form.scope_unit.data = str(actor.unit_id)
        if request.method == "POST" and form.validate():
            expires_on = _day(form.expires_on.data)
            if form.expires_on.data and expires_on is None:
                form.expires_on.errors = ["请按 年-月-日 填写日期（如 2027-06-30）。"]
            else:
                done = attempt(lambda: api_tokens.issue(
                    actor, form.name.data or "", _int(form.scope_unit.data), expires_on, form.groups.data or (),
                    _int(form.export_request.data)), form=form,
                    labels={"name": "令牌名称", "scope_unit": "适用范围", "expires_on": "有效期至", "groups": "敏感字段",
                            "export_request": "数据导出申请"})
                if done.ok:
                    issued = done.value
                    return _no_store(self.render("admin/api_token_issued.html", token=issued.token, secret=issued.secret,
                                                 groups_text=api_tokens.groups_text))
        return _no_store(self.render("admin/api_token_new.html", form=form, groups=export_gate.GROUP_LABELS,
                                     max_day=api_tokens.last_expiry_day(clock.today())))

    @expose("/<int:token_id>/revoke", methods=("GET", "POST"))
    def revoke(self, token_id: int) -> t.Any:
        actor = current_actor()
        token = self._load(token_id)
        form = ConfirmForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            attempt(lambda: api_tokens.revoke(actor, token), f"令牌“{token.name}”已吊销，使用它的系统将无法再访问。")
            return redirect(url_for(".index"))
        return self.render("admin/api_token_revoke.html", token=token, form=form, state=api_tokens.state_text,
                           groups_text=api_tokens.groups_text)
