"""Forms of the status screens that are not a change request (第十九条, 第二十三条): attendance,
contacts with the family, the archive handover. Flask-WTF: every one carries the CSRF token.

The forms of the request pages belong to their change types (changes/<type>.py, with the shared
pieces in forms/request_pages.py).
"""

from __future__ import annotations

from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION

F = TypeVar("F", bound=FlaskForm)

CONTACT_PURPOSES = {
    CONTACT_DROPOUT: _l("Bringing an absent pupil back (辍学, 第二十三条)"),
    CONTACT_SUSPENSION: _l("Suspension ended without an application (休学到期, 第十九条)"),
}


class AbsenceForm(FlaskForm):
    first_day = DateField(_l("First day absent"), validators=[DataRequired()])
    last_day = DateField(_l("Last day absent"), validators=[DataRequired()])
    excused = BooleanField(_l("Excused (leave was asked for)"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class ContactForm(FlaskForm):
    purpose = SelectField(_l("Purpose"), choices=list(CONTACT_PURPOSES.items()), validators=[DataRequired()])
    contacted_on = DateField(_l("Date of the contact"), validators=[DataRequired()])
    method = StringField(_l("How (phone, home visit …)"), validators=[DataRequired(), Length(max=50)])
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(), Length(max=500)])


class HandoverDoneForm(FlaskForm):
    note = StringField(_l("Note (to whom, how)"), validators=[Optional(), Length(max=500)])
