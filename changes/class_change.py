"""校内调班: a pupil's class within the school, recorded by the school as a change of its own.

The proof that a change type is one unit: this module declares everything the type owns (its
form, checks, effect, what its request page shows), and nothing else in the code names it but the
registry (changes/__init__.py) and its test file. It has no approval step: the school that holds
the record decides, so the request is done when it is opened, and it stays as the trace of who
moved the pupil, when and why (with the history row old → new class the engine writes).

The pupil moves into a class the school has set up (models/school_class.py) for the pupil's grade
in the current school year, chosen from a list; the effect sets the class and its name together
(services/classes.placement_fields). The edit form never changes the class of an approved record;
an import, a transfer's arrival (no class at the new school), the summer promotion and this change
are the only ways it moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from extensions import db
from forms.request_pages import RequestPage
from models.changes import ChangeRequest
from models.lifecycle import StudentStatus
from models.school_class import SchoolClass
from models.student import Student
from services import audit, classes, codes
from services.change_codes import CLASS_CHANGE
from services.change_common import finish, open_change
from services.classes import MAX_REASON, class_name_problem
from services.errors import RuleViolation
from services.lifecycle import Outcome
from services.payloads import Payload
from services.workflows import ChangeType, Fact, declare, filed_by_own_school

if TYPE_CHECKING:
    from models.people import User

@dataclass(frozen=True)
class ClassChangePayload(Payload):
    to_class: str
    from_class: str | None = None  # None: the pupil had no class yet
    to_class_id: int | None = None  # the class (school_class.id); None in requests made before classes were set up


# The statuses in which a pupil sits in a class of the school holding the record.
IN_CLASS_STATUSES = (StudentStatus.ENROLLED, StudentStatus.SUSPENDED)


class ClassChangeForm(FlaskForm):
    # The classes of the pupil's grade (`_fill_classes`), by name: a name is unique in a grade and year.
    # Not checked against the list here: the service says why a class is refused, in words.
    class_name = SelectField(_l("New class"), choices=[], validate_choice=False, validators=[DataRequired()])
    reason = StringField(_l("Reason for the class change"), validators=[DataRequired(), Length(max=MAX_REASON)])


def class_choice_label(school_class: SchoolClass) -> str:
    teacher = school_class.head_teacher
    return str(_l("%(name)s (head teacher %(teacher)s)", name=school_class.name, teacher=teacher)) if teacher else school_class.name


def _fill_classes(form: ClassChangeForm, student: Student) -> None:
    form.class_name.choices = [("", str(_l("Choose a class")))] + [
        (c.name, class_choice_label(c)) for c in classes.choices_for(student) if c.id != student.class_id]


def _on_the_roll(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status not in IN_CLASS_STATUSES:
        return _l("Only a pupil on the school's roll (在籍 or 休学) is placed in a class.")
    return None


def _class_changed(req: ChangeRequest, actor: User) -> Outcome:
    finish(req)
    asked = ClassChangePayload.read(req.payload)
    audit.record(actor, "student.class_change", "student", req.student.id, f"{asked.from_class or ''} → {asked.to_class}")
    target = db.session.get(SchoolClass, asked.to_class_id) if asked.to_class_id is not None else None
    return Outcome(fields=classes.placement_fields(target) if target is not None else {"class_name": asked.to_class})


def request_class_change(student: Student, actor: User, new_class: str | SchoolClass | None, reason: str | None) -> ChangeRequest:
    """调班 (or a first class for a pupil who has none): the pupil's school only, with a reason;
    done at once. The class — one the school has set up for the pupil's grade this school year,
    given as itself or by its name — and the reason are checked here, each beside its field."""
    target = new_class if isinstance(new_class, SchoolClass) else None
    name, why = (target.name if target else (new_class or "")).strip(), (reason or "").strip()  # type: ignore[union-attr]
    problems = []
    if not name:
        problems.append(("class_name", str(_l("Give the new class."))))
    elif (problem := class_name_problem(name)) is not None:
        problems.append(("class_name", problem))
    else:
        year = classes.current_school_year()
        if target is None:
            target = classes.class_named(student, name, year)
        if target is None or (target.school_id, target.grade, target.school_year) != (student.school_id, student.grade, year):
            problems.append(("class_name", str(_l("The school has no class %(name)s in %(grade)s in %(year)s; set it up "
                                                  "under Classes first.", name=name, grade=codes.label("grade", str(student.grade)),
                                                  year=classes.year_label(year)))))
        elif target.id == student.class_id:
            problems.append(("class_name", str(_l("The pupil is already in this class."))))
    if not why:
        problems.append(("reason", str(_l("Give the reason for the class change."))))
    elif len(why) > MAX_REASON:
        problems.append(("reason", str(_l("At most %(n)d characters.", n=MAX_REASON))))
    if problems:
        raise RuleViolation(problems)
    return open_change(CLASS_CHANGE, student, actor, reason_text=why,
                       payload={"from_class": student.class_name, "to_class": name, "to_class_id": target.id})  # type: ignore[union-attr]


def _class_info(student: Student) -> dict[str, Any]:
    return {"current_class": student.class_name}


CLASS_CHANGE_TYPE = declare(ChangeType(
    code=CLASS_CHANGE,
    label=_l("Class change"),
    steps=(),  # the school decides: done when it is opened
    effect=_class_changed,
    preconditions=(filed_by_own_school, _on_the_roll),
    # A class is not a status: it may change while another request waits, while suspended, and
    # while a problem record (问题学籍) is being resolved.
    opens_beside_others=True,
    open_with_problem=True,
    while_blocked=(StudentStatus.SUSPENDED,),
    facts=(Fact("from_class", _l("Class before")), Fact("to_class", _l("New class"))),
    page=RequestPage(
        ClassChangeForm, types=(CLASS_CHANGE,), info=_class_info, submit=_l("Save the class change"), prepare=_fill_classes,
        note=_l("The class changes as soon as you save; the change and its reason stay in the pupil's history."),
        open=lambda s, a, f: request_class_change(s, a, f.class_name.data, f.reason.data),
    ),
    payload=ClassChangePayload,
))
