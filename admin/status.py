"""The status changes of 第十七–二十三条 on screen: the request pages opened from the pupil's page,
attendance and contacts with the family, the 休学到期 list and the 档案移交 list.

Every page loads the pupil through the scope rule (outside it: 404) and only the staff of the
pupil's own school may open a request or record attendance (else 403); the services in
change types (changes/) check the actor again. Register with:

    admin.add_view(StatusView(name=_l("Suspensions expired"), endpoint="status", category=...))
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from admin.base import SecureBaseView, attempt, commit_or_flash, current_actor, flash_form_errors
from changes import departures
from extensions import db
from forms.request_pages import RequestPage, material_field
from forms.status import CONTACT_PURPOSES, AbsenceForm, ContactForm, HandoverDoneForm
from models.changes import COMPLETED, ChangeRequest
from models.lifecycle import StudentStatus
from models.org import SCHOOL
from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION, ArchiveHandover
from models.student import Student
from services import absences, clock, codes, family_contacts, labels, scope, suspension_expiry, workflows
from services.commands import pupils as pupil_commands
from services.commands import requests as request_commands
from services.errors import NotInScope, RuleViolation
from services.ids import division_name
from services.students import find_own_pupils

ROWS_PER_PAGE = 50
MAX_PAGE = 10**6  # beyond any list; keeps OFFSET inside the database's integers


# --- who may do what ------------------------------------------------------------------


is_own_staff = workflows.is_own_school  # the services' own rule, also for showing the buttons


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


def request_pages() -> dict[str, RequestPage]:
    """The request pages of the pupil's page, by the code of the type that declares each
    (changes/<type>.py, ChangeType.page): /status/<code>/new."""
    return {code: ctype.page for code, ctype in workflows.TYPES.items() if ctype.page is not None}


def actions_for(student: Student) -> list[tuple[str, t.Any, str | None]]:
    """The status-change buttons of the pupil's page: (kind, label, why not or None). Which kinds a
    status offers and who may open them is the commands' rule (services/commands/pupils.py)."""
    pages = request_pages()
    return [(k, pages[k].button or pages[k].heading, reason) for k, reason in pupil_commands.offered(current_actor(), student)]


def open_request_page(opener: t.Callable[[], ChangeRequest], files: t.Mapping[str, t.Any], form: t.Any = None, *,
                      require_evidence: bool = False) -> Response | None:
    """Open a request with its evidence files in one commit (a refusal keeps neither, not even the
    uploads), then go to its page; None when refused (problems naming a field of `form` are shown
    beside it, the others flashed). `require_evidence`: a request whose type still misses a material
    it requires (workflows.missing_materials, the rule step 1 applies) is refused before it opens,
    naming each missing document, instead of failing at step 1."""
    actor = current_actor()

    def open_with_files() -> ChangeRequest:
        req = opener()
        for material, file in files.items():
            if file and getattr(file, "filename", None):
                request_commands.ATTACH.run(actor, req, material=material, file=file)
        if require_evidence and (missing := workflows.missing_materials(req)):
            raise RuleViolation(missing_evidence_problems(missing, form))
        return req

    done = attempt(open_with_files, lambda req: _("Request #%(id)s opened.", id=req.id) if req.status != COMPLETED
                   else _("%(change)s recorded (#%(id)s).", change=workflows.type_of(req).label, id=req.id), form=form)
    return redirect(url_for("requests.request_page", request_id=done.value.id)) if done.ok else None


def missing_evidence_problems(missing: t.Sequence[t.Any], form: t.Any = None) -> list[tuple[str, str]]:
    """One message naming every missing document, and each beside its own file input (a form names
    it by the material's code, or by material_field(code) on the pupil's request pages). A browser
    never keeps chosen files after a refused submission, so the message says to choose them again."""
    names = "、".join(str(m.label) for m in missing)
    problems = [("", _("Not submitted: these documents are missing: %(names)s. Choose their files (and choose again "
                       "any file chosen before) and submit again.", names=names))]
    fields = getattr(form, "_fields", {})
    for m in missing:
        name = m.code if m.code in fields else material_field(m.code)
        if name in fields:
            problems.append((name, _("This document is required: %(name)s.", name=m.label)))
    return problems


def _contact_defaults(student: Student) -> dict[str, t.Any]:
    purpose = CONTACT_SUSPENSION if student.status == StudentStatus.SUSPENDED else CONTACT_DROPOUT
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
        "status_contacts": family_contacts.contacts_of(student),
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
        found = find_own_pupils(actor, term)
        kind = request.args.get("kind") if request.args.get("kind") in request_pages() else None  # 学籍变动 → 休学 …
        found_actions = [(s, [a for a in actions_for(s) if kind in (None, a[0])]) for s in found]
        return self.render("admin/status_start.html", term=term, found=found_actions,
                           code_label=codes.label, kind=kind, kind_label=request_pages()[kind].heading if kind else None)

    @expose("/<kind>/new", methods=("GET", "POST"))
    def new(self, kind: str) -> t.Any:
        page = request_pages().get(kind)
        if page is None:
            abort(404)
        student = _own_pupil()
        actor = current_actor()
        form = page.form_class()(data=page.defaults(student))
        if page.prepare is not None:
            page.prepare(form, student)
        if form.validate_on_submit():
            command = pupil_commands.STATUS_CHANGES[kind]
            # The types of one page declare the same materials; the page's first type names the fields.
            files = {m.code: form[material_field(m.code)].data for m in workflows.TYPES[page.types[0]].materials}
            done = open_request_page(lambda: command.run(actor, student, open=lambda: page.open(student, actor, form)), files,
                                     form=form, require_evidence=True)
            if done is not None:
                return done
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        return self.render("admin/status_new.html", form=form, student=student, kind=kind, title=page.heading, page=page,
                           info=page.info(student), code_label=codes.label)

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
            if commit_or_flash(lambda: family_contacts.record_contact(
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
        last_contact = family_contacts.last_contacts([student.id for _s, student in rows], CONTACT_SUSPENSION)
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
