"""Certificates on screen (第二十四–二十五条): the list, one certificate's page, issuing for one pupil
or a whole class, printing a class as one PDF in the background, revoking, reissuing and the
学历证明书 request.

Every row is reached through the actor's scope (outside it: 404, like an unknown id): the list
and its count, a certificate, a roster line, a pupil, a school's class page, a print job
(only its own user's). Who may do what is checked again by services/certificates/.
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import exists, select

from admin.base import ReadOnlyScopedView, attempt, current_actor, flash_form_errors, refusals, run_command
from admin.gate import gate
from changes import record_proof
from extensions import db
from forms.certificates import CertificateConfirmForm, RecordProofForm, ReissueForm, RevokeForm
from models.graduation import DIPLOMA, PASSED, RECORD_PROOF, REVOKED, VALID, Certificate, GraduationRecord
from models.org import SCHOOL, OrgUnit
from services import codes, exports, graduation, scope, workflows
from services.certificates import batch, issuing, kinds, rendering, revocation, verification
from services.commands import records as record_commands
from services.errors import NotInScope

SCHOOL_CHOICES_LIMIT = 500
OUTCOME_LABELS = {"graduated": _l("Graduated (毕业)"), "completed": _l("Completed (结业)")}
ASSESSMENT_LABELS = {PASSED: _l("Passed"), "failed": _l("Failed")}
JOB_STATUS_LABELS = {
    batch.JOB_QUEUED: _l("Queued"), batch.JOB_RUNNING: _l("Printing"),
    batch.JOB_DONE: _l("Ready"), batch.JOB_FAILED: _l("Printing failed"),
}


def _status_cell(v: t.Any, c: t.Any, m: Certificate, n: str) -> Markup:
    label = kinds.STATUS_LABELS.get(m.status, m.status)
    badge = {VALID: "success", REVOKED: "secondary"}.get(m.status, "warning")
    out = Markup('<span class="badge badge-{}">{}</span>').format(badge, label)
    if m.status == REVOKED and m.revoked_at:
        out += Markup(' <span class="small text-muted">{}</span>').format(m.revoked_at.strftime("%Y-%m-%d"))
    return out


class CertificateView(ReadOnlyScopedView):
    """证书: every certificate of the actor's scope, and the pages that issue, print and revoke."""

    can_view_details = False
    column_list = ("number", "kind", "student", "school", "year", "status", "issued_at")
    column_labels = {
        "number": _l("Certificate number"), "kind": _l("Kind"), "student": _l("Pupil"), "school": _l("School"),
        "year": _l("Year"), "status": _l("Certificate status"), "issued_at": _l("Issued at"), "student.name": _l("Pupil"),
    }
    column_searchable_list = ("number", "student.name")
    column_default_sort = ("id", True)
    column_sortable_list = ("number", "year", "issued_at")
    column_formatters = {
        "number": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(url_for(".certificate_page", cert_id=m.id), m.number),
        "kind": lambda v, c, m, n: str(kinds.KIND_LABELS.get(m.kind, m.kind)),
        "student": lambda v, c, m, n: m.student.name,
        "school": lambda v, c, m, n: m.school.name,
        "status": _status_cell,
        "issued_at": lambda v, c, m, n: m.issued_at.strftime("%Y-%m-%d") if m.issued_at else "",
    }
    list_template = "admin/certificates_list.html"
    empty_list_message = _l("No certificate yet. A school issues diplomas from its approved graduation roster: "
                            "use the button Issue and print by class above.")

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        self.column_filters = (
            FilterEqual(Certificate.kind, _l("Kind"), options=lambda: [(k, str(v)) for k, v in kinds.KIND_LABELS.items()]),
            FilterEqual(Certificate.status, _l("Certificate status"),
                        options=lambda: [(k, str(v)) for k, v in kinds.STATUS_LABELS.items()]),
            IntEqualFilter(Certificate.year, _l("Year")),
        )
        super().__init__(Certificate, *args, **kwargs)

    # --- the list -------------------------------------------------------------------------
    def render(self, template: str, **kwargs: t.Any) -> str:
        actor = current_actor()
        kwargs.setdefault("own_school", actor.unit if actor.unit.level == SCHOOL else None)
        return super().render(template, **kwargs)

    # --- loading through the scope ------------------------------------------------------------
    def _certificate(self, cert_id: int) -> Certificate:
        try:
            return issuing.get_certificate(current_actor(), cert_id)
        except NotInScope:
            abort(404)

    def _school(self, school_id: t.Any) -> OrgUnit:
        if not str(school_id or "").isdigit():
            abort(404)
        try:
            return graduation.load_school(current_actor(), int(school_id))
        except NotInScope:
            abort(404)

    def _call(self, action: t.Callable[[], t.Any]) -> tuple[bool, t.Any]:
        """Run a service and commit: (True, its result); a refusal writes nothing and is flashed (False, None)."""
        return tuple(attempt(action))  # type: ignore[return-value]

    def _year(self) -> int | None:
        value = request.values.get("year", "")
        return int(value) if value.isdigit() and 2000 <= int(value) <= 2200 else None

    # --- one certificate --------------------------------------------------------------------
    @expose("/<int:cert_id>/")
    def certificate_page(self, cert_id: int) -> str:
        actor = current_actor()
        cert = self._certificate(cert_id)
        # The buttons ask the certificate's commands (services/commands/records.py).
        refused = refusals(record_commands.CERTIFICATE_PAGE, cert)
        return self.render(
            "admin/certificate.html", cert=cert, actor=actor, replaced_by=revocation.replaced_by(cert),
            kind_labels=kinds.KIND_LABELS, status_labels=kinds.STATUS_LABELS, titles=kinds.TITLES,
            code_words=verification.code_words, code_label=codes.label,
            revoke_reason=revocation.revoke_reason_label(cert) if cert.status == REVOKED else "",
            refused=refused, **{f"can_{name}": why is None for name, why in refused.items()},
            revoke_form=RevokeForm(formdata=None), reissue_form=ReissueForm(formdata=None),
            request_type=workflows.TYPES.get(RECORD_PROOF),
        )

    @expose("/<int:cert_id>/pdf")
    def certificate_pdf(self, cert_id: int) -> Response:
        cert = self._certificate(cert_id)
        refused = gate("certificate", detail=cert.number)
        if refused is not None:
            return refused
        ok, data = self._call(lambda: rendering.render_certificate(cert, current_actor(), verification.site_url()))
        if not ok:
            return redirect(url_for(".certificate_page", cert_id=cert_id))
        return Response(data, mimetype="application/pdf",
                        headers={"Content-Disposition": exports.content_disposition(rendering.download_name(cert)).replace(
                            "attachment;", "inline;", 1), "Cache-Control": "no-store"})

    @expose("/<int:cert_id>/revoke", methods=("POST",))
    def revoke(self, cert_id: int) -> Response:
        cert = self._certificate(cert_id)
        form = RevokeForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".certificate_page", cert_id=cert_id))
        run_command(record_commands.REVOKE, cert, _("Certificate %(number)s revoked.", number=cert.number),
                    reason=form.reason.data)
        return redirect(url_for(".certificate_page", cert_id=cert_id))

    @expose("/<int:cert_id>/reissue", methods=("POST",))
    def reissue(self, cert_id: int) -> Response:
        cert = self._certificate(cert_id)
        form = ReissueForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".certificate_page", cert_id=cert_id))
        ok, new = run_command(record_commands.REISSUE, cert, reason=form.reason.data, note=form.note.data)
        if not ok:
            return redirect(url_for(".certificate_page", cert_id=cert_id))
        flash(_("Certificate %(number)s issued; %(old)s is revoked.", number=new.number, old=cert.number), "success")
        return redirect(url_for(".certificate_page", cert_id=new.id))

    # --- 学历证明书 (第二十五条) ----------------------------------------------------------------
    @expose("/record-proof/<int:student_id>", methods=("GET", "POST"))
    def record_proof(self, student_id: int) -> t.Any:
        actor = current_actor()
        try:
            student = issuing.get_student(actor, student_id)
        except NotInScope:
            abort(404)
        record = issuing.graduated_record(student)
        form = RecordProofForm()
        if form.validate_on_submit():

            def request_proof() -> t.Any:
                req = record_proof.request_record_proof(student, actor, form.reason_text.data)
                file = form.loss_statement.data
                if file and getattr(file, "filename", None):
                    workflows.attach(req, "loss_statement", file, actor)
                return req

            ok, req = self._call(request_proof)
            if ok:
                flash(_("Request #%(id)s opened: the 学历证明书 is valid once the supervising authority approves it.", id=req.id),
                      "success")
                return redirect(url_for("requests.request_page", request_id=req.id))
        elif request.method == "POST":
            flash_form_errors(form)
        lost = issuing.active_certificate(student.id, DIPLOMA)
        return self.render("admin/certificate_record_proof.html", form=form, student=student, record=record, lost=lost,
                           may_request=record is not None and issuing.may_issue(actor, record.school))

    # --- a class -------------------------------------------------------------------------------
    def _schools(self) -> list[OrgUnit]:
        """Schools of the actor's scope that have a roster (for an official's choice)."""
        actor = current_actor()
        with_roster = exists().where(GraduationRecord.school_id == OrgUnit.id)  # ix_graduation_record_school_year
        return list(db.session.scalars(
            select(OrgUnit).where(OrgUnit.level == SCHOOL, scope.within(OrgUnit.path, actor.unit.path), with_roster)
            .order_by(OrgUnit.code).limit(SCHOOL_CHOICES_LIMIT)
        ))

    @expose("/class/")
    def class_page(self) -> t.Any:
        actor = current_actor()
        school_id = request.args.get("school_id") or (actor.unit_id if actor.unit.level == SCHOOL else None)
        if school_id is None:
            return self.render("admin/certificate_class.html", school=None, schools=self._schools(), year=None, years=[])
        school = self._school(school_id)
        years = batch.roster_years(school)
        year = self._year() or (years[0] if years else None)
        classes = batch.roster_classes(school, year) if year else []
        class_name = self._class_name(classes)
        records = batch.class_records(school, year, class_name) if year else []
        held = batch.held_certificates(records)
        due = batch.due_records(records, held)
        printable = len(batch.class_certificates(school, year, class_name)) if year else 0
        return self.render(
            "admin/certificate_class.html", school=school, schools=self._schools() if actor.unit.level != SCHOOL else [],
            year=year, years=years, classes=classes, class_name=class_name, grade_label=lambda g: codes.label("grade", g),
            records=records, held=held, due=due, printable=printable,
            may_issue=issuing.may_issue(actor, school), kind_for_outcome=kinds.KIND_FOR_OUTCOME,
            final_grade=kinds.FINAL_GRADE, outcome_labels=OUTCOME_LABELS, assessment_labels=ASSESSMENT_LABELS,
            kind_labels=kinds.KIND_LABELS, form=CertificateConfirmForm(formdata=None),
            jobs=batch.recent_jobs(actor), job_status_labels=JOB_STATUS_LABELS, inline_pages=batch.INLINE_PAGES,
        )

    def _class_name(self, classes: list[str]) -> str | None:
        """The chosen class of the roster (class_name), None for the whole roster; an unknown one: 404."""
        value = request.values.get("class_name", "").strip()
        if not value:
            return None
        if value not in classes:
            abort(404)
        return value

    def _back_to_class(self, school: OrgUnit, year: int | None, class_name: str | None = None) -> Response:
        return redirect(url_for(".class_page", school_id=school.id, year=year, class_name=class_name or None))

    @expose("/issue/<int:record_id>", methods=("POST",))
    def issue_one(self, record_id: int) -> Response:
        actor = current_actor()
        try:
            record = issuing.get_record(actor, record_id)
        except NotInScope:
            abort(404)
        if not CertificateConfirmForm().validate_on_submit():
            abort(400)
        ok, cert = self._call(lambda: issuing.issue(record, actor))
        if not ok:
            return self._back_to_class(record.school, record.year)
        flash(_("%(kind)s %(number)s issued to %(name)s.", kind=kinds.KIND_LABELS[cert.kind], number=cert.number,
                name=record.student.name), "success")
        return self._back_to_class(record.school, record.year)

    @expose("/class/issue", methods=("POST",))
    def issue_class(self) -> Response:
        school = self._school(request.form.get("school_id"))
        year = self._year()
        if year is None or not CertificateConfirmForm().validate_on_submit():
            abort(400)
        class_name = self._class_name(batch.roster_classes(school, year))
        ok, certs = self._call(lambda: batch.issue_class(school, year, current_actor(), class_name))
        if ok:
            if certs:
                flash(_("%(n)d certificates issued.", n=len(certs)), "success")
            else:
                flash(_("No certificate was due: every line of the roster has its certificate or entitles to none."), "info")
        return self._back_to_class(school, year, class_name)

    @expose("/class/print", methods=("POST",))
    def print_class(self) -> Response:
        school = self._school(request.form.get("school_id"))
        year = self._year()
        if year is None or not CertificateConfirmForm().validate_on_submit():
            abort(400)
        class_name = self._class_name(batch.roster_classes(school, year))
        ok, job = self._call(lambda: batch.start_class_print(school, year, current_actor(), verification.site_url(), class_name))
        if not ok:
            return self._back_to_class(school, year, class_name)
        return redirect(url_for(".job", job_id=job.id))

    # --- print jobs ---------------------------------------------------------------------------
    def _job(self, job_id: str) -> batch.PrintJob:
        try:
            return batch.get_job(current_actor(), job_id)
        except NotInScope:
            abort(404)

    @expose("/job/<job_id>")
    def job(self, job_id: str) -> str:
        job = self._job(job_id)
        return self.render("admin/certificate_job.html", job=job, progress=job.progress(), status_labels=JOB_STATUS_LABELS,
                           retry_form=CertificateConfirmForm(formdata=None))

    @expose("/job/<job_id>/retry", methods=("POST",))
    def job_retry(self, job_id: str) -> Response:
        """重试: the same user and scope as the print itself (else 404); only a failed job."""
        self._job(job_id)  # another user's job, or none: 404 before the form is even read
        if not CertificateConfirmForm().validate_on_submit():
            abort(400)
        self._call(lambda: batch.retry_job(current_actor(), job_id, verification.site_url()))
        return redirect(url_for(".job", job_id=job_id))

    @expose("/job/<job_id>.json")
    def job_json(self, job_id: str) -> Response:
        job = self._job(job_id)
        data: dict[str, t.Any] = job.progress()
        data["status_label"] = str(JOB_STATUS_LABELS.get(job.status, job.status))
        data["pdf_url"] = url_for(".job_pdf", job_id=job.id) if job.status == batch.JOB_DONE else None
        return jsonify(data)

    @expose("/job/<job_id>.pdf")
    def job_pdf(self, job_id: str) -> Response:
        job = self._job(job_id)
        try:
            path = batch.job_pdf(job)
        except NotInScope:
            abort(404)
        part = job.class_name or (_("Selected pupils") if job.cert_ids is not None else "")
        refused = gate("certificate_batch", detail=f"{job.school_name} {job.year} {part} {job.total}",
                       scope_text=f"{job.school_name} {job.year} 届{part}证书")
        if refused is not None:
            return refused
        name = "-".join(x for x in ("义务教育证书", job.school_name, str(job.year), job.class_name or "") if x)
        return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=f"{name}.pdf")


def register(admin: Admin) -> None:
    """Add this module's views to the admin."""
    admin.add_view(CertificateView(name=_l("Certificates"), endpoint="certificates", category="证书"))
