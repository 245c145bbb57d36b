"""/admin/classes/ — 班级管理: a school sets up its classes for each school year with their head
teacher (班主任), sees each class's pupils (班级名册, printable and exportable through the export
gate, 第二十八条) and places the pupils of the grade who have no class yet into one, each as a
class change (调班, changes/class_change.py). The authorities read the classes of their area.

Every route goes through services/classes.py, which checks the scope (a class elsewhere: 404) and
who may change a class (the school itself).
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from admin.base import SecureBaseView, attempt, current_actor, flash_form_errors
from admin.gate import gate
from changes.class_change import request_class_change
from extensions import db
from forms.classes import AssignPupilsForm, ClassForm, ConfirmForm
from models.org import SCHOOL, OrgUnit
from models.school_class import SchoolClass
from models.student import Student
from services import classes, codes, exports, scope
from services.change_codes import CLASS_CHANGE
from services.commands import pupils as pupil_commands
from services.errors import NotInScope, RuleViolation
from services.grades import grades_taught
from services.rosters import class_roster

ROWS_PER_PAGE = 50


def _year_arg() -> int:
    """The school year asked for (default: the current one); a far-off year is no page (404)."""
    current = classes.current_school_year()
    year = request.args.get("year", type=int)
    if year is None:
        return current
    if not current - 20 <= year <= current + 1:
        abort(404)
    return year


def _years() -> list[int]:
    current = classes.current_school_year()
    return list(range(current + 1, current - 4, -1))


def _own_school() -> OrgUnit | None:
    """The school whose classes the user manages, or None (an authority reads only)."""
    actor = current_actor()
    return actor.unit if actor.unit.level == SCHOOL and classes.may_manage(actor, actor.unit) else None


def _load(class_id: int) -> SchoolClass:
    try:
        return classes.load_class(current_actor(), class_id)
    except NotInScope:
        abort(404)


def _managed(class_id: int) -> SchoolClass:
    """A class the user may change: in scope (else 404) and of the user's own school (else 403)."""
    found = _load(class_id)
    if not classes.may_manage(current_actor(), found.school):
        abort(403)
    return found


def _fill(form: ClassForm, school: OrgUnit) -> None:
    form.school_year.choices = [(y, classes.year_label(y)) for y in _years()]
    form.grade.choices = [(g, codes.label("grade", str(g))) for g in grades_taught(school)]


def _grade_label(grade: int) -> str:
    return codes.label("grade", str(grade))


class ClassView(SecureBaseView):
    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        year = _year_arg()
        own = _own_school()
        page = max(request.args.get("page", 0, type=int), 0)
        school: OrgUnit | None = own
        code = (request.args.get("school") or "").strip()[:20]
        if own is None and code:
            school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == SCHOOL))
            if school is None or not scope.covers(actor, school.path):
                flash(_("No school with this code in your area."), "error")
                school = None
        limit = 1000 if own is not None else ROWS_PER_PAGE
        lines = classes.classes_in(actor, year, school, limit=limit + 1, offset=0 if own is not None else page * limit)
        db.session.commit()  # a read: ends the transaction
        return self.render(
            "admin/classes.html",
            year=year,
            years=_years(),
            year_label=classes.year_label,
            lines=lines[:limit],
            has_next=len(lines) > limit,
            page=page,
            own=own,
            school=school,
            code=code,
            grade_label=_grade_label,
            current=classes.current_school_year(),
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> t.Any:
        own = _own_school()
        if own is None:
            abort(403)
        form = ClassForm(school_year=_year_arg(), grade=request.args.get("grade", type=int))
        _fill(form, own)
        if request.method == "POST":
            if form.validate_on_submit():
                done = attempt(
                    lambda: classes.save_class(
                        current_actor(),
                        own,
                        year=form.school_year.data,
                        grade=form.grade.data,
                        name=form.name.data,
                        head_teacher=form.head_teacher.data,
                        phone=form.head_teacher_phone.data,
                    ),
                    lambda c: _("Class %(name)s set up.", name=c.name),
                    form=form,
                    labels=form,
                )
                if done.ok:
                    return redirect(url_for(".index", year=done.value.school_year))
            else:
                flash_form_errors(form)
        return self.render("admin/class_form.html", form=form, school_class=None, title=_("Set up a class"))

    @expose("/<int:class_id>/edit", methods=("GET", "POST"))
    def edit(self, class_id: int) -> t.Any:
        found = _managed(class_id)
        form = ClassForm(obj=found)  # a POST's own values win over the class's (Flask-WTF reads the form first)
        _fill(form, found.school)
        if request.method == "POST":
            if form.validate_on_submit():
                done = attempt(
                    lambda: classes.save_class(
                        current_actor(),
                        found.school,
                        year=form.school_year.data,
                        grade=form.grade.data,
                        name=form.name.data,
                        head_teacher=form.head_teacher.data,
                        phone=form.head_teacher_phone.data,
                        school_class=found,
                    ),
                    _("Class saved."),
                    form=form,
                    labels=form,
                )
                if done.ok:
                    return redirect(url_for(".roster", class_id=class_id))
                db.session.expire_all()  # the refused values are not the class's
            else:
                flash_form_errors(form)
        return self.render(
            "admin/class_form.html",
            form=form,
            school_class=found,
            title=_("Edit the class"),
            pupils=classes.pupil_count(found),
            year_label=classes.year_label,
        )

    @expose("/<int:class_id>/delete", methods=("POST",))
    def delete(self, class_id: int) -> Response:
        found = _managed(class_id)
        year = found.school_year
        if not ConfirmForm().validate_on_submit():
            abort(400)
        name = found.name
        if attempt(lambda: classes.delete_class(current_actor(), found), _("Class %(name)s deleted.", name=name)).ok:
            return redirect(url_for(".index", year=year))
        return redirect(url_for(".roster", class_id=class_id))

    @expose("/<int:class_id>/")
    def roster(self, class_id: int) -> str:
        found = _load(class_id)
        manage = classes.may_manage(current_actor(), found.school)
        pupils = classes.roster(found)
        waiting = classes.unassigned(found) if manage else []
        in_class = sum(1 for s in pupils if s.status in classes.IN_CLASS)
        db.session.commit()
        return self.render(
            "admin/class_roster.html",
            school_class=found,
            pupils=pupils,
            waiting=waiting,
            manage=manage,
            in_class=in_class,
            year_label=classes.year_label,
            grade_label=_grade_label,
            status_label=lambda c: codes.label("student_status", c),
            gender_label=lambda c: codes.label("gender", c),
            assign_form=AssignPupilsForm(formdata=None),
            delete_form=ConfirmForm(formdata=None),
        )

    @expose("/<int:class_id>/assign", methods=("POST",))
    def assign(self, class_id: int) -> t.Any:
        """分班, in two steps: the ticked pupils listed with what will happen, then confirmed."""
        found = _managed(class_id)
        actor = current_actor()
        form = AssignPupilsForm()
        wanted = [int(i) for i in request.form.getlist("pupil") if i.isdigit()][:500]
        pupils = (
            list(
                db.session.scalars(
                    select(Student)
                    .where(Student.id.in_(wanted), scope.filter_for(actor, Student.scope_path))
                    .order_by(Student.name, Student.id)
                )
            )
            if wanted
            else []
        )
        if len(pupils) != len(set(wanted)):
            abort(404)  # a pupil outside the user's area: the whole selection is refused
        if not pupils:
            flash(_("Tick the pupils to place in this class."), "error")
            return redirect(url_for(".roster", class_id=class_id))
        command = pupil_commands.STATUS_CHANGES[CLASS_CHANGE]
        refused = {s.id: _why_not(s, found, command.allowed(actor, s)) for s in pupils}
        if request.form.get("confirmed") == "1" and form.validate_on_submit():
            return self._do_assign(
                found,
                [s for s in pupils if refused[s.id] is None],
                [(s, refused[s.id]) for s in pupils if refused[s.id] is not None],
                form.reason.data.strip(),
            )
        if request.form.get("confirmed") == "1":
            flash_form_errors(form)
        return self.render(
            "admin/class_assign_confirm.html",
            school_class=found,
            pupils=pupils,
            refused=refused,
            form=form,
            grade_label=_grade_label,
            status_label=lambda c: codes.label("student_status", c),
            movable=sum(1 for s in pupils if refused[s.id] is None),
        )

    def _do_assign(self, found: SchoolClass, movable: list[Student], skipped: list[tuple[Student, t.Any]], reason: str) -> Response:
        actor = current_actor()
        done = 0
        for pupil in movable:
            try:
                with db.session.begin_nested():  # one pupil's refusal undoes that pupil only
                    request_class_change(pupil, actor, found, reason)
                done += 1
            except RuleViolation as exc:
                skipped.append((pupil, "；".join(m for _f, m in exc.problems)))
            except (StaleDataError, IntegrityError):
                skipped.append((pupil, _("Someone else changed this record at the same moment.")))
        db.session.commit()
        if done:
            flash(_("%(n)d pupils assigned to %(cls)s.", n=done, cls=found.name), "success")
        if skipped:
            flash(_("%(n)d not done: %(list)s", n=len(skipped), list="；".join(f"{s.name}（{why}）" for s, why in skipped)), "warning")
        return redirect(url_for(".roster", class_id=found.id))

    @expose("/<int:class_id>/roster.pdf")
    def roster_pdf(self, class_id: int) -> Response:
        found = _load(class_id)
        title = class_roster.title_of(found)
        refused = gate("class_roster", detail=f"{class_roster.TITLE} PDF（{title}）", scope_text=title)
        if refused is not None:
            return refused
        done = attempt(lambda: class_roster.render_pdf(found, current_actor()))  # numbers the document
        if not done.ok:
            return redirect(url_for(".roster", class_id=class_id))
        body, doc = done.value
        return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    @expose("/<int:class_id>/roster.xlsx")
    def roster_xlsx(self, class_id: int) -> Response:
        found = _load(class_id)
        title = class_roster.title_of(found)
        refused = gate("class_roster", detail=f"{class_roster.TITLE} Excel（{title}）", scope_text=title)
        if refused is not None:
            return refused
        name = class_roster.filename(found, "xlsx")
        body = class_roster.xlsx(found, current_actor())
        return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": exports.content_disposition(name)})


def _why_not(pupil: Student, school_class: SchoolClass, refused: t.Any) -> str | None:
    """Why a ticked pupil is not placed in the class (None: they are)."""
    if refused is not None:
        return str(refused)
    if (pupil.school_id, pupil.grade) != (school_class.school_id, school_class.grade):
        return _("Not a pupil of this class's school and grade.")
    if pupil.class_id == school_class.id:
        return _("The pupil is already in this class.")
    return None
