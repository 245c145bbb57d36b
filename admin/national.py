"""/admin/national/ — 全国学籍对接: exchange with the 全国中小学生学籍信息管理系统 (issue 16, point 4).

- the national basic-information spreadsheet of a school or of a unit's area, and the 学籍变动
  spreadsheet of a period: through the export gate (kinds national_basic and national_changes);
- 核对: upload a national basic-information file; the differences with our records, field by field,
  are shown; the school ticks what to take over (per field, or a whole pupil) and applies it;
- the national changes file checked against our completed changes (reported, never applied).

Every unit is loaded through the scope (another unit: 404); pupils outside the scope are never
matched, shown or changed (services/national/reconcile.py). Register with:

    admin.add_view(NationalView(name=_l("National system exchange"), endpoint="national", category=menu.PUPILS))
"""

from __future__ import annotations

import io
import typing as t
from datetime import date

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select

from admin.base import SecureBaseView, current_actor, flash_problems
from admin.gate import gate
from extensions import db
from models.org import OrgUnit
from services import audit, exports, uploads
from services.errors import NotInScope, RuleViolation
from services.imports.parse import MAX_FILE_BYTES
from services.national import basic, changes, held_files, reconcile

SESSION_KEY = "national_reconcile"  # the stored upload under review: {"sha": …, "unit_id": …, "name": …}
MAX_CHILD_UNITS = 500  # the units offered in the drop-down below the user's own


def _unit(raw: t.Any) -> OrgUnit:
    """The unit asked for (default: the user's own); outside the scope or absent: 404."""
    actor = current_actor()
    if raw in (None, ""):
        return actor.unit  # type: ignore[no-any-return]
    try:
        unit_id = int(raw)
    except (TypeError, ValueError):
        abort(404)
    unit = db.session.get(OrgUnit, unit_id) if 0 < unit_id < 2**31 else None
    try:
        return basic.check_unit(actor, unit)
    except NotInScope:
        abort(404)


def _units() -> list[OrgUnit]:
    """The user's unit and the units directly below it (a county's schools, a city's counties)."""
    own = current_actor().unit
    below = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == own.id).order_by(OrgUnit.code)
                               .limit(MAX_CHILD_UNITS))
    return [own, *below]


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _accepted(form: t.Any, review: reconcile.Reconciliation) -> list[tuple[int, str]]:
    """The ticked (pupil, field) pairs: a ticked field, or every field of a ticked pupil."""
    fields = set(form.getlist("accept"))
    pupils = set(form.getlist("accept_pupil"))
    out = []
    for m in review.matched:
        for d in m.acceptable:
            if str(m.student_id) in pupils or f"{m.student_id}:{d.key}" in fields:
                out.append((m.student_id, d.key))
    return out


class NationalView(SecureBaseView):
    """全国学籍对接: the exports, the reconciliation and the changes check, for the business roles."""

    @expose("/")
    def index(self) -> t.Any:
        today = date.today()
        return self.render("admin/national.html", units=_units(), may_apply=current_actor().is_school_user,
                           start=date(today.year, 1, 1).isoformat(), end=today.isoformat())

    # --- exports --------------------------------------------------------------------------------------
    @expose("/basic.xlsx")
    def basic_xlsx(self) -> Response:
        unit = _unit(request.args.get("unit_id"))
        refused = gate("national_basic", detail=f"全国学籍基础信息表（{unit.name}）", scope_text=unit.name)
        if refused is not None:
            return refused
        body = basic.xlsx_stream(current_actor(), unit)
        return Response(body, mimetype=exports.XLSX_MIMETYPE,
                        headers={"Content-Disposition": exports.content_disposition(basic.filename(unit))})

    @expose("/changes.xlsx")
    def changes_xlsx(self) -> Response:
        unit = _unit(request.args.get("unit_id"))
        start, end = _date_arg("start"), _date_arg("end")
        problem = changes.period_problem(start, end)
        if problem is not None:
            flash(problem, "error")
            return redirect(url_for(".index"))
        assert start is not None and end is not None
        detail = f"学籍变动表（{unit.name}，{start:%Y-%m-%d}至{end:%Y-%m-%d}）"
        refused = gate("national_changes", detail=detail, scope_text=unit.name)
        if refused is not None:
            return refused
        body = changes.xlsx_stream(current_actor(), unit, start, end)
        return Response(body, mimetype=exports.XLSX_MIMETYPE,
                        headers={"Content-Disposition": exports.content_disposition(changes.filename(unit, start, end))})

    # --- 核对 --------------------------------------------------------------------------------------------
    @expose("/reconcile", methods=("POST",))
    def reconcile_upload(self) -> Response:
        unit = _unit(request.form.get("unit_id"))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose the file exported from the national system first."), "error")
            return redirect(url_for(".index"))
        data = upload.stream.read(MAX_FILE_BYTES + 1)
        try:
            reconcile.read(io.BytesIO(data))  # refused here, before it touches storage
        except RuleViolation as exc:
            flash_problems(exc.problems)
            return redirect(url_for(".index"))
        session[SESSION_KEY] = {"file": held_files.hold(data), "unit_id": unit.id,
                                "name": uploads.clean_filename(upload.filename)}
        return redirect(url_for(".review"))

    def _stored(self) -> tuple[OrgUnit, bytes, str] | None:
        """The unit and the held file of this session's reconciliation; None (with a message) when the
        file is no longer held."""
        state = session.get(SESSION_KEY)
        if not state:
            abort(404)
        unit = _unit(state.get("unit_id"))
        data = held_files.read(state.get("file"))
        if data is None:  # removed a day after the upload, or a session from before
            session.pop(SESSION_KEY, None)
            flash(_("The uploaded file is no longer kept (a day after its upload): upload it again."), "info")
            return None
        return unit, data, state.get("name", "")

    @expose("/review")
    def review(self) -> t.Any:
        if not session.get(SESSION_KEY):
            flash(_("Upload a national file first."), "info")
            return redirect(url_for(".index"))
        stored = self._stored()
        if stored is None:
            return redirect(url_for(".index"))
        unit, data, name = stored
        try:
            result = reconcile.reconcile(current_actor(), unit, io.BytesIO(data))
        except RuleViolation as exc:
            flash_problems(exc.problems)
            return redirect(url_for(".index"))
        # The page shows pupils' data (ours beside the national values): a read, audited.
        audit.record(current_actor(), "national.review", "org_unit", unit.id,
                     f"全国学籍系统核对差异：{name}，{len(result.matched)}名学生有差异")
        db.session.commit()
        return self.render("admin/national_review.html", result=result, unit=unit, filename=name,
                           may_apply=current_actor().is_school_user)

    @expose("/apply", methods=("POST",))
    def apply(self) -> Response:
        actor = current_actor()
        if not actor.is_school_user:
            abort(403)  # the school maintains its pupils' data (第十二条); the authorities compare
        stored = self._stored()
        if stored is None:
            return redirect(url_for(".index"))
        unit, data, _name = stored
        review = reconcile.reconcile(actor, unit, io.BytesIO(data))
        accepted = _accepted(request.form, review)
        if not accepted:
            flash(_("Tick the fields (or whole pupils) to take over from the national system first."), "error")
            return redirect(url_for(".review"))
        done = reconcile.apply(actor, unit, io.BytesIO(data), accepted)
        flash(_("%(n)d fields of %(p)d pupils changed as in the national system; each change is in the pupil's history.",
                n=done.fields, p=done.pupils), "success")
        for name, why in done.refused:
            flash(_("%(name)s was not changed: %(why)s", name=name, why=why), "warning")
        return redirect(url_for(".review"))

    # --- the national changes file -------------------------------------------------------------------------
    @expose("/changes-check", methods=("POST",))
    def changes_check(self) -> t.Any:
        unit = _unit(request.form.get("unit_id"))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose the file exported from the national system first."), "error")
            return redirect(url_for(".index"))
        try:
            report = changes.check_file(current_actor(), unit, upload.stream)
        except RuleViolation as exc:
            db.session.rollback()
            flash_problems(exc.problems)
            return redirect(url_for(".index"))
        return self.render("admin/national_changes.html", report=report, unit=unit)
