"""Saved list filters (issue 14, point 4): save the list's current filters and search under a
name, open them again, delete them. Every one is the user's own (another user's id: 404); the
two changes are POSTs with the CSRF token that CSRFProtect checks."""

from __future__ import annotations

import typing as t

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_security import current_user

from admin.base import SecureBaseView, current_actor
from extensions import db
from services import saved_filters
from services.errors import NotInScope, RuleViolation

# The lists that offer saved filters: those shown with admin/student_list.html, which includes
# admin/_saved_filters.html (the pupils, and 档案逾期 which is a StudentView too).
LISTS = frozenset({"student.index_view", "archive_overdue.index_view"})


def _list_url(endpoint: str, query: str = "") -> str:
    return url_for(endpoint) + (f"?{query}" if query else "")


class SavedFilterView(SecureBaseView):
    """The business roles, as the student list itself (AccessMixin's default)."""

    def is_visible(self) -> bool:
        return False  # reached from the lists, not from the menu

    def _endpoint(self) -> str:
        endpoint = request.form.get("endpoint", "")
        if endpoint not in LISTS:
            abort(400)
        return endpoint

    @expose("/")
    def index(self) -> t.Any:
        return redirect(url_for("student.index_view"))  # the saved filters are shown on their list

    @expose("/save", methods=("POST",))
    def save(self) -> t.Any:
        endpoint = self._endpoint()
        query = request.form.get("query", "")
        try:
            row = saved_filters.save(current_actor().id, endpoint, request.form.get("name", ""), query)
        except RuleViolation as exc:
            db.session.rollback()
            for _field, message in exc.problems:
                flash(message, "error")
            return redirect(_list_url(endpoint, saved_filters.clean_query(query)))
        db.session.commit()
        flash(f"已保存筛选“{row.name}”。", "success")
        return redirect(_list_url(endpoint, row.query_string))

    @expose("/<int:filter_id>/")
    def open(self, filter_id: int) -> t.Any:
        try:
            row = saved_filters.load(current_actor().id, filter_id)
        except NotInScope:
            abort(404)
        if row.endpoint not in LISTS:
            abort(404)
        return redirect(_list_url(row.endpoint, row.query_string))

    @expose("/<int:filter_id>/delete", methods=("POST",))
    def delete(self, filter_id: int) -> t.Any:
        try:
            row = saved_filters.delete(current_actor().id, filter_id)
        except NotInScope:
            abort(404)
        db.session.commit()
        flash(f"已删除筛选“{row.name}”。", "success")
        return redirect(_list_url(row.endpoint) if row.endpoint in LISTS else url_for("admin.index"))


def saved_filters_for(endpoint: str | None) -> list[t.Any]:
    if not endpoint or endpoint not in LISTS or not current_user.is_authenticated:
        return []
    return saved_filters.for_list(current_actor(), endpoint)


def register(admin: Admin, app: Flask | None = None) -> None:
    admin.add_view(SavedFilterView(name="已保存的筛选", endpoint="saved_filters"))
    env = (app or current_app).jinja_env
    env.globals["saved_filters_for"] = saved_filters_for
    env.globals["saved_filter_lists"] = LISTS
