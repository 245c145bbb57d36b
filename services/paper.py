"""The paper file (纸质档案): where it is, who keeps it, and its hand-over when the record moves.

Rules:

- 第九条: every pupil's paper file is kept by the school that holds the record. The school
  records where it is (e.g. 档案室 2号柜) and who keeps it; each recording is a new row, so the
  older ones are its history. Only that school's staff record it; everyone whose subtree covers
  the pupil reads it.
- 第十条: when the record leaves a school (转学 after 报到, 升学), the sending school keeps a copy
  of the paper file and records where it keeps it.
- 第十六条: the guardian carries the paper file to the receiving school, sealed (纸质档案由监护人
  密封转交). The sending school records the day it was sent and the guardian who carries it;
  the receiving school confirms the day it arrived and who signed for it.

A hand-over is visible to both schools (and the units above either); outside, it does not exist
(NotInScope → 404). The hand-overs not yet received in an area are a 第三十条 (6) report
(services/oversight/reports.py counts them with `not_received_filter`).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from extensions import db
from models.changes import ChangeRequest
from models.org import OrgUnit
from models.paper import NAME_MAX, PLACE_MAX, PaperFileLocation, PaperHandover
from models.people import User
from models.student import Student
from services import audit, clock, scope
from services.errors import NotInScope, RuleViolation
from services.scope import MAX_ID

# --- where the paper file is (第九条) -------------------------------------------------------------


def may_record_location(actor: User, student: Student) -> bool:
    """The staff of the school holding the record (as for the electronic archive)."""
    return actor.unit_id == student.school_id and actor.is_school_user


def current_location(student: Student) -> PaperFileLocation | None:
    return db.session.scalar(
        select(PaperFileLocation).where(PaperFileLocation.student_id == student.id).order_by(PaperFileLocation.id.desc()).limit(1)
    )


def location_history(student: Student) -> list[PaperFileLocation]:
    """Every recording, newest first (the first is where the file is now)."""
    return list(db.session.scalars(
        select(PaperFileLocation).where(PaperFileLocation.student_id == student.id).order_by(PaperFileLocation.id.desc())
    ))


def _text(value: str | None, field: str, limit: int, problems: list[tuple[str, str]]) -> str:
    value = (value or "").strip()
    if not value:
        problems.append((field, str(_l("This field is required."))))
    elif len(value) > limit:
        problems.append((field, str(_l("At most %(n)d characters.", n=limit))))
    return value


def record_location(student: Student, actor: User, location: str | None, custodian: str | None) -> PaperFileLocation:
    """The holding school records where the paper file is and who keeps it (a new row: the old stays)."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    if not may_record_location(actor, student):
        raise RuleViolation(str(_l("The paper file is kept by the pupil's school: only its staff record where it is.")))
    problems: list[tuple[str, str]] = []
    place = _text(location, "location", PLACE_MAX, problems)
    keeper = _text(custodian, "custodian", NAME_MAX, problems)
    if problems:
        raise RuleViolation(problems)
    now = current_location(student)
    if now is not None and (now.location, now.custodian, now.school_id) == (place, keeper, actor.unit_id):
        raise RuleViolation(str(_l("Nothing changed: the paper file is already recorded there.")))
    row = PaperFileLocation(student_id=student.id, school_id=actor.unit_id, location=place, custodian=keeper,
                            recorded_by_id=actor.id, recorded_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "paper.location", "student", student.id, f"{place} · {keeper}")
    return row


# --- the hand-over (第十条, 第十六条) ----------------------------------------------------------------


def open_handover(req: ChangeRequest, from_school: OrgUnit, to_school: OrgUnit) -> PaperHandover:
    """The paper file must follow the record: one hand-over per request (a second call returns it)."""
    found = handover_of(req)
    if found is not None:
        return found
    handover = PaperHandover(
        student_id=req.student_id, request_id=req.id, from_school_id=from_school.id, to_school_id=to_school.id,
        from_path=from_school.path, to_path=to_school.path, created_at=clock.now(),
    )
    db.session.add(handover)
    db.session.flush()
    return handover


def handover_of(req: ChangeRequest) -> PaperHandover | None:
    return db.session.scalar(select(PaperHandover).where(PaperHandover.request_id == req.id))


def can_see(actor: User, handover: PaperHandover) -> bool:
    return scope.covers(actor, handover.from_path) or scope.covers(actor, handover.to_path)


def load_handover(actor: User, handover_id: int) -> PaperHandover:
    handover = db.session.get(PaperHandover, handover_id) if 0 < handover_id <= MAX_ID else None
    if handover is None or not can_see(actor, handover):
        raise NotInScope()
    return handover


def handovers_of(actor: User, student: Student) -> list[PaperHandover]:
    """The pupil's hand-overs the actor may see, newest first."""
    rows = db.session.scalars(
        select(PaperHandover).where(PaperHandover.student_id == student.id).order_by(PaperHandover.id.desc())
    )
    return [h for h in rows if can_see(actor, h)]


def may_dispatch(actor: User, handover: PaperHandover) -> bool:
    return actor.unit_id == handover.from_school_id and actor.is_school_user and handover.received_on is None


def may_receive(actor: User, handover: PaperHandover) -> bool:
    return (actor.unit_id == handover.to_school_id and actor.is_school_user and handover.sent_on is not None
            and handover.received_on is None)


def _day(value: date | None, field: str, problems: list[tuple[str, str]], *, not_before: date | None = None) -> date | None:
    if value is None:
        problems.append((field, str(_l("Enter a date."))))
    elif value > clock.today():
        problems.append((field, str(_l("The date cannot be in the future."))))
    elif not_before is not None and value < not_before:
        problems.append((field, str(_l("The date cannot be before %(day)s.", day=not_before.isoformat()))))
    return value


def record_dispatch(handover: PaperHandover, actor: User, *, sent_on: date | None, carried_by: str | None, sealed: bool,
                    copy_kept: bool, copy_location: str | None) -> PaperHandover:
    """The sending school: the sealed file left with the guardian (第十六条) and the copy it keeps (第十条)."""
    if not can_see(actor, handover):
        raise NotInScope()
    if not may_dispatch(actor, handover):
        raise RuleViolation(str(_l("The sending school records the dispatch, until the receiving school has confirmed receipt.")))
    problems: list[tuple[str, str]] = []
    day = _day(sent_on, "sent_on", problems, not_before=handover.created_at.date())
    guardian = _text(carried_by, "carried_by", NAME_MAX, problems)
    if not sealed:
        problems.append(("sealed", str(_l("The guardian carries the paper file sealed (第十六条)."))))
    if not copy_kept:
        problems.append(("copy_kept", str(_l("The sending school keeps a copy of the paper file (第十条)."))))
    where = _text(copy_location, "copy_location", PLACE_MAX, problems)
    if problems:
        raise RuleViolation(problems)
    handover.sent_on, handover.carried_by, handover.sealed = day, guardian, True
    handover.copy_kept, handover.copy_location, handover.sent_recorded_by_id = True, where, actor.id
    db.session.flush()
    audit.record(actor, "paper.dispatch", "student", handover.student_id, f"纸质档案交接 #{handover.id}：{day} 交 {guardian}")
    return handover


def confirm_receipt(handover: PaperHandover, actor: User, *, received_on: date | None, received_by: str | None) -> PaperHandover:
    """The receiving school signs for the paper file."""
    if not can_see(actor, handover):
        raise NotInScope()
    if handover.received_on is not None:
        raise RuleViolation(str(_l("The receipt of this paper file is already confirmed.")))
    if handover.sent_on is None:
        raise RuleViolation(str(_l("The sending school has not yet recorded that it sent the paper file.")))
    if not may_receive(actor, handover):
        raise RuleViolation(str(_l("The receiving school confirms the receipt.")))
    problems: list[tuple[str, str]] = []
    day = _day(received_on, "received_on", problems, not_before=handover.sent_on)
    signer = _text(received_by, "received_by", NAME_MAX, problems)
    if problems:
        raise RuleViolation(problems)
    handover.received_on, handover.received_by, handover.received_recorded_by_id = day, signer, actor.id
    db.session.flush()
    audit.record(actor, "paper.receipt", "student", handover.student_id, f"纸质档案交接 #{handover.id}：{day} {signer} 签收")
    return handover


# --- not yet received (第三十条 (6)) -----------------------------------------------------------------


def not_received_filter(path: str) -> ColumnElement[bool]:
    """Hand-overs with either end in the subtree at `path` whose receipt is not confirmed."""
    return and_(PaperHandover.received_on.is_(None),
                or_(scope.within(PaperHandover.from_path, path), scope.within(PaperHandover.to_path, path)))


def not_received_query(path: str) -> Select[tuple[PaperHandover]]:
    return select(PaperHandover).where(not_received_filter(path)).order_by(PaperHandover.id)
