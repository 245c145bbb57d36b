"""The page that opens a change request from the pupil's page: its form, how it opens, what it
shows beside the form. Each change type declares its own (ChangeType.page, in changes/<type>.py);
the screen (admin/status.py) serves them all at /status/<type>/new.

Flask-WTF: every form carries the CSRF token. The evidence inputs are not written in the forms:
`with_materials` adds one file input per material the type declares, so a form never drifts from
its type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import codes, scope, workflows
from services.errors import NotInScope
from services.students import GRADES_BY_KIND, grades_taught

if TYPE_CHECKING:
    from models.changes import ChangeRequest
    from models.people import User

F = TypeVar("F", bound=FlaskForm)
MATERIAL_PREFIX = "file_"
SCHOOL_CHOICES_LIMIT = 500  # a city has a few hundred schools at most; the select stays usable

Opener = Callable[[Student, "User", Any], "ChangeRequest"]


@dataclass(frozen=True)
class RequestPage:
    """One request page: its form, the change types whose materials it offers, how it opens."""

    form: type[FlaskForm]
    open: Opener
    # The types whose materials the page offers (the first names the file inputs); more than one
    # when the form chooses the type (第十七条: the record moves, or stays and the pupil attends).
    types: tuple[str, ...]
    title: Any = None  # None: the label of the first type
    defaults: Callable[[Student], dict[str, Any]] = lambda student: {}
    prepare: Callable[[Any, Student], None] | None = None  # fills the choices that depend on the pupil
    info: Callable[[Student], dict[str, Any]] = field(default=lambda student: {})  # shown beside the form
    button: Any = None  # a shorter label for the pupil's page, when the title is long
    submit: Any = None  # the button that sends the form (None: "Open the request")
    note: Any = None  # said above the form: what happens when it is sent, when that is not an approval

    def form_class(self) -> type[FlaskForm]:
        return with_materials(self.form, *self.types)

    @property
    def heading(self) -> Any:
        return self.title if self.title is not None else workflows.TYPES[self.types[0]].label


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


# --- what several pages share -------------------------------------------------------------------


class ReasonOnlyForm(FlaskForm):
    """延长休学, 回原校 (第二十二条): the reason, then the materials."""

    reason_text = TextAreaField(_l("Details of the reason"), validators=[Optional(), Length(max=500)])


class GradeForm(FlaskForm):
    """出国复学, 辍学返校: the grade the pupil comes back into."""

    grade = SelectField(_l("Grade"), choices=[], coerce=int, validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


def grade_choices(student: Student) -> list[tuple[int, str]]:
    return [(g, codes.label("grade", str(g))) for g in grades_taught(student.school)]


def prepare_grade(form: Any, student: Student) -> None:
    form.grade.choices = grade_choices(student)


def _city_path(student: Student) -> str:
    """/province/city/ of the pupil's school: the schools offered for a placement are the city's."""
    parts = student.school.path.strip("/").split("/")
    return "/" + "/".join(parts[:2]) + "/"


def school_choices(student: Student, *, kinds: Iterable[str], exclude: Iterable[int | None]) -> list[tuple[int, str]]:
    """Active schools of the pupil's city, of the given kinds, teaching the pupil's grade."""
    kinds = [k for k in kinds if student.grade in GRADES_BY_KIND.get(k, range(0))]
    skip = [i for i in exclude if i is not None]
    rows = db.session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), OrgUnit.school_kind.in_(kinds),
               scope.within(OrgUnit.path, _city_path(student)), OrgUnit.id.not_in(skip))
        .order_by(OrgUnit.code).limit(SCHOOL_CHOICES_LIMIT)
    )
    return [(r.id, r.name) for r in rows]


def chosen_school(school_id: int) -> OrgUnit:
    """The school picked in a form (its choices are the offered schools; anything else is not ours)."""
    unit = db.session.get(OrgUnit, school_id)
    if unit is None or unit.level != SCHOOL:
        raise NotInScope()
    return unit
