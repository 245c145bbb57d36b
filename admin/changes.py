"""Change requests: queues per level, the request page with its decisions, starting a transfer,
evidence files and printed forms. Every handler calls a service; the services check the actor."""

from __future__ import annotations

import typing as t
from datetime import date, datetime

from flask import Response, abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from admin.base import ScopedModelView, attempt, current_actor, flash_problems, refusals, run_command
from admin.gate import gate
from admin.masked_ids import masked_id, reveal_script
from admin.status import open_request_page, row_id, scoped_pupil
from changes import departures, enrollment, transfer
from extensions import db
from forms.changes import (
    AttachForm,
    ConfirmForm,
    CorrectionForm,
    DecisionForm,
    DelayForm,
    IdentifiedPupilForm,
    OutOfProvinceForm,
    PupilLookupForm,
    ReasonForm,
    TransferStartForm,
)
from models.changes import OPEN_STATUSES, ApprovalStep, Attachment, ChangeRequest
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import arrivals, codes, documents, enrollment_records, export_gate, family_letter, pupil_identity, uploads, workflows
from services.change_codes import CORRECTION
from services.commands import Command
from services.commands import requests as request_commands
from services.errors import NotInScope, RuleViolation
from services.ids import mask_id, mask_xjh
from services.labels import DECISION_LABELS, FIELD_LABELS, STEP_ROLE_LABELS, zh

STATUS_LABELS = {
    "pending": _l("Waiting for approval"), "approved": _l("Approved, waiting to report"), "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"), "completed": _l("Completed"),
}
QUEUE_LABELS = {
    "waiting": _l("Waiting for me"), "overdue": _l("Overdue"), "decided": _l("Decided by me"),
    "requested": _l("Requested by my unit"), "all": _l("All in my scope"),
}
QUEUE_EMPTY = {
    "waiting": _l("Nothing to do. New requests appear here once they are submitted."),
    "overdue": _l("No request is overdue."),
    "decided": _l("You have not decided any request yet."),
    "requested": _l("Your unit has not started any request. Start a transfer or a status change with the buttons above."),
    "all": _l("No request in your area yet. Requests appear here once they are submitted."),
}
YES_NO_FIELDS = ("only_child", "preschool", "migrant_child", "orphan")


def _when(moment: datetime | date | None) -> str:
    """A moment as people read it (no seconds, no microseconds); empty when there is none."""
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else moment.isoformat()


def backup_rows(backup: dict | None) -> list[tuple[str, str]]:
    """The archive backup kept for the sending school (第十条), as (label, value) in words: the
    items of the record by their names, codes by their labels, yes/no as 是/否, the school by name.
    Internal columns (row ids, scope paths, timestamps) are left out."""
    from admin.students import CODED_COLUMNS

    rows = []
    for key, value in (backup or {}).items():
        if key not in FIELD_LABELS or key in ("guardians", "school"):
            continue
        if value in (None, ""):
            shown = ""
        elif key == "school_id":
            unit = db.session.get(OrgUnit, int(value)) if str(value).isdigit() else None
            shown = unit.name if unit is not None else ""
        elif key in YES_NO_FIELDS:
            shown = _("Yes") if str(value) in ("1", "True", "true") else _("No")
        elif key in CODED_COLUMNS:
            shown = codes.label(CODED_COLUMNS[key], str(value))
        elif key == "id_number":  # masked on screen (issue 13, point 4); the pupil's page reveals it
            shown = mask_id(str(value))
        elif key == "xjh":  # a G-学籍号 contains the ID number
            shown = mask_xjh(str(value))
        else:
            shown = str(value)
        rows.append((str(FIELD_LABELS[key]), shown))
    return rows


def _type_label(code: str) -> str:
    ctype = workflows.TYPES.get(code)
    return str(ctype.label) if ctype else code


def _days_left_markup(step: ApprovalStep | None) -> Markup:
    if step is None:
        return Markup("")
    left = workflows.days_left(step)
    if left is None:
        return Markup("")
    n, estimated = left
    mark = "*" if estimated else ""
    if n < 0:
        return Markup('<span class="badge badge-danger overdue-mark">{}</span>').format(_("Overdue %(n)d working days", n=-n) + mark)
    return Markup('<span class="badge badge-{}">{}</span>').format(
        "warning" if n <= 2 else "info", _("%(n)d working days left", n=n) + mark
    )


def _late_markup(req: ChangeRequest) -> Markup:
    """The filing school's own lateness (a death reported after 第二十一条's 10 working days)."""
    late = departures.filed_late(req)
    if not late:
        return Markup("")
    return Markup('<span class="badge badge-danger school-late">{}</span>').format(
        _("School reported %(n)d working days late", n=late))


def _current(v: t.Any, c: t.Any, m: ChangeRequest, n: str) -> Markup:
    step = m.current_step
    if step is None:
        return _late_markup(m)
    return Markup("{}：{}<br>{}{}").format(STEP_ROLE_LABELS.get(step.role, step.role), step.unit.name, _days_left_markup(step),
                                          _late_markup(m))


# A request about a school rather than one pupil (student None, e.g. the graduation roster) links to
# the page of what it concerns: type code → request → (link text, URL), registered by the type's screens.
SUBJECT_PAGES: dict[str, t.Callable[[ChangeRequest], tuple[str, str]]] = {}


def subject_page(req: ChangeRequest) -> tuple[str, str] | None:
    page = SUBJECT_PAGES.get(req.type)
    return page(req) if page is not None and req.student is None else None


def _student_link(v: t.Any, c: t.Any, m: ChangeRequest, n: str) -> Markup:
    url = url_for("requests.request_page", request_id=m.id)
    if m.student is not None:
        return Markup('<a href="{}">{}</a>').format(url, m.student.name)
    link = Markup('<a href="{}">{}</a>').format(url, m.from_school.name if m.from_school else f"#{m.id}")
    page = subject_page(m)
    if page is None:
        return link
    return link + Markup(' · <a class="small" href="{}">{}</a>').format(page[1], page[0])


def _with_id_buttons(req: ChangeRequest, rows: list[tuple[t.Any, t.Any]]) -> list[tuple[t.Any, t.Any]]:
    """A correction of the ID number shows both numbers masked, each with its audited 显示 button
    (admin/masked_ids.py): who decides can see what they approve, and the view is recorded."""
    changes = (req.payload or {}).get("changes") if req.type == CORRECTION else None
    if not isinstance(changes, dict) or not changes.get("id_number") or req.student is None:
        return rows
    label = str(FIELD_LABELS["id_number"])
    proposed = masked_id(str(changes["id_number"]), req.student.id, f"request:{req.id}")
    old = enrollment.correction_before(req).get("id_number")
    shown = Markup("{} → {}").format(masked_id(str(old), req.student.id), proposed) if old else proposed
    return [(lbl, shown if str(lbl) == label else value) for lbl, value in rows]


IMAGE_TYPES = ("image/jpeg", "image/png")  # shown as thumbnails on the request page; a PDF is a link


def _size_text(size: int | None) -> str:
    if not size:
        return ""
    return f"{-(-size // 1024)} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"  # a small file: 1 KB, not 0


def evidence_rows(req: ChangeRequest, missing: list[t.Any]) -> list[dict[str, t.Any]]:
    """The request's evidence for its summary box: each material the type declares that is required
    here or has a file, with its files (an image as a thumbnail, a PDF as its name and size), all
    through the scoped attachment route (the export gate's kind `evidence_file`)."""
    rows = []
    for material in workflows.type_of(req).materials:
        files = [a for a in req.attachments if a.material == material.code]
        if not files and not material.required(req):
            continue
        rows.append({
            "label": str(material.label), "missing": material in missing,
            "files": [{"name": a.filename, "size": _size_text(a.size), "image": a.content_type in IMAGE_TYPES,
                       "kind": "PDF" if a.content_type == "application/pdf" else a.filename.rsplit(".", 1)[-1].upper(),
                       "url": url_for(".attachment_view", attachment_id=a.id),
                       "preview": url_for(".attachment_view", attachment_id=a.id, preview=1)} for a in files],
        })
    return rows


def next_words(req: ChangeRequest, step: ApprovalStep | None, can: dict[str, bool], missing: list[t.Any]) -> list[str]:
    """What the current user can do now, in words: the first line says whether anything is theirs to do."""
    if req.status not in OPEN_STATUSES:
        return [_("This request is finished (%(status)s); nothing is left to do.", status=STATUS_LABELS.get(req.status, ""))]
    names = "、".join(str(m.label) for m in missing)
    words: list[str] = []
    if step is not None and can.get("can_decide"):
        words.append(_("You can: approve or reject this step (step %(n)d: %(party)s).", n=step.seq,
                       party=STEP_ROLE_LABELS.get(step.role, "")))
        if missing and step.seq == 1:
            words.append(_("Before step 1 is approved these materials must be added: %(names)s.", names=names))
    elif step is not None and can.get("can_force"):
        words.append(_("You can: decide this overdue step on behalf of %(unit)s (强制干预).", unit=step.unit.name))
    elif can.get("can_report"):
        words.append(_("You can: confirm that the pupil has reported at your school."))
    elif step is not None:
        words.append(_("Waiting for %(unit)s (step %(n)d: %(party)s); nothing to do for you.", unit=step.unit.name,
                       n=step.seq, party=STEP_ROLE_LABELS.get(step.role, "")))
    elif req.to_school is not None:
        words.append(_("Waiting for the pupil to report at %(school)s; nothing to do for you.", school=req.to_school.name))
    if can.get("can_provisional"):
        words.append(_("You can: admit the pupil provisionally (第十五条)."))
    if missing and can.get("can_attach"):
        words.append(_("You can: add the missing materials: %(names)s.", names=names))
    if can.get("can_withdraw"):
        words.append(_("You can also withdraw this request."))
    return words


class ChangeRequestView(ScopedModelView):
    """学籍变动: the queues of every level over one list of requests."""

    always_count = True

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    list_template = "admin/changes_list.html"
    column_list = ("id", "type", "student", "from_school", "to_school", "status", "current", "created_at")
    column_labels = {
        "id": _l("No."), "type": _l("Change"), "student": _l("Pupil"), "from_school": _l("From"), "to_school": _l("To"),
        "status": _l("Request status"), "current": _l("Current step"), "created_at": _l("Requested at"),
    }
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "created_at")
    column_formatters = {
        "id": lambda v, c, m, n: Markup('<a href="{}">#{}</a>').format(url_for("requests.request_page", request_id=m.id), m.id),
        "type": lambda v, c, m, n: _type_label(m.type),
        "student": _student_link,
        "from_school": lambda v, c, m, n: m.from_school.name if m.from_school else (m.external_school or ""),
        "to_school": lambda v, c, m, n: m.to_school.name if m.to_school else (m.external_school or ""),
        "status": lambda v, c, m, n: str(STATUS_LABELS.get(m.status, m.status)),
        "current": _current,
    }

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        self.column_filters = (
            FilterEqual(ChangeRequest.type, _l("Change"), options=lambda: [(k, str(v.label)) for k, v in workflows.TYPES.items()]),
            FilterEqual(ChangeRequest.status, _l("Request status"), options=lambda: [(k, str(v)) for k, v in STATUS_LABELS.items()]),
            DateTimeBetweenFilter(ChangeRequest.finished_at, _l("Finished")),  # the dashboard's months link here
        )
        super().__init__(ChangeRequest, *args, **kwargs)

    def get_empty_list_message(self) -> t.Any:
        """An empty queue says why it is empty and what fills it (issue 14, point 8)."""
        if self.why_the_page_is_empty() is not None:
            return super().get_empty_list_message()
        return QUEUE_EMPTY.get(request.args.get("queue", "all"), QUEUE_EMPTY["all"])

    def get_query(self) -> t.Any:
        # Every row shows its current step (workflows.days_left): the steps of the page's twenty
        # requests in one query, not one lazy load a row.
        return super().get_query().options(selectinload(ChangeRequest.steps))

    # The scope of a request is either end (or the township central school), then the chosen queue.
    def scope_filter(self) -> t.Any:
        actor = current_actor()
        queue = request.args.get("queue", "all")
        base = workflows.visible_filter(actor)
        if queue in workflows.QUEUES and queue != "all":
            return db.and_(base, workflows.queue_filter(actor, queue))
        return base


    def render(self, template: str, **kwargs: t.Any) -> str:
        kwargs.setdefault("queue", request.args.get("queue", "all"))
        kwargs.setdefault("queue_labels", QUEUE_LABELS)
        return super().render(template, **kwargs)

    def get_url(self, endpoint: str, **kwargs: t.Any) -> str:
        # Keep the chosen queue across paging, sorting and filtering.
        if endpoint == ".index_view" and "queue" not in kwargs and request.args.get("queue"):
            kwargs["queue"] = request.args["queue"]
        return super().get_url(endpoint, **kwargs)

    @action("approve", _l("Approve"), _l("Approve the current step of the selected requests?"))
    def action_approve(self, ids: list[str]) -> None:
        actor = current_actor()
        done = 0
        for req in self.scoped_ids(ids):
            if not workflows.type_of(req).batch_approvable:
                message = _("%(type)s #%(id)s cannot be approved in a batch; open it and decide.", type=_type_label(req.type), id=req.id)
                flash(message, "error")
                continue
            step = req.current_step
            refused = request_commands.DECIDE.allowed(actor, req)
            if refused or step is None:
                flash(f"#{req.id}: {refused}", "error")
                continue
            if attempt(lambda: request_commands.DECIDE.run(actor, req, step_id=step.id, approve=True),  # noqa: B023
                       labels={"": f"#{req.id}"}).ok:
                done += 1
        if done:
            flash(_("%(n)d requests approved.", n=done), "success")

    # --- the request page ------------------------------------------------------------
    def _load(self, request_id: int) -> ChangeRequest:
        try:
            return workflows.get_visible(current_actor(), row_id(request_id))
        except NotInScope:
            abort(404)

    @expose("/<int:request_id>/")
    def request_page(self, request_id: int) -> str:
        actor = current_actor()
        req = self._load(request_id)
        ctype = workflows.type_of(req)
        step = req.current_step
        decision_form = DecisionForm(step_id=step.id if step else 0)
        attach_form = AttachForm()
        attach_form.material.choices = [(m.code, str(m.label)) for m in ctype.materials]
        fallback = arrivals.fallback_opens_on(req) if req.type == transfer.TRANSFER else None
        # The buttons ask the commands (services/commands/requests.py), the same checks the handlers run.
        refused = refusals(request_commands.REQUEST_PAGE, req)
        can = {f"can_{name}": reason is None for name, reason in refused.items()}
        missing = workflows.missing_materials(req)
        return self.render(
            "admin/change_request.html",
            req=req, ctype=ctype, step=step, actor=actor, refused=refused, **can,
            fallback=fallback, missing=missing, evidence=evidence_rows(req, missing), next_words=next_words(req, step, can, missing),
            reason_facts=workflows.facts_of(req, "reason"), date_facts=workflows.facts_of(req, "date"),
            decision_form=decision_form, attach_form=attach_form, confirm_form=ConfirmForm(), reason_form=ReasonForm(),
            role_labels=STEP_ROLE_LABELS, decision_labels=DECISION_LABELS, status_labels=STATUS_LABELS,
            days_left=_days_left_markup, mask_id=mask_id, mask_xjh=mask_xjh, code_label=codes.label, reveal_script=reveal_script,
            request_forms=documents.request_forms(req), subject_page=subject_page(req),
            family_letter=family_letter.offered(req) and export_gate.decide(actor, "family_letter").allowed,
            notes=workflows.notes_for(req, actor.unit_id),
            facts=workflows.request_notes(req),
            when=_when, backup_rows=backup_rows(req.archive_backup), payload_rows=_with_id_buttons(req, workflows.request_details(req)),
        )

    def _run(self, req: ChangeRequest, command: Command[ChangeRequest], ok: str, **args: t.Any) -> Response:
        """Run one of the page's commands and come back to the page."""
        run_command(command, req, ok, stale=_("Someone else changed this request at the same moment; please look again."),
                    **args)
        return redirect(url_for(".request_page", request_id=req.id))

    @expose("/<int:request_id>/decide", methods=("POST",))
    def decide_view(self, request_id: int) -> Response:
        req = self._load(request_id)
        form = DecisionForm()
        if not form.validate_on_submit():
            flash(_("Choose approve or reject."), "error")
            return redirect(url_for(".request_page", request_id=request_id))
        approve = form.decision.data == "approve"
        step = db.session.get(ApprovalStep, row_id(form.step_id.data))
        if step is None or step.request_id != request_id:
            abort(404)
        command = request_commands.FORCE if form.forced.data else request_commands.DECIDE
        return self._run(req, command, _("Approved.") if approve else _("Rejected."),
                         step_id=step.id, approve=approve, comment=form.comment.data)

    @expose("/<int:request_id>/withdraw", methods=("POST",))
    def withdraw_view(self, request_id: int) -> Response:
        req = self._load(request_id)
        form = ReasonForm()
        if not form.validate_on_submit():
            abort(400)
        return self._run(req, request_commands.WITHDRAW, _("Withdrawn."), reason=form.reason.data)

    @expose("/<int:request_id>/report", methods=("POST",))
    def report_view(self, request_id: int) -> Response:
        req = self._load(request_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        return self._run(req, request_commands.REPORT_ARRIVAL, _("The pupil has reported; the record is now at your school."))

    @expose("/<int:request_id>/provisional", methods=("POST",))
    def provisional_view(self, request_id: int) -> Response:
        req = self._load(request_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        return self._run(req, request_commands.PROVISIONAL, _("Provisional admission signed."))

    @expose("/<int:request_id>/attach", methods=("POST",))
    def attach_view(self, request_id: int) -> Response:
        req = self._load(request_id)
        form = AttachForm()
        form.material.choices = [(m.code, str(m.label)) for m in workflows.type_of(req).materials]
        if not form.validate_on_submit() or not form.file.data:
            flash(_("Choose a material and a file."), "error")
            return redirect(url_for(".request_page", request_id=request_id))
        return self._run(req, request_commands.ATTACH, _("File added."), material=form.material.data, file=form.file.data)

    @expose("/attachment/<int:attachment_id>")
    def attachment_view(self, attachment_id: int) -> Response:
        att = db.session.get(Attachment, row_id(attachment_id))
        if att is None:
            abort(404)
        self._load(att.request_id)  # 404 unless the request is visible
        from services import audit

        # A thumbnail (?preview=1, images only) is shown inside the page; everything else downloads.
        # Both are the export gate's kind evidence_file (services/export_gate.py KINDS): the gate's
        # guard checks a download after the view; an inline image is no "file" to the guard, so the
        # same decision is asked here first. Both are audited.
        preview = request.args.get("preview") == "1" and att.content_type in IMAGE_TYPES
        decision = export_gate.decide(current_actor(), "evidence_file")
        if not decision.allowed:
            return export_gate.refusal(current_actor(), "evidence_file", decision.reason)
        audit.record(current_actor(), "attachment.view", "attachment", att.id, att.filename)
        db.session.commit()
        return send_file(uploads.path_of(att.sha256), mimetype=att.content_type, as_attachment=not preview,
                         download_name=att.filename)

    @expose("/<int:request_id>/print/<kind>")
    def print_view(self, request_id: int, kind: str) -> Response:
        req = self._load(request_id)
        actor = current_actor()
        title = zh(documents.KINDS[kind][2]) if kind in documents.KINDS else kind
        refused = gate("request_document", detail=f"变动申请 #{req.id} {title}"[:100])
        if refused is not None:
            return refused
        if kind == "student_info":  # the one form with a rule of its own (who prints the sheet)
            done = run_command(request_commands.PRINT_PUPIL_INFO, req)
        else:
            done = attempt(lambda: documents.print_for_request(req, kind, actor))
        if not done.ok:
            return redirect(url_for(".request_page", request_id=request_id))
        pdf, doc = done.value
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    @expose("/<int:request_id>/family-letter.pdf")
    def family_letter(self, request_id: int) -> Response:
        """致家长的通知书 of a granted transfer or suspension: through the export gate, numbered, audited.
        In any other state the service refuses (the register line of the gate is rolled back with it)."""
        req = self._load(request_id)
        actor = current_actor()
        blocked = gate("family_letter", detail=f"变动申请 #{req.id} {family_letter.TITLE}"[:100])
        if blocked is not None:
            return blocked
        done = attempt(lambda: family_letter.print_letter(req, actor))
        if not done.ok:
            return redirect(url_for(".request_page", request_id=request_id))
        pdf, doc = done.value
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'})

    # --- starting a transfer ---------------------------------------------------------
    def _identified(self, token: str | None) -> Student | None:
        """The pupil of a lookup token (services/pupil_identity.py): a forged, altered or foreign
        token, or a bare row id, answers 404; an expired one asks for the lookup again."""
        try:
            return pupil_identity.from_token(current_actor(), token)
        except NotInScope:
            abort(404)
        except RuleViolation as exc:
            flash_problems(exc.problems)
            return None

    def _lookup(self, lookup: PupilLookupForm, purpose: str) -> Student | None:
        """Find a pupil of another school by full number and name (audited); both are asked for."""
        if not lookup.validate_on_submit():
            return None  # each error is shown beside its field (templates/admin/_pupil_lookup.html)
        pupil = pupil_identity.identify(current_actor(), lookup.term.data, lookup.name.data, purpose)
        db.session.commit()
        if pupil is None:  # the pair, not one field: said right under the two fields
            lookup.not_found = _("No pupil with this ID number (or student number) and name.")
        return pupil

    @expose("/transfer/new", methods=("GET", "POST"))
    def transfer_new(self) -> t.Any:
        actor = current_actor()
        if actor.unit.level != SCHOOL and not actor.is_official:
            abort(403)
        lookup = PupilLookupForm(prefix="lookup")
        start = TransferStartForm(prefix="start")
        start.reason_code.choices = [(k, str(v)) for k, v in transfer.REASONS.items()]
        receiving = transfer.receiving_schools_for(actor)
        start.to_school.choices = [(0, _("Choose the receiving school"))] + [(s.id, s.name) for s in receiving]
        pupil: Student | None = None
        if "lookup-term" in request.form:
            pupil = self._lookup(lookup, "transfer")
            if pupil is not None:
                start.pupil.data = pupil_identity.token_for(actor, pupil)
        elif request.method == "POST" and any(key.startswith("start-") for key in request.form):
            # The start form names the pupil only by the lookup's token: never by a row id.
            pupil = self._identified(start.pupil.data)
            if pupil is not None and start.validate_on_submit():
                try:
                    to_school = transfer.receiving_school_for(actor, start.to_school.data) if receiving else None
                except NotInScope:
                    abort(404)
                chosen = pupil
                done = open_request_page(
                    lambda: transfer.start_transfer(
                        chosen, actor, reason_code=start.reason_code.data, reason_text=start.reason_text.data,
                        hukou_changed=start.hukou_changed.data, window_override=start.window_override.data,
                        to_school=to_school,
                    ),
                    {m.code: start[m.code].data for m in transfer.MATERIALS},
                    form=start, require_evidence=True,  # 第十四条: refused here, naming what is missing, not at step 1
                )
                if done is not None:
                    return done
            elif pupil is not None:
                flash(_("Please correct the form."), "error")
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        lookup.term.data = lookup.name.data = ""  # echo neither a full number nor a full name back
        return self.render("admin/transfer_new.html", lookup=lookup, start=start,
                           found=pupil_identity.shown(actor, pupil) if pupil is not None else None,
                           choose_school=bool(receiving))

    @expose("/out-of-province/new", methods=("GET", "POST"))
    def out_of_province_new(self) -> t.Any:
        """转出省外: the pupil's own school records the move; the other side is outside the system."""
        actor = current_actor()
        student = scoped_pupil()
        form = OutOfProvinceForm()
        form.reason_code.choices = [(k, str(v)) for k, v in transfer.REASONS.items()]
        if form.validate_on_submit():
            done = open_request_page(
                lambda: workflows.open_request(
                    transfer.TRANSFER_OUT_OF_PROVINCE, student, actor, from_school=student.school,
                    external_school=form.external_school.data, reason_code=form.reason_code.data,
                    reason_text=form.reason_text.data,
                ),
                {m: getattr(form, m).data for m in ("contact_form", "receiving_proof")},
                form=form, require_evidence=True,
            )
            if done is not None:
                return done
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        return self.render("admin/out_of_province_new.html", form=form, student=student, code_label=codes.label)

    # --- requests started from the pupil's page ------------------------------------------
    def _own_pupil(self) -> Student:
        """The pupil of ?student_id=, which must lie in the actor's scope (else 404)."""
        return scoped_pupil()

    @expose("/correction/new", methods=("GET", "POST"))
    def correction_new(self) -> t.Any:
        """学籍信息更正 (第十一条): school step, then authority step; approval writes old → new."""
        student = self._own_pupil()
        form = CorrectionForm(obj=None if request.method == "POST" else student)
        form.gender.choices = codes.choices("gender")
        form.id_type.choices = codes.choices("id_type")
        form.ethnicity.choices = codes.choices("ethnicity")
        if form.validate_on_submit():
            values = {f: form[f].data for f in ("name", "gender", "birth_date", "id_type", "id_number", "ethnicity")}
            done = open_request_page(
                lambda: enrollment.request_correction(student, current_actor(), values, form.reason.data),
                {"hukou": form.evidence.data}, form=form, require_evidence=True,
            )
            if done is not None:
                return done
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        return self.render("admin/student_request_form.html", form=form, student=student, code_label=codes.label,
                           title=_("Apply for a correction of basic data"))

    @expose("/delay/new", methods=("GET", "POST"))
    def delay_new(self) -> t.Any:
        """延缓入学 (第四条): the guardian's application, consented by the school."""
        student = self._own_pupil()
        form = DelayForm()
        if form.validate_on_submit():
            done = open_request_page(
                lambda: enrollment.request_delay(student, current_actor(), form.start_date.data, form.reason.data),
                {"application": form.application.data}, form=form, require_evidence=True,
            )
            if done is not None:
                return done
        elif request.method == "POST":
            flash(_("Please correct the form."), "error")
        return self.render("admin/student_request_form.html", form=form, student=student, code_label=codes.label,
                           title=_("Delayed enrollment"))

    @expose("/enrollment/submit", methods=("POST",))
    def enrollment_submit(self) -> Response:
        student = self._own_pupil()
        if not ConfirmForm().validate_on_submit():
            abort(400)
        done = open_request_page(lambda: enrollment_records.submit_enrollment(student, current_actor()), {})
        return done or redirect(url_for("student.details_view", id=student.id))

    @expose("/delay/start", methods=("POST",))
    def delay_start(self) -> Response:
        student = self._own_pupil()
        if not ConfirmForm().validate_on_submit():
            abort(400)
        done = open_request_page(lambda: enrollment.start_after_delay(student, current_actor()), {})
        return done or redirect(url_for("student.details_view", id=student.id))

    @expose("/continuation/new", methods=("GET", "POST"))
    def continuation_new(self) -> t.Any:
        """学籍接续 (第五条): a junior middle school continues a primary graduate's record. The
        graduate is found by full ID number and name together and shown masked (王*明, school, grade)."""
        actor = current_actor()
        if actor.unit.level != SCHOOL:
            abort(403)
        lookup = PupilLookupForm(prefix="lookup")
        confirm = IdentifiedPupilForm(prefix="confirm")
        pupil: Student | None = None
        if "lookup-term" in request.form:
            pupil = self._lookup(lookup, "continuation")
            if pupil is not None:
                confirm.pupil.data = pupil_identity.token_for(actor, pupil)
        elif request.method == "POST" and any(key.startswith("confirm-") or key == "student_id" for key in request.form):
            pupil = self._identified(confirm.pupil.data)
            if pupil is not None and confirm.validate_on_submit():
                chosen = pupil
                done = open_request_page(lambda: enrollment.continue_record(chosen, actor, actor.unit), {})
                if done is not None:
                    return done
        lookup.term.data = lookup.name.data = ""  # echo neither a full number nor a full name back
        return self.render("admin/continuation_new.html", lookup=lookup, confirm=confirm,
                           found=pupil_identity.shown(actor, pupil) if pupil is not None else None)
