"""Forms of the graduation roster (第二十四条). Flask-WTF: every one carries the CSRF token.

The pupils a batch applies to are the checked `record_id` boxes of the roster table, read from
the request and checked against the roster by the view; a row's own button posts `one`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from models.graduation import FAILED, PASSED

RESULTS = {PASSED: _l("Passed"), FAILED: _l("Failed")}


class RosterActionForm(FlaskForm):
    """Compile the roster, or mark every unassessed pupil: only the token."""


class AssessForm(FlaskForm):
    result = SelectField(_l("Assessment"), choices=list(RESULTS.items()), validators=[Optional()])
    one = StringField(validators=[Optional(), Length(max=30)])  # "<record id>:<result>" of a row's button


class SubmitRosterForm(FlaskForm):
    late_reason = StringField(_l("Why the roster is submitted after 30 July (supervising authority only)"),
                              validators=[Optional(), Length(max=200)])
