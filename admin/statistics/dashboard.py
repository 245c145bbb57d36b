"""/admin/statistics/ — the dashboard of the user's level: pupils by grade and kind of school,
changes by type and month, pending and overdue approvals, open problem records. Every number
links to the list it counts (links). The home page includes the same block:
`dashboard_context(actor)` + `admin/_dashboard.html`. Charts are plain HTML/CSS bars drawn on the
server: no script, nothing fetched."""

from __future__ import annotations

import typing as t
from collections import Counter
from dataclasses import dataclass, field

from flask import url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from admin.base import SecureBaseView, current_actor
from admin.charts import bar_chart
from admin.statistics.links import problems_url, requests_url, students_url, type_label
from models.org import SCHOOL
from services import codes, dedup, registrars, scope, statistics, workflows

if t.TYPE_CHECKING:
    from models.people import User



@dataclass
class Bar:
    label: str
    n: int
    url: str
    pct: int = 0


def _scaled(bars: list[Bar]) -> list[Bar]:
    top = max((b.n for b in bars), default=0)
    for b in bars:
        b.pct = round(100 * b.n / top) if top else 0
    return bars


@dataclass
class Dashboard:
    unit_name: str
    kinds: list[tuple[str, str]] = field(default_factory=list)  # (code, label) of the kinds present
    grades: list[dict[str, t.Any]] = field(default_factory=list)
    grade_bars: list[Bar] = field(default_factory=list)
    in_record: tuple[int, str] = (0, "")
    suspended: tuple[int, str] = (0, "")
    statuses: list[tuple[str, int, str]] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    changes: list[dict[str, t.Any]] = field(default_factory=list)
    month_bars: list[Bar] = field(default_factory=list)
    changes_total: int = 0
    queues: dict[str, tuple[int, str]] = field(default_factory=dict)
    queue_rows: list[dict[str, t.Any]] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)
    problems_total: tuple[int, str] = (0, "")
    no_registrar: tuple[int, str] | None = None  # an authority's schools without a registrar (第二十六条), and their list


def _type_order(code: str) -> int:
    """Change types in the order they are declared (services/workflows.py), unknown ones last."""
    order = list(workflows.TYPES)
    return order.index(code) if code in order else len(order)


def build_dashboard(actor: User) -> Dashboard:
    path = scope.user_path(actor)
    board = Dashboard(unit_name=actor.unit.name)
    _pupils(board, statistics.pupil_counts(path))
    _changes(board, statistics.change_counts(actor))
    _approvals(board, statistics.approval_counts(actor))
    problems = statistics.problem_counts(path)
    board.problems = [(str(dedup.KIND_LABELS.get(k, k)), n, problems_url(k)) for k, n in sorted(problems.items())]
    board.problems_total = (sum(problems.values()), problems_url())
    if actor.unit.level != SCHOOL:
        board.no_registrar = (registrars.count_without(path), url_for("registrars.index", missing=1))
    return board


def _pupils(board: Dashboard, counts: list[statistics.PupilCount]) -> None:
    kinds_present = {c.school_kind for c in counts if c.status in statistics.IN_RECORD and c.school_kind}
    board.kinds = [(k, codes.label("school_kind", k)) for k in codes.table("school_kind") if k in kinds_present]
    cells: Counter[tuple[int, str]] = Counter()
    suspended: Counter[int] = Counter()
    for c in statistics.in_record(counts):
        cells[(c.grade, c.school_kind or "")] += c.n
        if c.status == "suspended":
            suspended[c.grade] += c.n
    grades = sorted({g for g, _k in cells})
    for g in grades:
        total = sum(n for (grade, _k), n in cells.items() if grade == g)
        board.grades.append({
            "label": codes.label("grade", str(g)),
            "cells": [(cells[(g, k)], students_url(grade=g, kind=k, in_record=True)) for k, _label in board.kinds],
            "total": (total, students_url(grade=g, in_record=True)),
            "suspended": (suspended[g], students_url(grade=g, status="suspended")),
        })
        board.grade_bars.append(Bar(codes.label("grade", str(g)), total, students_url(grade=g, in_record=True)))
    _scaled(board.grade_bars)
    by_status: Counter[str] = Counter()
    for c in counts:
        by_status[c.status] += c.n
    board.in_record = (sum(by_status[s] for s in statistics.IN_RECORD), students_url(in_record=True))
    board.suspended = (by_status["suspended"], students_url(status="suspended"))
    board.statuses = [(codes.label("student_status", s), by_status[s], students_url(status=s))
                      for s in codes.table("student_status") if by_status[s]]


def _changes(board: Dashboard, counts: list[statistics.ChangeCount]) -> None:
    months = statistics.months()
    board.months = [f"{y}-{m:02d}" for y, m in months]
    by_type: dict[str, Counter[tuple[int, int]]] = {}
    for c in counts:
        by_type.setdefault(c.type, Counter())[(c.year, c.month)] += c.n
    for code in sorted(by_type, key=_type_order):
        per_month = by_type[code]
        board.changes.append({
            "label": type_label(code),
            "cells": [(per_month[m], requests_url(type_code=code, status="completed", month=m)) for m in months],
            "total": (sum(per_month.values()), requests_url(type_code=code, status="completed", month=months[0], until=months[-1])),
        })
    totals = Counter()
    for per_month in by_type.values():
        totals.update(per_month)
    board.month_bars = _scaled([Bar(f"{y}-{m:02d}", totals[(y, m)], requests_url(status="completed", month=(y, m))) for y, m in months])
    board.changes_total = sum(totals.values())


QUEUE_LABELS = {"waiting": _l("Waiting for me"), "overdue": _l("Overdue"), "pending": _l("Waiting for approval in my area")}
# A school's own words (本校…), not an authority's (辖区…): issue 14.
SCHOOL_QUEUE_LABELS = {**QUEUE_LABELS, "pending": _l("Waiting for approval at my school")}


def _approvals(board: Dashboard, counts: dict[str, dict[str, int]]) -> None:
    def url(queue: str, type_code: str | None = None) -> str:
        if queue == "pending":
            return requests_url(type_code=type_code, status="pending")
        return requests_url(type_code=type_code, queue=queue)

    board.queues = {q: (sum(counts.get(q, {}).values()), url(q)) for q in statistics.QUEUES}
    types = sorted({k for per in counts.values() for k in per}, key=_type_order)
    board.queue_rows = [
        {"label": type_label(code), "cells": [(counts.get(q, {}).get(code, 0), url(q, code)) for q in statistics.QUEUES]}
        for code in types
    ]


def dashboard_context(actor: User) -> dict[str, t.Any]:
    """What `{% include 'admin/_dashboard.html' %}` needs: pass it to render() with **."""
    at_school = actor.unit.level == SCHOOL
    return {"dashboard": build_dashboard(actor), "queue_labels_dashboard": SCHOOL_QUEUE_LABELS if at_school else QUEUE_LABELS,
            "bar_chart": bar_chart, "school_wording": at_school}


class StatisticsView(SecureBaseView):
    """The dashboard of the user's level on a page of its own."""

    @expose("/")
    def index(self) -> str:
        return self.render("admin/statistics.html", **dashboard_context(current_actor()))
