"""毕业生花名册 on screen (第二十四条; 30 July, 第十二条): the school's roster page and the authorities' overview.

- /admin/graduation/ — a school goes to its roster of this summer; an authority sees the rosters
  waiting for its approval and every school of its area with the state of its roster.
- /admin/graduation/<school_id>/<year>/ — the roster: compile, mark passed/failed per row or for
  the checked rows, submit to the supervising authority (after 30 July: the authority, saying
  why), export as XLSX. The approval itself is decided on the request page (admin/changes.py).

Every page loads the school through the scope rule (outside it: 404). Only the school's own staff
compile and mark (else 403); services/graduation.py checks the actor again.
"""

from __future__ import annotations

import itertools
import typing as t

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from admin import changes
from admin.base import SecureBaseView, current_actor, refusals, run_command
from admin.gate import gate
from extensions import db
from forms.graduation import RESULTS, AssessForm, RosterActionForm, SubmitRosterForm
from models.changes import ChangeRequest
from models.graduation import COMPLETED, FAILED, GRADUATED, PASSED, GraduationRecord
from models.org import SCHOOL, OrgUnit
from services import audit, change_codes, codes, export_gate, exports, graduation, scope
from services.commands import Command
from services.commands import rosters as roster_commands
from services.commands.rosters import Roster
from services.errors import NotInScope
from services.ids import mask_id, mask_xjh

ROWS_PER_PAGE = 50
SCHOOLS_PER_PAGE = 50
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a year outside is no roster: 404
SHOW = {"none": _l("Not yet assessed"), PASSED: _l("Passed"), FAILED: _l("Failed")}
OUTCOMES = {GRADUATED: _l("Graduated (毕业)"), COMPLETED: _l("Completed (结业)")}


def register(admin: Admin) -> None:
    """Add this module's views to the admin, and the roster as the page of a graduation request."""
    admin.add_view(GraduationView(name=_l("Graduation rosters"), endpoint="graduation", category="名册与报表"))
    changes.SUBJECT_PAGES[change_codes.GRADUATION] = roster_link


def roster_link(req: ChangeRequest) -> tuple[str, str]:
    year = int((req.payload or {}).get("year") or 0)
    return _("Graduation roster %(y)d", y=year), url_for("graduation.roster", school_id=req.from_school_id, year=year)


# --- loading ------------------------------------------------------------------------------------


def _school(school_id: int, year: int) -> OrgUnit:
    """The school of the URL, inside the actor's scope (else 404), for a plausible year."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    try:
        return graduation.load_school(current_actor(), school_id)
    except NotInScope:
        abort(404)


def _own_school(school_id: int, year: int) -> OrgUnit:
    school = _school(school_id, year)
    if not graduation.is_own_staff(current_actor(), school):
        abort(403)  # in scope (an authority) but not the school that compiles the roster
    return school


def _marking_school(school_id: int, year: int) -> OrgUnit:
    """The school whose results the actor may enter: its own staff, or the authority that
    organises the assessment (第二十四条); another in-scope authority gets 403."""
    school = _school(school_id, year)
    actor = current_actor()
    if not (graduation.is_own_staff(actor, school) or graduation.is_assessment_authority(actor, school)):
        abort(403)
    return school


def _show() -> str | None:
    value = request.values.get("show")
    return value if value in SHOW else None


def _page() -> int:
    return max(request.values.get("page", 0, type=int), 0)


def _back(school: OrgUnit, year: int) -> Response:
    """Back to the roster page the form came from (page and filter are checked values, never a URL)."""
    return redirect(url_for(".roster", school_id=school.id, year=year, page=_page() or None, show=_show()))


def _run(school: OrgUnit, year: int, command: Command[Roster], ok: t.Callable[[t.Any], str],
         then: t.Callable[[t.Any], Response] | None = None, **args: t.Any) -> Response:
    """Run a roster command, say what happened and go `then` (default: back to the roster); a
    refusal writes nothing and shows why on the roster; two registrars at once get a clear message."""
    done = run_command(command, Roster(school, year), ok,
                       stale=_("Someone else changed this roster at the same moment; please look again."), **args)
    if done.ok and then is not None:
        return then(done.value)
    return _back(school, year)


# --- the view ----------------------------------------------------------------------------------------


class GraduationView(SecureBaseView):
    """毕业生花名册: compile, assess, submit (school); overview and approval links (authorities)."""

    @expose("/")
    def index(self) -> t.Any:
        actor = current_actor()
        if actor.unit.level == SCHOOL:
            return redirect(url_for(".roster", school_id=actor.unit_id, year=graduation.graduation_year()))
        year = request.args.get("year", graduation.graduation_year(), type=int)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            abort(404)
        page = _page()
        rows, has_next = graduation.overview(actor, year, page, SCHOOLS_PER_PAGE)
        return self.render(
            "admin/graduation_index.html", rows=rows, page=page, has_next=has_next, year=year,
            waiting=graduation.waiting_for(actor), deadline=graduation.deadline(year), days_left=graduation.days_to_deadline(year),
            status_labels=changes.STATUS_LABELS, actor=actor, grade_of=graduation.graduating_grade, code_label=codes.label,
            blocked=graduation.why_not_now(year, authority=True),
        )

    @expose("/<int:school_id>/<int:year>/")
    def roster(self, school_id: int, year: int) -> str:
        school = _school(school_id, year)
        actor = current_actor()
        page, show = _page(), _show()
        lines = db.session.scalars(
            graduation.roster_query(school, year, show).options(contains_eager(GraduationRecord.student))
            .offset(page * ROWS_PER_PAGE).limit(ROWS_PER_PAGE + 1)
        ).all()
        info = graduation.summary(school, year)
        authority = graduation.is_assessment_authority(actor, school)
        # The buttons ask the roster's commands (services/commands/rosters.py): the same checks, and
        # the same words, as the services; a disabled button shows the calendar's reason.
        refused = refusals(roster_commands.ROSTER_PAGE, Roster(school, year))
        return self.render(
            "admin/graduation_roster.html", school=school, year=year, info=info, lines=lines[:ROWS_PER_PAGE],
            has_next=len(lines) > ROWS_PER_PAGE, page=page, show=show, show_labels=SHOW, results=RESULTS, outcomes=OUTCOMES,
            first=page * ROWS_PER_PAGE, code_label=codes.label, mask_xjh=mask_xjh, status_labels=changes.STATUS_LABELS,
            is_authority=authority, refused=refused, **{f"can_{name}": why is None for name, why in refused.items()},
            blocked=graduation.why_not_now(year, authority=authority or not graduation.is_own_staff(actor, school)),
            preview=graduation.approval_preview(school, year), confirmed_by=graduation.confirmation_text,
            action_form=RosterActionForm(formdata=None), assess_form=AssessForm(formdata=None),
            submit_form=SubmitRosterForm(formdata=None),
        )

    @expose("/<int:school_id>/<int:year>/compile", methods=("POST",))
    def compile(self, school_id: int, year: int) -> Response:
        school = _own_school(school_id, year)
        if not RosterActionForm().validate_on_submit():
            abort(400)
        return _run(school, year, roster_commands.COMPILE,
                    lambda added: _("Roster compiled: %(n)d pupils added.", n=added))

    @expose("/<int:school_id>/<int:year>/confirm", methods=("POST",))
    def confirm_results(self, school_id: int, year: int) -> Response:
        """The assessment authority confirms every result the school has entered (第二十四条)."""
        school = _marking_school(school_id, year)
        if not RosterActionForm().validate_on_submit():
            abort(400)
        return _run(school, year, roster_commands.CONFIRM,
                    lambda n: _("%(n)d results confirmed.", n=n))

    @expose("/<int:school_id>/<int:year>/assess", methods=("POST",))
    def assess(self, school_id: int, year: int) -> Response:
        school = _marking_school(school_id, year)
        form = AssessForm()
        if not form.validate_on_submit():
            abort(400)
        if form.one.data:  # a row's own button: "<record id>:<result>"
            record_id, _sep, result = form.one.data.partition(":")
            wanted = [record_id]
        else:
            wanted, result = request.form.getlist("record_id"), form.result.data
        ids = {int(i) for i in wanted if i.isdigit() and 0 < int(i) <= scope.MAX_ID}
        if result not in RESULTS or not ids:
            flash(_("Choose the pupils and a result."), "error")
            return _back(school, year)
        lines = db.session.scalars(select(GraduationRecord).where(
            GraduationRecord.id.in_(ids), GraduationRecord.school_id == school.id, GraduationRecord.year == year)).all()
        if len(lines) != len(ids):
            abort(404)  # a posted line of another roster: refuse the whole batch
        return _run(school, year, roster_commands.ASSESS, lambda n: _("%(n)d pupils marked.", n=n),
                    lines=lines, passed=result == PASSED)

    @expose("/<int:school_id>/<int:year>/assess-rest", methods=("POST",))
    def assess_rest(self, school_id: int, year: int) -> Response:
        """Every pupil not yet marked gets the same result (most pass; the few who fail are marked first)."""
        school = _marking_school(school_id, year)
        form = AssessForm()
        if not form.validate_on_submit() or form.result.data not in RESULTS:
            abort(400)
        return _run(school, year, roster_commands.ASSESS, lambda n: _("%(n)d pupils marked.", n=n),
                    passed=form.result.data == PASSED)

    @expose("/<int:school_id>/<int:year>/submit", methods=("POST",))
    def submit(self, school_id: int, year: int) -> Response:
        school = _school(school_id, year)
        actor = current_actor()
        if not (graduation.is_own_staff(actor, school) or graduation.is_supervisor(actor, school)):
            abort(403)
        form = SubmitRosterForm()
        if not form.validate_on_submit():
            abort(400)
        command = roster_commands.SUBMIT_LATE if graduation.is_supervisor(actor, school) else roster_commands.SUBMIT
        return _run(school, year, command,
                    lambda req: _("The roster is submitted to the supervising authority (#%(id)s).", id=req.id),
                    then=lambda req: redirect(url_for("requests.request_page", request_id=req.id)),
                    late_reason=form.late_reason.data)

    @expose("/<int:school_id>/<int:year>/export.xlsx")
    def export(self, school_id: int, year: int) -> Response:
        """The whole roster as XLSX for the authority's stamp (第二十八条: gated and audited)."""
        school = _school(school_id, year)
        actor = current_actor()
        asked = frozenset({export_gate.ID_NUMBER}) if request.args.get("sensitive") else frozenset()
        refused = gate("graduation_roster", groups=asked, detail=f"毕业名册 Excel（{school.name}，{year} 年）",
                       scope_text=f"{school.name} {year} 年毕业生名册")
        if refused is not None:
            return refused
        full_id = export_gate.ID_NUMBER in export_gate.approved_groups()  # masked unless approved
        audit.record(actor, "export", "graduation_record", None, f"毕业名册 Excel（{school.name}，{year} 年）")
        db.session.commit()
        number = itertools.count(1)
        columns: list[exports.ExportColumn] = [
            (_("No."), lambda r: next(number)),
            (_("Student number"), lambda r: r.student.xjh if full_id else mask_xjh(r.student.xjh)),
            (_("Name"), lambda r: r.student.name),
            (_("Gender"), lambda r: codes.label("gender", r.student.gender)),
            (_("Date of birth"), lambda r: r.student.birth_date),
            (_("ID number"), lambda r: r.student.id_number if full_id else mask_id(r.student.id_number)),
            (_("Class"), lambda r: r.student.class_name),
            (_("Assessment"), lambda r: str(RESULTS[r.assessment]) if r.assessment in RESULTS else ""),
            (_("Assessment confirmed by"), graduation.confirmation_text),
            (_("Graduation outcome"), lambda r: str(OUTCOMES[r.outcome]) if r.outcome in OUTCOMES else ""),
        ]
        query = graduation.roster_query(school, year).options(contains_eager(GraduationRecord.student))
        body = exports.students_xlsx_stream(query, columns, sheet_title=f"毕业生花名册{year}")
        filename = f"毕业生花名册_{school.code}_{year}.xlsx"
        return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": exports.content_disposition(filename)})
