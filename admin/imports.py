"""Excel import of new pupils: template download, upload, progress and error report.

School users import into their own school; officials choose a school of their scope. A school
outside the scope, or a job of someone else, answers 404. The work is done by services/imports/.
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField

from admin.base import SecureBaseView, attempt, current_actor
from extensions import db
from models.imports import DONE, FAILED, QUEUED, VALIDATING, WRITING, ImportJob
from models.org import OrgUnit
from services import exports, uploads
from services.errors import NotInScope
from services.imports import columns, jobs, report, template

STATUS_LABELS = {
    QUEUED: _l("Waiting for the background worker"), VALIDATING: _l("Checking the rows"), WRITING: _l("Writing the records"),
    DONE: _l("Imported"), FAILED: _l("Not imported"),
}
# What is happening and what to do next, under the progress bar (the poller updates it too).
STATUS_HINTS = {
    QUEUED: _l("The file is stored and waits for the background worker. You may leave this page: the import goes on "
               "and is listed under “My recent imports”. If it is still waiting after several minutes, the background "
               "worker is probably not running: tell the administrator."),
    VALIDATING: _l("Every row is being checked (ID number, codes, dates, duplicates). Nothing has been written yet."),
    WRITING: _l("All rows are correct; the records are being written, all together. If this is interrupted, nothing is kept."),
    DONE: _l("The import is finished."),
    FAILED: _l("Nothing was imported. What to do next is said below."),
}
TEMPLATE_NAME = "学生基本信息导入模板.xlsx"


class ImportForm(FlaskForm):
    school = HiddenField()
    file = FileField(_l("Excel file (.xlsx, at most 10 MB and 20,000 rows)"),
                     validators=[FileRequired(_l("Choose the file to upload."))])


class ImportView(SecureBaseView):
    """导入学生: the national template, all-or-nothing, with a row-by-row error report."""

    def _school(self, code: str | None) -> OrgUnit | None:
        try:
            return jobs.school_for(current_actor(), code)
        except NotInScope:
            abort(404)

    def _job(self, job_id: int) -> ImportJob:
        try:
            return jobs.get_job(current_actor(), job_id)
        except NotInScope:
            abort(404)

    def _page(self, form: ImportForm, school: OrgUnit | None, status: int = 200) -> tuple[str, int]:
        actor = current_actor()
        schools = [] if actor.unit.level == "school" else jobs.schools_in_scope(actor)
        recent = db.session.scalars(
            select(ImportJob).where(ImportJob.user_id == actor.id).order_by(ImportJob.id.desc()).limit(10)
        ).all()
        return self.render(
            "admin/import.html", form=form, school=school, schools=schools, recent=recent,
            status_labels=STATUS_LABELS, max_rows=columns.MAX_ROWS, inline_rows=jobs.INLINE_ROWS,
        ), status

    @expose("/")
    def index(self):
        school = self._school(request.args.get("school"))
        return self._page(ImportForm(school=school.code if school else ""), school)

    @expose("/template.xlsx")
    def template(self) -> Response:
        return Response(template.template_xlsx(), mimetype=exports.XLSX_MIMETYPE,
                        headers={"Content-Disposition": exports.content_disposition(TEMPLATE_NAME)})

    @expose("/upload", methods=("POST",))
    def upload(self):
        form = ImportForm()
        school = self._school(form.school.data)  # another school, or one out of scope: 404
        if school is None:
            flash(_("Choose the school to import into."), "error")
            return redirect(url_for(".index"))
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for message in errors:
                    flash(str(message), "error")
            return self._page(form, school, 400)
        upload = form.file.data
        name = uploads.clean_filename(upload.filename)  # each refusal of the file is said with its name
        done = attempt(lambda: jobs.submit_upload(current_actor(), school, upload.filename, upload.stream),
                       labels={"file": name, "school": name, "": name})
        if not done.ok:
            return self._page(form, school, 400)
        return redirect(url_for(".job", job_id=done.value.id))

    @expose("/job/<int:job_id>")
    def job(self, job_id: int):
        job = self._job(job_id)
        errors = report.read_error_report(job.errors_sha256) if job.errors_sha256 else []
        return self.render("admin/import_job.html", job=job, progress=jobs.progress_of(job), errors=errors,
                           status_labels=STATUS_LABELS, status_hints=STATUS_HINTS)

    @expose("/job/<int:job_id>.json")
    def job_json(self, job_id: int) -> Response:
        job = self._job(job_id)
        data: dict[str, t.Any] = jobs.progress_of(job)
        data["status_label"] = str(STATUS_LABELS.get(data["status"], data["status"]))
        data["status_hint"] = str(STATUS_HINTS.get(data["status"], ""))
        data["errors_url"] = url_for(".job_errors", job_id=job.id) if job.errors_sha256 else None
        return jsonify(data)

    @expose("/job/<int:job_id>/retry", methods=("POST",))
    def job_retry(self, job_id: int):
        """重试: a job whose worker stopped is queued again from its stored file (CSRF: the app's
        CSRFProtect; another user's job, or one out of scope: 404)."""
        attempt(lambda: jobs.retry(current_actor(), job_id), _("The import was queued again."))
        return redirect(url_for(".job", job_id=job_id))

    @expose("/job/<int:job_id>/errors.xlsx")
    def job_errors(self, job_id: int) -> Response:
        job = self._job(job_id)
        if not job.errors_sha256 or not uploads.path_of(job.errors_sha256).exists():
            abort(404)
        return send_file(uploads.path_of(job.errors_sha256), mimetype=exports.XLSX_MIMETYPE, as_attachment=True,
                         download_name=f"导入错误报告-{job.id}.xlsx")
