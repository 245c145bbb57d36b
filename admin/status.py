"""The status changes of 第十七–二十三条 on screen: the request pages opened from the pupil's page,
attendance and contacts with the family, the 休学到期 list and the 档案移交 list.

Every page loads the pupil through the scope rule (outside it: 404) and only the staff of the
pupil's own school may open a request or record attendance (else 403); the services in
services/suspension.py, departures.py and placements.py check the actor again. Register with:

    admin.add_view(StatusView(name=_l("Suspensions expired"), endpoint="status", category=...))
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin.base import SecureBaseView, attempt, commit_or_flash, current_actor, flash_form_errors
from changes import departures, placements, suspension
from extensions import db
from forms.status import (
    CONTACT_PURPOSES,
    AbroadForm,
    AbsenceForm,
    ContactForm,
    DeathForm,
    DropoutForm,
    GradeForm,
    HandoverDoneForm,
    JuvenilePlacementForm,
    ReasonOnlyForm,
    ResumptionForm,
    SpecialMoveForm,
    SuspensionForm,
    material_field,
    with_materials,
)
from models.changes import ChangeRequest
from models.org import SCHOOL, OrgUnit
from models.people import User
from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION, ArchiveHandover, FamilyContact
from models.student import Student
from services import absences, clock, codes, labels, scope, suspension_expiry, workflows
from services.commands import pupils as pupil_commands
from services.commands import requests as request_commands
from services.errors import NotInScope
from services.ids import division_name
from services.students import GRADES_BY_KIND, grades_taught

ROWS_PER_PAGE = 50
MAX_PAGE = 10**6  # beyond any list; keeps OFFSET inside the database's integers
SCHOOL_CHOICES_LIMIT = 500  # a city has a few hundred schools at most; the select stays usable
NON_ORDINARY = ("special", "work_study")  # 第十七条 schools, not where a 第二十二条 institution's school is listed


# --- who may do what ------------------------------------------------------------------


is_own_staff = suspension.is_own_school  # the services' own rule, also for showing the buttons


def row_id(value: t.Any) -> int:
    """An id from a URL, or 404 when it is not one (never the database's overflow, a 500)."""
    text = str(value)
    if not text.isdigit() or int(text) > scope.MAX_ID:
        abort(404)
    return int(text)


def scoped_pupil() -> Student:
    """The pupil of ?student_id=, which must lie in the actor's scope (else 404)."""
    student_id = row_id(request.args.get("student_id", ""))
    try:
        return scope.load_scoped(current_actor(), Student, student_id)
    except NotInScope:
        abort(404)


def _own_pupil() -> Student:
    student = scoped_pupil()
    if not is_own_staff(current_actor(), student):
        abort(403)  # in scope (an official, a central school) but not the school holding the record
    return student


# --- the kinds of request ---------------------------------------------------------------


def _grade_choices(student: Student) -> list[tuple[int, str]]:
    return [(g, codes.label("grade", str(g))) for g in grades_taught(student.school)]


def _city_path(student: Student) -> str:
    """/province/city/ of the pupil's school: the schools offered for a placement are the city's."""
    parts = student.school.path.strip("/").split("/")
    return "/" + "/".join(parts[:2]) + "/"


def _school_choices(student: Student, *, kinds: t.Iterable[str], exclude: t.Iterable[int | None]) -> list[tuple[int, str]]:
    """Active schools of the pupil's city, of the given kinds, teaching the pupil's grade."""
    kinds = [k for k in kinds if student.grade in GRADES_BY_KIND.get(k, range(0))]
    skip = [i for i in exclude if i is not None]
    rows = db.session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), OrgUnit.school_kind.in_(kinds),
               scope.within(OrgUnit.path, _city_path(student)), OrgUnit.id.not_in(skip))
        .order_by(OrgUnit.code).limit(SCHOOL_CHOICES_LIMIT)
    )
    return [(r.id, r.name) for r in rows]


def _prepare_resumption(form: t.Any, student: Student) -> None:
    episode = suspension.current(student)
    left = episode.grade if episode else student.grade
    form.other_grade.choices = [("", _("Back into the grade left (%(g)s)", g=codes.label("grade", str(left))))] + [
        (str(g), label) for g, label in _grade_choices(student) if g != left
    ]


def _prepare_grade(form: t.Any, student: Student) -> None:
    form.grade.choices = _grade_choices(student)


def _prepare_placement(form: t.Any, student: Student) -> None:
    ordinary = [k for k in GRADES_BY_KIND if k not in NON_ORDINARY]
    form.institution_school.choices = _school_choices(student, kinds=ordinary, exclude=[student.school_id])


def _prepare_special_move(form: t.Any, student: Student) -> None:
    attended = student.attending_school_id or student.school_id
    form.to_school.choices = _school_choices(student, kinds=GRADES_BY_KIND, exclude=[attended])


def _school(school_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, school_id)
    if unit is None:
        abort(404)
    return unit


def _open_suspension(student: Student, actor: User, f: t.Any) -> ChangeRequest:
    return suspension.request_suspension(student, actor, reason_kind=f.reason_kind.data, starts_on=f.starts_on.data,
                                         ends_on=f.ends_on.data, reason_text=f.reason_text.data)


def _open_resumption(student: Student, actor: User, f: t.Any) -> ChangeRequest:
    other = f.other_grade.data
    return suspension.request_resumption(student, actor, grade=int(other) if other else None,
                                         grade_reason=f.grade_reason.data, reason_text=f.reason_text.data)


def _open_abroad(student: Student, actor: User, f: t.Any) -> ChangeRequest:
    return departures.request_abroad(student, actor, destination=f.destination.data, document=f.document.data,
                                     leaves_on=f.leaves_on.data, reason_text=f.reason_text.data)


def _open_special_move(student: Student, actor: User, f: t.Any) -> ChangeRequest:
    return placements.request_special_move(student, actor, kind=f.kind.data, to_school=_school(f.to_school.data),
                                           keep_record=f.keep_record.data == "yes", reason_text=f.reason_text.data)


Opener = t.Callable[[Student, User, t.Any], ChangeRequest]
Defaults = t.Callable[[Student], dict[str, t.Any]]


@dataclass(frozen=True)
class Kind:
    """One request page: its form, the change types whose materials it offers, how it opens."""

    title: t.Any
    form: type[FlaskForm]
    types: tuple[str, ...]
    open: Opener
    defaults: Defaults = lambda student: {}
    prepare: t.Callable[[t.Any, Student], None] | None = None
    button: t.Any = None  # a shorter label for the pupil's page, when the title is long


    def form_class(self) -> type[FlaskForm]:
        return with_materials(self.form, *self.types)


def _label(code: str) -> t.Any:
    return workflows.TYPES[code].label


KINDS: dict[str, Kind] = {
    "suspension": Kind(
        _label(suspension.SUSPENSION), SuspensionForm, (suspension.SUSPENSION,), _open_suspension,
        defaults=lambda s: {"starts_on": clock.today()},
    ),
    "suspension_extension": Kind(
        _label(suspension.SUSPENSION_EXTENSION), ReasonOnlyForm, (suspension.SUSPENSION_EXTENSION,),
        lambda s, a, f: suspension.request_extension(s, a, f.reason_text.data),
    ),
    "resumption": Kind(
        _label(suspension.RESUMPTION), ResumptionForm, (suspension.RESUMPTION,), _open_resumption,
        prepare=_prepare_resumption,
    ),
    "abroad": Kind(
        _label(departures.ABROAD), AbroadForm, (departures.ABROAD,), _open_abroad,
        defaults=lambda s: {"leaves_on": clock.today()},
    ),
    "abroad_return": Kind(
        _label(departures.ABROAD_RETURN), GradeForm, (departures.ABROAD_RETURN,),
        lambda s, a, f: departures.request_abroad_return(s, a, grade=f.grade.data, reason_text=f.reason_text.data),
        defaults=lambda s: {"grade": s.grade}, prepare=_prepare_grade,
    ),
    "death": Kind(
        _label(departures.DEATH), DeathForm, (departures.DEATH,),
        lambda s, a, f: departures.report_death(s, a, died_on=f.died_on.data, reason_text=f.reason_text.data),
    ),
    "dropout": Kind(
        _label(departures.DROPOUT), DropoutForm, (departures.DROPOUT,),
        lambda s, a, f: departures.report_dropout(s, a, f.reason_text.data, township=f.township.data),
        defaults=lambda s: {"township": departures.last_township(s.school)},
    ),
    "dropout_return": Kind(
        _label(departures.DROPOUT_RETURN), GradeForm, (departures.DROPOUT_RETURN,),
        lambda s, a, f: departures.request_dropout_return(s, a, grade=f.grade.data, reason_text=f.reason_text.data),
        defaults=lambda s: {"grade": s.grade}, prepare=_prepare_grade,
    ),
    "juvenile_placement": Kind(
        _label(placements.JUVENILE_PLACEMENT), JuvenilePlacementForm, (placements.JUVENILE_PLACEMENT,),
        lambda s, a, f: placements.request_juvenile_placement(s, a, _school(f.institution_school.data), f.reason_text.data),
        prepare=_prepare_placement, button=_l("Juvenile placement (第二十二条)"),
    ),
    "juvenile_return": Kind(
        _label(placements.JUVENILE_RETURN), ReasonOnlyForm, (placements.JUVENILE_RETURN,),
        lambda s, a, f: placements.request_juvenile_return(s, a, f.reason_text.data),
    ),
    # keep_record chooses the type (special_attend or special_move); both declare the same materials.
    "special_move": Kind(
        _l("Special-education or work-study move (第十七条)"), SpecialMoveForm,
        (placements.SPECIAL_MOVE, placements.SPECIAL_ATTEND), _open_special_move, prepare=_prepare_special_move,
    ),
}

def actions_for(student: Student) -> list[tuple[str, t.Any, str | None]]:
    """The status-change buttons of the pupil's page: (kind, label, why not or None). Which kinds a
    status offers and who may open them is the commands' rule (services/commands/pupils.py)."""
    return [(k, KINDS[k].button or KINDS[k].title, reason) for k, reason in pupil_commands.offered(current_actor(), student)]


def open_request_page(opener: t.Callable[[], ChangeRequest], files: t.Mapping[str, t.Any]) -> Response | None:
    """Open a request with its evidence files in one commit (a refusal keeps neither, not even the
    uploads), then go to its page; None (the problems flashed) when refused."""
    actor = current_actor()

    def open_with_files() -> ChangeRequest:
        req = opener()
        for material, file in files.items():
            if file and getattr(file, "filename", None):
                request_commands.ATTACH.run(actor, req, material=material, file=file)
        return req

    done = attempt(open_with_files, lambda req: _("Request #%(id)s opened.", id=req.id))
    return redirect(url_for("requests.request_page", request_id=done.value.id)) if done.ok else None


def _contact_defaults(student: Student) -> dict[str, t.Any]:
    purpose = CONTACT_SUSPENSION if student.status == suspension.SUSPENDED else CONTACT_DROPOUT
    return {"purpose": request.args.get("purpose") or purpose, "contacted_on": clock.today()}


def details_context(student: Student) -> dict[str, t.Any]:
    """What templates/admin/_student_actions.html needs (the student is in the actor's scope)."""
    if "status" not in current_app.blueprints:
        return {}
    actor = current_actor()
    own = is_own_staff(actor, student)
    context: dict[str, t.Any] = {
        "status_actions": actions_for(student) if own else [],
        "status_absences": absences.absences_of(student),
        "status_contacts": suspension.contacts_of(student),
        "contact_purposes": CONTACT_PURPOSES,
    }
    if own:
        context["absence_form"] = AbsenceForm(prefix="absence", formdata=None)
        context["contact_form"] = ContactForm(prefix="contact", formdata=None, data=_contact_defaults(student))
    return context


# --- the view -------------------------------------------------------------------------------


class StatusView(SecureBaseView):
    """休学、出国、死亡、辍学、第十七条/第二十二条 placements: pages, lists and the handover task."""

    @expose("/")
    def index(self) -> Response:
        return redirect(url_for(".expired"))

    # --- opening a request from the pupil's page ------------------------------------------
    @expose("/start")
    def start(self) -> str:
        """From the change-request list: find a pupil of one's own school (学籍号, ID number or name),
        then the changes the pupil's status allows, as on the pupil's page."""
        actor = current_actor()
        if actor.unit.level != SCHOOL or not actor.is_school_user:
            abort(403)
        term = (request.args.get("q") or "").strip()[:50]
        found: list[Student] = []
        if term:
            key = term.upper()
            found = list(db.session.scalars(
                select(Student).where(Student.school_id == actor.unit_id,
                                      (Student.xjh == key) | (Student.id_number == key) | (Student.name == term))
                .order_by(Student.name, Student.id).limit(20)
            ))
        return self.render("admin/status_start.html", term=term, found=[(s, actions_for(s)) for s in found],
                           code_label=codes.label)

    @expose("/<kind>/new", methods=("GET", "POST"))
    def new(self, kind: str) -> t.Any:
        spec = KINDS.get(kind)
        if spec is None:
            abort(404)
        student = _own_pupil()
        actor = current_actor()
        form = spec.form_class()(data=spec.defaults(student))
        if spec.prepare is not None:
            spec.prepare(form, student)
        if form.validate_on_submit():
            command = pupil_commands.STATUS_CHANGES[kind]
            # The types of one page declare the same materials; the page's first type names the fields.
            files = {m.code: form[material_field(m.code)].data for m in workflows.TYPES[spec.types[0]].materials}
            done = open_request_page(lambda: command.run(actor, student, open=lambda: spec.open(student, actor, form)), files)
            if done is not None:
                return done
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        return self.render("admin/status_new.html", form=form, student=student, kind=kind, title=spec.title,
                           info=self._info(kind, student), code_label=codes.label)

    @staticmethod
    def _info(kind: str, student: Student) -> dict[str, t.Any]:
        """What the page shows beside the form: the suspension, the absences, the original school."""
        info: dict[str, t.Any] = {"suspension": suspension.current(student)}
        if kind == "dropout":
            run = absences.longest_unexcused_run(student)
            info["run"] = run
            info["run_days"] = (run[1] - run[0]).days + 1 if run else 0
            info["needed_days"] = absences.DROPOUT_WEEKS * 7
            info["needed_contacts"] = absences.MIN_CONTACTS
            info["contacts"] = suspension.contacts_of(student, CONTACT_DROPOUT)
        elif kind == "juvenile_return":
            info["original_school"] = placements.original_school(student)
        elif kind == "special_move":
            info["attending_school"] = student.attending_school
        return info

    # --- attendance and contacts with the family ---------------------------------------------
    def _back(self, student: Student) -> Response:
        if request.args.get("back") == "expired":  # a fixed choice, never a URL: no open redirect
            return redirect(url_for(".expired"))
        return redirect(url_for("student.details_view", id=student.id, _anchor="attendance"))

    @expose("/absence", methods=("GET", "POST"))
    def absence(self) -> t.Any:
        student = _own_pupil()
        form = AbsenceForm(prefix="absence")
        if form.validate_on_submit():
            if commit_or_flash(lambda: absences.record_absence(
                    student, current_actor(), first_day=form.first_day.data, last_day=form.last_day.data,
                    excused=form.excused.data, note=form.note.data), _("Absence recorded.")):
                return self._back(student)
        elif request.method == "POST":
            flash_form_errors(form)
        return self.render("admin/status_record.html", form=form, student=student, code_label=codes.label,
                           title=_("Record an absence"), form_id="absence-form")

    @expose("/contact", methods=("GET", "POST"))
    def contact(self) -> t.Any:
        student = _own_pupil()
        form = ContactForm(prefix="contact", data=_contact_defaults(student))
        if form.validate_on_submit():
            if commit_or_flash(lambda: suspension.record_contact(
                    student, current_actor(), purpose=form.purpose.data, contacted_on=form.contacted_on.data,
                    method=form.method.data, outcome=form.outcome.data), _("Contact with the family recorded.")):
                return self._back(student)
        elif request.method == "POST":
            flash_form_errors(form)
        return self.render("admin/status_record.html", form=form, student=student, code_label=codes.label,
                           title=_("Record a contact with the family"), form_id="contact-form")

    # --- 休学到期 (第十九条) -------------------------------------------------------------------
    @expose("/expired")
    def expired(self) -> str:
        actor = current_actor()
        page = min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)
        rows = db.session.execute(
            suspension_expiry.expired_query(actor).offset(page * ROWS_PER_PAGE).limit(ROWS_PER_PAGE + 1)
        ).all()
        has_next = len(rows) > ROWS_PER_PAGE
        rows = rows[:ROWS_PER_PAGE]
        # The last expiry contact of each pupil on the page, in one query.
        ids = [student.id for _s, student in rows]
        last_contact = dict(db.session.execute(
            select(FamilyContact.student_id, func.max(FamilyContact.contacted_on))
            .where(FamilyContact.student_id.in_(ids), FamilyContact.purpose == CONTACT_SUSPENSION)
            .group_by(FamilyContact.student_id)
        ).all()) if ids else {}
        today = clock.today()
        return self.render("admin/status_expired.html", rows=rows, page=page, has_next=has_next, today=today,
                           last_contact=last_contact, actor=actor, is_own_staff=is_own_staff, code_label=codes.label,
                           reason_kinds=labels.SUSPENSION_REASONS)

    # --- 档案移交 (第二十三条) -----------------------------------------------------------------
    @expose("/handovers")
    def handovers(self) -> str:
        actor = current_actor()
        show_done = request.args.get("done") == "1"
        page = min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)
        tasks = db.session.scalars(
            departures.handovers_query(actor, open_only=not show_done)
            .options(selectinload(ArchiveHandover.student).selectinload(Student.school),
                     selectinload(ArchiveHandover.receiving_unit), selectinload(ArchiveHandover.done_by))
            .offset(page * ROWS_PER_PAGE).limit(ROWS_PER_PAGE + 1)
        ).all()
        return self.render(
            "admin/status_handovers.html", tasks=tasks[:ROWS_PER_PAGE], page=page, has_next=len(tasks) > ROWS_PER_PAGE,
            show_done=show_done, today=clock.today(), form=HandoverDoneForm(formdata=None), division_name=division_name,
            may_complete=lambda task: task.done_on is None and departures.may_complete_handover(actor, task),
        )

    @expose("/handovers/<int:task_id>/done", methods=("POST",))
    def handover_done(self, task_id: int) -> Response:
        actor = current_actor()
        try:
            task = scope.load_scoped(actor, ArchiveHandover, row_id(task_id))
        except NotInScope:
            abort(404)
        form = HandoverDoneForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".handovers"))
        commit_or_flash(lambda: departures.complete_handover(task, actor, form.note.data),
                        _("The handover of the archive is recorded."))
        return redirect(url_for(".handovers"))
