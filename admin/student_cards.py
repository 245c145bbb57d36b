"""学生学籍卡 on screen (issue 16, point 2): one pupil's card, and a class's or selected pupils' cards.

Every file passes the export gate (services/export_gate.py): `student_card_pdf` for one card,
`student_card_batch` for a batch. A school prints its own pupils' cards directly, without the
sensitive groups (the ID numbers masked, the addresses, the guardians' phones and ID numbers and
the health status withheld); the full card, and any card for a county or higher unit, goes through
an export request, whose file is made by replaying the GET view as the requester in the export
worker (the batch's GET view renders there, never during a user's request). A direct batch runs as
a task of the queue (services/student_card_batch.py) with a job page (progress, download, retry).

Every pupil, school and job is reached within the actor's scope (outside it: 404). Register with:

    admin.add_view(StudentCardView(name=_l("Record cards"), endpoint="student_cards", category=menu.PUPILS))
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from admin.base import SecureBaseView, attempt, current_actor
from admin.gate import gate
from extensions import db
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import codes, export_gate, scope, student_card_batch, student_cards
from services.certificates import verification
from services.errors import NotInScope

SINGLE, BATCH = "student_card_pdf", "student_card_batch"
SCHOOL_CHOICES_LIMIT = 500
SELECTED_LIMIT = student_card_batch.MAX_PUPILS
JOB_STATUS_LABELS = {
    student_card_batch.JOB_QUEUED: _l("Queued"),
    student_card_batch.JOB_RUNNING: _l("Printing"),
    student_card_batch.JOB_DONE: _l("Ready"),
    student_card_batch.JOB_FAILED: _l("Printing failed"),
}


class ConfirmForm(FlaskForm):
    """Only the CSRF token: starting or retrying a batch."""


def _asked() -> frozenset[str]:
    """The full card (?full=1) asks for every sensitive group: that leads to an export request."""
    return export_gate.ALL_GROUPS if request.args.get("full") else frozenset()


def _producing() -> bool:
    return g.get("export_request") is not None


def _ids(raw: str | None) -> list[int]:
    ids = [int(p) for p in (raw or "").split(",") if p.strip().isdigit()]
    return ids[:SELECTED_LIMIT]


def start_for_pupils(student_ids: t.Sequence[int]) -> Response:
    """The list action 学籍卡: a school's own pupils start a background batch; anything else is a request."""
    actor = current_actor()
    if not export_gate.decide(actor, BATCH).allowed:
        return redirect(url_for("student_cards.batch_pdf", ids=",".join(str(i) for i in student_ids)))
    done = attempt(lambda: student_card_batch.start_pupils(actor, student_ids, verification.site_url()))
    if not done.ok:
        return redirect(url_for("student.index_view"))
    return redirect(url_for("student_cards.job", job_id=done.value.id))


class StudentCardView(SecureBaseView):
    """学籍卡: one pupil's card, the classes of a school, and the batch jobs."""

    # --- one pupil ------------------------------------------------------------------------------------
    @expose("/<int:student_id>.pdf")
    def card_pdf(self, student_id: int) -> Response:
        actor = current_actor()
        try:
            student = student_cards.load_student(actor, student_id)
        except NotInScope:
            abort(404)
        refused = gate(SINGLE, groups=_asked(), detail=f"学生学籍卡（学生 #{student.id}）", scope_text=f"学生 {student.name} 的学籍卡")
        if refused is not None:
            return refused
        shown = export_gate.approved_groups()
        done = attempt(lambda: student_cards.print_card(actor, student, shown, verification.site_url()))
        if not done.ok:
            return redirect(url_for("student.details_view", id=student.id))
        data, doc = done.value
        return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    # --- a class ------------------------------------------------------------------------------------
    def _school(self, school_id: t.Any) -> OrgUnit:
        if not str(school_id or "").isdigit():
            abort(404)
        school = db.session.get(OrgUnit, int(school_id))
        if school is None or school.level != SCHOOL or not scope.covers(current_actor(), school.path):
            abort(404)
        return school

    def _schools(self) -> list[OrgUnit]:
        actor = current_actor()
        return list(
            db.session.scalars(
                select(OrgUnit)
                .where(OrgUnit.level == SCHOOL, scope.within(OrgUnit.path, actor.unit.path))
                .order_by(OrgUnit.code)
                .limit(SCHOOL_CHOICES_LIMIT)
            )
        )

    @expose("/")
    def index(self) -> t.Any:
        actor = current_actor()
        school_id = request.args.get("school_id") or (actor.unit_id if actor.unit.level == SCHOOL else None)
        if school_id is None:
            return self.render("admin/student_card_class.html", school=None, schools=self._schools(), classes=[])
        school = self._school(school_id)
        rows = db.session.execute(
            select(Student.grade, Student.class_name, func.count())
            .where(Student.school_id == school.id, Student.class_name.is_not(None))
            .group_by(Student.grade, Student.class_name)
            .order_by(Student.grade, Student.class_name)
        ).all()
        classes = [(grade, name, codes.label("grade", str(grade)), n) for grade, name, n in rows if name]
        direct = export_gate.decide(actor, BATCH).allowed
        return self.render(
            "admin/student_card_class.html", school=school, schools=[], classes=classes, direct=direct, form=ConfirmForm(formdata=None)
        )

    def _class_args(self) -> tuple[OrgUnit, int, str]:
        source = request.form if request.method == "POST" else request.args
        school = self._school(source.get("school_id"))
        grade, class_name = source.get("grade", ""), (source.get("class_name") or "").strip()
        if not grade.isdigit() or not class_name:
            abort(404)
        return school, int(grade), class_name

    @expose("/class/print", methods=("POST",))
    def print_class(self) -> Response:
        school, grade, class_name = self._class_args()
        if not ConfirmForm().validate_on_submit():
            abort(400)
        actor = current_actor()
        if not export_gate.decide(actor, BATCH).allowed:  # a county or higher unit: an export request
            return redirect(url_for(".batch_pdf", school_id=school.id, grade=grade, class_name=class_name))
        done = attempt(lambda: student_card_batch.start_class(actor, school, grade, class_name, verification.site_url()))
        if not done.ok:
            return redirect(url_for(".index", school_id=school.id))
        return redirect(url_for(".job", job_id=done.value.id))

    @expose("/batch.pdf")
    def batch_pdf(self) -> Response:
        """A batch as the export gate lets it go: the request form, or (replayed by the export worker for
        an approved request) the PDF itself. A direct batch is a background job, never rendered here."""
        actor = current_actor()
        ids = _ids(request.args.get("ids"))
        if ids:
            pupils = student_cards.scoped_students(actor, ids)
            if len(pupils) != len(set(ids)):
                abort(404)
            title = str(_l("%(n)d selected pupils", n=len(pupils)))
            back = url_for("student.index_view")
        else:
            school, grade, class_name = self._class_args()
            pupils = student_card_batch.class_pupils(actor, school, grade, class_name)
            title = student_card_batch.class_title(school, grade, class_name)
            back = url_for(".index", school_id=school.id)
        if export_gate.decide(actor, BATCH, _asked()).allowed and not _producing():
            flash(_("Print the record cards with the button: they are made in the background."), "info")
            return redirect(back)
        refused = gate(BATCH, groups=_asked(), detail=f"学生学籍卡 {title} {len(pupils)} 张"[:300], scope_text=f"{title} 学籍卡")
        if refused is not None:
            return refused
        shown = export_gate.approved_groups()

        def render() -> bytes:
            numbers: list[str] = []
            data = student_card_batch.render_batch(actor, pupils, sorted(shown), verification.site_url(), numbers=numbers)
            student_card_batch.audit_batch(actor, title, pupils, sorted(shown), numbers)
            return data

        done = attempt(render)
        if not done.ok:
            return redirect(back)
        return Response(done.value, mimetype="application/pdf", headers={"Content-Disposition": "attachment; filename=student-cards.pdf"})

    # --- jobs ---------------------------------------------------------------------------------------
    def _job(self, job_id: str) -> student_card_batch.CardJob:
        try:
            return student_card_batch.get_job(current_actor(), job_id)
        except NotInScope:
            abort(404)

    @expose("/job/<job_id>")
    def job(self, job_id: str) -> str:
        job = self._job(job_id)
        return self.render(
            "admin/student_card_job.html",
            job=job,
            progress=job.progress(),
            status_labels=JOB_STATUS_LABELS,
            retry_form=ConfirmForm(formdata=None),
        )

    @expose("/job/<job_id>.json")
    def job_json(self, job_id: str) -> Response:
        job = self._job(job_id)
        data: dict[str, t.Any] = job.progress()
        data["status_label"] = str(JOB_STATUS_LABELS.get(job.status, job.status))
        data["pdf_url"] = url_for(".job_pdf", job_id=job.id) if job.status == student_card_batch.JOB_DONE else None
        return jsonify(data)

    @expose("/job/<job_id>/retry", methods=("POST",))
    def job_retry(self, job_id: str) -> Response:
        self._job(job_id)  # another user's job, or none: 404 before the form is read
        if not ConfirmForm().validate_on_submit():
            abort(400)
        attempt(lambda: student_card_batch.retry_job(current_actor(), job_id, verification.site_url()))
        return redirect(url_for(".job", job_id=job_id))

    @expose("/job/<job_id>.pdf")
    def job_pdf(self, job_id: str) -> Response:
        job = self._job(job_id)
        try:
            path = student_card_batch.job_pdf(job)
        except NotInScope:
            abort(404)
        refused = gate(BATCH, groups=job.groups, detail=f"学生学籍卡 {job.title} {job.total} 张"[:300], scope_text=f"{job.title} 学籍卡")
        if refused is not None:
            return refused
        return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=f"学生学籍卡-{job.title}.pdf")
