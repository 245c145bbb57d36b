"""Forms of the 学生卡 (admin/pupil_cards.py). Flask-WTF: every one carries the CSRF token.

The reason of a cancellation or a replacement is checked by services/pupil_cards.py too, which
says in Chinese what is wrong; the form only reads it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from services.pupil_cards import MAX_REASON


class ConfirmForm(FlaskForm):
    """Only the CSRF token: issuing a card, printing a class's cards."""


class ReasonForm(FlaskForm):
    """挂失作废 and 补办: why (lost, damaged, …), kept on the card's record and in the audit log."""

    reason = StringField(
        _l("Cancellation reason"),
        validators=[DataRequired(_l("Give the reason (for example: lost, damaged).")), Length(max=MAX_REASON)],
    )
    card = HiddenField()  # the number of the card the page showed (补办: a second click replaces nothing more)
