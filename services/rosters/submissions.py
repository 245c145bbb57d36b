"""Submission of the registers to the authority (第十二条: 上报主管教育行政部门), kept exactly as
submitted, with whether each came in on time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from extensions import db
from models.org import SCHOOL, OrgUnit
from models.rosters import RosterSubmission
from services import audit, clock, scope, uploads
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

from services.rosters.output import register_workbook, render_pdf
from services.rosters.registers import CHANGES, KINDS, NEW, due_on, is_direct, year_start

# --- submission (第十二条: 上报主管教育行政部门) ----------------------------------------------------------------
#
# A school submits its 新生花名册 and 增减登记表 once the school year has started. What it submits
# is kept exactly as produced at that moment (PDF and XLSX, content-addressed), because the data
# behind a register keeps changing afterwards. The graduation roster is not submitted here: it is
# approved through its own workflow (services/graduation.py, 第二十四条).
#
# A second submission of the same register replaces the first, which stays as history: a school
# that finds a mistake, or a transfer completed late, must be able to send the corrected register,
# and the authority must still see what was sent first and when. Whether the register came in on
# time is decided by the first submission: a correction after the due date does not make a
# punctual school late, and a late school does not become punctual by resubmitting.

SUBMITTED_KINDS = (NEW, CHANGES)
ON_TIME, LATE, MISSING, OPEN = "on_time", "late", "missing", "open"
STATE_LABELS = {ON_TIME: _l("Submitted on time"), LATE: _l("Submitted late"), MISSING: _l("Not submitted, overdue"),
                OPEN: _l("Not submitted, not yet due")}


def is_on_time(submitted_at: datetime, year: int) -> bool:
    """开学后1个月内: on time up to and including `due_on(year)`, counted from the configured term start."""
    return submitted_at.date() <= due_on(year)


def recipients(school: OrgUnit, kind_code: str) -> tuple[OrgUnit | None, OrgUnit | None]:
    """(the supervising authority, the county where it stands when that is another unit): a 直管学校
    also sends its 增减登记表 to its county (第十二条 last paragraph)."""
    also = school.parent if kind_code == CHANGES and is_direct(school) else None
    return school.supervisor, also


def may_submit(actor: User, school: OrgUnit) -> bool:
    """A school's own staff submit its registers; an authority cannot submit for it."""
    return school.level == SCHOOL and actor.unit_id == school.id and actor.is_school_user


def submit(actor: User, kind_code: str, year: int) -> tuple[RosterSubmission, bytes, bytes]:
    """Produce the school's register of `year` now, store both files and record the submission.
    Returns the row and the bytes that were stored. The caller commits."""
    school = actor.unit
    if kind_code not in SUBMITTED_KINDS:
        raise NotInScope()
    if not may_submit(actor, school):
        raise RuleViolation(str(_l("Only the school's own staff submit its registers.")))
    if year_start(year) > clock.today():
        raise RuleViolation(str(_l("The registers of a school year can be submitted once it has started (%(day)s).",
                                   day=year_start(year).isoformat())))
    pdf_bytes, doc = render_pdf(kind_code, school, actor, year)
    xlsx_bytes = b"".join(register_workbook(KINDS[kind_code], school, year))
    at = clock.now()
    for previous in db.session.scalars(_current(school.id, kind_code, year)):
        previous.replaced_at = at
    sent_to, also_to = recipients(school, kind_code)
    row = RosterSubmission(
        school_id=school.id, scope_path=school.path, kind=kind_code, year=year, submitted_by_id=actor.id,
        submitted_at=at, due_on=due_on(year), on_time=is_on_time(at, year), sent_to=sent_to, also_to=also_to,
        document_id=doc.id, pdf_sha256=uploads.store(pdf_bytes), pdf_size=len(pdf_bytes),
        xlsx_sha256=uploads.store(xlsx_bytes), xlsx_size=len(xlsx_bytes),
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # ux_roster_submission_current: another submission of it just went in
        db.session.rollback()
        raise RuleViolation(str(_l("This register was submitted at the same moment by someone else. "
                                   "Reload the page to see it."))) from None
    audit.record(actor, "submit", "roster_submission", row.id,
                 f"{KINDS[kind_code].title}（{school.name}，{year} 年）{'按时报送' if row.on_time else '逾期报送'}")
    return row, pdf_bytes, xlsx_bytes


def _current(school_id: int, kind_code: str, year: int) -> Select[Any]:
    return select(RosterSubmission).where(RosterSubmission.school_id == school_id, RosterSubmission.kind == kind_code,
                                          RosterSubmission.year == year, RosterSubmission.replaced_at.is_(None))


@dataclass
class SubmissionState:
    """Where one register of one school stands: its current submission, and whether it came in on time."""

    state: str
    current: RosterSubmission | None = None
    count: int = 0  # submissions of this register, the replaced ones included

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


def submission_states(path: str, year: int) -> dict[tuple[int, str], SubmissionState]:
    """(school id, kind) → its state, for the schools of the subtree that have submitted; the others
    are `state_of(None, year)`. One query over the year's submissions in the subtree."""
    rows = db.session.scalars(
        select(RosterSubmission).where(scope.within(RosterSubmission.scope_path, path), RosterSubmission.year == year)
        .options(selectinload(RosterSubmission.submitted_by)).order_by(RosterSubmission.submitted_at, RosterSubmission.id)
    )
    out: dict[tuple[int, str], SubmissionState] = {}
    for row in rows:
        key = (row.school_id, row.kind)
        found = out.get(key)
        if found is None:  # the first submission decides on time or late
            found = out[key] = SubmissionState(ON_TIME if row.on_time else LATE)
        found.count += 1
        if row.replaced_at is None:
            found.current = row
    return out


def state_of(found: SubmissionState | None, year: int, today: date | None = None) -> SubmissionState:
    """A register not submitted: overdue once its due date has passed, else still open."""
    if found is not None:
        return found
    return SubmissionState(MISSING if (today or clock.today()) > due_on(year) else OPEN)


def history(actor: User, school: OrgUnit, year: int) -> list[RosterSubmission]:
    """Every submission of a school in `year`, newest first (the school in the actor's scope)."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    return list(db.session.scalars(
        select(RosterSubmission).where(RosterSubmission.school_id == school.id, RosterSubmission.year == year)
        .order_by(RosterSubmission.submitted_at.desc(), RosterSubmission.id.desc())))


def load_submission(actor: User, submission_id: int) -> RosterSubmission:
    return scope.load_scoped(actor, RosterSubmission, submission_id)  # type: ignore[no-any-return]


def stored_file(row: RosterSubmission, ext: str) -> bytes:
    """The file exactly as submitted; refused if what is on disk is not what was stored."""
    sha = row.pdf_sha256 if ext == "pdf" else row.xlsx_sha256
    try:
        data = uploads.path_of(sha).read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != sha:
        raise RuleViolation(str(_l("The stored file does not match what was submitted.")))
    return data


def submission_filename(row: RosterSubmission, ext: str) -> str:
    return f"{KINDS[row.kind].title}_{row.school.name}_{row.year}_{row.submitted_at:%Y%m%d%H%M}.{ext}"
