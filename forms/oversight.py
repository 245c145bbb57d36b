"""Forms of the term data check (第二十七条). Flask-WTF: every one carries the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class CampaignForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)],
                        description=_l("For example: data check of the autumn term 2026"))
    due_on = DateField(_l("Due date"), validators=[DataRequired()])


class CompletionForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)],
                         description=_l("What was checked and corrected; why any listed problem remains open."))


class CloseForm(FlaskForm):
    """Only the CSRF token: closing a check is a POST with no fields."""
