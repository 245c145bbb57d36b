"""Contacts with a pupil's family, recorded by the pupil's own school: after a suspension ended
without an application (休学到期, 第十九条) and before a dropout report (第二十三条: 经学校多次联系
动员返校就读仍无效果). The pupil's page, the 休学到期 list and the dropout request read them here.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION, FamilyContact
from models.student import Student
from services import audit, clock, scope
from services.errors import NotInScope, RuleViolation
from services.workflows import is_own_school

# The audit log's words for a contact's purpose (forms/status.py has the form's longer labels).
PURPOSE_WORDS = {CONTACT_DROPOUT: "动员返校", CONTACT_SUSPENSION: "休学到期"}

if TYPE_CHECKING:
    from models.people import User


def contacts_of(student: Student, purpose: str | None = None) -> list[FamilyContact]:
    query = select(FamilyContact).where(FamilyContact.student_id == student.id)
    if purpose:
        query = query.where(FamilyContact.purpose == purpose)
    return list(db.session.scalars(query.order_by(FamilyContact.contacted_on.desc(), FamilyContact.id.desc())))


def record_contact(student: Student, actor: User, *, purpose: str, contacted_on: date, method: str, outcome: str) -> FamilyContact:
    """A contact with the family, by the pupil's own school (休学到期 or before a dropout report)."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    if not is_own_school(actor, student):
        raise RuleViolation(str(_l("The pupil's own school records contacts with the family.")))
    if purpose not in (CONTACT_DROPOUT, CONTACT_SUSPENSION):
        raise RuleViolation([("purpose", str(_l("Choose what the contact was about.")))])
    if contacted_on > clock.today():
        raise RuleViolation([("contacted_on", str(_l("The date of a contact cannot be in the future.")))])
    method, outcome = (method or "").strip(), (outcome or "").strip()
    if not method or not outcome:
        raise RuleViolation(str(_l("Say how the family was contacted and what came of it.")))
    contact = FamilyContact(student_id=student.id, scope_path=student.scope_path, purpose=purpose, contacted_on=contacted_on,
                            method=method[:50], outcome=outcome[:500], recorded_by_id=actor.id)
    db.session.add(contact)
    db.session.flush()
    audit.record(actor, "student.contact", "student", student.id, f"联系家长（{PURPOSE_WORDS.get(purpose, purpose)}）{contacted_on}")
    return contact



def last_contacts(student_ids: list[int], purpose: str) -> dict[int, date]:
    """Pupil id → the day of the latest contact of this purpose, for a page of pupils in one query."""
    if not student_ids:
        return {}
    return dict(db.session.execute(  # type: ignore[arg-type]
        select(FamilyContact.student_id, func.max(FamilyContact.contacted_on))
        .where(FamilyContact.student_id.in_(student_ids), FamilyContact.purpose == purpose)
        .group_by(FamilyContact.student_id)
    ).all())
