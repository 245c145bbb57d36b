"""/admin/rosters/ — 新生花名册 and 学生增加/减少情况登记表 (第十二条), and the 毕业生花名册
(第二十四条), per school and per county, city or province, as PDF (numbered) and XLSX (through
services/export_gate.py via admin/gate.py, audited); the schools' submissions of their registers."""

from __future__ import annotations

import typing as t
from collections import Counter

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select

from admin.base import SecureBaseView, attempt, current_actor
from admin.gate import gate
from extensions import db
from forms.rosters import SubmitRosterForm
from models.org import SCHOOL, OrgUnit
from services import audit, clock, exports, graduation, scope
from services.errors import NotInScope
from services.rosters import counts, output, registers, submissions
from services.rosters.registers import KINDS

if t.TYPE_CHECKING:
    from models.people import User


def _register_title(kind: str) -> str:
    """A register by its name (新生花名册 …) for the export register and the audit log."""
    return KINDS[kind].title if kind in KINDS else kind



ROWS_PER_PAGE = 50


def _year_arg() -> int:
    year = request.args.get("year", type=int)
    current = registers.current_year()
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
        lines = counts.school_lines(actor, year)
        due = registers.due_on(year)
        current = registers.current_year()
        # Late or missing is a school's state, from its submissions — never the calendar alone.
        found = submissions.submission_states(scope.user_path(actor), year)

        def state(line: counts.UnitLine, kind: str) -> submissions.SubmissionState:
            return submissions.state_of(found.get((line.unit.id, kind)), year)

        tally = Counter(state(line, k).state for line in lines if line.unit.active for k in submissions.SUBMITTED_KINDS)
        wanted = request.args.get("state")
        if wanted in submissions.STATE_LABELS:  # which are in, late, missing: the schools with a register in that state
            lines = [line for line in lines if any(state(line, k).state == wanted for k in submissions.SUBMITTED_KINDS)]
        else:
            wanted = None
        shown = lines[page * ROWS_PER_PAGE:(page + 1) * ROWS_PER_PAGE]
        states = {(line.unit.id, k): state(line, k) for line in shown for k in submissions.SUBMITTED_KINDS}
        own = actor.unit if submissions.may_submit(actor, actor.unit) else None
        return self.render(
            "admin/rosters.html", year=year, years=list(range(current + 1, current - 4, -1)), due=due,
            days_left=(due - clock.today()).days, lines=shown, states=states, tally=tally, state_labels=submissions.STATE_LABELS,
            wanted=wanted,
            page=page, has_next=len(lines) > (page + 1) * ROWS_PER_PAGE, total=len(lines),
            aggregates=_authority_units(actor), kind_label=registers.school_kind_label,
            new_label=registers.year_label(year), changes_label=registers.year_label(year - 1),
            graduates_label=registers.year_label(year - 1), graduates_due=graduation.deadline(year),
            own=own, submit_form=SubmitRosterForm(formdata=None) if own else None,
            may_submit_year=registers.year_start(year) <= clock.today(), year_start=registers.year_start(year),
            history=submissions.history(actor, own, year) if own else [], kinds=registers.KINDS,
        )

    @expose("/submit/<kind>", methods=("POST",))
    def submit(self, kind: str) -> Response:
        """第十二条: the school submits the register as it is now; the files are kept as submitted."""
        if kind not in submissions.SUBMITTED_KINDS:
            abort(404)
        year = _year_arg()
        form = SubmitRosterForm()
        if not form.validate_on_submit():
            for messages in form.errors.values():
                for message in messages:
                    flash(message, "error")
            return redirect(url_for(".index", year=year))
        attempt(lambda: submissions.submit(current_actor(), kind, year)[0],
                lambda row: _("The register is submitted (%(state)s).",
                              state=submissions.STATE_LABELS[submissions.ON_TIME if row.on_time else submissions.LATE]))
        return redirect(url_for(".index", year=year))

    @expose("/submission/<int:submission_id>.<ext>")
    def submission_file(self, submission_id: int, ext: str) -> Response:
        """A submitted file, exactly as submitted: through the scope rule and the export gate (第二十八条)."""
        if ext not in ("pdf", "xlsx"):
            abort(404)
        actor = current_actor()
        try:
            row = submissions.load_submission(actor, submission_id)
        except NotInScope:
            abort(404)
        refused = gate("register", detail=f"报送 #{row.id} {ext.upper()}", scope_text=f"{row.school.name} {row.year}")
        if refused is not None:
            return refused

        def read() -> bytes:
            body = submissions.stored_file(row, ext)
            audit.record(actor, "export", "roster_submission", row.id,
                         f"{KINDS[row.kind].title} {ext.upper()}（{row.school.name}，{row.year} 年）")
            return body

        done = attempt(read)
        if not done.ok:
            return redirect(url_for(".index", year=row.year))
        body = done.value
        mimetype = "application/pdf" if ext == "pdf" else exports.XLSX_MIMETYPE
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": exports.content_disposition(submissions.submission_filename(row, ext))})

    def _unit(self, kind: str, unit_id: int) -> OrgUnit:
        if kind not in registers.KINDS:
            abort(404)
        try:
            return registers.load_unit(current_actor(), unit_id)
        except NotInScope:
            abort(404)

    @expose("/<kind>/<int:unit_id>.pdf")
    def pdf(self, kind: str, unit_id: int) -> Response:
        unit = self._unit(kind, unit_id)
        year = _year_arg()
        refused = gate("register", personal=unit.level == SCHOOL, detail=f"{_register_title(kind)} PDF（{unit.name}，{year} 年）",
                       scope_text=f"{unit.name} {year}")
        if refused is not None:
            return refused
        done = attempt(lambda: output.render_pdf(kind, unit, current_actor(), year))  # numbers the document
        if not done.ok:
            return redirect(url_for(".index", year=year))
        body, doc = done.value
        return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    @expose("/<kind>/<int:unit_id>.xlsx")
    def xlsx(self, kind: str, unit_id: int) -> Response:
        unit = self._unit(kind, unit_id)
        year = _year_arg()
        actor = current_actor()
        refused = gate("register", personal=unit.level == SCHOOL, detail=f"{_register_title(kind)} Excel（{unit.name}，{year} 年）",
                       scope_text=f"{unit.name} {year}")
        if refused is not None:
            return refused
        body = output.xlsx(kind, unit, actor, year)
        return Response(body, mimetype=exports.XLSX_MIMETYPE,
                        headers={"Content-Disposition": exports.content_disposition(output.filename(kind, unit, year, "xlsx"))})
