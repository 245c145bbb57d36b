"""Schools and authorities of the organisation tree, scoped by path."""

from __future__ import annotations

import typing as t

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import select
from wtforms import SelectField

from admin.base import ScopedModelView, attempt, current_actor
from extensions import db
from forms.changes import HandoverForm
from models.org import AUTHORITY_LEVELS, COUNTY, SCHOOL, OrgUnit
from models.people import ADMIN, OFFICIAL_ROLE_FOR_LEVEL
from services import codes, duties, scope
from services.org import CHILD_LEVEL, authorities_for, close_school, merge_schools, parent_authorities, save_authority, save_school

ORG_LABELS = {
    "code": _l("Unit code"), "name": _l("Unit name"), "level": _l("Level"), "parent": _l("County (location)"),
    "school_kind": _l("Kind of school"), "supervisor": _l("Supervising authority"), "is_rural": _l("Rural"),
    "central_school": _l("Township central school"), "active": _l("Active"), "path": _l("Path"),
}
OFFICIALS = frozenset(OFFICIAL_ROLE_FOR_LEVEL.values())
# 三员分立: the system administrator manages units (and accounts, admin/users.py) without pupil data.
UNIT_MANAGERS = frozenset({ADMIN, *OFFICIALS})


def _counties() -> t.Any:
    return db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == COUNTY, scope.filter_for(current_actor(), OrgUnit.path)).order_by(OrgUnit.code)
    ).all()


def _schools() -> t.Any:
    return db.session.scalars(
        select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.filter_for(current_actor(), OrgUnit.path)).order_by(OrgUnit.code).limit(2000)
    ).all()


class SchoolView(ScopedModelView):
    """学校: officials create and edit schools in their subtree; school users see their own."""

    always_count = True
    allowed_roles = duties.BUSINESS_ROLES | {ADMIN}

    column_list = ("code", "name", "school_kind", "parent", "supervisor", "is_rural", "central_school", "active")
    column_labels = ORG_LABELS
    column_searchable_list = ("name", "code")
    column_default_sort = "code"
    column_formatters = {"school_kind": lambda v, c, m, n: codes.label("school_kind", m.school_kind),
                         "level": lambda v, c, m, n: codes.label("org_level", m.level)}
    column_filters = (
        FilterEqual(OrgUnit.school_kind, _l("Kind of school"), options=codes.choices("school_kind")),
        BooleanEqualFilter(OrgUnit.is_rural, _l("Rural")),
    )
    form_columns = ("code", "name", "school_kind", "parent", "supervisor", "is_rural", "central_school", "active")
    details_template = "admin/school_details.html"
    form_overrides = {"school_kind": SelectField}
    # blank_text: WTForms 3.3 shows an empty label's value, Flask-Admin's "__None", as the blank choice.
    form_args = {
        "school_kind": {"choices": codes.choices("school_kind"), "label": _l("Kind of school")},
        "parent": {"query_factory": _counties, "label": _l("County (location)"), "blank_text": "（无）"},
        "supervisor": {"query_factory": lambda: authorities_for(current_actor()), "label": _l("Supervising authority"),
                       "blank_text": "（无）"},
        "central_school": {"query_factory": _schools, "label": _l("Township central school"), "blank_text": "（无）"},
    }
    can_view_details = True

    def scope_column(self) -> t.Any:
        return OrgUnit.path

    def scoped_query(self) -> t.Any:
        return super().scoped_query().filter(OrgUnit.level == SCHOOL)

    def get_count_query(self) -> t.Any:
        return super().get_count_query().filter(OrgUnit.level == SCHOOL)


    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return current_user.is_authenticated and (current_user.is_admin or current_user.is_official)

    @can_create.setter
    def can_create(self, value: bool) -> None:
        pass

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.can_create

    @can_edit.setter
    def can_edit(self, value: bool) -> None:
        pass

    def edit_form(self, obj: t.Any = None) -> t.Any:
        form = super().edit_form(obj)
        del form.code  # the 学校标识码 and the tree path never change
        return form

    def on_model_change(self, form: t.Any, model: OrgUnit, is_created: bool) -> None:
        save_school(model, current_actor(), is_created)

    # --- 第十条: merger and closure hand the archives over ---------------------------------
    def _handover(self, school_id: int, kind: str) -> t.Any:
        actor = current_actor()
        school = self.get_one(school_id)  # 404 outside scope
        if not actor.is_official:  # a merger or closure moves pupils' records (三员分立)
            abort(403)
        form = HandoverForm()
        levels = (SCHOOL,) if kind == "merge" else (SCHOOL, *AUTHORITY_LEVELS)
        units = db.session.scalars(
            select(OrgUnit).where(OrgUnit.level.in_(levels), OrgUnit.active.is_(True), OrgUnit.id != school.id,
                                  scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.path).limit(2000)
        ).all()
        form.target.choices = [(u.id, f"{u.name}（{u.code}）") for u in units]
        if form.validate_on_submit():
            target = db.session.get(OrgUnit, form.target.data)
            hand_over = merge_schools if kind == "merge" else close_school
            if attempt(lambda: hand_over(school, target, actor),  # type: ignore[arg-type]
                       lambda moved: _("%(n)d records handed over to %(unit)s.", n=moved, unit=target.name)).ok:  # type: ignore[union-attr]
                return redirect(url_for(".index_view"))
        return self.render("admin/school_handover.html", form=form, school=school, kind=kind)

    @expose("/<int:school_id>/merge", methods=("GET", "POST"))
    def merge_view(self, school_id: int) -> t.Any:
        return self._handover(school_id, "merge")

    @expose("/<int:school_id>/close", methods=("GET", "POST"))
    def close_view(self, school_id: int) -> t.Any:
        return self._handover(school_id, "close")


class AuthorityView(ScopedModelView):
    """教育行政部门: the authority units of the user's subtree. The system administrator and the
    officials add a city under the province or a county under a city of their subtree (a new
    county bureau, a development zone's bureau) and correct names; codes and places never change."""

    always_count = True
    can_view_details = True

    column_list = ("code", "name", "level", "parent")
    column_labels = {**ORG_LABELS, "parent": _l("Belongs to")}
    column_searchable_list = ("name", "code")
    column_default_sort = "path"
    column_formatters = {"level": lambda v, c, m, n: codes.label("org_level", m.level)}
    allowed_roles = UNIT_MANAGERS
    form_columns = ("parent", "code", "name")
    form_args = {
        # blank_text: what the blank choice says when a refused POST shows the form again (on GET there is none).
        "parent": {"query_factory": lambda: parent_authorities(current_actor()), "label": _l("Belongs to"),
                   "blank_text": "（请选择）"},
        "code": {"label": _l("Unit code"), "description": _l("A city: 4 digits (e.g. 2101); a county: 6 digits "
                                                              "(e.g. 210102), beginning with the code of the unit above.")},
    }
    empty_list_message = _l("No education authority in your area of responsibility.")

    def scope_column(self) -> t.Any:
        return OrgUnit.path

    def scoped_query(self) -> t.Any:
        return super().scoped_query().filter(OrgUnit.level.in_(AUTHORITY_LEVELS))

    def get_count_query(self) -> t.Any:
        return super().get_count_query().filter(OrgUnit.level.in_(AUTHORITY_LEVELS))

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        """Only where a unit can be placed: a county official has no city below to add to."""
        user = current_user
        return bool(user.is_authenticated and (user.is_admin or user.is_official) and user.unit is not None
                    and user.unit.level in CHILD_LEVEL)

    @can_create.setter
    def can_create(self, value: bool) -> None:
        pass

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return bool(current_user.is_authenticated and (current_user.is_admin or current_user.is_official))

    @can_edit.setter
    def can_edit(self, value: bool) -> None:
        pass

    def create_form(self, obj: t.Any = None) -> t.Any:
        form = super().create_form(obj)
        unit = current_actor().unit
        # The blank form offers no empty choice (Flask-Admin adds one, the column being nullable for
        # the province) and preselects the official's own unit, where most new bureaus belong. Only
        # on GET: a POST naming a unit outside the choices is refused by save_authority in Chinese,
        # not by the field's English "Not a valid choice", and never lands on the default.
        if request.method == "GET":
            form.parent.allow_blank = False
            if unit is not None and unit.level in CHILD_LEVEL:
                form.parent.data = unit
        return form

    def edit_form(self, obj: t.Any = None) -> t.Any:
        form = super().edit_form(obj)
        del form.code  # the code and the tree path never change: every row below carries them
        del form.parent
        return form

    def on_model_change(self, form: t.Any, model: OrgUnit, is_created: bool) -> None:
        save_authority(model, current_actor(), is_created)
