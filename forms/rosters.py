"""Forms of the registers (第十二条) and of the registrars (第二十六条). Flask-WTF: every one carries the CSRF token.

The forms only read the fields; the rules (phone, dates, formal staff) are services/registrars.py's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Optional

YES_NO = [("1", _l("Yes")), ("0", _l("No"))]


class SubmitRosterForm(FlaskForm):
    checked = BooleanField(_l("I have checked this register; submit it to the authority as it is now."),
                           validators=[DataRequired(_l("Tick the confirmation before submitting."))])


class RegistrarForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the registrar's name."))])
    phone = StringField(_l("Phone"), validators=[DataRequired(_l("Enter a phone number."))])
    appointed_on = DateField(_l("Appointed on"), validators=[InputRequired(_l("Enter the date of appointment."))])
    full_time = RadioField(_l("Full-time"), choices=YES_NO, validators=[InputRequired(_l("Say whether the registrar is full-time."))])
    formal_staff = RadioField(_l("Formal staff (正式工作人员)"), choices=YES_NO,
                              validators=[InputRequired(_l("Say whether the registrar is formal staff."))])


class EndRegistrarForm(FlaskForm):
    ended_on = DateField(_l("Ended on"), validators=[Optional()])
