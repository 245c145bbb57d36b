"""Shared by the status-change tests (tests/changes/): a Monday of term, the autouse fixture that
sets it as today, and builders that put a pupil into the state a change type starts from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from changes import departures, placements, suspension
from extensions import db
from models.audit import StudentHistory
from models.changes import OPEN_STATUSES, ChangeRequest
from models.lifecycle import arranging
from models.people import User
from models.status import CONTACT_DROPOUT, ILLNESS
from models.student import Student
from services import absences, family_contacts, suspension_expiry, workflows
from services.errors import RuleViolation
from tests.helpers import HEPING1, HEPING_SPECIAL, WORK_STUDY_SCHOOL, pupil_of, school
from tests.transfer_helpers import at, upload, user

MON = date(2026, 11, 2)  # a Monday of the first term of 2026–27


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


# --- helpers -----------------------------------------------------------------------------------


def staff(unit_id: int) -> User:
    """The first account of a unit: the registrar of a school, the official of an authority."""
    return db.session.scalar(select(User).where(User.unit_id == unit_id).order_by(User.id))


def give(req: ChangeRequest, *materials: str) -> None:
    for m in materials:
        workflows.attach(req, m, upload(), req.requested_by)
    db.session.commit()


def give_all(req: ChangeRequest) -> None:
    give(req, *(m.code for m in workflows.missing_materials(req)))


def decide_all(req: ChangeRequest, *, but_last: bool = False) -> None:
    """Each step approved by its own unit (all of them, or all but the last)."""
    while req.status == "pending" and not (but_last and req.current_seq == len(req.steps)):
        workflows.decide(req.current_step.id, staff(req.current_step.unit_id), True, "同意")
        db.session.commit()


def refused(call: Callable[[], object], match: str | None = None) -> RuleViolation:
    with pytest.raises(RuleViolation, match=match) as exc:
        call()
    db.session.rollback()
    return exc.value


def set_state(pupil: Student, **values: object) -> Student:
    """Put the pupil directly into a state (a status no request led to): arranging, not a workflow."""
    with arranging():
        for k, v in values.items():
            setattr(pupil, k, v)
    db.session.commit()
    return pupil


def suspend(pupil: Student, *, reason_kind: str = ILLNESS, starts_on: date = MON, ends_on: date | None = None) -> ChangeRequest:
    req = suspension.request_suspension(pupil, staff(pupil.school_id), reason_kind=reason_kind, starts_on=starts_on,
                                        ends_on=ends_on, reason_text="住院治疗")
    give_all(req)
    decide_all(req)
    assert pupil.status == "suspended"
    return req


def absent(pupil: Student, first: date, last: date, *, excused: bool = False) -> None:
    absences.record_absence(pupil, staff(pupil.school_id), first_day=first, last_day=last, excused=excused, note=None)
    db.session.commit()


def contact(pupil: Student, day: date, purpose: str = CONTACT_DROPOUT) -> None:
    family_contacts.record_contact(pupil, staff(pupil.school_id), purpose=purpose, contacted_on=day, method="电话", outcome="未返校")
    db.session.commit()


def truant(pupil: Student) -> None:
    """Five weeks of unexcused absence before MON (国庆 inside) and two attempts to bring the pupil back."""
    absent(pupil, date(2026, 9, 28), date(2026, 10, 30))
    contact(pupil, date(2026, 10, 12))
    contact(pupil, date(2026, 10, 20))


def place(pupil: Student) -> ChangeRequest:
    """第二十二条: the record moves to the work-study school, which stands in for an institution's school."""
    req = placements.request_juvenile_placement(pupil, staff(pupil.school_id), school(WORK_STUDY_SCHOOL), "法院判决")
    give_all(req)
    decide_all(req)
    assert pupil.school.code == WORK_STUDY_SCHOOL
    return req


def expired_ids(who: str) -> list[int]:
    return [s.id for _, s in db.session.execute(suspension_expiry.expired_query(user(who))).all()]


def history(pupil: Student, field: str) -> list[StudentHistory]:
    return list(db.session.scalars(
        select(StudentHistory).where(StudentHistory.student_id == pupil.id, StudentHistory.field == field).order_by(StudentHistory.id)
    ))


# --- the rules every new type shares ------------------------------------------------------------------

NEW_TYPES = (
    suspension.SUSPENSION, suspension.SUSPENSION_EXTENSION, suspension.RESUMPTION,
    departures.ABROAD, departures.ABROAD_RETURN, departures.DEATH, departures.DROPOUT, departures.DROPOUT_RETURN,
    placements.JUVENILE_PLACEMENT, placements.JUVENILE_RETURN, placements.SPECIAL_MOVE, placements.SPECIAL_ATTEND,
)
OPENERS: dict[str, Callable[[Student, User], ChangeRequest]] = {
    suspension.SUSPENSION: lambda p, a: suspension.request_suspension(p, a, reason_kind=ILLNESS, starts_on=MON, ends_on=None,
                                                                      reason_text="肺炎住院"),
    suspension.SUSPENSION_EXTENSION: lambda p, a: suspension.request_extension(p, a, "仍在治疗"),
    suspension.RESUMPTION: lambda p, a: suspension.request_resumption(p, a),
    departures.ABROAD: lambda p, a: departures.request_abroad(p, a, destination="加拿大", document="visa",
                                                              leaves_on=date(2026, 12, 1), reason_text=None),
    departures.ABROAD_RETURN: lambda p, a: departures.request_abroad_return(p, a, grade=p.grade, reason_text=None),
    departures.DEATH: lambda p, a: departures.report_death(p, a, died_on=MON, reason_text=None),
    departures.DROPOUT: lambda p, a: departures.report_dropout(p, a, "连续旷课"),
    departures.DROPOUT_RETURN: lambda p, a: departures.request_dropout_return(p, a, grade=p.grade, reason_text=None),
    placements.JUVENILE_PLACEMENT: lambda p, a: placements.request_juvenile_placement(p, a, school(WORK_STUDY_SCHOOL), "判决"),
    placements.JUVENILE_RETURN: lambda p, a: placements.request_juvenile_return(p, a, "刑满释放"),
    placements.SPECIAL_MOVE: lambda p, a: placements.request_special_move(
        p, a, kind=placements.TO_SPECIAL, to_school=school(HEPING_SPECIAL), keep_record=False, reason_text=None),
    placements.SPECIAL_ATTEND: lambda p, a: placements.request_special_move(
        p, a, kind=placements.TO_SPECIAL, to_school=school(HEPING_SPECIAL), keep_record=True, reason_text=None),
}


def ready(code: str) -> tuple[Student, Callable[[User], ChangeRequest]]:
    """A 和平一小 pupil in the state the type starts from, and how to open it as someone."""
    pupil = pupil_of(HEPING1)
    if code in (suspension.SUSPENSION_EXTENSION, suspension.RESUMPTION):
        suspend(pupil)
    elif code == departures.ABROAD_RETURN:
        set_state(pupil, status="abroad")
    elif code == departures.DROPOUT:
        truant(pupil)
    elif code == departures.DROPOUT_RETURN:
        set_state(pupil, status="dropped_out")
    elif code == placements.JUVENILE_RETURN:
        place(pupil)
    return pupil, lambda actor: OPENERS[code](pupil, actor)


def state(pupil: Student) -> tuple:
    episode = suspension.current(pupil)
    return (pupil.status, pupil.school_id, pupil.scope_path, pupil.attending_school_id, pupil.grade,
            episode and (episode.ends_on, episode.extensions))


def open_requests(pupil: Student) -> int:
    return db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.student_id == pupil.id, ChangeRequest.status.in_(OPEN_STATUSES)))
