"""One base for every admin view: login, roles, and the row scope on every query path.

Flask-Admin filters nothing by itself. The paths that reach rows (see STACK-FACTS.md) are
all closed here: list and count, get_one (edit, details, delete, ajax update), actions,
ajax lookups, relationship dropdowns (via `scoped_query`), export. Out of scope → 404.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime
from urllib.parse import urlencode

from flask import Response, abort, current_app, flash, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import ActionsMixin
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.menu import MenuLink
from flask_admin.model import typefmt
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import false, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import iter_multi_items

from extensions import db
from services import audit, duties, faults, labels, scope
from services.commands import Command
from services.commands import refusals as command_refusals
from services.errors import NotInScope, RuleViolation


def current_actor():
    return current_user._get_current_object()  # type: ignore[attr-defined]


class AccessMixin:
    """Login required, and one of `allowed_roles`. Left at None, a view shows pupil data and is
    open to the business roles only (三员分立, services/duties.py): the system, security and audit
    administrators and the confidentiality officer pass no role check they are not named in."""

    allowed_roles: t.ClassVar[frozenset[str] | None] = None
    open_to_every_account: t.ClassVar[bool] = False  # the home page: whatever roles the account holds

    def is_accessible(self) -> bool:
        if not current_user.is_authenticated or not current_user.active:
            return False
        if self.open_to_every_account:
            return True
        allowed = duties.BUSINESS_ROLES if self.allowed_roles is None else self.allowed_roles
        return bool(current_user.role_names & allowed)

    def inaccessible_callback(self, name: str, **kwargs: t.Any):
        if not current_user.is_authenticated:
            return redirect(url_for("security.login", next=request.full_path))
        abort(403)


class ServiceErrorsMixin:
    """Errors raised by services become what the user should see: 404 out of scope, a message otherwise."""

    def handle_view_exception(self, exc: Exception) -> bool:
        if faults.passes_through(exc):  # database gone or disk full: the app's 503/507 page (services/faults.py)
            raise exc
        if isinstance(exc, NotInScope):
            abort(404)
        if isinstance(exc, RuleViolation):
            for _field, message in exc.problems:
                flash(message, "error")
            return True
        return super().handle_view_exception(exc)  # type: ignore[misc]


FILTER_ARG = re.compile(r"flt\d*_(\d+)")  # a list filter's argument in the URL: flt<n>_<filter index>
STALE_MESSAGE = _l("Someone else changed this at the same moment; please look again.")
Labels = t.Mapping[str, t.Any] | FlaskForm | None


def _label_of(labels: Labels, name: str) -> t.Any:
    if labels is None:
        return None
    if isinstance(labels, FlaskForm):
        if not name:
            return None
        field = getattr(labels, name, None)
        return field.label.text if field is not None and hasattr(field, "label") else None
    return labels.get(name)


def flash_problems(problems: t.Iterable[tuple[str, str]], labels: Labels = None) -> None:
    """Each (field, message) as an error; prefixed with the field's label when `labels` (a form or
    a field → label mapping) names it."""
    for name, message in problems:
        label = _label_of(labels, name)
        flash(f"{label}：{message}" if label else message, "error")


def flash_form_errors(form: FlaskForm) -> None:
    """A form that did not validate: each error with its field's label."""
    for name, messages in form.errors.items():
        label = form[name].label.text if name in form else name
        for message in messages:
            flash(f"{label}：{message}", "error")


class Done(t.NamedTuple):
    ok: bool
    value: t.Any = None


def attempt(action: t.Callable[[], t.Any], success: str | t.Callable[[t.Any], str] | None = None, *,
            labels: Labels = None, stale: t.Any = None, form: t.Any = None) -> Done:
    """The one try/commit/flash block of the screens' POST handlers.

    Run `action`, commit and flash `success` (a text, or made from the action's result). A refusal
    (RuleViolation) rolls back — nothing of it is kept, not even an upload's row — and flashes each
    problem. Out of scope (NotInScope) rolls back and answers 404. A concurrent change (two users at
    once: StaleDataError from a versioned row, IntegrityError from a unique line) rolls back and
    says so (`stale`, or the general words) instead of a 500. With `form`, a problem that names one
    of its fields is shown beside that field (the page shows the form again, with what was typed)."""
    try:
        value = action()
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        flash_problems(_beside_fields(form, exc.problems) if form is not None else exc.problems, labels)
        return Done(False)
    except NotInScope:
        db.session.rollback()
        abort(404)
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        flash(str(stale or STALE_MESSAGE), "error")
        return Done(False)
    if success:
        flash(success(value) if callable(success) else success, "success")
    return Done(True, value)


def _beside_fields(form: t.Any, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Put each problem naming a field of `form` beside that field; return the others."""
    rest = []
    for name, message in problems:
        field = form._fields.get(name) if name else None
        if field is None:
            rest.append((name, message))
        else:
            field.errors = [*field.errors, message]
    return rest


def commit_or_flash(action: t.Callable[[], t.Any], success: str | None = None) -> bool:
    """`attempt` when only success matters: True when it was committed."""
    return attempt(action, success).ok


def run_command(command: Command[t.Any], target: t.Any, success: str | t.Callable[[t.Any], str] | None = None, *,
                labels: Labels = None, stale: t.Any = None, form: t.Any = None, **args: t.Any) -> Done:
    """Run a command (services/commands) as the current user, through `attempt`."""
    return attempt(lambda: command.run(current_actor(), target, **args), success, labels=labels, stale=stale, form=form)


def refusals(commands: t.Mapping[str, Command[t.Any]], target: t.Any) -> dict[str, str | None]:
    """name → why the current user may not (None: may) for a page's buttons: the one source of its `can_*`."""
    return command_refusals(commands, current_actor(), target)


class SecureIndexView(AccessMixin, AdminIndexView):
    open_to_every_account = True


class PupilDataLink(MenuLink):
    """A menu link to a page of pupil data: shown to the business roles only (no dead links for
    the administrators, whose pages answer 403)."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and duties.reads_pupils(current_actor()))


class SecureBaseView(AccessMixin, BaseView):
    pass


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax lookup that only ever offers rows inside the user's subtree."""

    def __init__(self, name: str, model: t.Any, scope_column: t.Any, extra: t.Callable[[], t.Any] | None = None, **options: t.Any):
        self._scope_column = scope_column
        self._extra = extra
        super().__init__(name, db.session, model, **options)

    def _scoped(self, query: t.Any) -> t.Any:
        query = query.filter(scope.filter_for(current_actor(), self._scope_column))
        return query.filter(self._extra()) if self._extra else query

    def get_query(self) -> t.Any:
        return self._scoped(super().get_query())

    def get_one(self, pk: t.Any) -> t.Any:
        try:
            key = int(pk)
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(getattr(self.model, self.pk) == key).first()


def _yes_no(view: t.Any, value: t.Any, name: str) -> str:
    return labels.yes_no(bool(value))


def _minute(view: t.Any, value: t.Any, name: str) -> str:
    return labels.minute(value)


TYPE_FORMATTERS: dict[type, t.Callable[[t.Any, t.Any, str], t.Any]] = {bool: _yes_no, datetime: _minute}


class WordsMixin:
    """The one place for how a value's type reads on every list, record page and export: yes/no as
    是/否 (Flask-Admin prints True/False, or an icon titled "active: true"), times in China Standard
    Time to the minute (stored naive in Asia/Shanghai, models/clock.py; no microseconds)."""

    column_type_formatters = {**typefmt.BASE_FORMATTERS, **TYPE_FORMATTERS}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, **TYPE_FORMATTERS}
    column_type_formatters_export = {**typefmt.EXPORT_FORMATTERS, **TYPE_FORMATTERS}


class ScopedModelView(WordsMixin, ServiceErrorsMixin, AccessMixin, ModelView):
    """A ModelView whose every row path honours services/scope.py."""

    form_base_class = FlaskForm  # Flask-WTF token, the one CSRFProtect checks on every POST
    can_delete = False  # records end by status (第九条: archives are kept forever)
    can_set_page_size = True
    page_size = 20
    page_size_options = (20, 50, 100)
    list_template = "admin/scoped_list.html"

    # What an empty list says (issue 14, point 8): what the list holds and how rows come into it.
    # A view sets its own; `get_empty_list_message` may also depend on the user (e.g. a school).
    empty_list_message: t.Any = None

    def __init__(self, model: t.Any, *args: t.Any, **kwargs: t.Any):
        super().__init__(model, db, *args, **kwargs)

    def get_empty_list_message(self) -> t.Any:
        return self.why_the_page_is_empty() or self.empty_list_message or _("Nothing here yet.")

    def why_the_page_is_empty(self) -> t.Any:
        """What an empty page says when the list itself may hold rows (a view's own message is for an
        empty list): a page past the end (a stale link, or rows gone since), or a search or filter
        that finds nothing. None otherwise."""
        if request.args.get("page", 0, type=int) > 0:
            args = request.args.to_dict(flat=False)
            args.pop("page", None)
            first = url_for(t.cast(str, request.endpoint), **(request.view_args or {}), **args)
            return Markup('{} <a href="{}">{}</a>').format(
                _("This page is past the end of the list."), first, _("Back to the first page"))
        if self.list_is_narrowed():
            return _("Nothing matches the search or the filters. Clear them to see the whole list.")
        return None

    def list_is_narrowed(self) -> bool:
        """A search or a filter is applied: the list may be empty only because of it."""
        return bool(request.args.get("search")) or any(k.startswith("flt") for k in request.args)

    def edit_form(self, obj: t.Any = None) -> t.Any:
        form = super().edit_form(obj)
        # Flask-Admin's Unique validator recognises the edited row by `form._obj`, which only its own
        # BaseForm sets: without it, saving a row with its unchanged e-mail said "already exists".
        form._obj = obj
        return form

    # The list's own URLs — a sort link per sortable column, the pager, the page sizes, the export
    # links, clear search: ~20 a page — differ from the list's path only by their query string. One
    # url_for per request for the path, then the query string as url_for writes it (werkzeug: None
    # dropped, arguments in the order given, the same safe characters); tests/admin/test_lean_pages.py
    # compares them with url_for's.
    def get_url(self, endpoint: str, **kwargs: t.Any) -> str:
        if endpoint != ".index_view" or not has_request_context() or any(k.startswith("_") for k in kwargs):
            return super().get_url(endpoint, **kwargs)
        key = f"xueji.list_path.{self.endpoint}"
        path = request.environ.get(key)
        if path is None:
            path = request.environ[key] = super().get_url(endpoint)
        query = urlencode([(k, v) for k, v in iter_multi_items(kwargs) if v is not None], safe="!$'()*,/:;?@")
        return f"{path}?{query}" if query else path

    # --- the rule -------------------------------------------------------------
    def scope_column(self) -> t.Any:
        """The path column of the model that the scope rule tests."""
        return self.model.scope_path

    def scope_filter(self) -> t.Any:
        if not current_user.is_authenticated:
            return ~true()
        return scope.filter_for(current_actor(), self.scope_column())

    def list_scope_filter(self) -> t.Any:
        """The scope as used by the (ordered, limited) list query; counts use scope_filter."""
        return self.scope_filter()

    def scoped_query(self) -> t.Any:
        query = super().get_query().filter(self.list_scope_filter())
        pupil_rows = self.model.__tablename__ not in scope.ORGANISATION_TABLES
        if pupil_rows and current_user.is_authenticated and not duties.has_row_scope(current_actor()):
            return query.filter(false())  # a list's own scope (e.g. scope.listing) gives the 三员 no rows either
        return query

    # --- every path -----------------------------------------------------------
    def get_query(self) -> t.Any:
        return self.scoped_query()

    def get_count_query(self) -> t.Any:
        return super().get_count_query().filter(self.scope_filter())

    def get_one(self, id: t.Any) -> t.Any:
        pk = self.model.__mapper__.primary_key[0]
        try:
            row = self.get_query().filter(pk == int(id)).one_or_none()
        except (TypeError, ValueError):
            row = None
        if row is None:
            abort(404)
        return row

    def scoped_ids(self, ids: t.Iterable[t.Any]) -> list[t.Any]:
        """The subset of posted ids the user may act on (actions never trust rowid)."""
        pk = self.model.__mapper__.primary_key[0]
        wanted = [int(i) for i in ids if str(i).isdigit()]
        if not wanted:
            return []
        return list(self.get_query().filter(pk.in_(wanted)))

    def handle_action(self, return_view: str | None = None):
        # Refuse the whole action when any posted id is outside scope, before the handler runs.
        ids = request.form.getlist("rowid")
        if ids and len(self.scoped_ids(ids)) != len(set(ids)):
            abort(404)
        return ActionsMixin.handle_action(self, return_view)

    def _get_filter_groups(self) -> t.Any:
        """Filter options that depend on the user (e.g. their schools) are computed per request;
        Flask-Admin would otherwise cache the options it saw at start-up."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]  # type: ignore[index]
                if callable(flt.options):
                    item["options"] = [(str(k), str(v)) for k, v in flt.options()]
        return groups

    # --- list size ------------------------------------------------------------
    always_count: t.ClassVar[bool] = False  # small tables (schools, users, requests) always show their total
    uncounted_levels_setting: t.ClassVar[str] = "UNCOUNTED_LIST_LEVELS"  # the config naming the levels without a total

    @property
    def simple_list_pager(self) -> bool:  # type: ignore[override]
        """No COUNT(*) for province- and city-wide lists (millions of rows)."""
        if self.always_count:
            return False
        if not current_user.is_authenticated:
            return True
        return current_user.unit.level in current_app.config[self.uncounted_levels_setting]

    @simple_list_pager.setter
    def simple_list_pager(self, value: bool) -> None:  # Flask-Admin assigns the class default
        pass

    # --- export ---------------------------------------------------------------
    def export_detail(self, export_type: str) -> str:
        """The audit detail of an export: the format and the list's filters in words
        ("XLSX：学籍状态 等于 休学；搜索“王”"), not the raw query string."""
        parts = []
        for key, value in request.args.items(multi=True):
            match = FILTER_ARG.fullmatch(key)
            if key == "search" and value:
                parts.append(f"搜索“{value}”")
            elif match and self._filters and int(match.group(1)) < len(self._filters):
                flt = self._filters[int(match.group(1))]
                options = {str(k): str(v) for k, v in (flt.get_options(self) or [])}  # a code by its name
                parts.append(f"{flt.name} {flt.operation()} {options.get(value, value)}")
        return f"{export_type.upper()}：{'；'.join(parts) or '全部记录'}"[:500]

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        refused = self.export_refused()
        if refused is not None:
            return refused
        audit.record(current_actor(), "export", self.model.__tablename__, None, self.export_detail(export_type))
        db.session.commit()
        return super().export(export_type)

    def export_refused(self) -> t.Any:
        """None when the file may go now; else the request form or the refusal (第二十八条: the
        kind of every list's export is declared in services/export_gate.py)."""
        from admin.gate import gate  # the one gate for data leaving the system
        from services import export_gate

        kind = export_gate.ENDPOINT_KIND.get(request.endpoint or "")
        if kind is None:
            return export_gate.refusal(current_actor(), request.endpoint or "", "此列表不提供导出。")
        export_type = (request.view_args or {}).get("export_type", "")
        return gate(kind.code, detail=f"{self.name} {self.export_detail(export_type)}"[:300])

    def _export_csv(self, return_url: t.Any) -> t.Any:
        return self._export_file("csv")

    def _export_tablib(self, export_type: str, return_url: str) -> t.Any:
        return self._export_file(export_type) if export_type == "xlsx" else super()._export_tablib(export_type, return_url)

    def _export_file(self, export_type: str) -> t.Any:
        """Flask-Admin's own exports (the audit log …) written by services/exports.py, so that they
        open in Excel like the others (issue 14, point 7): a CSV with a BOM; an XLSX with bold
        Chinese headers, the header row frozen and fitted column widths."""
        from services import exports

        _count, data = self._export_data()
        columns = [(str(label), lambda m, name=name: self.raw_export_value(m, name)) for name, label in self._export_columns]
        headers = {"Content-Disposition": exports.content_disposition(self.get_export_name(export_type))}
        if export_type == "csv":
            return Response(exports.csv_stream(data, columns), mimetype="text/csv", headers=headers)
        return Response(exports.workbook_stream([(str(self.name), columns, data)]), mimetype=exports.XLSX_MIMETYPE, headers=headers)

    def get_export_value(self, model: t.Any, name: t.Any) -> t.Any:
        """Flask-Admin's own CSV/XLSX (tablib) writes text as given: a leading "=" would be a live
        formula. The same neutralisation as services/exports.py (issue 13, point 13)."""
        from services import exports

        return exports.neutralise_text(super().get_export_value(model, name))

    def raw_export_value(self, model: t.Any, name: t.Any) -> t.Any:
        """The formatted value without the apostrophe: for services/exports.py's writers, which
        type the cell themselves (XLSX) or neutralise on writing (CSV)."""
        return super().get_export_value(model, name)

    @property
    def export_max_rows(self) -> int:  # type: ignore[override]
        return current_app.config["EXPORT_MAX_ROWS"]

    @export_max_rows.setter
    def export_max_rows(self, value: int) -> None:
        pass


class ReadOnlyScopedView(ScopedModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True


def not_found_message() -> str:
    return str(_l("Not found."))
