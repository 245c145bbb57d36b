"""Statistics, rosters, violation reports and the term data check (issue #6 part 3).

- /admin/statistics/ — the dashboard of the user's level: pupils by grade and kind of school,
  changes by type and month, pending and overdue approvals, open problem records. Every number
  links to the list it counts (Flask-Admin `flt` arguments of the student, request and problem
  lists). The home page includes the same block: `dashboard_context(actor)` + `admin/_dashboard.html`.
- /admin/rosters/ — 新生花名册 and 学生增加/减少情况登记表 (第十二条), and the 毕业生花名册
  (第二十四条), per school and per county, city or province, as PDF (numbered) and XLSX (through
  services/exports.may_export, audited).
- /admin/oversight/ — the violations of 第三十条, each a scoped list with its count.
- /admin/campaigns/ — the term data check (第二十七条).

Charts are plain HTML/CSS bars drawn on the server: no script, nothing fetched.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter, FilterEqual, FilterInList, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin.base import SecureBaseView, current_actor
from admin.charts import bar_chart
from admin.students import SchoolKindFilter
from extensions import db
from forms.oversight import CampaignForm, CloseForm, CompletionForm
from forms.rosters import SubmitRosterForm
from models.changes import ChangeRequest
from models.org import SCHOOL, OrgUnit
from models.problems import ProblemRecord
from models.student import Student
from services import (
    audit,
    clock,
    codes,
    dedup,
    departures,
    exports,
    graduation,
    oversight,
    registrars,
    rosters,
    scope,
    statistics,
    workflows,
)
from services.errors import NotInScope, RuleViolation
from services.ids import division_name

if t.TYPE_CHECKING:
    from models.people import User

ROWS_PER_PAGE = 50


# --- links into the filtered lists -------------------------------------------------------------------


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
    if code == oversight.ARCHIVE:
        return url_for("archive_overdue.index_view")
    if code == oversight.PROBLEMS:
        return problems_url()
    if code == oversight.EXPIRED:
        return url_for("status.expired")
    return url_for("oversight.report", code=code)


# --- the dashboard ----------------------------------------------------------------------------------


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


def _type_label(code: str) -> str:
    ctype = workflows.TYPES.get(code)
    return str(ctype.label) if ctype else code


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
            "label": _type_label(code),
            "cells": [(per_month[m], requests_url(type_code=code, status="completed", month=m)) for m in months],
            "total": (sum(per_month.values()), requests_url(type_code=code, status="completed", month=months[0], until=months[-1])),
        })
    totals = Counter()
    for per_month in by_type.values():
        totals.update(per_month)
    board.month_bars = _scaled([Bar(f"{y}-{m:02d}", totals[(y, m)], requests_url(status="completed", month=(y, m))) for y, m in months])
    board.changes_total = sum(totals.values())


QUEUE_LABELS = {"waiting": _l("Waiting for me"), "overdue": _l("Overdue"), "pending": _l("Waiting for approval in my area")}


def _approvals(board: Dashboard, counts: dict[str, dict[str, int]]) -> None:
    def url(queue: str, type_code: str | None = None) -> str:
        if queue == "pending":
            return requests_url(type_code=type_code, status="pending")
        return requests_url(type_code=type_code, queue=queue)

    board.queues = {q: (sum(counts.get(q, {}).values()), url(q)) for q in statistics.QUEUES}
    types = sorted({k for per in counts.values() for k in per}, key=_type_order)
    board.queue_rows = [
        {"label": _type_label(code), "cells": [(counts.get(q, {}).get(code, 0), url(q, code)) for q in statistics.QUEUES]}
        for code in types
    ]


def dashboard_context(actor: User) -> dict[str, t.Any]:
    """What `{% include 'admin/_dashboard.html' %}` needs: pass it to render() with **."""
    return {"dashboard": build_dashboard(actor), "queue_labels_dashboard": QUEUE_LABELS, "bar_chart": bar_chart}


class StatisticsView(SecureBaseView):
    """The dashboard of the user's level on a page of its own."""

    @expose("/")
    def index(self) -> str:
        return self.render("admin/statistics.html", **dashboard_context(current_actor()))


# --- rosters (第十二条) ---------------------------------------------------------------------------------


def _year_arg() -> int:
    year = request.args.get("year", type=int)
    current = rosters.current_year()
    if year is None:
        return current
    if not current - 20 <= year <= current + 1:
        abort(404)
    return year


def _authority_units(actor: User) -> list[OrgUnit]:
    """The aggregates the user may print: their own unit and the authorities right below it."""
    unit = actor.unit
    if unit.level == SCHOOL:
        return []
    below = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.level != SCHOOL)
                               .order_by(OrgUnit.code)).all()
    return [unit, *below]


class RosterView(SecureBaseView):
    """新生花名册, 学生增加/减少情况登记表 and 毕业生花名册: the schools of the user's subtree, and the aggregates."""

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        year = _year_arg()
        page = max(request.args.get("page", 0, type=int), 0)
        lines = rosters.school_lines(actor, year)
        due = rosters.due_on(year)
        current = rosters.current_year()
        # Late or missing is a school's state, from its submissions — never the calendar alone.
        found = rosters.submission_states(scope.user_path(actor), year)

        def state(line: rosters.UnitLine, kind: str) -> rosters.SubmissionState:
            return rosters.state_of(found.get((line.unit.id, kind)), year)

        tally = Counter(state(line, k).state for line in lines if line.unit.active for k in rosters.SUBMITTED_KINDS)
        wanted = request.args.get("state")
        if wanted in rosters.STATE_LABELS:  # which are in, late, missing: the schools with a register in that state
            lines = [line for line in lines if any(state(line, k).state == wanted for k in rosters.SUBMITTED_KINDS)]
        else:
            wanted = None
        shown = lines[page * ROWS_PER_PAGE:(page + 1) * ROWS_PER_PAGE]
        states = {(line.unit.id, k): state(line, k) for line in shown for k in rosters.SUBMITTED_KINDS}
        own = actor.unit if rosters.may_submit(actor, actor.unit) else None
        return self.render(
            "admin/rosters.html", year=year, years=list(range(current + 1, current - 4, -1)), due=due,
            days_left=(due - clock.today()).days, lines=shown, states=states, tally=tally, state_labels=rosters.STATE_LABELS,
            wanted=wanted,
            page=page, has_next=len(lines) > (page + 1) * ROWS_PER_PAGE, total=len(lines),
            aggregates=_authority_units(actor), kind_label=rosters.school_kind_label,
            new_label=rosters.year_label(year), changes_label=rosters.year_label(year - 1),
            graduates_label=rosters.year_label(year - 1), graduates_due=graduation.deadline(year),
            own=own, submit_form=SubmitRosterForm(formdata=None) if own else None,
            may_submit_year=rosters.year_start(year) <= clock.today(), year_start=rosters.year_start(year),
            history=rosters.history(actor, own, year) if own else [], kinds=rosters.KINDS,
        )

    @expose("/submit/<kind>", methods=("POST",))
    def submit(self, kind: str) -> Response:
        """第十二条: the school submits the register as it is now; the files are kept as submitted."""
        if kind not in rosters.SUBMITTED_KINDS:
            abort(404)
        year = _year_arg()
        form = SubmitRosterForm()
        if not form.validate_on_submit():
            for messages in form.errors.values():
                for message in messages:
                    flash(message, "error")
            return redirect(url_for(".index", year=year))
        try:
            row, _pdf, _xlsx = rosters.submit(current_actor(), kind, year)
            db.session.commit()
        except RuleViolation as exc:
            db.session.rollback()
            for _f, message in exc.problems:
                flash(message, "error")
            return redirect(url_for(".index", year=year))
        flash(_("The register is submitted (%(state)s).", state=rosters.STATE_LABELS[rosters.ON_TIME if row.on_time else rosters.LATE]),
              "success")
        return redirect(url_for(".index", year=year))

    @expose("/submission/<int:submission_id>.<ext>")
    def submission_file(self, submission_id: int, ext: str) -> Response:
        """A submitted file, exactly as submitted: through the scope rule and the export gate (第二十八条)."""
        if ext not in ("pdf", "xlsx"):
            abort(404)
        actor = current_actor()
        try:
            row = rosters.load_submission(actor, submission_id)
        except NotInScope:
            abort(404)
        if not exports.may_export(actor, f"roster_{row.kind}"):
            flash(_("Exporting pupils' data needs the approval of the supervising authority (第二十八条)."), "error")
            return redirect(url_for(".index", year=row.year))
        try:
            body = rosters.stored_file(row, ext)
        except RuleViolation as exc:
            for _f, message in exc.problems:
                flash(message, "error")
            return redirect(url_for(".index", year=row.year))
        audit.record(actor, "export", "roster_submission", row.id, f"{ext} {row.kind} {row.school.code} {row.year}")
        db.session.commit()
        mimetype = "application/pdf" if ext == "pdf" else exports.XLSX_MIMETYPE
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": exports.content_disposition(rosters.submission_filename(row, ext))})

    def _unit(self, kind: str, unit_id: int) -> OrgUnit:
        if kind not in rosters.KINDS:
            abort(404)
        try:
            return rosters.load_unit(current_actor(), unit_id)
        except NotInScope:
            abort(404)

    @expose("/<kind>/<int:unit_id>.pdf")
    def pdf(self, kind: str, unit_id: int) -> Response:
        unit = self._unit(kind, unit_id)
        year = _year_arg()
        body, doc = rosters.render_pdf(kind, unit, current_actor(), year)
        db.session.commit()
        return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    @expose("/<kind>/<int:unit_id>.xlsx")
    def xlsx(self, kind: str, unit_id: int) -> Response:
        unit = self._unit(kind, unit_id)
        year = _year_arg()
        actor = current_actor()
        if not exports.may_export(actor, f"roster_{kind}"):
            flash(_("Exporting pupils' data needs the approval of the supervising authority (第二十八条)."), "error")
            return redirect(url_for(".index", year=year))
        body = rosters.xlsx(kind, unit, actor, year)
        return Response(body, mimetype=exports.XLSX_MIMETYPE,
                        headers={"Content-Disposition": exports.content_disposition(rosters.filename(kind, unit, year, "xlsx"))})


# --- violation reports (第三十条) --------------------------------------------------------------------------


class OversightView(SecureBaseView):
    """The violations of 第三十条, each counted in the user's subtree and listed."""

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        found = oversight.counts(actor)
        reports = [(r, found[r.code], report_url(r.code)) for r in oversight.REPORTS]
        return self.render("admin/oversight.html", reports=reports)

    @expose("/<code>/")
    def report(self, code: str) -> t.Any:
        if code not in oversight.REPORT:
            abort(404)
        if code in (oversight.ARCHIVE, oversight.PROBLEMS, oversight.EXPIRED):
            return redirect(report_url(code))  # these have their lists already
        actor = current_actor()
        page = max(request.args.get("page", 0, type=int), 0)
        loaders: dict[str, t.Callable[[User, int], tuple[list[t.Any], bool]]] = {
            oversight.NOT_ARCHIVED: oversight.not_archived_page, oversight.DROPOUTS: oversight.dropouts_page,
            oversight.ADMISSIONS: oversight.admissions_page, oversight.HANDOVERS: oversight.handovers_page,
            oversight.LATE_DEATHS: oversight.late_deaths_page,
            oversight.PAPER: oversight.paper_page,
        }
        rows, has_next = loaders[code](actor, page)
        return self.render("admin/oversight_report.html", report=oversight.REPORT[code], total=oversight.count(actor, code),
                           rows=rows, page=page, has_next=has_next, today=clock.today(), code_label=codes.label,
                           type_label=_type_label, division_name=division_name, died_on=departures.died_on,
                           filed_late=departures.filed_late)


# --- the term data check (第二十七条) ------------------------------------------------------------------


class CampaignView(SecureBaseView):
    """学籍数据核查: authorities start a check of their area; schools record theirs."""

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        items = oversight.campaigns(actor)
        done = oversight.completions_of(actor.unit_id, items) if actor.unit.level == SCHOOL else {}
        summaries = {c.id: oversight.completion_summary(c, actor) for c in items} if actor.unit.level != SCHOOL else {}
        form = CampaignForm(formdata=None) if oversight.may_start(actor) else None
        return self.render("admin/campaigns.html", items=items, done=done, summaries=summaries, form=form,
                           is_overdue=oversight.is_overdue, today=clock.today(), actor=actor)

    @expose("/new", methods=("POST",))
    def new(self) -> Response:
        actor = current_actor()
        if not oversight.may_start(actor):
            abort(403)
        form = CampaignForm()
        if not form.validate_on_submit():
            for name, messages in form.errors.items():
                for message in messages:
                    flash(f"{form[name].label.text}：{message}" if name in form else message, "error")
            return redirect(url_for(".index"))
        try:
            campaign = oversight.start_campaign(actor, form.title.data, form.due_on.data)
            db.session.commit()
        except RuleViolation as exc:
            db.session.rollback()
            for _f, message in exc.problems:
                flash(message, "error")
            return redirect(url_for(".index"))
        flash(_("The data check is started; the schools of your area see it now."), "success")
        return redirect(url_for(".campaign", campaign_id=campaign.id))

    def _load(self, campaign_id: int) -> t.Any:
        try:
            return oversight.get_campaign(current_actor(), campaign_id)
        except NotInScope:
            abort(404)

    @expose("/<int:campaign_id>/")
    def campaign(self, campaign_id: int) -> str:
        actor = current_actor()
        item = self._load(campaign_id)
        page = max(request.args.get("page", 0, type=int), 0)
        context: dict[str, t.Any] = {"item": item, "actor": actor, "overdue": oversight.is_overdue(item), "today": clock.today(),
                                     "reports": oversight.REPORTS, "close_form": CloseForm(formdata=None),
                                     "may_close": oversight.may_close(actor, item)}
        if actor.unit.level == SCHOOL:
            found = oversight.counts(actor)
            context.update(
                own=oversight.completion_of(item, actor.unit_id), may_complete=oversight.may_complete(actor, item),
                checklist=[(r, found[r.code], report_url(r.code)) for r in oversight.REPORTS], left=sum(found.values()),
                form=CompletionForm(formdata=None),
            )
        else:
            schools, has_next = oversight.school_checks(item, actor, page)
            context.update(schools=schools, page=page, has_next=has_next, summary=oversight.completion_summary(item, actor),
                           kind_label=rosters.school_kind_label)
        return self.render("admin/campaign.html", **context)

    @expose("/<int:campaign_id>/complete", methods=("POST",))
    def complete(self, campaign_id: int) -> Response:
        item = self._load(campaign_id)
        form = CompletionForm()
        if not form.validate_on_submit():
            flash(_("Please correct the form."), "error")
            return redirect(url_for(".campaign", campaign_id=item.id))
        try:
            oversight.complete(item, current_actor(), form.note.data)
            db.session.commit()
            flash(_("Your school's check is recorded."), "success")
        except RuleViolation as exc:
            db.session.rollback()
            for _f, message in exc.problems:
                flash(message, "error")
        return redirect(url_for(".campaign", campaign_id=item.id))

    @expose("/<int:campaign_id>/close", methods=("POST",))
    def close(self, campaign_id: int) -> Response:
        item = self._load(campaign_id)
        if not CloseForm().validate_on_submit():
            abort(400)
        try:
            oversight.close_campaign(item, current_actor())
            db.session.commit()
            flash(_("The data check is closed."), "success")
        except RuleViolation as exc:
            db.session.rollback()
            for _f, message in exc.problems:
                flash(message, "error")
        return redirect(url_for(".campaign", campaign_id=item.id))


def register(admin: Admin) -> None:
    """Add this module's views to the admin."""
    stats, watch = _l("Statistics"), _l("Oversight")
    admin.add_view(StatisticsView(name=_l("Dashboard"), endpoint="statistics", category=stats))
    admin.add_view(RosterView(name=_l("Rosters (第十二条)"), endpoint="rosters", category=stats))
    admin.add_view(OversightView(name=_l("Violation reports (第三十条)"), endpoint="oversight", category=watch))
    admin.add_view(CampaignView(name=_l("Term data check (第二十七条)"), endpoint="campaigns", category=watch))

