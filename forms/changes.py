"""Forms of the change-request screens (Flask-WTF: every one carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class PupilLookupForm(FlaskForm):
    """A pupil of another school is found by the full number and the name together
    (services/pupil_identity.py), never by a row id."""

    term = StringField(_l("Full ID number or student number"), validators=[DataRequired(), Length(min=15, max=20)])
    name = StringField(_l("Pupil's name"), validators=[DataRequired(), Length(max=50)])
    not_found: str | None = None  # set by the page when no pupil has this number and name


class IdentifiedPupilForm(FlaskForm):
    """The confirmation after a lookup: the signed token of the pupil found, not the pupil's row id."""

    pupil = HiddenField(validators=[DataRequired()])


class TransferStartForm(FlaskForm):
    pupil = HiddenField(validators=[DataRequired()])  # the lookup's token (services/pupil_identity.py)
    reason_code = SelectField(_l("Reason (第十三条)"), validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])
    hukou_changed = BooleanField(_l("The pupil's hukou moved too"))
    window_override = StringField(_l("Why outside term time (authority only)"), validators=[Optional(), Length(max=200)])
    # An authority has no school of its own: it names the receiving school among those it
    # supervises. Not checked against the choices here: the service refuses an outside id (404).
    to_school = SelectField(_l("Receiving school"), coerce=int, choices=[], validate_choice=False, validators=[Optional()])
    contact_form = FileField(_l("Transfer contact form signed by pupil and guardian"))
    student_info = FileField(_l("Basic information sheet, printed and sealed by the sending school"))
    hukou = FileField(_l("Household register and proof of actual residence"))
    reason_proof = FileField(_l("Proof of the reason (hukou unchanged)"))


class DecisionForm(FlaskForm):
    step_id = IntegerField(validators=[DataRequired()])
    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve")), ("reject", _l("Reject"))], validators=[DataRequired()])
    comment = TextAreaField(_l("Comment (required to reject)"), validators=[Optional(), Length(max=500)])
    forced = BooleanField(_l("Decide on behalf of the overdue unit (强制干预)"))


class AttachForm(FlaskForm):
    material = SelectField(_l("Material"), validators=[DataRequired()])
    file = FileField(_l("File (JPG, PNG or PDF, at most 5 MB)"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A POST with only the CSRF token (报到, provisional admission)."""


class OutOfProvinceForm(FlaskForm):
    external_school = StringField(_l("Receiving school outside the province"), validators=[DataRequired(), Length(max=100)])
    reason_code = SelectField(_l("Reason (第十三条)"), validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])
    contact_form = FileField(_l("Transfer contact form signed by pupil and guardian"))
    receiving_proof = FileField(_l("Acceptance by the receiving school outside the province"))


class CorrectionForm(FlaskForm):
    """第十一条: the guardian's application to correct core data, with 户口簿/居住证 copies."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    gender = SelectField(_l("Gender"))
    birth_date = DateField(_l("Birth date"), validators=[DataRequired()])
    id_type = SelectField(_l("ID type"))
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=30)])
    ethnicity = SelectField(_l("Ethnicity"))
    reason = TextAreaField(_l("Reason for the correction"), validators=[DataRequired(), Length(max=500)])
    evidence = FileField(_l("Copy of the household register or residence permit"))


class DelayForm(FlaskForm):
    start_date = DateField(_l("Date the child will start school"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    application = FileField(_l("Guardian's written application"))


class HandoverForm(FlaskForm):
    """School merger or closure: where the archives go (第十条)."""

    target = SelectField(_l("Receiving unit"), coerce=int, validators=[DataRequired()])
