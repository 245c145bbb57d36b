"""Links from a count to the list it counts: Flask-Admin `flt` arguments of the student, request
and problem lists, found by column and filter class; and the list behind each oversight report."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter, FilterEqual, FilterInList, IntEqualFilter

from admin.students import SchoolKindFilter
from models.changes import ChangeRequest
from models.problems import ProblemRecord
from models.student import Student
from services import dedup, statistics, workflows
from services.oversight import reports


def _view(endpoint: str) -> t.Any:
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if view.endpoint == endpoint:
                return view
    return None


def filter_args(endpoint: str, *filters: tuple[t.Any, type, t.Any]) -> dict[str, str]:
    """Flask-Admin's `flt<pos>_<index>=value` arguments of a list, found by column and filter class
    (not by hard-coded index, which moves when a list gains a filter)."""
    view = _view(endpoint)
    args: dict[str, str] = {}
    for pos, (column, cls, value) in enumerate(filters):
        for key, (_idx, flt) in (getattr(view, "_filter_args", None) or {}).items():
            if flt.column is column and type(flt) is cls:
                args[f"flt{pos}_{key}"] = str(value)
                break
    return args


def list_url(endpoint: str, *filters: tuple[t.Any, type, t.Any], **extra: t.Any) -> str:
    return url_for(f"{endpoint}.index_view", **filter_args(endpoint, *filters), **extra)


def students_url(*, grade: int | None = None, kind: str | None = None, status: str | None = None,
                 in_record: bool = False) -> str:
    filters: list[tuple[t.Any, type, t.Any]] = []
    if grade is not None:
        filters.append((Student.grade, IntEqualFilter, grade))
    if kind is not None:
        filters.append((Student.school_id, SchoolKindFilter, kind))
    if in_record:
        filters.append((Student.status, FilterInList, ",".join(statistics.IN_RECORD)))
    elif status is not None:
        filters.append((Student.status, FilterEqual, status))
    return list_url("student", *filters)


def requests_url(*, type_code: str | None = None, status: str | None = None, month: tuple[int, int] | None = None,
                 until: tuple[int, int] | None = None, queue: str | None = None) -> str:
    """The request list; `month` (to `until`, both included) filters on the month finished."""
    filters: list[tuple[t.Any, type, t.Any]] = []
    if type_code is not None:
        filters.append((ChangeRequest.type, FilterEqual, type_code))
    if status is not None:
        filters.append((ChangeRequest.status, FilterEqual, status))
    if month is not None:
        last_month = until or month
        first = datetime(month[0], month[1], 1)
        following = datetime(last_month[0] + last_month[1] // 12, last_month[1] % 12 + 1, 1)
        last = following - timedelta(seconds=1)  # the filter's "between" is inclusive, to the second
        filters.append((ChangeRequest.finished_at, DateTimeBetweenFilter, f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S}"))
    extra = {"queue": queue} if queue else {}
    return list_url("requests", *filters, **extra)


def problems_url(kind: str | None = None) -> str:
    filters: list[tuple[t.Any, type, t.Any]] = [(ProblemRecord.status, FilterEqual, dedup.OPEN)]
    if kind is not None:
        filters.insert(0, (ProblemRecord.kind, FilterEqual, kind))
    return list_url("problems", *filters)


def report_url(code: str) -> str:
    """The list behind one oversight report: the existing lists where there is one."""
    if code == reports.ARCHIVE:
        return url_for("archive_overdue.index_view")
    if code == reports.PROBLEMS:
        return problems_url()
    if code == reports.EXPIRED:
        return url_for("status.expired")
    return url_for("oversight.report", code=code)


def type_label(code: str) -> str:
    ctype = workflows.TYPES.get(code)
    return str(ctype.label) if ctype else code
