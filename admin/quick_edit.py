"""Quick editing in the pupils' list (issue 14, point 6): the volatile fields of 第十二条 — phone,
current address, 留守儿童, 随迁子女, 户口所在地 — edited in their cells with Flask-Admin's editable
list columns (x-editable), by the registrars of the pupil's own school only.

The save is the full form's: services/students.save_student validates the whole record, checks the
scope and writes the history (field by field, with the user) and the audit row. A refusal answers
400 with its Chinese words as plain text, which x-editable shows in the cell's popover. Officials
see the same cells as plain text (StudentView.is_editable), and their posts are refused (403).
"""

from __future__ import annotations

import json
import typing as t
from functools import lru_cache

from flask import abort, jsonify, request
from flask_admin.model.widgets import XEditableWidget
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Field

from admin.base import current_actor
from extensions import db
from models.org import SCHOOL
from models.student import VOLATILE_FIELDS, Student
from services import codes, workflows
from services.errors import NotInScope, RuleViolation
from services.ids import division_name
from services.labels import FIELD_LABELS
from services.students import save_student

QUICK_FIELDS: tuple[str, ...] = VOLATILE_FIELDS  # 第十二条: what changes without a request
CODED = {"left_behind": "left_behind"}
BOOLEAN = ("migrant_child",)
YES, NO = "1", "0"


@lru_cache(maxsize=8192)  # a pure lookup in stdnum's table (~3,500 divisions), once per cell otherwise
def _hukou(code: str | None) -> str:
    if not code:
        return ""
    return division_name(code) or code


def _yes_no(value: t.Any) -> str:
    return _("Yes") if value else _("No")


def display(student: Student, name: str) -> str:
    """The cell's words: codes by their names (户口所在地 as the division's name), 是/否."""
    value = getattr(student, name)
    if name == "hukou_location":
        return _hukou(value)
    if name in CODED:
        return codes.label(CODED[name], value)
    if name in BOOLEAN:
        return _yes_no(value)
    return value or ""


def shows_stored_text(name: str) -> bool:
    """display() is the stored text itself (editor_value() of it) for every value: not a code, a
    yes/no or a division (admin/student_rows.py then escapes the text once for both)."""
    return name not in CODED and name not in BOOLEAN and name != "hukou_location"


# The list's formatters for these columns (plain text for everyone; the widget wraps them for editors).
FORMATTERS: dict[str, t.Callable[..., str]] = {name: (lambda v, c, m, n: display(m, n)) for name in QUICK_FIELDS}


def _attributes(attrs: dict[str, Markup]) -> str:
    """wtforms.widgets.html_params for attributes already escaped: sorted, key="value"."""
    return " ".join(f'{key}="{value}"' for key, value in sorted(attrs.items()))


# (language, field, field type) -> the cell's attributes that do not depend on the row, escaped.
_STATIC: dict[tuple[str, str, str], dict[str, Markup]] = {}


class QuickEditWidget(XEditableWidget):
    """Flask-Admin's x-editable cell, with the stored value (a code) as the editor's value, the
    choices by their names only, and Chinese words for an empty cell."""

    def __call__(self, field: Field, **kwargs: t.Any) -> Markup:
        # XEditableWidget.__call__'s attributes, written out here: its wtforms.html_params formats
        # each attribute through Markup.format, and a school's list has 5 such cells per row (100
        # on a page of 20, ~40 % of the page's time, bench/README.md). Same attributes, same order;
        # the ones that do not depend on the row (words, choices) are escaped once per field and
        # language (_static), not once per cell.
        display_value = kwargs.pop("display_value", "")
        if not kwargs.get("pk"):
            raise ValueError("pk required")
        return self.anchor(field, self._value_of(field), kwargs.pop("pk"), display_value, kwargs.pop("csrf", ""), **kwargs)

    def anchor(self, field: Field, value: str, pk: t.Any, display_value: t.Any, csrf: str,
               static: dict[str, Markup] | None = None, **kwargs: t.Any) -> Markup:
        """The cell's <a>: `field` gives its name and kind, `value` the editor's value (a code, 1/0);
        `static`, the field's attributes that do not depend on the row, when the caller has them."""
        attrs = dict(self._static(field) if static is None else static)
        attrs.update({"id": field.id, "name": field.name, "data-value": escape(value),
                      "data-pk": escape(str(pk)), "data-csrf": escape(csrf)})
        attrs.update((k, escape(v)) for k, v in kwargs.items())
        return Markup(f"<a {_attributes(attrs)}>{escape(display_value)}</a>")

    def _static(self, field: Field) -> dict[str, t.Any]:
        key = (str(get_locale()), field.name, field.type)
        found = _STATIC.get(key)
        if found is None:
            defaults = {"data-emptytext": _("Not filled in"), "data-placement": "bottom",
                        "title": FIELD_LABELS.get(field.name, field.name), "data-role": "x-editable",
                        "data-url": "./ajax/update/", "href": "#"}
            found = {k: escape(v) for k, v in self.get_kwargs(field, defaults).items() if k != "data-value"}
            _STATIC[key] = found
        return found

    @staticmethod
    def _value_of(field: Field) -> str:
        """The editor's value (get_kwargs's data-value): the stored code, or 1/0."""
        if field.name in BOOLEAN:
            return YES if field.data else NO
        return field.data or ""

    def get_kwargs(self, field: Field, kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
        kwargs = super().get_kwargs(field, kwargs)
        if field.name in CODED:
            kwargs["data-value"] = field.data or ""
            kwargs["data-source"] = json.dumps(
                [{"value": k, "text": v} for k, v in codes.table(CODED[field.name]).items()], ensure_ascii=False)
        elif field.name in BOOLEAN:
            kwargs["data-value"] = YES if field.data else NO
            kwargs["data-role"] = "x-editable"  # form.js's "x-editable-boolean" draws an icon instead of 是/否
            kwargs["data-source"] = json.dumps([{"value": NO, "text": _("No")}, {"value": YES, "text": _("Yes")}],
                                               ensure_ascii=False)
        else:
            kwargs["data-value"] = field.data or ""  # the code, not the division's name shown
        return kwargs


def editor_value(name: str, raw: t.Any) -> str:
    """QuickEditWidget._value_of for a value read from the pupil, without a form: the list form's
    fields hold the column's value (a select coerces it to str), a boolean 1/0."""
    if name in BOOLEAN:
        return YES if raw else NO
    return "" if raw is None or raw == "" else str(raw)


def may_edit_inline() -> bool:
    """Only school users: the list's cells are editable for them (their scope is their school).
    Asked for every editable cell of the list (100 on a school's page of 20), so the answer is
    kept in the request's environ: the account does not change within a request (a login or a
    logout is a request of its own, and redirects)."""
    found = request.environ.get("xueji.may_edit_inline")
    if found is None:
        actor = current_actor()
        found = bool(actor.is_authenticated and actor.unit is not None and actor.unit.level == SCHOOL)
        request.environ["xueji.may_edit_inline"] = found
    return found


def _value(name: str, raw: str) -> t.Any:
    raw = (raw or "").strip()
    if name in BOOLEAN:
        if raw not in (YES, NO, ""):
            raise RuleViolation([(name, _("Choose 是 or 否."))])
        return raw == YES
    if name in CODED:
        return raw
    return raw or None


def update(view: t.Any) -> t.Any:
    """POST …/ajax/update/ (list_form_pk and one field; CSRFProtect has checked the token)."""
    student = view.get_one(request.form.get("list_form_pk"))  # out of scope → 404, for everyone
    if not may_edit_inline():
        abort(403)  # an official: the cells are plain text for them
    actor = current_actor()
    if not workflows.is_own_school(actor, student):
        abort(403)  # in scope (e.g. a pupil attending here) but the record is another school's
    names = [n for n in request.form if n not in ("list_form_pk", "csrf_token")]
    if len(names) != 1 or names[0] not in QUICK_FIELDS:
        return _("This field is not edited in the list; open the pupil's record."), 400
    name = names[0]
    try:
        setattr(student, name, _value(name, request.form[name]))
        save_student(student, actor, actor.unit)
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        return "；".join(m for _f, m in exc.problems) or _("The value was not saved."), 400
    except NotInScope:
        db.session.rollback()
        abort(404)
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        return _("Someone else changed this record at the same moment; please look again."), 409
    return jsonify(value=request.form[name].strip(), display=display(student, name))
