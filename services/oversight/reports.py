"""The reports of 第三十条 (and 休学到期, 第十九条, which the school must follow up), counted in the
user's subtree, grouped by school for the data check, and listed page by page. The rows a user
sees are always those under their own unit's path."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from extensions import db
from models.audit import StudentHistory
from models.changes import Attachment, ChangeRequest
from models.paper import PaperHandover
from models.problems import OPEN, ProblemRecord
from models.status import ArchiveHandover, Suspension
from models.student import Student
from services import paper, scope, suspension_expiry, workflows
from services.errors import NotInScope
from services.workflows import Material

if TYPE_CHECKING:
    from models.people import User

from services.oversight.violations import (
    Truancy,
    admissions_filter,
    archive_overdue_filter,
    handover_overdue_filter,
    late_deaths_filter,
    not_archived_filter,
    unreported_dropouts,
)

PAGE_SIZE = 50


# --- the reports, counted and grouped by school -------------------------------------------------------

ARCHIVE, PROBLEMS, NOT_ARCHIVED, DROPOUTS, ADMISSIONS, HANDOVERS, PAPER, EXPIRED = (
    "archive_overdue", "open_problems", "changes_not_archived", "unreported_dropouts", "admission_without_transfer",
    "handover_overdue", "paper_not_received", "expired_suspensions",
)
LATE_DEATHS = "late_death_reports"


@dataclass(frozen=True)
class Report:
    code: str
    label: Any
    article: str
    description: Any
    violation: bool = True  # a 第三十条 item; 休学到期 is on the data check list only


REPORTS = (
    Report(ARCHIVE, _l("No archive a month after enrollment"), "第三十条第一项 · 第八条",
           _l("Pupils enrolled more than a month ago whose archive is incomplete (no hukou proof or no guardian).")),
    Report(PROBLEMS, _l("Open problem records (false or duplicate data)"), "第三十条第二项 · 第七条",
           _l("Suspected duplicates and invalid ID numbers found by the duplicate check and not yet resolved.")),
    Report(NOT_ARCHIVED, _l("Changes not archived"), "第三十条第三项 · 第十二条",
           _l("Completed changes whose required evidence is missing from the record.")),
    Report(DROPOUTS, _l("Unreported dropouts"), "第三十条第四项 · 第二十三条",
           _l("Pupils in school with 4 consecutive weeks of unexcused absence and no dropout reported.")),
    Report(ADMISSIONS, _l("Admissions without transfer"), "第三十条第五项 · 第十四条",
           _l("Pupils whose school changed without a completed transfer or placement.")),
    Report(HANDOVERS, _l("Archives not passed on"), "第三十条第六项 · 第二十三条",
           _l("Archives of migrant dropouts not handed to the hukou county by the end of the term.")),
    # Followed until received; not counted as a violation, since no deadline is set for it.
    Report(PAPER, _l("Paper files not yet received"), "第三十条第六项 · 第十条 · 第十六条",
           _l("Paper files of pupils who moved to another school (transfer, junior middle school) whose receipt "
              "the receiving school has not confirmed."), violation=False),
    Report(EXPIRED, _l("Suspensions expired"), "第十九条",
           _l("Suspensions that have ended with no resumption or extension filed."), violation=False),
    Report(LATE_DEATHS, _l("Deaths reported late"), "第二十一条",
           _l("Deaths the school reported more than 10 working days after the date of death."), violation=False),
)
REPORT = {r.code: r for r in REPORTS}


def _expired(actor: User, path: str) -> Select[Any]:
    return suspension_expiry.expired_query(actor).where(scope.within(Student.scope_path, path))


def _count(query: Select[Any]) -> int:
    return int(db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def _grouped(column: Any, *conditions: Any, base: Select[Any] | None = None) -> Counter[str]:
    query = base if base is not None else select()
    rows = db.session.execute(query.with_only_columns(column, func.count()).where(*conditions).group_by(column).order_by(None))
    return Counter({p: int(n) for p, n in rows if p})


def _checked_path(actor: User, path: str | None) -> str:
    """`path` narrows the actor's own subtree, never widens it."""
    if path is None:
        return scope.user_path(actor)
    if not scope.covers(actor, path):
        raise NotInScope()
    return path


def count(actor: User, code: str, path: str | None = None) -> int:
    """How many rows report `code` has inside the actor's subtree (or the part of it at `path`)."""
    p = _checked_path(actor, path)
    if code == ARCHIVE:
        return _count(select(Student.id).where(scope.within(Student.scope_path, p), archive_overdue_filter()))
    if code == PROBLEMS:
        return _count(select(ProblemRecord.id).where(scope.within(ProblemRecord.scope_path, p), ProblemRecord.status == OPEN))
    if code == NOT_ARCHIVED:
        return _count(select(ChangeRequest.id).where(not_archived_filter(p)))
    if code == DROPOUTS:
        return len(unreported_dropouts(p))
    if code == ADMISSIONS:
        return _count(select(StudentHistory.id).where(admissions_filter(p)))
    if code == HANDOVERS:
        return _count(select(ArchiveHandover.id).where(handover_overdue_filter(p)))
    if code == PAPER:
        return _count(select(PaperHandover.id).where(paper.not_received_filter(p)))
    if code == EXPIRED:
        return _count(_expired(actor, p).with_only_columns(Suspension.id))
    if code == LATE_DEATHS:
        return _count(select(ChangeRequest.id).where(late_deaths_filter(p)))
    raise KeyError(code)


def counts(actor: User, path: str | None = None, *, violations_only: bool = False) -> dict[str, int]:
    return {r.code: count(actor, r.code, path) for r in REPORTS if r.violation or not violations_only}


def by_school(actor: User, path: str | None = None) -> dict[str, Counter[str]]:
    """school path → report code → rows, for every report, in one GROUP BY each."""
    p = _checked_path(actor, path)
    out: dict[str, Counter[str]] = {}

    def put(code: str, grouped: Counter[str]) -> None:
        for school_path, n in grouped.items():
            out.setdefault(school_path, Counter())[code] += n

    put(ARCHIVE, _grouped(Student.scope_path, scope.within(Student.scope_path, p), archive_overdue_filter()))
    put(PROBLEMS, _grouped(ProblemRecord.scope_path, scope.within(ProblemRecord.scope_path, p), ProblemRecord.status == OPEN))
    # A change counts for each school at either end inside the subtree (once when both ends are one school).
    put(NOT_ARCHIVED, _grouped(ChangeRequest.from_path, not_archived_filter(p), scope.within(ChangeRequest.from_path, p)))
    put(NOT_ARCHIVED, _grouped(ChangeRequest.to_path, not_archived_filter(p), scope.within(ChangeRequest.to_path, p),
                               or_(ChangeRequest.from_path.is_(None), ChangeRequest.from_path != ChangeRequest.to_path)))
    put(DROPOUTS, Counter(t.scope_path for t in unreported_dropouts(p)))
    put(ADMISSIONS, _grouped(Student.scope_path, admissions_filter(p)))
    put(HANDOVERS, _grouped(ArchiveHandover.scope_path, handover_overdue_filter(p)))
    # A paper file waits for the sending school until sent, then for the receiving school.
    put(PAPER, _grouped(PaperHandover.from_path, paper.not_received_filter(p), PaperHandover.sent_on.is_(None),
                        scope.within(PaperHandover.from_path, p)))
    put(PAPER, _grouped(PaperHandover.to_path, paper.not_received_filter(p), PaperHandover.sent_on.is_not(None),
                        scope.within(PaperHandover.to_path, p)))
    put(EXPIRED, _grouped(Student.scope_path, base=_expired(actor, p)))
    put(LATE_DEATHS, _grouped(ChangeRequest.from_path, late_deaths_filter(p)))
    return out


# --- the rows of the report pages ---------------------------------------------------------------------


def not_archived_page(actor: User, page: int) -> tuple[list[tuple[ChangeRequest, list[Material]]], bool]:
    rows = db.session.scalars(
        select(ChangeRequest).where(not_archived_filter(scope.user_path(actor)))
        .order_by(ChangeRequest.id.desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return [(r, missing_of(r)) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def missing_of(req: ChangeRequest) -> list[Material]:
    """The materials of one listed request that have no file, by the rule of `missing_evidence`
    (each material's `when` in SQL, all asked in one query)."""
    ids = set(db.session.scalars(
        select(Attachment.material).where(Attachment.request_id == req.id)
    ))
    absent = [m for m in workflows.type_of(req).materials if m.code not in ids]
    if not absent:
        return []
    required = db.session.execute(select(*(m.when.sql() for m in absent)).where(ChangeRequest.id == req.id)).one()
    return [m for m, needed in zip(absent, required, strict=True) if needed]


def dropouts_page(actor: User, page: int) -> tuple[list[tuple[Truancy, Student]], bool]:
    found = unreported_dropouts(scope.user_path(actor))
    chunk = found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    students = {s.id: s for s in db.session.scalars(select(Student).where(Student.id.in_([t.student_id for t in chunk])))}
    return [(t, students[t.student_id]) for t in chunk], len(found) > (page + 1) * PAGE_SIZE


def admissions_page(actor: User, page: int) -> tuple[list[tuple[StudentHistory, Student]], bool]:
    rows = db.session.execute(
        select(StudentHistory, Student).where(admissions_filter(scope.user_path(actor)))
        .order_by(StudentHistory.id.desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return [(h, s) for h, s in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def handovers_page(actor: User, page: int) -> tuple[list[ArchiveHandover], bool]:
    rows = db.session.scalars(
        select(ArchiveHandover).where(handover_overdue_filter(scope.user_path(actor)))
        .order_by(ArchiveHandover.due_on, ArchiveHandover.id).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def late_deaths_page(actor: User, page: int) -> tuple[list[ChangeRequest], bool]:
    rows = db.session.scalars(
        select(ChangeRequest).where(late_deaths_filter(scope.user_path(actor)))
        .order_by(ChangeRequest.id.desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def paper_page(actor: User, page: int) -> tuple[list[PaperHandover], bool]:
    rows = db.session.scalars(
        paper.not_received_query(scope.user_path(actor)).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE
