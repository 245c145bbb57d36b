"""Forms of the certificate screens (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from services.certificates.revocation import REISSUE_REASONS


class CertificateConfirmForm(FlaskForm):
    """A POST with only the CSRF token: issue, issue the class, print the class."""


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the revocation"), validators=[DataRequired(), Length(max=500)])
    checked = BooleanField(_l("I confirm that this certificate is no longer valid."), validators=[DataRequired()])


class ReissueForm(FlaskForm):
    reason = RadioField(_l("The certificate was"), choices=list(REISSUE_REASONS.items()), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    checked = BooleanField(_l("I confirm: the old certificate is revoked and a new one with a new number is issued."),
                           validators=[DataRequired()])


class RecordProofForm(FlaskForm):
    reason_text = TextAreaField(_l("Circumstances of the loss"), validators=[Optional(), Length(max=500)])
    loss_statement = FileField(_l("Statement of the loss of the diploma (optional; JPG, PNG or PDF)"))
