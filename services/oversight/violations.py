"""The violations of 第三十条, each as a query inside a subtree (one query per report; for
unreported dropouts, a bounded check of the few pupils with recorded absences):

- 不为已接收学生建立学籍档案 (1): pupils in school for more than a month whose archive is incomplete (第八条).
- 以虚假信息建立学籍 (2): open 问题学籍 — suspected duplicates and invalid ID numbers (第七条), kept by services/dedup.
- 不及时把学籍变动信息纳入学籍档案 (3): completed changes whose evidence is missing (第十二条).
- 不及时报告辍学 (4): 4 consecutive weeks of unexcused absence, no dropout reported (第二十三条).
- 接收学生不办理转学手续 (5): a pupil's school changed with no change request behind it.
- 不按规定转接学籍档案 (6): a migrant dropout's archive not handed over by the end of the term (第二十三条).
- 纸质档案未转交 (6, 第十条/第十六条): kept by services/paper.py.
- 死亡逾期上报 (第二十一条): deaths the school reported after 10 working days from the date of death
  (the school's lateness, kept on the request by services/absences.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select

from extensions import db
from models.audit import StudentHistory
from models.changes import COMPLETED, OPEN_STATUSES, REJECTED, WITHDRAWN, Attachment, ChangeRequest
from models.org import SCHOOL, OrgUnit
from models.status import Absence, ArchiveHandover
from models.student import Student
from services import absences, clock, scope, workflows
from services.archive import incomplete_archive_filter
from services.change_codes import DEATH, DROPOUT, LATE_KEY

ARCHIVE_DEADLINE = timedelta(days=31)  # 第八条: 入学之日起1个月内建立学籍档案


# --- 1. archive overdue (第八条) --------------------------------------------------------------------


def archive_overdue_filter() -> ColumnElement[bool]:
    """Pupils enrolled more than a month ago whose archive is still incomplete (admin/reports.py lists them)."""
    return and_(
        Student.status.in_(("enrolled", "pending")),
        Student.created_at < clock.now() - ARCHIVE_DEADLINE,
        incomplete_archive_filter(),
    )


# --- 3. changes whose evidence is missing --------------------------------------------------------------


def missing_evidence() -> ColumnElement[bool]:
    """SQL condition on ChangeRequest: a material its type requires has no uploaded file. Each
    material's own rule (Material.when, services/evidence.py) says when it is required."""
    terms = []
    for ctype in workflows.TYPES.values():
        for m in ctype.materials:
            absent = ~exists().where(Attachment.request_id == ChangeRequest.id, Attachment.material == m.code)
            terms.append(and_(ChangeRequest.type == ctype.code, absent, m.when.sql()))
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
    open dropout request; only those few get the exact run of services/absences.py."""
    needed = absences.DROPOUT_WEEKS * 7
    reported = exists().where(ChangeRequest.student_id == Student.id, ChangeRequest.type == DROPOUT,
                              ChangeRequest.status.in_(OPEN_STATUSES))
    rows = db.session.execute(
        select(Student.id, Student.scope_path, func.min(Absence.first_day), func.max(Absence.last_day))
        .join(Absence, Absence.student_id == Student.id)
        .where(scope.within(Student.scope_path, path), Student.status == "enrolled", Absence.excused.is_(False), ~reported)
        .group_by(Student.id, Student.scope_path)
    ).all()
    # Days off after the last absent day count too (absences.long_enough_for_dropout); two weeks bound them.
    candidates = {sid: p for sid, p, first, last in rows if (last - first).days + 1 + 14 >= needed}
    if not candidates:
        return []
    done = dict(db.session.execute(
        select(ChangeRequest.student_id, func.max(ChangeRequest.finished_at))
        .where(ChangeRequest.student_id.in_(list(candidates)), ChangeRequest.type == DROPOUT,
               ChangeRequest.status == COMPLETED)
        .group_by(ChangeRequest.student_id)
    ).all())
    found = []
    for student in db.session.scalars(select(Student).where(Student.id.in_(list(candidates))).order_by(Student.id)):
        run = absences.longest_unexcused_run(student)
        if run is None or not absences.long_enough_for_dropout(run):
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
    return and_(ChangeRequest.type == DEATH, ChangeRequest.status.not_in((WITHDRAWN, REJECTED)),
                ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, path),
                ChangeRequest.payload[LATE_KEY].as_integer() > 0)
