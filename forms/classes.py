"""Forms of the classes (班级管理, admin/classes.py). Flask-WTF: every one carries the CSRF token.

The forms only read the fields; the rules (a grade the school teaches, a class name, a head
teacher's name and phone, one class of a name per grade and year) are services/classes.py's,
which say what is wrong beside each field in Chinese."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from services.classes import MAX_CLASS_NAME, MAX_HEAD_TEACHER, MAX_REASON


def whole_number(value: Any) -> int | None:
    """A select's value as a number; anything else as None, for the service to refuse in words."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


class ClassForm(FlaskForm):
    # Choices are filled per school (its grades) and per year by the view.
    school_year = SelectField(_l("School year"), choices=[], coerce=whole_number, validate_choice=False)
    grade = SelectField(_l("Grade"), choices=[], coerce=whole_number, validate_choice=False)
    name = StringField(_l("Class name"), validators=[DataRequired(_l("Give the class's name.")), Length(max=MAX_CLASS_NAME)])
    head_teacher = StringField(_l("Head teacher (班主任)"), validators=[Optional(), Length(max=MAX_HEAD_TEACHER)])
    head_teacher_phone = StringField(_l("Head teacher's phone"), validators=[Optional(), Length(max=20)])


class AssignPupilsForm(FlaskForm):
    """分班 of the pupils ticked on the class's page; each is a class change (调班) with this reason."""

    reason = StringField(
        _l("Reason for the class change"), default=_l("Placed in a class"), validators=[DataRequired(), Length(max=MAX_REASON)]
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: deleting a class."""
