"""The 调班 form (services/classes.py holds the rule)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from services.classes import MAX_CLASS_NAME, MAX_REASON


class ClassChangeForm(FlaskForm):
    class_name = StringField(_l("New class"), validators=[DataRequired(), Length(max=MAX_CLASS_NAME)])
    reason = StringField(_l("Reason for the class change"), validators=[DataRequired(), Length(max=MAX_REASON)])
