"""学籍管理员 (第二十六条): the school's leadership records its registrars; the authorities above
see and export the list of their subtree; a school without one is flagged (admin/_dashboard.html)."""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import SecureBaseView, attempt, commit_or_flash, current_actor
from admin.gate import gate
from extensions import db
from forms.rosters import EndRegistrarForm, RegistrarForm
from models.org import SCHOOL
from services import clock, exports, registrars, scope
from services.errors import NotInScope, RuleViolation

ROWS_PER_PAGE = 50


class RegistrarView(SecureBaseView):
    """The registrars of the user's subtree; a school's principal or deputy adds and ends them."""

    def _page(self, form: RegistrarForm | None = None, errors: dict[str, list[str]] | None = None) -> str:
        actor = current_actor()
        page = max(request.args.get("page", 0, type=int), 0)
        missing_only = request.args.get("missing") == "1"
        is_school = actor.unit.level == SCHOOL
        manage = registrars.may_manage(actor, actor.unit)
        if missing_only and not is_school:
            rows: list[t.Any] = []
            schools = db.session.scalars(registrars.without_registrar(scope.user_path(actor))
                                         .offset(page * ROWS_PER_PAGE).limit(ROWS_PER_PAGE + 1)).all()
            has_next, schools = len(schools) > ROWS_PER_PAGE, schools[:ROWS_PER_PAGE]
        else:
            schools = []
            with_ended = is_school or request.args.get("ended") == "1"
            rows = db.session.scalars(registrars.listing(actor, with_ended=with_ended)
                                      .offset(page * ROWS_PER_PAGE).limit(ROWS_PER_PAGE + 1)).all()
            has_next, rows = len(rows) > ROWS_PER_PAGE, rows[:ROWS_PER_PAGE]
        return self.render(
            "admin/registrars.html", actor=actor, rows=rows, schools=schools, missing_only=missing_only, is_school=is_school,
            manage=manage, form=form or (RegistrarForm(formdata=None) if manage else None), errors=errors or {},
            end_form=EndRegistrarForm(formdata=None), today=clock.today(), page=page, has_next=has_next,
            missing=0 if is_school else registrars.count_without(scope.user_path(actor)),
            state_label=registrars.state_label, with_ended=request.args.get("ended") == "1",
        )

    @expose("/")
    def index(self) -> str:
        return self._page()

    @expose("/add", methods=("POST",))
    def add(self) -> t.Any:
        actor = current_actor()
        if not registrars.may_manage(actor, actor.unit):
            abort(403)
        form = RegistrarForm()
        if not form.validate_on_submit():
            return self._page(form, dict(form.errors))  # what was typed stays in the form
        errors: dict[str, list[str]] = {}

        def add() -> t.Any:
            # The service's problems are shown in the form, beside their fields (the general ones
            # above its button), not flashed: `attempt` still rolls back, and flashes a concurrent change.
            try:
                return registrars.add(actor, name=form.name.data, phone=form.phone.data, appointed_on=form.appointed_on.data,
                                      full_time=form.full_time.data == "1", formal_staff=form.formal_staff.data == "1")
            except RuleViolation as exc:
                for field, message in exc.problems:
                    errors.setdefault(field, []).append(message)
                raise RuleViolation([]) from exc

        if not attempt(add, _("The registrar is recorded.")).ok:
            return self._page(form, errors)  # what was typed stays in the form
        return redirect(url_for(".index"))

    @expose("/<int:registrar_id>/end", methods=("POST",))
    def end(self, registrar_id: int) -> Response:
        actor = current_actor()
        try:
            row = registrars.load(actor, registrar_id)
        except NotInScope:
            abort(404)
        form = EndRegistrarForm()
        if not form.validate_on_submit():
            flash(_("Enter a valid end date."), "error")
            return redirect(url_for(".index"))
        commit_or_flash(lambda: registrars.end(actor, row, form.ended_on.data),
                        _("The appointment is ended; it stays in the list as history."))
        return redirect(url_for(".index"))

    @expose("/export.xlsx")
    def export(self) -> Response:
        actor = current_actor()
        refused = gate("registrar_list", detail="学籍管理员名册 Excel", scope_text=f"{actor.unit.name} 学籍管理员")
        if refused is not None:
            return refused
        body = registrars.xlsx(actor)
        name = f"学籍管理员_{actor.unit.name}_{clock.today():%Y%m%d}.xlsx"
        return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": exports.content_disposition(name)})
