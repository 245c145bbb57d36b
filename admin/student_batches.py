"""Bulk actions of the pupils' list (issue 14, point 5): each asks first, on a page of its own that
lists the selected pupils and says what will happen (a server-rendered page with a CSRF-protected
button: the Content-Security-Policy leaves no room for a script's confirm()), then does it and
reports what was done and what was not, with the reason per pupil.

The first POST comes from Flask-Admin's "with selected" menu; the confirmation page posts the same
action again with `confirmed=1`. Both pass ScopedModelView.handle_action, which answers 404 for the
whole selection when any row lies outside the user's scope, before anything runs.
"""

from __future__ import annotations

import typing as t

from flask import abort, flash, redirect, request, url_for
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.base import current_actor
from changes.class_change import request_class_change
from extensions import db
from models.student import Student
from services import codes
from services.certificates import batch, kinds, verification
from services.change_codes import CLASS_CHANGE
from services.classes import MAX_REASON, class_name_problem, school_class_names
from services.commands import pupils as pupil_commands
from services.errors import NotInScope, RuleViolation

ASSIGN_CLASS = "assign_class"
PRINT_CERTIFICATES = "print_certificates"
LIST_LIMIT = 500  # one confirmation page; Flask-Admin's list shows at most 100 rows a page anyway


class AssignClassForm(FlaskForm):
    # The names of the school's classes this school year; each pupil goes into the class of that
    # name in the pupil's own grade (a pupil whose grade has none is reported, not moved).
    class_name = SelectField(_l("New class"), choices=[], validate_choice=False, validators=[DataRequired()])
    reason = StringField(_l("Reason for the class change"), validators=[DataRequired(), Length(max=MAX_REASON)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the confirmation of a bulk action."""


def _pupils(view: t.Any, ids: list[str]) -> list[Student]:
    rows = view.scoped_ids(ids[:LIST_LIMIT])  # every posted id was checked by handle_action already
    return sorted(rows, key=lambda s: (s.class_name or "", s.name, s.id))


def _confirmed() -> bool:
    return request.form.get("confirmed") == "1"


def _names(rows: list[tuple[Student, str]]) -> str:
    return "；".join(f"{s.name}（{why}）" for s, why in rows)


def _back_url(view: t.Any) -> str:
    """Where the action was started (the list, or a class's certificates page): a local URL only."""
    return get_redirect_target() or url_for(f"{view.endpoint}.index_view")


def _back(view: t.Any) -> t.Any:
    return redirect(_back_url(view))


# --- 分班: the class change of changes/class_change.py, one request per pupil --------------------
def assign_class(view: t.Any, ids: list[str]) -> t.Any:
    actor = current_actor()
    pupils = _pupils(view, ids)
    command = pupil_commands.STATUS_CHANGES[CLASS_CHANGE]
    refused = {s.id: command.allowed(actor, s) for s in pupils}
    form = AssignClassForm(formdata=request.form if _confirmed() else None)
    form.class_name.choices = [("", _("Choose a class"))] + [(n, n) for n in school_class_names(actor.unit_id)]
    if _confirmed() and form.validate():
        name = form.class_name.data.strip()
        problem = class_name_problem(name)
        if problem is not None:
            form.class_name.errors = [problem]
        else:
            return _do_assign(view, pupils, name, form.reason.data.strip())
    return view.render(
        "admin/student_batch_confirm.html", action=ASSIGN_CLASS, pupils=pupils, form=form, refused=refused,
        title=_("Assign the selected pupils to a class"), back_url=_back_url(view),
        what=_("Each pupil below who may change class is moved to the class you give, as a class change (调班) "
               "of your school: it is done at once, and the pupil's history keeps the old and the new class with "
               "the reason. The pupils marked as not possible stay where they are."),
        submit=_("Assign %(n)d pupils to the class", n=sum(1 for s in pupils if refused[s.id] is None)),
        grade_label=lambda g: codes.label("grade", g), status_label=lambda c: codes.label("student_status", c),
    )


def _do_assign(view: t.Any, pupils: list[Student], name: str, reason: str) -> t.Any:
    actor = current_actor()
    command = pupil_commands.STATUS_CHANGES[CLASS_CHANGE]
    done: list[Student] = []
    skipped: list[tuple[Student, str]] = []
    for pupil in pupils:
        why = command.allowed(actor, pupil)
        if why is not None:
            skipped.append((pupil, str(why)))
            continue
        try:
            with db.session.begin_nested():  # one pupil's refusal undoes that pupil only
                request_class_change(pupil, actor, name, reason)
            done.append(pupil)
        except RuleViolation as exc:
            skipped.append((pupil, "；".join(m for _f, m in exc.problems)))
        except (StaleDataError, IntegrityError):
            skipped.append((pupil, _("Someone else changed this record at the same moment.")))
    db.session.commit()
    if done:
        flash(_("%(n)d pupils assigned to %(cls)s.", n=len(done), cls=name), "success")
    if skipped:
        flash(_("%(n)d not done: %(list)s", n=len(skipped), list=_names(skipped)), "warning")
    return _back(view)


# --- 打印证书: the graduates' valid diplomas and certificates of completion, as one PDF ----------
def print_certificates(view: t.Any, ids: list[str]) -> t.Any:
    actor = current_actor()
    pupils = _pupils(view, ids)
    certs = batch.pupils_certificates(actor, [s.id for s in pupils])
    held = {c.student_id: c for c in certs}
    refused = {s.id: None if s.id in held else _("No valid graduation certificate (only graduates have one).")
               for s in pupils}
    form = ConfirmForm(formdata=request.form if _confirmed() else None)
    if _confirmed() and form.validate():
        try:
            job = batch.start_pupils_print(actor, certs, verification.site_url())
        except RuleViolation as exc:
            db.session.rollback()
            flash("；".join(m for _f, m in exc.problems), "error")
            return _back(view)
        except NotInScope:
            db.session.rollback()
            abort(404)
        missing = [(s, str(refused[s.id])) for s in pupils if refused[s.id] is not None]
        flash(_("%(n)d certificates are being printed as one PDF.", n=len(certs)), "success")
        if missing:
            flash(_("%(n)d not done: %(list)s", n=len(missing), list=_names(missing)), "warning")
        return redirect(url_for("certificates.job", job_id=job.id))
    return view.render(
        "admin/student_batch_confirm.html", action=PRINT_CERTIFICATES, pupils=pupils, form=form, refused=refused,
        held=held, kind_labels=kinds.KIND_LABELS,
        title=_("Print the certificates of the selected pupils"), back_url=_back_url(view),
        what=_("The valid graduation certificates (义务教育毕业证书 or 修业证明书) of the pupils below are printed "
               "as one PDF, one A4 page each; the printing is recorded. Pupils without one are left out."),
        submit=_("Print %(n)d certificates", n=len(certs)),
        grade_label=lambda g: codes.label("grade", g), status_label=lambda c: codes.label("student_status", c),
    )
