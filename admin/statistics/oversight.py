"""/admin/oversight/ — the violations of 第三十条, each a scoped list with its count."""

from __future__ import annotations

import typing as t

from flask import abort, redirect, request
from flask_admin import expose

from admin.base import SecureBaseView, current_actor
from admin.statistics.links import report_url, type_label
from changes import departures
from services import clock, codes
from services.ids import division_name
from services.oversight import reports

if t.TYPE_CHECKING:
    from models.people import User



class OversightView(SecureBaseView):
    """The violations of 第三十条, each counted in the user's subtree and listed."""

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        found = reports.counts(actor)
        shown = [(r, found[r.code], report_url(r.code)) for r in reports.REPORTS]
        return self.render("admin/oversight.html", reports=shown)

    @expose("/<code>/")
    def report(self, code: str) -> t.Any:
        if code not in reports.REPORT:
            abort(404)
        if code in (reports.ARCHIVE, reports.PROBLEMS, reports.EXPIRED):
            return redirect(report_url(code))  # these have their lists already
        actor = current_actor()
        page = max(request.args.get("page", 0, type=int), 0)
        loaders: dict[str, t.Callable[[User, int], tuple[list[t.Any], bool]]] = {
            reports.NOT_ARCHIVED: reports.not_archived_page, reports.DROPOUTS: reports.dropouts_page,
            reports.ADMISSIONS: reports.admissions_page, reports.HANDOVERS: reports.handovers_page,
            reports.LATE_DEATHS: reports.late_deaths_page,
            reports.PAPER: reports.paper_page,
        }
        rows, has_next = loaders[code](actor, page)
        return self.render("admin/oversight_report.html", report=reports.REPORT[code], total=reports.count(actor, code),
                           rows=rows, page=page, has_next=has_next, today=clock.today(), code_label=codes.label,
                           type_label=type_label, division_name=division_name, died_on=departures.died_on,
                           filed_late=departures.filed_late)
