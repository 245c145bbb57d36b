"""The archive tabs of the pupil's page (学籍档案, 第八条) and the backups of pupils who left (第十条).

Every handler loads through services/archive.py, which applies the scope rule: outside it the
answer is 404; inside it but not the holding school, adding or correcting is 403. Downloads and
exports are audited. Register with:

    admin.add_view(ArchiveView(name=_l("Archive backups"), endpoint="archive"))
"""

from __future__ import annotations

import io
import typing as t
from types import SimpleNamespace

from flask import Response, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin.base import SecureBaseView, attempt, current_actor, flash_problems
from admin.gate import gate
from extensions import db
from forms.archive import add_form, edit_form
from models.archive import ArchiveBackup, ArchiveDocument
from models.student import Student
from services import archive, audit, uploads
from services.errors import NotInScope, RuleViolation
from services.ids import mask_xjh

BACKUPS_PER_PAGE = 50
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def details_context(student: Student) -> dict[str, t.Any]:
    """What templates/admin/student_details.html needs for the archive tabs (the student is in scope).

    Empty while ArchiveView is not registered: the page then shows the basic data only.
    """
    if "archive" not in current_app.blueprints:
        return {}
    actor = current_actor()
    editable = archive.can_edit(actor, student)
    tabs = []
    for code, rows in archive.entries(student).items():
        sect = archive.SECTIONS[code]
        tabs.append(SimpleNamespace(
            code=code, label=sect.label, headers=[c.label for c in sect.columns],
            rows=[SimpleNamespace(
                id=row.id, cells=[archive.text_of(c.get(row)) for c in sect.columns],
                download=url_for("archive.document_view", doc_id=row.id) if isinstance(row, ArchiveDocument) else None,
                edit=url_for("archive.edit_entry", student_id=student.id, section=code, entry_id=row.id) if editable else None,
            ) for row in rows],
            form=add_form(code) if editable else None,  # its CSRF token; the fields are blank_fields'
            fields=blank_fields(code) if editable else None,
        ))
    return {
        "archive_tabs": tabs,
        "archive_can_edit": editable,
        "archive_missing": [archive.MISSING_LABELS[m] for m in archive.missing_sections(student)],
    }


_BLANK: dict[tuple[str, str], Markup] = {}


def blank_fields(code: str) -> Markup:
    """The fields of a section's empty add form, rendered once per language and worker.

    A pupil's page shows six such forms; WTForms took ~10 ms a page to render their ~20 fields,
    whose markup depends on the section and the language alone (an empty form has no value and no
    error; its CSRF token is rendered apart, per request)."""
    key = (code, str(get_locale()))
    html = _BLANK.get(key)
    if html is None:
        html = _BLANK[key] = Markup(render_template("admin/_archive_form_fields.html", form=add_form(code, formdata=None)))
    return html


def _labels(code: str) -> dict[str, t.Any]:
    """The section's field labels, for the problems a refusal names by field."""
    return {"file": _("File"), **{f.name: f.label for f in archive.SECTIONS[code].fields}}


def _form_problems(form: t.Any) -> list[tuple[str, str]]:
    prefix = form._prefix
    return [(name.removeprefix(prefix), str(m)) for name, messages in form.errors.items() for m in messages]


class ArchiveView(SecureBaseView):
    """学籍档案: add and correct entries (holding school), download evidence, export, backups."""

    def _student(self, student_id: int) -> Student:
        try:
            return archive.load_student(current_actor(), student_id)
        except NotInScope:
            abort(404)

    def _section(self, code: str) -> archive.Section:
        try:
            return archive.section(code)
        except NotInScope:
            abort(404)

    @staticmethod
    def _back(student_id: int, code: str | None = None) -> Response:
        anchor = f"archive-{code}" if code else None
        return redirect(url_for("student.details_view", id=student_id, _anchor=anchor))

    # --- the backups of pupils who left (第十条) -----------------------------------------
    @expose("/")
    def index(self) -> Response:
        return redirect(url_for(".backups"))

    @expose("/backups")
    def backups(self) -> str:
        actor = current_actor()
        page = max(request.args.get("page", 0, type=int), 0)
        rows = db.session.scalars(
            select(ArchiveBackup).where(archive.backups_filter(actor))
            .options(selectinload(ArchiveBackup.student), selectinload(ArchiveBackup.from_school))
            .order_by(ArchiveBackup.id.desc()).offset(page * BACKUPS_PER_PAGE).limit(BACKUPS_PER_PAGE + 1)
        ).all()
        return self.render("admin/archive_backups.html", rows=rows[:BACKUPS_PER_PAGE], page=page,
                           has_next=len(rows) > BACKUPS_PER_PAGE, mask_xjh=mask_xjh)

    @expose("/backup/<int:backup_id>/<fmt>")
    def backup_download(self, backup_id: int, fmt: str) -> Response:
        try:
            archive.load_backup(current_actor(), backup_id)  # out of scope: 404 before any request form
        except NotInScope:
            abort(404)
        refused = gate("archive_backup", detail=f"档案备份 #{backup_id} {fmt.upper()}", scope_text=f"档案备份 #{backup_id}")
        if refused is not None:
            return refused
        done = attempt(lambda: archive.backup_file(current_actor(), backup_id, fmt))  # audited; out of scope: 404
        if not done.ok:
            return redirect(url_for(".backups"))
        file = done.value
        return send_file(file.path, mimetype=file.mimetype, as_attachment=True, download_name=file.download_name)

    # --- adding and correcting (the holding school) --------------------------------------
    @expose("/<int:student_id>/<section>/add", methods=("POST",))
    def add_entry(self, student_id: int, section: str) -> Response:
        actor = current_actor()
        student = self._student(student_id)
        sect = self._section(section)
        if not archive.can_edit(actor, student):
            abort(403)
        form = add_form(section)
        if not form.validate_on_submit():
            flash_problems(_form_problems(form), _labels(section))
            return self._back(student_id, section)

        def add() -> t.Any:
            if sect.model is ArchiveDocument:
                if not form.file.data:
                    raise RuleViolation([("file", _("Choose a file."))])
                return archive.add_document(student, actor, form.kind.data, form.file.data, form.note.data)
            return archive.add_entry(student, actor, section, {f.name: form[f.name].data for f in sect.fields})

        attempt(add, _("Added to the archive."), labels=_labels(section))
        return self._back(student_id, section)

    @expose("/<int:student_id>/<section>/<int:entry_id>/edit", methods=("GET", "POST"))
    def edit_entry(self, student_id: int, section: str, entry_id: int) -> t.Any:
        actor = current_actor()
        sect = self._section(section)
        try:
            row = archive.load_entry(actor, section, entry_id)
        except NotInScope:
            abort(404)
        if row.student_id != student_id:
            abort(404)
        if not archive.can_edit(actor, row.student):
            abort(403)
        form = edit_form(section, obj=row)
        if form.validate_on_submit():
            if attempt(lambda: archive.edit_entry(row, actor, {f.name: form[f.name].data for f in sect.fields}),
                       _("The archive entry was corrected."), labels=_labels(section)).ok:
                return self._back(student_id, section)
        elif request.method == "POST":
            flash_problems(_form_problems(form), _labels(section))
        return self.render("admin/archive_edit.html", form=form, section=sect, student=row.student, row=row)

    # --- reading: evidence files and exports (everyone in scope, audited) ------------------
    @expose("/document/<int:doc_id>")
    def document_view(self, doc_id: int) -> Response:
        actor = current_actor()
        try:
            doc = archive.load_document(actor, doc_id)
        except NotInScope:
            abort(404)
        if not attempt(lambda: audit.record(actor, "archive.document.view", "archive_document", doc.id, doc.filename)).ok:
            return self._back(doc.student_id)
        return send_file(uploads.path_of(doc.sha256), mimetype=doc.content_type, as_attachment=True, download_name=doc.filename)

    @expose("/<int:student_id>/export.xlsx")
    def export_xlsx(self, student_id: int) -> Response:
        student = self._student(student_id)
        refused = gate("archive_export", detail=f"学籍档案 Excel（学生 #{student.id}）", scope_text=f"学生 {student.name} 的学籍档案")
        if refused is not None:
            return refused
        done = attempt(lambda: archive.export_xlsx(student, current_actor()))  # audited
        if not done.ok:
            return self._back(student_id)
        data = done.value
        name = f"学籍档案_{student.xjh or student.id}.xlsx"
        return send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)

    @expose("/<int:student_id>/export.pdf")
    def export_pdf(self, student_id: int) -> Response:
        student = self._student(student_id)
        refused = gate("archive_export", detail=f"学籍档案 PDF（学生 #{student.id}）", scope_text=f"学生 {student.name} 的学籍档案")
        if refused is not None:
            return refused
        done = attempt(lambda: archive.export_pdf(student, current_actor()))  # numbers the document
        if not done.ok:
            return self._back(student_id)
        data, doc = done.value
        return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})
