"""Forms of the archive tabs (学籍档案, 第八条): one small form per section, CSRF by Flask-WTF.

The forms only parse input (dates, amounts); every rule is checked again by services/archive.py.
Each form is used with `prefix=<section code>` so that six forms live on one page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models.archive import TEXT_MAX
from services.archive import AWARD_LEVEL_LABELS, DOC_KIND_LABELS, HEALTH_KIND_LABELS, TERM_LABELS


def _choices(labels: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return list(labels.items())


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Kind of material"), choices=_choices(DOC_KIND_LABELS), validators=[DataRequired()])
    file = FileField(_l("File (JPG, PNG or PDF, at most 5 MB)"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class DocumentEditForm(FlaskForm):
    """A stored file is never replaced (第九条); only its kind and note are corrected."""

    kind = SelectField(_l("Kind of material"), choices=_choices(DOC_KIND_LABELS), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class QualityReportForm(FlaskForm):
    school_year = StringField(_l("School year"), validators=[DataRequired(), Length(max=9)], render_kw={"placeholder": "2025-2026"})
    term = SelectField(_l("Term"), choices=_choices(TERM_LABELS), coerce=int, validators=[DataRequired()])
    academic_tests = TextAreaField(_l("Academic tests"), validators=[Optional(), Length(max=TEXT_MAX)])
    sports_arts = TextAreaField(_l("Sports skills and artistic talents"), validators=[Optional(), Length(max=TEXT_MAX)])
    community_service = TextAreaField(_l("Community service and social practice"), validators=[Optional(), Length(max=TEXT_MAX)])


class HealthRecordForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_choices(HEALTH_KIND_LABELS), validators=[DataRequired()])
    date = DateField(_l("Date"), validators=[DataRequired()])
    summary = StringField(_l("Summary"), validators=[DataRequired(), Length(max=500)])
    result = StringField(_l("Result"), validators=[Optional(), Length(max=200)])


class AwardForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired()])
    name = StringField(_l("Name of the award"), validators=[DataRequired(), Length(max=100)])
    level = SelectField(_l("Level"), choices=_choices(AWARD_LEVEL_LABELS), validators=[DataRequired()])
    issuer = StringField(_l("Issued by"), validators=[Optional(), Length(max=100)])


class FinancialAidForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired()])
    kind = StringField(_l("Aid programme"), validators=[DataRequired(), Length(max=50)])
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[InputRequired()])
    funder = StringField(_l("Funder"), validators=[Optional(), Length(max=100)])


class GradeRecordForm(FlaskForm):
    school_year = StringField(_l("School year"), validators=[DataRequired(), Length(max=9)], render_kw={"placeholder": "2025-2026"})
    term = SelectField(_l("Term"), choices=_choices(TERM_LABELS), coerce=int, validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=30)])
    score = StringField(_l("Score or grade"), validators=[Optional(), Length(max=20)])
    evaluation = StringField(_l("Evaluation"), validators=[Optional(), Length(max=500)])


#: section code → (add form, edit form)
FORMS: dict[str, tuple[type[FlaskForm], type[FlaskForm]]] = {
    "documents": (DocumentForm, DocumentEditForm),
    "quality": (QualityReportForm, QualityReportForm),
    "health": (HealthRecordForm, HealthRecordForm),
    "awards": (AwardForm, AwardForm),
    "aid": (FinancialAidForm, FinancialAidForm),
    "grades": (GradeRecordForm, GradeRecordForm),
}


def add_form(code: str, **kwargs: Any) -> FlaskForm:
    return FORMS[code][0](prefix=code, **kwargs)


def edit_form(code: str, **kwargs: Any) -> FlaskForm:
    return FORMS[code][1](prefix=f"edit-{code}", **kwargs)
