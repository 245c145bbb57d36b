"""正常升级 on screen: choose the area and the school year, see the preview, confirm, run.

A school runs it for itself; an authority for its whole area or a county/school inside it. The
service (services/promotion.py) checks the actor again and refuses a second move in one year.
"""

from __future__ import annotations

import typing as t

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from admin.base import SecureBaseView, attempt, current_actor
from extensions import db
from models.org import SCHOOL, OrgUnit
from services import codes, promotion, scope
from services.errors import NotInScope, RuleViolation


class PromotionForm(FlaskForm):
    unit_code = StringField(_l("Area or school (code)"), validators=[DataRequired()])
    school_year = IntegerField(_l("School year that begins (e.g. 2027 for 2027–28)"),
                               validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    # Not named `confirm`: a form's fields are properties of the form element and would hide
    # window.confirm from an inline handler (tests/services/test_end_of_year.py).
    checked = BooleanField(_l("I have checked the preview; move these pupils up one grade"), validators=[Optional()])
    # 重新编班: by default each class moves up with its pupils (services/promotion.py).
    re_form = BooleanField(_l("Re-form the classes (重新编班): make no classes for the new school year; the pupils who move "
                              "leave their class and the school places them again"), validators=[Optional()])


def _unit(code: str) -> OrgUnit | None:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == (code or "").strip()))
    if unit is None or not scope.covers(current_actor(), unit.path):
        return None  # absent and outside the area look the same
    return unit


def _areas() -> list[OrgUnit]:
    """The actor's own unit and the authorities below it (schools are typed in by code)."""
    actor = current_actor()
    if actor.unit.level == SCHOOL:
        return [actor.unit]
    return list(db.session.scalars(
        select(OrgUnit).where(scope.within(OrgUnit.path, actor.unit.path), OrgUnit.level != SCHOOL).order_by(OrgUnit.path)
    ))


class PromotionView(SecureBaseView):
    @expose("/", methods=("GET", "POST"))
    def index(self) -> t.Any:
        actor = current_actor()
        formdata = request.form if request.method == "POST" else (request.args or None)  # the preview is a GET
        form = PromotionForm(formdata, unit_code=actor.unit.code, school_year=promotion.default_school_year())
        preview = unit = None
        # The preview is a GET: its year is checked like the form's before it reaches a query.
        if form.unit_code.data and form.school_year.data and form.school_year.validate(form):
            unit = _unit(form.unit_code.data)
            if unit is None:
                form.unit_code.errors = [_("No area or school with this code in your area.")]
            else:
                try:
                    preview = promotion.preview(actor, unit, form.school_year.data)
                except (RuleViolation, NotInScope) as exc:
                    flash(str(exc) or _("Not permitted"), "error")
        if request.method == "POST" and preview is not None and form.validate():
            if preview.blocked:
                flash(preview.blocked, "error")  # the service refuses too; said here without a try
            elif not form.checked.data:
                flash(_("Tick the confirmation after checking the preview."), "error")
            elif attempt(lambda: promotion.promote(actor, unit, form.school_year.data, re_form=bool(form.re_form.data)),  # type: ignore[arg-type]
                         lambda run: _("%(n)d pupils moved up one grade (run #%(id)d).", n=run.promoted, id=run.id)).ok:
                return redirect(url_for(".index"))
        db.session.commit()  # nothing written by a preview; ends the read transaction
        school_year = form.school_year.data if form.school_year.data and not form.school_year.errors else None
        school_year = school_year or promotion.default_school_year()
        blocked = promotion.why_not_now(school_year)
        return self.render("admin/promotion.html", form=form, unit=unit, preview=preview, areas=_areas(),
                           runs=promotion.runs(actor), code_label=codes.label, blocked=blocked,
                           reason_label=promotion.reason_label, window_words=promotion.window_words(school_year))
