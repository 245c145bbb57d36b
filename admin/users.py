"""User accounts: an official manages the accounts of the units below them (第二十六条)."""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from wtforms import PasswordField

from admin.base import ScopedModelView, current_actor
from admin.org import OFFICIALS
from extensions import db
from models.org import OrgUnit
from models.people import ADMIN, ROLE_LABELS, Role, User
from services import scope
from services.accounts import may_manage, save_user


def _manageable_units() -> list[OrgUnit]:
    actor = current_actor()
    rows = db.session.scalars(select(OrgUnit).where(scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.path).limit(3000))
    return [u for u in rows if may_manage(actor, u)]


def _grantable_roles() -> list[Role]:
    roles = db.session.scalars(select(Role).order_by(Role.id)).all()
    return [r for r in roles if r.name != ADMIN or current_actor().is_admin]


class UserView(ScopedModelView):
    always_count = True
    allowed_roles = OFFICIALS
    column_list = ("email", "name", "unit", "roles", "active", "last_login_at")
    column_labels = {
        "email": _l("E-mail"), "name": _l("Name"), "unit": _l("Unit"), "roles": _l("Roles"),
        "active": _l("Active"), "last_login_at": _l("Last login"), "new_password": _l("New password"),
    }
    column_searchable_list = ("email", "name")
    column_default_sort = "email"
    column_formatters = {"roles": lambda v, c, m, n: "、".join(ROLE_LABELS.get(r.name, r.name) for r in m.roles)}
    form_columns = ("email", "name", "unit", "roles", "active", "new_password")
    form_extra_fields = {"new_password": PasswordField(_l("New password"))}
    form_args = {
        "unit": {"query_factory": _manageable_units, "label": _l("Unit")},
        "roles": {"query_factory": _grantable_roles, "label": _l("Roles")},
    }

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        super().__init__(User, *args, **kwargs)

    def scope_filter(self) -> t.Any:
        actor = current_actor()
        base = super().scope_filter()
        if actor.is_admin:
            return base
        return and_(base, User.scope_path != actor.unit.path)  # not the official's own colleagues


    def edit_form(self, obj: t.Any = None) -> t.Any:
        # Flask-Admin's Unique validator (email) recognises the edited row by form._obj, which its
        # own BaseForm sets and Flask-WTF's FlaskForm (form_base_class) does not: without it every
        # edit, such as an administrator resetting a password, failed with "already exists".
        form = super().edit_form(obj)
        form._obj = obj
        return form

    def on_model_change(self, form: t.Any, model: User, is_created: bool) -> None:
        save_user(model, current_actor(), form.new_password.data or None, is_created)
