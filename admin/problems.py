"""问题学籍 (第七条): the queue of suspected duplicates and invalid IDs, and the page that resolves one.

The queue is scoped by the problem's copy of the pupil's school path. The other record of a
pair is named only when it lies in the user's own scope; otherwise officials see its school,
schools only that another record exists. Every handler calls services/dedup.py, which checks
the actor itself.
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, send_file, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin.base import ScopedModelView, attempt, current_actor, run_command
from admin.masked_ids import masked_id, reveal_script
from models.problems import ProblemRecord
from models.student import Student
from services import audit, codes, dedup, dedup_scan, job_progress, problems, scope, uploads
from services.commands import records as record_commands
from services.errors import NotInScope
from services.ids import mask_id

# The menu entry: admin.add_view(ProblemRecordView(name=MENU_NAME, endpoint="problems"))
MENU_NAME = _l("Problem records")


class EvidenceForm(FlaskForm):
    file = FileField(_l("Evidence (JPG, PNG or PDF, at most 5 MB)"))
    note = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=500)])


class CorrectionForm(FlaskForm):
    note = TextAreaField(_l("What was corrected"), validators=[Optional(), Length(max=500)])


class CancellationForm(FlaskForm):
    note = TextAreaField(_l("Why the record is cancelled"), validators=[DataRequired(), Length(max=500)])


class RescanForm(FlaskForm):
    """A POST with only the CSRF token: 重新查重."""


def other_record_text(actor: t.Any, other: Student | None) -> Markup | str:
    """The other record of a pair as this user may see it: by name in scope, else only its school
    (officials) or nothing but its existence (schools)."""
    if other is None:
        return ""
    if scope.covers(actor, other.scope_path):
        return Markup('<a href="{}">{}</a>').format(url_for("student.details_view", id=other.id), other.name)
    if actor.is_official:
        return _("A record of %(school)s", school=other.school.name)
    return _("Another record")


def _student_link(v: t.Any, c: t.Any, m: ProblemRecord, n: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("problems.problem_page", problem_id=m.id), m.student.name)


class ProblemRecordView(ScopedModelView):
    """问题学籍: the school's and its authority's queue."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    list_template = "admin/problem_list.html"
    empty_list_message = _l("No problem record. 查重 adds one here when it finds a suspected duplicate or an invalid ID number.")
    column_list = ("id", "kind", "student", "school", "other_student", "detail", "status", "resolution", "created_at")
    column_labels = {
        "id": _l("No."), "kind": _l("Problem"), "student": _l("Pupil"), "school": _l("School"),
        "other_student": _l("Collides with"), "detail": _l("Detail"), "status": _l("Handling status"),
        "resolution": _l("Resolution"), "created_at": _l("Found at"),
    }
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "created_at")
    column_formatters = {
        "id": lambda v, c, m, n: Markup('<a href="{}">#{}</a>').format(url_for("problems.problem_page", problem_id=m.id), m.id),
        "kind": lambda v, c, m, n: str(dedup.KIND_LABELS.get(m.kind, m.kind)),
        "student": _student_link,
        "school": lambda v, c, m, n: m.student.school.name,
        "other_student": lambda v, c, m, n: other_record_text(current_actor(), m.other_student),
        "detail": lambda v, c, m, n: dedup.detail_text(m),
        "status": lambda v, c, m, n: str(dedup.STATUS_LABELS.get(m.status, m.status)),
        "resolution": lambda v, c, m, n: str(dedup.RESOLUTION_LABELS.get(m.resolution, "")) if m.resolution else "",
    }

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        self.column_filters = (
            FilterEqual(ProblemRecord.kind, _l("Problem"), options=lambda: [(k, str(v)) for k, v in dedup.KIND_LABELS.items()]),
            FilterEqual(ProblemRecord.status, _l("Handling status"), options=lambda: [(k, str(v)) for k, v in dedup.STATUS_LABELS.items()]),
        )
        super().__init__(ProblemRecord, *args, **kwargs)

    def render(self, template: str, **kwargs: t.Any) -> str:
        if template == self.list_template:
            status_filter = next(i for i, f in enumerate(self._filters or ()) if f.column is ProblemRecord.status)
            kwargs["open_url"] = self.get_url(".index_view", **{f"flt0_{status_filter}": "open"})
            if dedup_scan.may_rescan(current_actor()):
                kwargs["rescan_form"] = RescanForm(formdata=None)
                kwargs["rescan"] = job_progress.read(dedup_scan.PROGRESS_KIND, dedup_scan.PROGRESS_ID)
                kwargs["rescan_labels"] = {"running": "上次查重：进行中", "done": "上次查重：已完成", "failed": "上次查重：失败"}
        return super().render(template, **kwargs)

    @expose("/rescan", methods=("POST",))
    def rescan(self) -> Response:
        """重新查重 as a queued task (a province's scan takes minutes): province officials only, else 404."""
        if not RescanForm().validate_on_submit():
            abort(400)
        try:
            dedup_scan.start_rescan(current_actor())  # the rule lives in the service
        except NotInScope:
            abort(404)
        flash(_("The duplicate check has been queued; new problem records appear when it has finished."), "success")
        return redirect(url_for(".index_view"))

    # --- one problem -------------------------------------------------------------------
    def _load(self, problem_id: int) -> ProblemRecord:
        try:
            return problems.get_visible(current_actor(), problem_id)
        except NotInScope:
            abort(404)

    @expose("/<int:problem_id>/")
    def problem_page(self, problem_id: int) -> str:
        actor = current_actor()
        problem = self._load(problem_id)
        other = problem.other_student
        return self.render(
            "admin/problem_page.html",
            problem=problem, student=problem.student, other=other,
            other_in_scope=other is not None and scope.covers(actor, other.scope_path),
            other_text=other_record_text(actor, other),
            can_resolve=record_commands.RESOLVE_PROBLEM.allowed(actor, problem) is None,
            still_collides=problem.status == "open" and problems.still_collides(problem),
            evidence_form=EvidenceForm(), correction_form=CorrectionForm(), cancellation_form=CancellationForm(),
            kind_labels=dedup.KIND_LABELS, status_labels=dedup.STATUS_LABELS, resolution_labels=dedup.RESOLUTION_LABELS,
            detail=dedup.detail_text(problem), code_label=codes.label, mask_id=mask_id,
            masked_id=masked_id, reveal_script=reveal_script,
        )

    def _done(self, problem: ProblemRecord, how: t.Callable[[], t.Any], ok: str) -> Response:
        run_command(record_commands.RESOLVE_PROBLEM, problem, ok, how=how)
        return redirect(url_for(".problem_page", problem_id=problem.id))

    @expose("/<int:problem_id>/evidence", methods=("POST",))
    def resolve_evidence(self, problem_id: int) -> Response:
        problem = self._load(problem_id)
        form = EvidenceForm()
        if not form.validate_on_submit():
            abort(400)
        return self._done(problem, lambda: problems.resolve_with_evidence(problem, current_actor(), form.file.data, form.note.data),
                          _("Resolved with evidence."))

    @expose("/<int:problem_id>/correction", methods=("POST",))
    def resolve_correction(self, problem_id: int) -> Response:
        problem = self._load(problem_id)
        form = CorrectionForm()
        if not form.validate_on_submit():
            abort(400)
        return self._done(problem, lambda: problems.resolve_by_correction(problem, current_actor(), form.note.data),
                          _("Resolved: the data was corrected."))

    @expose("/<int:problem_id>/cancellation", methods=("POST",))
    def resolve_cancellation(self, problem_id: int) -> Response:
        problem = self._load(problem_id)
        form = CancellationForm()
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                abort(400)
            flash(_("Say why the record is cancelled."), "error")
            return redirect(url_for(".problem_page", problem_id=problem_id))
        return self._done(problem, lambda: problems.resolve_by_cancellation(problem, current_actor(), form.note.data),
                          _("The record is cancelled (注销)."))

    @expose("/<int:problem_id>/evidence-file")
    def evidence_file(self, problem_id: int) -> Response:
        problem = self._load(problem_id)  # 404 unless the problem is in the user's scope
        if not problem.evidence_sha256:
            abort(404)
        if not attempt(lambda: audit.record(current_actor(), "problem.evidence.view", "problem_record", problem.id,
                                            problem.evidence_filename)).ok:
            return redirect(url_for(".problem_page", problem_id=problem.id))
        return send_file(uploads.path_of(problem.evidence_sha256), mimetype=problem.evidence_content_type,
                         as_attachment=True, download_name=problem.evidence_filename)

