"""The pupil's photo on screen: shown on the details page, uploaded one at a time by the school that
holds the record, or many at once as a ZIP named by ID number or 学籍号 (services/photo_batch.py).

Register with:

    admin.add_view(PhotoView(name=_l("Photo batch upload"), endpoint="photos", category=menu.PUPILS))
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import SecureBaseView, attempt, current_actor, flash_problems
from admin.status import row_id
from extensions import db
from models.photo import PupilPhoto
from models.student import Student
from services import export_gate, photo_batch, photos, uploads
from services.errors import NotInScope, RuleViolation

# A ZIP of a whole grade is larger than one evidence file; the photos inside are limited one by one.
MAX_ZIP_BYTES = photo_batch.MAX_ZIP_BYTES


def details_context(student: Student) -> dict[str, t.Any]:
    """What templates/admin/student_details.html shows of the photo (the pupil is in scope)."""
    shown = photos.history(student.id)
    return {
        "photo": shown[0] if shown else None,
        "photo_versions": len(shown),
        "photo_editable": photos.may_set(current_actor(), student),
        "photo_size": (photos.WIDTH, photos.HEIGHT),
    }


class PhotoView(SecureBaseView):
    """学生照片: the image itself (scoped), a single upload, and the batch upload of a school."""

    def is_visible(self) -> bool:
        return bool(current_actor().is_school_user)  # the batch page is the school's; photos show on the pupil's page

    def _student(self, student_id: int) -> Student:
        try:
            return photos.load_for_reading(current_actor(), row_id(student_id))
        except NotInScope:
            abort(404)

    @expose("/<int:student_id>/photo.jpg")
    @expose("/<int:student_id>/photo/<int:photo_id>.jpg")
    def photo_view(self, student_id: int, photo_id: int | None = None) -> Response:
        student = self._student(student_id)
        photo = photos.current(student.id) if photo_id is None else db.session.get(PupilPhoto, row_id(photo_id))
        if photo is None or photo.student_id != student.id:
            abort(404)
        path = uploads.path_of(photo.sha256)
        if not path.is_file():
            abort(404)
        # A minor's photo is personal data: the gate's kind pupil_photo (IN_SCOPE: business users
        # whose scope covers the pupil), never kept by a shared cache. An inline image is no "file"
        # to the gate's after_request guard, so the decision is asked here, as for evidence thumbnails.
        decision = export_gate.decide(current_actor(), "pupil_photo")
        if not decision.allowed:
            return export_gate.refusal(current_actor(), "pupil_photo", decision.reason)
        export_gate.mark_passed("pupil_photo")
        resp = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False, etag=False)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp

    @expose("/<int:student_id>/upload", methods=("POST",))
    def upload(self, student_id: int) -> Response:
        student = self._student(student_id)
        upload = request.files.get("photo")
        if upload is None or not upload.filename:
            flash(_("Choose a photo file (JPEG or PNG) first."), "error")
            return self._back(student.id)
        data = upload.stream.read(photos.MAX_PHOTO_BYTES + 1)
        attempt(lambda: photos.set_photo(current_actor(), student, data, upload.filename or "", commit=False),
                _("The photo was saved. The previous one stays in the record's history."))
        return self._back(student.id)

    @staticmethod
    def _back(student_id: int) -> Response:
        return redirect(url_for("student.details_view", id=student_id, _anchor="pupil-photo"))

    @expose("/", methods=("GET", "POST"))
    def index(self) -> t.Any:
        actor = current_actor()
        if not actor.is_school_user:
            abort(404)
        report = None
        if request.method == "POST":
            upload = request.files.get("archive")
            if upload is None or not upload.filename:
                flash(_("Choose a ZIP file first."), "error")
            else:
                try:
                    report = photo_batch.import_zip(actor, upload.stream, upload.filename)
                except RuleViolation as exc:
                    db.session.rollback()
                    flash_problems(exc.problems)
                else:
                    flash(_("%(ok)d photos saved, %(bad)d files not used: see the report below.",
                            ok=report.saved, bad=report.failed), "success" if not report.failed else "warning")
        return self.render("admin/photo_batch.html", report=report, max_files=photo_batch.MAX_FILES,
                           max_mb=MAX_ZIP_BYTES // (1024 * 1024), photo_mb=photos.MAX_PHOTO_BYTES // (1024 * 1024))
