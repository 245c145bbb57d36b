"""The paper file (纸质档案) on the pupil's page and on the request page: where it is, and its
hand-over to the receiving school (第九、十、十六条). Every route loads through services/paper.py
(outside the scope: 404); every change is a POST with a CSRF token.

The blocks are templates/admin/_paper_file.html (pupil's page) and _paper_handover.html (request
page); they get their data from the template globals registered by `register_globals`.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Flask, abort, current_app, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.base import SecureBaseView, attempt, current_actor, flash_form_errors
from forms.paper import PaperDispatchForm, PaperLocationForm, PaperReceiptForm
from models.changes import ChangeRequest
from models.paper import PaperHandover
from models.student import Student
from services import archive, paper, scope
from services.errors import NotInScope


def _handover_view(handover: PaperHandover, back: str) -> SimpleNamespace:
    actor = current_actor()
    dispatch = None
    if paper.may_dispatch(actor, handover):
        guardians = handover.student.guardians  # 第十六条: a guardian carries it; offer the first one's name
        dispatch = PaperDispatchForm(formdata=None, back=back, carried_by=handover.carried_by or (guardians[0].name if guardians else None))
    receipt = PaperReceiptForm(formdata=None, back=back) if paper.may_receive(actor, handover) else None
    return SimpleNamespace(h=handover, dispatch_form=dispatch, receipt_form=receipt)


def paper_file_block(student: Student) -> SimpleNamespace | None:
    """What _paper_file.html shows on the pupil's page (the pupil is in scope)."""
    if "paper" not in current_app.blueprints:
        return None
    actor = current_actor()
    history = paper.location_history(student)
    return SimpleNamespace(
        current=history[0] if history else None, history=history[1:],
        form=PaperLocationForm(formdata=None) if paper.may_record_location(actor, student) else None,
        handovers=[_handover_view(h, "student") for h in paper.handovers_of(actor, student)],
    )


def paper_handover_block(req: ChangeRequest) -> SimpleNamespace | None:
    """What _paper_handover.html shows on the request page (the request is visible to the actor)."""
    if "paper" not in current_app.blueprints:
        return None
    handover = paper.handover_of(req)
    if handover is None or not paper.can_see(current_actor(), handover):
        return None
    return _handover_view(handover, "request")


def register_globals(app: Flask) -> None:
    app.add_template_global(paper_file_block, "paper_file_block")
    app.add_template_global(paper_handover_block, "paper_handover_block")


class PaperView(SecureBaseView):
    """纸质档案: the holding school records where it is; the two schools record its hand-over."""

    def is_visible(self) -> bool:
        return False  # reached from the pupil's page and the request page

    @staticmethod
    def _student_page(student_id: int) -> Response:
        return redirect(url_for("student.details_view", id=student_id, _anchor="paper-file"))

    def _back(self, handover: PaperHandover, back: str | None) -> Response:
        if back == "request":
            return redirect(url_for("requests.request_page", request_id=handover.request_id, _anchor="paper-handover"))
        return self._student_page(handover.student_id)

    def _handover(self, handover_id: int) -> PaperHandover:
        try:
            return paper.load_handover(current_actor(), handover_id)
        except NotInScope:
            abort(404)

    @expose("/")
    def index(self) -> Response:
        return redirect(url_for("oversight.report", code="paper_not_received"))

    @expose("/<int:student_id>/location", methods=("POST",))
    def location(self, student_id: int) -> Response:
        actor = current_actor()
        if student_id > scope.MAX_ID:
            abort(404)
        try:
            student = archive.load_student(actor, student_id)
        except NotInScope:
            abort(404)
        form = PaperLocationForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return self._student_page(student_id)
        attempt(lambda: paper.record_location(student, actor, form.location.data, form.custodian.data),
                _("Where the paper file is kept was recorded."), labels=form)
        return self._student_page(student_id)

    @expose("/handover/<int:handover_id>/dispatch", methods=("POST",))
    def dispatch(self, handover_id: int) -> Response:
        actor = current_actor()
        handover = self._handover(handover_id)
        form = PaperDispatchForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return self._back(handover, form.back.data)
        attempt(lambda: paper.record_dispatch(handover, actor, sent_on=form.sent_on.data, carried_by=form.carried_by.data,
                                              sealed=form.sealed.data, copy_kept=form.copy_kept.data,
                                              copy_location=form.copy_location.data),
                _("The dispatch of the paper file was recorded."), labels=form)
        return self._back(handover, form.back.data)

    @expose("/handover/<int:handover_id>/receive", methods=("POST",))
    def receive(self, handover_id: int) -> Response:
        actor = current_actor()
        handover = self._handover(handover_id)
        form = PaperReceiptForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return self._back(handover, form.back.data)
        attempt(lambda: paper.confirm_receipt(handover, actor, received_on=form.received_on.data,
                                              received_by=form.received_by.data),
                _("The receipt of the paper file was confirmed."), labels=form)
        return self._back(handover, form.back.data)
