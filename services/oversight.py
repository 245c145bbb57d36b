"""Oversight: the violations of 第三十条 as reports, and the term data check (第二十七条).

Each report is a set of rows inside a subtree, counted with one query (or, for unreported
dropouts, a bounded check of the few pupils with recorded absences) and grouped by school for
the data check. The rows a user sees are always those under their own unit's path.

- 不为已接收学生建立学籍档案 (1): pupils in school for more than a month whose archive is incomplete (第八条).
- 以虚假信息建立学籍 (2): open 问题学籍 — suspected duplicates and invalid ID numbers (第七条).
- 不及时把学籍变动信息纳入学籍档案 (3): completed changes whose evidence is missing (第十二条).
- 不及时报告辍学 (4): 4 consecutive weeks of unexcused absence, no dropout reported (第二十三条).
- 接收学生不办理转学手续 (5): a pupil's school changed with no change request behind it.
- 不按规定转接学籍档案 (6): a migrant dropout's archive not handed over by the end of the term (第二十三条).
- 纸质档案未转交 (6, 第十条/第十六条): paper files of pupils who moved school (转学, 升学) whose
  receipt the receiving school has not yet confirmed (services/paper.py keeps the hand-over).
- 休学到期 (第十九条) is listed in the data check too: the school must contact the family.
- 死亡逾期上报 (第二十一条): deaths the school reported after 10 working days from the date of death
  (the school's lateness, kept on the request by services/departures.py); on the data check list.

The term data check: an authority starts a CheckCampaign for its area with a title and a due
date; each school of the area sees its own listed problems and records that it has finished
(CheckCompletion, with a note); the authority follows completion school by school.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, not_, or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.audit import StudentHistory
from models.changes import COMPLETED, OPEN_STATUSES, REJECTED, WITHDRAWN, Attachment, ChangeRequest
from models.graduation import RECORD_PROOF
from models.org import AUTHORITY_LEVELS, SCHOOL, OrgUnit
from models.oversight import CheckCampaign, CheckCompletion
from models.paper import PaperHandover
from models.problems import OPEN, ProblemRecord
from models.status import ILLNESS, Absence, ArchiveHandover, Suspension
from models.student import Student
from services import audit, clock, departures, paper, scope, suspension, workflows
from services.archive import incomplete_archive_filter
from services.errors import NotInScope, RuleViolation
from services.placements import SPECIAL_ATTEND, SPECIAL_MOVE, WORK_STUDY
from services.transfer import TRANSFER
from services.workflows import Material

if TYPE_CHECKING:
    from models.people import User

ARCHIVE_DEADLINE = timedelta(days=31)  # 第八条: 入学之日起1个月内建立学籍档案
PAGE_SIZE = 50


# --- 1. archive overdue (第八条) --------------------------------------------------------------------


def archive_overdue_filter() -> ColumnElement[bool]:
    """Pupils enrolled more than a month ago whose archive is still incomplete (admin/reports.py lists them)."""
    return and_(
        Student.status.in_(("enrolled", "pending")),
        Student.created_at < clock.now() - ARCHIVE_DEADLINE,
        incomplete_archive_filter(),
    )


# --- 3. changes whose evidence is missing --------------------------------------------------------------

_ALWAYS = Material.__dataclass_fields__["required"].default  # the default: required on every request


def _payload_text(key: str) -> ColumnElement[Any]:
    return func.coalesce(ChangeRequest.payload[key].as_string(), "")


def _illness() -> ColumnElement[bool]:
    return _payload_text("reason_kind") == ILLNESS


#: The SQL twin of every material that is required only sometimes (Material.required in Python).
#: tests/test_statistics.py fails when a declared type has a conditional material missing here.
CONDITIONAL_MATERIALS: dict[tuple[str, str], Callable[[], ColumnElement[bool]]] = {
    (suspension.SUSPENSION, "hospital_certificate"): _illness,
    (suspension.SUSPENSION, "medical_records"): _illness,
    (suspension.SUSPENSION, "receipts"): _illness,
    (suspension.SUSPENSION, "reason_proof"): lambda: not_(_illness()),
    # workflows.missing_materials asks the pupil's *current* suspension, which a completed
    # resumption has ended: here it is the suspension that this request ended.
    (suspension.RESUMPTION, "recovery_certificate"): lambda: exists().where(
        Suspension.ended_by_request_id == ChangeRequest.id, Suspension.reason_kind == ILLNESS),
    (departures.DROPOUT, "absence_record"): lambda: false(),
    (TRANSFER, "reason_proof"): lambda: not_(func.coalesce(ChangeRequest.payload["hukou_changed"].as_boolean(), false())),
    (SPECIAL_MOVE, "agreement"): lambda: _payload_text("kind") == WORK_STUDY,
    (SPECIAL_ATTEND, "agreement"): lambda: _payload_text("kind") == WORK_STUDY,
    (RECORD_PROOF, "loss_statement"): lambda: false(),  # services/certificates/record_proof.py: never required
}


def unmapped_conditionals() -> list[tuple[str, str]]:
    """Conditional materials of declared types without an SQL twin (they are not reported)."""
    return [(t.code, m.code) for t in workflows.TYPES.values() for m in t.materials
            if m.required is not _ALWAYS and (t.code, m.code) not in CONDITIONAL_MATERIALS]


def missing_evidence() -> ColumnElement[bool]:
    """SQL condition on ChangeRequest: a material its type requires has no uploaded file."""
    terms = []
    for ctype in workflows.TYPES.values():
        for m in ctype.materials:
            if m.required is _ALWAYS:
                required: ColumnElement[bool] | None = None
            elif (ctype.code, m.code) in CONDITIONAL_MATERIALS:
                required = CONDITIONAL_MATERIALS[(ctype.code, m.code)]()
            else:
                continue
            absent = ~exists().where(Attachment.request_id == ChangeRequest.id, Attachment.material == m.code)
            terms.append(and_(ChangeRequest.type == ctype.code, absent, *(() if required is None else (required,))))
    return or_(*terms) if terms else false()


def _either_end(path: str) -> ColumnElement[bool]:
    return or_(and_(ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, path)),
               and_(ChangeRequest.to_path.is_not(None), scope.within(ChangeRequest.to_path, path)))


def not_archived_filter(path: str) -> ColumnElement[bool]:
    return and_(ChangeRequest.status == COMPLETED, _either_end(path), missing_evidence())


# --- 4. unreported dropouts (第二十三条) ----------------------------------------------------------------


@dataclass(frozen=True)
class Truancy:
    student_id: int
    scope_path: str
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def unreported_dropouts(path: str) -> list[Truancy]:
    """Pupils in school with 4 consecutive weeks of unexcused absence and no dropout reported.

    SQL narrows to pupils in school whose unexcused absences span long enough and who have no
    open dropout request; only those few get the exact run of services/departures.py."""
    needed = departures.DROPOUT_WEEKS * 7
    reported = exists().where(ChangeRequest.student_id == Student.id, ChangeRequest.type == departures.DROPOUT,
                              ChangeRequest.status.in_(OPEN_STATUSES))
    rows = db.session.execute(
        select(Student.id, Student.scope_path, func.min(Absence.first_day), func.max(Absence.last_day))
        .join(Absence, Absence.student_id == Student.id)
        .where(scope.within(Student.scope_path, path), Student.status == "enrolled", Absence.excused.is_(False), ~reported)
        .group_by(Student.id, Student.scope_path)
    ).all()
    # Days off after the last absent day count too (departures.long_enough_for_dropout); two weeks bound them.
    candidates = {sid: p for sid, p, first, last in rows if (last - first).days + 1 + 14 >= needed}
    if not candidates:
        return []
    done = dict(db.session.execute(
        select(ChangeRequest.student_id, func.max(ChangeRequest.finished_at))
        .where(ChangeRequest.student_id.in_(list(candidates)), ChangeRequest.type == departures.DROPOUT,
               ChangeRequest.status == COMPLETED)
        .group_by(ChangeRequest.student_id)
    ).all())
    found = []
    for student in db.session.scalars(select(Student).where(Student.id.in_(list(candidates))).order_by(Student.id)):
        run = departures.longest_unexcused_run(student)
        if run is None or not departures.long_enough_for_dropout(run):
            continue
        reported_on = done.get(student.id)
        if reported_on is not None and run[1] <= reported_on.date():
            continue  # this absence was reported (and the pupil has come back since)
        found.append(Truancy(student.id, candidates[student.id], run[0], run[1]))
    return found


# --- 5. admission without transfer -----------------------------------------------------------------


def admissions_filter(path: str) -> ColumnElement[bool]:
    """History rows of a school change with no change request behind them, of pupils now in the
    subtree. A merged or closed school's records moved by the authority (第十条) are not admissions:
    their old school is inactive."""
    handed_over = exists().where(
        OrgUnit.level == SCHOOL, OrgUnit.active.is_(False),
        StudentHistory.old_value.like(literal("%（") + OrgUnit.code + literal("）")),
    )
    return and_(
        StudentHistory.student_id == Student.id, StudentHistory.field == "school_id", StudentHistory.request_id.is_(None),
        StudentHistory.old_value.is_not(None), scope.within(Student.scope_path, path), ~handed_over,
    )


# --- 6. archives not passed on -----------------------------------------------------------------------


def handover_overdue_filter(path: str) -> ColumnElement[bool]:
    return and_(scope.within(ArchiveHandover.scope_path, path), ArchiveHandover.done_on.is_(None),
                ArchiveHandover.due_on < clock.today())


# --- deaths reported late (第二十一条) ------------------------------------------------------------------


def late_deaths_filter(path: str) -> ColumnElement[bool]:
    """Death reports of schools in the subtree filed after the 10 working days (withdrawn or
    rejected ones aside: they were not the report that counted)."""
    return and_(ChangeRequest.type == departures.DEATH, ChangeRequest.status.not_in((WITHDRAWN, REJECTED)),
                ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, path),
                ChangeRequest.payload[departures.LATE_KEY].as_integer() > 0)


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
    return suspension.expired_query(actor).where(scope.within(Student.scope_path, path))


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
    """The materials of one listed request that have no file, by the rule of `missing_evidence`."""
    ids = set(db.session.scalars(
        select(Attachment.material).where(Attachment.request_id == req.id)
    ))
    out = []
    for m in workflows.type_of(req).materials:
        if m.code in ids:
            continue
        if m.required is _ALWAYS:
            out.append(m)
        elif (req.type, m.code) in CONDITIONAL_MATERIALS:
            cond = CONDITIONAL_MATERIALS[(req.type, m.code)]()
            if db.session.scalar(select(cond).where(ChangeRequest.id == req.id)):
                out.append(m)
    return out


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


# --- the term data check (第二十七条) -----------------------------------------------------------------


def ancestors(path: str) -> list[str]:
    """The paths of a unit and of every unit above it: "/21/", "/21/2101/", …"""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def campaign_filter(actor: User) -> ColumnElement[bool]:
    """Campaigns of an area that holds the actor's unit (the schools and authorities checked) or
    that lies inside the actor's subtree (the authorities above)."""
    path = scope.user_path(actor)
    return or_(CheckCampaign.scope_path.in_(ancestors(path)), scope.within(CheckCampaign.scope_path, path))


def campaigns(actor: User) -> list[CheckCampaign]:
    return list(db.session.scalars(
        select(CheckCampaign).where(campaign_filter(actor)).order_by(CheckCampaign.id.desc()).limit(200)
    ))


def get_campaign(actor: User, campaign_id: int) -> CheckCampaign:
    campaign = db.session.get(CheckCampaign, campaign_id)
    if campaign is None or not db.session.scalar(select(campaign_filter(actor)).where(CheckCampaign.id == campaign_id)):
        raise NotInScope()
    return campaign


def may_start(actor: User) -> bool:
    """The county, city and province officials start a check of their area (第二十七条)."""
    return actor.is_official and actor.unit.level in AUTHORITY_LEVELS


def start_campaign(actor: User, title: str, due_on: date) -> CheckCampaign:
    if not may_start(actor):
        raise RuleViolation(str(_l("Only an education authority starts a data check of its area.")))
    title = (title or "").strip()
    if not title:
        raise RuleViolation([("title", str(_l("Give the check a title.")))])
    if due_on < clock.today():
        raise RuleViolation([("due_on", str(_l("The due date cannot be in the past.")))])
    campaign = CheckCampaign(unit_id=actor.unit_id, scope_path=actor.unit.path, title=title[:100], due_on=due_on,
                             started_by_id=actor.id, started_at=clock.now())
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "check.start", "check_campaign", campaign.id, f"{title[:80]} due {due_on}")
    return campaign


def may_close(actor: User, campaign: CheckCampaign) -> bool:
    """The officials of the authority that started an open check close it."""
    return actor.unit_id == campaign.unit_id and actor.is_official and campaign.closed_at is None


def close_campaign(campaign: CheckCampaign, actor: User) -> None:
    if campaign.closed_at is not None:
        raise RuleViolation(str(_l("This check is already closed.")))
    if not may_close(actor, campaign):
        raise RuleViolation(str(_l("The authority that started the check closes it.")))
    campaign.closed_at = clock.now()
    db.session.flush()
    audit.record(actor, "check.close", "check_campaign", campaign.id)


def is_overdue(campaign: CheckCampaign) -> bool:
    return campaign.closed_at is None and campaign.due_on < clock.today()


def may_complete(actor: User, campaign: CheckCampaign) -> bool:
    unit = actor.unit
    return (actor.is_school_user and unit.level == SCHOOL and unit.path.startswith(campaign.scope_path)
            and campaign.closed_at is None)


def completion_of(campaign: CheckCampaign, school_id: int) -> CheckCompletion | None:
    return completions_of(school_id, [campaign]).get(campaign.id)


def completions_of(school_id: int, campaigns: list[CheckCampaign]) -> dict[int, CheckCompletion]:
    """campaign id → the school's completion, for those of `campaigns` it has recorded."""
    if not campaigns:
        return {}
    return {c.campaign_id: c for c in db.session.scalars(
        select(CheckCompletion).where(CheckCompletion.school_id == school_id,
                                      CheckCompletion.campaign_id.in_([c.id for c in campaigns])))}


def complete(campaign: CheckCampaign, actor: User, note: str | None) -> CheckCompletion:
    """The school records that it has checked its data. With problems still listed, it says why."""
    if not may_complete(actor, campaign):
        raise RuleViolation(str(_l("Only a school of the checked area records its check, while the check is open.")))
    if completion_of(campaign, actor.unit_id) is not None:
        raise RuleViolation(str(_l("Your school has already recorded this check.")))
    note = (note or "").strip()[:500] or None
    left = sum(counts(actor).values())
    if left and not note:
        raise RuleViolation([("note", str(_l("%(n)d problems are still listed: say why they remain open.", n=left)))])
    done = CheckCompletion(campaign_id=campaign.id, school_id=actor.unit_id, scope_path=actor.unit.path,
                           completed_by_id=actor.id, completed_at=clock.now(), note=note)
    db.session.add(done)
    try:
        db.session.flush()
    except IntegrityError:  # a second click at the same moment: the unique constraint decides
        db.session.rollback()
        raise RuleViolation(str(_l("Your school has already recorded this check."))) from None
    audit.record(actor, "check.complete", "check_campaign", campaign.id, f"school={actor.unit.code} problems={left}")
    return done


@dataclass
class SchoolCheck:
    school: OrgUnit
    completion: CheckCompletion | None
    problems: Counter[str]
    due_on: date

    @property
    def late(self) -> bool:
        """Recorded after the due date."""
        return self.completion is not None and self.completion.completed_at.date() > self.due_on


def schools_query(campaign: CheckCampaign, actor: User) -> Select[Any]:
    """The active schools of the campaign's area inside the actor's subtree, with their completion."""
    return (
        select(OrgUnit, CheckCompletion)
        .outerjoin(CheckCompletion, and_(CheckCompletion.campaign_id == campaign.id, CheckCompletion.school_id == OrgUnit.id))
        .where(OrgUnit.level == SCHOOL, OrgUnit.active.is_(True), scope.within(OrgUnit.path, campaign.scope_path),
               scope.within(OrgUnit.path, scope.user_path(actor)))
        .order_by(OrgUnit.code)
    )


def completion_summary(campaign: CheckCampaign, actor: User) -> dict[str, int]:
    total, done = db.session.execute(
        schools_query(campaign, actor).with_only_columns(func.count(OrgUnit.id), func.count(CheckCompletion.id)).order_by(None)
    ).one()
    return {"schools": int(total), "done": int(done), "open": int(total) - int(done)}


def school_checks(campaign: CheckCampaign, actor: User, page: int, page_size: int = 100) -> tuple[list[SchoolCheck], bool]:
    """One page of the campaign's schools with completion and the problems listed today."""
    rows = db.session.execute(schools_query(campaign, actor).offset(page * page_size).limit(page_size + 1)).all()
    problems = by_school(actor, _common_path(campaign, actor)) if rows else {}
    out = [SchoolCheck(school=s, completion=c, problems=problems.get(s.path, Counter()), due_on=campaign.due_on)
           for s, c in rows[:page_size]]
    return out, len(rows) > page_size


def _common_path(campaign: CheckCampaign, actor: User) -> str:
    """The narrower of the campaign's area and the actor's subtree (one holds the other)."""
    own = scope.user_path(actor)
    return campaign.scope_path if campaign.scope_path.startswith(own) else own

