"""User accounts: an official manages the accounts of the units below them (第二十六条).

三员分立 (services/duties.py): the system administrator creates and edits accounts but never
their roles; the security administrator sees the same list and edits nothing but the roles.
"""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import and_, select
from wtforms import PasswordField

from admin.base import ScopedModelView, current_actor
from admin.org import OFFICIALS
from extensions import db
from models.org import OrgUnit
from models.people import ADMIN, ROLE_LABELS, SECURITY_ADMIN, Role, User
from services import duties, scope
from services.accounts import ACCOUNT_ADMINS, may_create, may_manage, save_user


def _manageable_units() -> list[OrgUnit]:
    actor = current_actor()
    rows = db.session.scalars(select(OrgUnit).where(scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.path).limit(3000))
    return [u for u in rows if may_manage(actor, u)]


def _grantable_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.id)))


ROLES_ONLY = ("roles",)  # what the security administrator's edit form keeps


class UserView(ScopedModelView):
    always_count = True
    allowed_roles = OFFICIALS | {ADMIN, SECURITY_ADMIN}
    edit_template = "admin/user_edit.html"
    column_list = ("email", "name", "unit", "roles", "active", "last_login_at")
    column_labels = {
        "email": _l("E-mail"), "name": _l("Name"), "unit": _l("Unit"), "roles": _l("Roles"),
        "active": _l("Active"), "last_login_at": _l("Last login"), "new_password": _l("New password"),
    }
    column_searchable_list = ("email", "name")
    column_default_sort = [("scope_path", False), ("name", False), ("email", False)]  # by unit (tree order), then name
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
        if actor.role_names & ACCOUNT_ADMINS:
            return base
        return and_(base, User.scope_path != actor.unit.path)  # not the official's own colleagues

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return bool(current_user.is_authenticated and may_create(current_actor()))

    @can_create.setter
    def can_create(self, value: bool) -> None:  # Flask-Admin assigns the class default
        pass

    def _fit(self, form: t.Any) -> t.Any:
        """Only the security administrator's form has the roles, and nothing else."""
        grants = duties.grants_roles(current_actor())
        for name in list(form._fields):
            if name != "csrf_token" and (name in ROLES_ONLY) != grants:
                delattr(form, name)
        return form

    def create_form(self, obj: t.Any = None) -> t.Any:
        return self._fit(super().create_form(obj))

    def edit_form(self, obj: t.Any = None) -> t.Any:
        return self._fit(super().edit_form(obj))  # form._obj for the e-mail's Unique check: admin/base.py

    def on_model_change(self, form: t.Any, model: User, is_created: bool) -> None:
        password = form.new_password.data if "new_password" in form else None
        save_user(model, current_actor(), password or None, is_created)
