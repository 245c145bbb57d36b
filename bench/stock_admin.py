"""Stock Flask-Admin beside the project's student list, for bench/list_pages.py (issue 15, point 8).

A plain `flask_admin.contrib.sqla.ModelView` on the same `student` table, in the same app and on
the same database, on a second `Admin` at /stock (built here, never in the product). It keeps
Flask-Admin's defaults (every column of the table, 20 rows a page, a COUNT) and adds only the
project's order (newest first, so both pages show the same 20 pupils) and the row scope, written
exactly as the project's list writes it (services/scope.py): `scope.listing` on the list query and
`scope.within` on the COUNT, both for the logged-in user's unit (school / county / city /
province). Stock Flask-Admin always counts (it has no uncounted pager for big scopes).

It renders with Flask-Admin's own bootstrap4 templates: the project overrides admin/base.html,
admin/master.html and admin/model/layout.html (its menu, user box, page names), and the stock
side must not pay for those. Its Jinja environment is the app's (same globals: url_for,
csrf_token, gettext), with Flask-Admin's template folder as its only loader.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import flask_admin
from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_security import current_user
from jinja2 import FileSystemLoader

from extensions import db
from models.student import Student
from services import scope

STOCK_TEMPLATES = Path(flask_admin.__file__).parent / "templates" / "bootstrap4"


class StockStudentView(ModelView):
    """Flask-Admin's defaults (every column of the table, 20 rows, create/edit/delete buttons),
    plus the scope and the project's order (newest first), so that both pages show the same rows."""

    column_default_sort = ("id", True)
    can_view_details = True

    def _path(self) -> str:
        return current_user.unit.path

    def get_query(self) -> t.Any:
        return super().get_query().filter(scope.listing(Student.scope_path, self._path()))

    def get_count_query(self) -> t.Any:
        return super().get_count_query().filter(scope.within(Student.scope_path, self._path()))

    def render(self, template: str, **kwargs: t.Any) -> str:
        # Flask's render_template uses app.jinja_env (a cached property): swap in the stock
        # environment for this call only (the bench is one thread).
        app = self.admin.app  # type: ignore[union-attr]
        own = app.__dict__.get("jinja_env")
        app.__dict__["jinja_env"] = stock_env(app)
        try:
            return super().render(template, **kwargs)
        finally:
            if own is None:
                app.__dict__.pop("jinja_env", None)
            else:
                app.__dict__["jinja_env"] = own


_ENVS: dict[int, t.Any] = {}


def stock_env(app: Flask) -> t.Any:
    env = _ENVS.get(id(app))
    if env is None:
        env = app.jinja_env.overlay(loader=FileSystemLoader(str(STOCK_TEMPLATES)))
        _ENVS[id(app)] = env
    return env


def install(app: Flask) -> Admin:
    """The second Admin with the stock view, at /stock (call before the first request)."""
    app.jinja_env  # noqa: B018 - build the app's environment before the stock one overlays it
    stock = Admin(app, name="stock", url="/stock", endpoint="stock_admin", theme=Bootstrap4Theme(fluid=True))
    stock.add_view(StockStudentView(Student, db.session, name="Student", endpoint="stock_student", url="student"))
    return stock
