"""The audit screen (issue 13, point 16): read only, filtered by date, unit, user and action.

The audit administrator (三员分立) reads the whole log of the province, including the rows no unit
owns (failed logins of unknown accounts, the public certificate check, command-line purges);
officials keep what they had: the rows written by users of their subtree. Nobody creates, edits or
deletes here (the model refuses it too, and the hash chain shows whatever gets past).
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import has_request_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_admin.model.filters import BaseDateFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import or_, select, true
from sqlalchemy.orm import selectinload

from admin.base import ReadOnlyScopedView, current_actor
from admin.org import OFFICIALS
from extensions import db
from models.audit import AuditLog
from models.org import CITY, PROVINCE, SCHOOL, OrgUnit
from models.people import AUDIT_ADMIN, User
from services import audit, labels, scope


class DateFrom(BaseSQLAFilter, BaseDateFilter):
    """Rows written on or after the day (times are China Standard Time, as stored)."""

    def apply(self, query: t.Any, value: dt.date, alias: t.Any = None) -> t.Any:
        return query.filter(self.get_column(alias) >= dt.datetime.combine(value, dt.time.min))

    def operation(self) -> t.Any:
        return _l("on or after")


class DateTo(BaseSQLAFilter, BaseDateFilter):
    """Rows written on or before the day, the whole day included."""

    def apply(self, query: t.Any, value: dt.date, alias: t.Any = None) -> t.Any:
        return query.filter(self.get_column(alias) < dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min))

    def operation(self) -> t.Any:
        return _l("on or before")


def _unit_options() -> list[tuple[int, str]]:
    """The units the viewer may pick: their own subtree (the whole province for the audit administrator)."""
    if not has_request_context() or not current_user.is_authenticated:
        return []  # Flask-Admin also asks once at start-up, outside any request
    actor = current_actor()
    query = select(OrgUnit.id, OrgUnit.name).where(scope.filter_for(actor, OrgUnit.path)).order_by(OrgUnit.path)
    if actor.unit.level in (PROVINCE, CITY):  # thousands of schools: the authorities only (a school's rows are in its county's)
        query = query.where(OrgUnit.level != SCHOOL)
    return [(r.id, r.name) for r in db.session.execute(query.limit(3000))]


class UnitFilter(BaseSQLAFilter):
    """Rows written by users of the unit or of any unit below it."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        unit = db.session.get(OrgUnit, int(value)) if str(value).isdigit() else None
        if unit is None or not scope.covers_unit(current_actor(), unit.path):  # a unit, not pupil data
            return query.filter(~true())
        return query.filter(scope.within(self.get_column(alias), unit.path))

    def operation(self) -> t.Any:
        return _l("equals")


class UserFilter(BaseSQLAFilter):
    """Rows of the users whose name or e-mail address contains the text."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        text = (value or "").strip().replace("%", "").replace("_", "")
        if not text:
            return query
        like = f"%{text}%"
        users = select(User.id).where(or_(User.name.like(like), User.email.like(like.lower())))
        return query.filter(or_(self.get_column(alias).in_(users), AuditLog.user_email.like(like.lower())))

    def operation(self) -> t.Any:
        return _l("contains")


def _action_options() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in audit.ACTION_LABELS.items()), key=lambda o: o[1])


def _when(view: t.Any, context: t.Any, model: AuditLog, name: str) -> str:
    return labels.minute(model.at)  # stored in Asia/Shanghai, to the minute


def _who(view: t.Any, context: t.Any, model: AuditLog, name: str) -> str:
    if model.user_id is None and not model.user_email:
        return _("System or anonymous")
    if model.user is not None:
        return labels.person(model.user)  # name and unit
    # No account row (a failed login of an unknown address): the address typed is all there is.
    return f"{model.user_email}（{model.unit.name}）" if model.unit is not None else (model.user_email or "")


# Details that are codes (login failures, why a session ended: services/login_guard.py and
# services/sessions.py keep them as codes, which their tests and reports read): words on screen.
CODED_DETAILS = {
    "unknown_account": _l("Unknown account"), "wrong_password": _l("Wrong password"),
    "wrong_code": _l("Wrong two-factor code"), "locked": _l("Account locked"), "disabled": _l("The account is disabled"),
    "idle": _l("Idle too long"), "expired": _l("Session too old"), "replaced": _l("Logged in elsewhere"),
    "missing": _l("No such session"), "logout": _l("Signed out"),
}


def detail_words(detail: str | None) -> str:
    """The detail as a reader understands it: a coded one ("wrong_password", "unknown_account: x@y")
    by its words, the others (written in Chinese where they are recorded) as they are."""
    if not detail:
        return ""
    code, sep, rest = detail.partition(": ")
    if code in CODED_DETAILS:
        return f"{CODED_DETAILS[code]}：{rest}" if sep else str(CODED_DETAILS[code])
    return detail


def _detail(view: t.Any, context: t.Any, model: AuditLog, name: str) -> str:
    return detail_words(model.detail)


def _object(view: t.Any, context: t.Any, model: AuditLog, name: str) -> str:
    label = audit.object_label(model.object_type)
    return f"{label} #{model.object_id}" if model.object_id else label


class AuditView(ReadOnlyScopedView):
    allowed_roles = OFFICIALS | {AUDIT_ADMIN}  # 三员分立: the audit administrator, not the system administrator
    can_view_details = False
    column_list = ("at", "user", "action", "object_type", "detail", "ip")
    column_labels = {
        "at": _l("Time"), "user": _l("User"), "action": _l("Action"), "object_type": _l("Object"),
        "detail": _l("Detail"), "ip": _l("IP address"),
    }
    column_formatters = {
        "at": _when, "user": _who, "object_type": _object,
        "action": lambda v, c, m, n: audit.action_label(m.action), "detail": _detail,
    }
    column_default_sort = ("id", True)
    empty_list_message = _l("No audit entries yet. Every sign-in, change, print and export is recorded here.")
    # The audit log's export: services/export_gate.py kind "audit_log", the audit administrator only.
    can_export = True
    export_types = ("csv", "xlsx")
    column_sortable_list = ("at",)
    always_count = False

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        # The indices are the filters' place in URLs (flt0_…): keep the order when adding one.
        self.column_filters = (
            DateFrom(AuditLog.at, _l("Date from")),
            DateTo(AuditLog.at, _l("Date to")),
            UnitFilter(AuditLog.scope_path, _l("Unit (and its subordinate units)"), options=_unit_options),
            UserFilter(AuditLog.user_id, _l("User (name or e-mail)")),
            FilterEqual(AuditLog.action, _l("Action"), options=_action_options),
        )
        super().__init__(AuditLog, *args, **kwargs)

    def scope_filter(self) -> t.Any:
        if current_user.is_authenticated and AUDIT_ADMIN in current_user.role_names:
            return true()  # the whole log, rows of no unit included (see the module's docstring)
        return super().scope_filter()

    def get_query(self) -> t.Any:
        # The user is joined by Flask-Admin (a listed relationship); the unit is loaded for the page at once.
        return super().get_query().options(selectinload(AuditLog.unit))
