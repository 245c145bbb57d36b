"""Forms of the status-change screens (第十七–二十三条). Flask-WTF: every one carries the CSRF token.

The evidence inputs are not written here: `with_materials` adds one file input per material
that the change type declares (services/workflows.py), so the form never drifts from the type.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION
from services import workflows
from services.labels import MOVE_KINDS, SUSPENSION_REASONS, TRAVEL_DOCUMENTS

F = TypeVar("F", bound=FlaskForm)

CONTACT_PURPOSES = {
    CONTACT_DROPOUT: _l("Bringing an absent pupil back (辍学, 第二十三条)"),
    CONTACT_SUSPENSION: _l("Suspension ended without an application (休学到期, 第十九条)"),
}
MATERIAL_PREFIX = "file_"


def material_field(code: str) -> str:
    """The name of the file input of one material (prefixed: a material code may equal a field name)."""
    return MATERIAL_PREFIX + code


@cache
def with_materials(base: type[F], *type_codes: str) -> type[F]:
    """`base` plus one file input per material of the given change types (the union, in order)."""
    fields: dict[str, FileField] = {}
    for code in type_codes:
        for material in workflows.TYPES[code].materials:
            fields.setdefault(material_field(material.code), FileField(material.label))
    return type(base.__name__, (base,), fields)  # type: ignore[return-value]


class ReasonOnlyForm(FlaskForm):
    """延长休学, 回原校 (第二十二条): the reason, then the materials."""

    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])


class SuspensionForm(FlaskForm):
    reason_kind = SelectField(_l("Reason of the suspension"), choices=list(SUSPENSION_REASONS.items()), validators=[DataRequired()])
    starts_on = DateField(_l("First day of the suspension"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day (empty: one school year)"), validators=[Optional()])
    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])


class ResumptionForm(FlaskForm):
    """复学: back into the grade left unless the guardian asks for another grade, with the reason."""

    other_grade = SelectField(_l("Grade"), choices=[], validators=[Optional()])
    grade_reason = TextAreaField(_l("Why another grade (the guardian's request)"), validators=[Optional(), Length(max=500)])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


class GradeForm(FlaskForm):
    """出国复学, 辍学返校: the grade the pupil comes back into."""

    grade = SelectField(_l("Grade"), choices=[], coerce=int, validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


class AbroadForm(FlaskForm):
    destination = StringField(_l("Country or region of study"), validators=[DataRequired(), Length(max=100)])
    document = SelectField(_l("Travel document"), choices=list(TRAVEL_DOCUMENTS.items()), validators=[DataRequired()])
    leaves_on = DateField(_l("Date of departure"), validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


class DeathForm(FlaskForm):
    # 第二十一条: the 10 working days run from this date; changes/departures.py checks it
    # (not in the future, not before birth).
    died_on = DateField(_l("Date of death"), validators=[DataRequired(message=_l("Give the date of death."))])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


class DropoutForm(FlaskForm):
    reason_text = TextAreaField(_l("What the school did and why the pupil does not come back"),
                                validators=[DataRequired(), Length(max=500)])
    # 第二十三条: the printed report goes to this township government (no account here).
    township = StringField(_l("Township government (乡镇人民政府/街道办事处) the report goes to"),
                           validators=[Optional(), Length(max=50)])


class JuvenilePlacementForm(FlaskForm):
    institution_school = SelectField(_l("School of the institution"), choices=[], coerce=int, validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details (judgment or decision)"), validators=[Optional(), Length(max=500)])


class SpecialMoveForm(FlaskForm):
    kind = SelectField(_l("Kind of move (第十七条)"), choices=list(MOVE_KINDS.items()), validators=[DataRequired()])
    to_school = SelectField(_l("Receiving school"), choices=[], coerce=int, validators=[DataRequired()])
    keep_record = SelectField(
        _l("Record"), validators=[DataRequired()],
        choices=[("no", _l("The record moves to the receiving school")),
                 ("yes", _l("The record stays at this school"))],
    )
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


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
