"""学生卡 on screen (issue 16, point 3): the panel on the pupil's page (issue, 挂失作废, 补办, print, the
card history), 打印学生卡 on the class's page, and the list's batch of selected pupils.

Every pupil and class is reached within the actor's scope (outside it: 404). Issuing, cancelling,
replacing and printing are for the staff of the pupil's own school (services/pupil_cards.may_issue;
anyone else in scope: 403). A sheet leaves through the export gate (kind pupil_card_sheet) and is
audited with its card numbers. Register with:

    admin.add_view(PupilCardView(name=_l("Student cards"), endpoint="pupil_cards", category=menu.PUPILS))
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import SecureBaseView, attempt, current_actor, flash_form_errors
from admin.gate import gate
from admin.status import row_id
from forms.pupil_cards import ConfirmForm, ReasonForm
from models.school_class import SchoolClass
from models.student import Student
from services import classes, labels, pupil_cards
from services.certificates import verification
from services.errors import NotInScope
from services.rosters import class_roster

SELECTED_LIMIT = 500


def details_context(student: Student) -> dict[str, t.Any]:
    """What templates/admin/_pupil_card_panel.html shows (the pupil is in scope)."""
    cards = pupil_cards.history(student.id)
    current = next((c for c in cards if c.status == pupil_cards.VALID), None)
    return {
        "pupil_card": current,
        "pupil_card_history": cards,
        "pupil_card_editable": pupil_cards.may_issue(current_actor(), student),
        "pupil_card_status": pupil_cards.status_label,
        "pupil_card_person": labels.person,
        "pupil_card_form": ConfirmForm(formdata=None),
        "pupil_card_reason_form": ReasonForm(formdata=None),
    }


def _ids(raw: str | None) -> list[int]:
    return [int(p) for p in (raw or "").split(",") if p.strip().isdigit() and len(p.strip()) <= 10][:SELECTED_LIMIT]


def start_for_pupils(student_ids: t.Sequence[int]) -> Response:
    """The list action 学生卡: cards for the selected pupils who have none, then their sheet."""
    actor = current_actor()
    try:
        pupils = pupil_cards.scoped_students(actor, student_ids)
    except NotInScope:
        abort(404)
    if not pupils:
        flash(_("Select the pupils first."), "error")
        return redirect(url_for("student.index_view"))
    if not all(pupil_cards.may_issue(actor, s) for s in pupils):
        abort(403)
    done = attempt(lambda: pupil_cards.issue_missing(actor, pupils), lambda issued: _("%(n)d student cards issued.", n=len(issued)))
    if not done.ok:
        return redirect(url_for("student.index_view"))
    return redirect(url_for("pupil_cards.selected_sheet", ids=",".join(str(s.id) for s in pupils)))


class PupilCardView(SecureBaseView):
    """学生卡: one pupil's card, a class's cards, a selection's sheet."""

    def is_visible(self) -> bool:
        return False  # reached from the pupil's page, the class's page and the list's actions

    @expose("/")
    def index(self) -> Response:
        return redirect(url_for("classes.index"))

    # --- one pupil ------------------------------------------------------------------------------------
    def _student(self, student_id: int) -> Student:
        try:
            return pupil_cards.load_student(current_actor(), row_id(student_id))
        except NotInScope:
            abort(404)

    def _issuer_of(self, student_id: int) -> Student:
        """The pupil in scope (else 404) for the staff of its school (else 403)."""
        student = self._student(student_id)
        if not pupil_cards.may_issue(current_actor(), student):
            abort(403)
        return student

    def _back(self, student_id: int) -> Response:
        return redirect(url_for("student.details_view", id=student_id) + "#pupil-card")

    @expose("/<int:student_id>/issue", methods=("POST",))
    def issue(self, student_id: int) -> Response:
        student = self._issuer_of(student_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        attempt(
            lambda: pupil_cards.issue(current_actor(), student),
            lambda card: _("Student card %(number)s issued.", number=card.number),
        )
        return self._back(student.id)

    def _with_reason(self, student_id: int, action: t.Callable[..., t.Any], success: t.Callable[[t.Any], str]) -> Response:
        student = self._issuer_of(student_id)
        form = ReasonForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return self._back(student.id)
        attempt(lambda: action(current_actor(), student, form.reason.data), success)
        return self._back(student.id)

    @expose("/<int:student_id>/revoke", methods=("POST",))
    def revoke(self, student_id: int) -> Response:
        return self._with_reason(
            student_id, pupil_cards.revoke, lambda card: _("Student card %(number)s cancelled.", number=card.number)
        )

    @expose("/<int:student_id>/reissue", methods=("POST",))
    def reissue(self, student_id: int) -> Response:
        shown = request.form.get("card", "")[:24]  # the card the page showed ("" after a loss was reported)

        def replace(actor: t.Any, student: Student, reason: str) -> t.Any:
            return pupil_cards.reissue(actor, student, reason, replacing=shown)

        return self._with_reason(student_id, replace, lambda card: _("New student card %(number)s issued.", number=card.number))

    def _sheet(self, students: t.Sequence[Student], title: str, back: str) -> Response:
        """The sheet of these pupils' valid cards, through the gate; back to `back` when there is none."""
        refused = gate("pupil_card_sheet", detail=f"学生卡 {title}"[:300], scope_text=f"{title} 学生卡")
        if refused is not None:
            return refused
        cards = pupil_cards.valid_cards(students)
        if not cards:
            flash(_("No valid student card to print."), "error")
            return redirect(back)
        done = attempt(lambda: pupil_cards.print_sheet(current_actor(), cards, verification.site_url(), title))
        if not done.ok:
            return redirect(back)
        return Response(done.value, mimetype="application/pdf", headers={"Content-Disposition": 'inline; filename="student-cards.pdf"'})

    @expose("/<int:student_id>/sheet.pdf")
    def pupil_sheet(self, student_id: int) -> Response:
        student = self._issuer_of(student_id)
        return self._sheet([student], student.name, url_for("student.details_view", id=student.id))

    # --- a class ------------------------------------------------------------------------------------
    def _class(self, class_id: int) -> SchoolClass:
        try:
            found = classes.load_class(current_actor(), row_id(class_id))
        except NotInScope:
            abort(404)
        if not classes.may_manage(current_actor(), found.school):
            abort(403)
        return found

    @expose("/class/<int:class_id>/print", methods=("POST",))
    def print_class(self, class_id: int) -> Response:
        """打印学生卡: a card for each pupil of the class who has no valid one, then the class's sheet."""
        found = self._class(class_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        pupils = pupil_cards.class_pupils(found)
        if not pupils:
            flash(_("The class has no pupils."), "error")
            return redirect(url_for("classes.roster", class_id=found.id))
        done = attempt(lambda: pupil_cards.issue_missing(current_actor(), pupils))
        if not done.ok:
            return redirect(url_for("classes.roster", class_id=found.id))
        if done.value:
            flash(_("%(n)d student cards issued.", n=len(done.value)), "success")
        return redirect(url_for(".class_sheet", class_id=found.id))

    @expose("/class/<int:class_id>/sheet.pdf")
    def class_sheet(self, class_id: int) -> Response:
        found = self._class(class_id)
        return self._sheet(pupil_cards.class_pupils(found), class_roster.title_of(found), url_for("classes.roster", class_id=found.id))

    # --- selected pupils ------------------------------------------------------------------------------
    @expose("/sheet.pdf")
    def selected_sheet(self) -> Response:
        actor = current_actor()
        try:
            pupils = pupil_cards.scoped_students(actor, _ids(request.args.get("ids")))
        except NotInScope:
            abort(404)
        if not pupils:
            abort(404)
        if not all(pupil_cards.may_issue(actor, s) for s in pupils):
            abort(403)
        return self._sheet(pupils, _("%(n)d selected pupils", n=len(pupils)), url_for("student.index_view"))
