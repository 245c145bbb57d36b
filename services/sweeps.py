"""The daily sweeps (issue 15 point 4), scheduled on the task queue (services/queue.py `periodic`).

Each sweep is a plain function first (tests call it directly, with the clock moved) and a periodic
task second. Each is idempotent: what it has done is marked where the next run sees it, so a sweep
run twice (two workers, a re-run by hand) does it once:

- `escalate_overdue_steps` (第十三–十六条: 10 working days per party; the unit above may 强制干预):
  an open step past its due date is reported to the unit above its own unit (a directly managed
  school's supervisor, else its parent), once per step (`ApprovalStep.escalated_at`, claimed by a
  guarded UPDATE). That unit then sees it in 已超期 and may decide on its behalf (workflows.may_force).
  Its deciders, and the officials of the unit above, also get it in 我的消息 (services/notifications.py).
- `remind_due_soon_steps` (我的消息, issue 16 point 6): an open step with 2 working days or fewer left
  is told to its deciders, once per step (`ApprovalStep.due_soon_at`, claimed the same way).
- `remind_suspension_expiry` (第十九条): the school is told of each suspension that has ended, or
  ends within REMIND_WORKDAYS working days, with no resumption or extension waiting; once per end
  date (`Suspension.expiry_reminded_for`; an extension moves the end, which is reminded again).
  A suspension without an end date has nothing to remind of.
- `disable_dormant_accounts`: services/dormant_accounts.py, the same as
  `flask --app app accounts disable-dormant`.
- `check_next_year_calendar`: from 1 November, if next year's working days are still estimated
  (no State Council notice entered, and chinese-calendar does not know the year), every unit of the
  province is told that next year's deadlines are estimated; once per year (an audit row of the
  year marks it).

Times are China Standard Time (the queue runs utc=False); dates come from services/clock.py so
tests can move time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, insert, literal, select, update

from extensions import db
from models.audit import AuditLog
from models.changes import PENDING, ApprovalStep, ChangeRequest, Notification
from models.lifecycle import StudentStatus
from models.org import PROVINCE, OrgUnit
from models.status import Suspension
from models.student import Student
from services import audit, clock, dormant_accounts, notifications, workdays
from services.change_codes import RESUMPTION, SUSPENSION_EXTENSION
from services.labels import zh
from services.queue import crontab, periodic
from services.workflows import TYPES

REMIND_WORKDAYS = 5  # a school hears of a suspension's end a working week ahead
CALENDAR_CHECK_FROM = (11, 1)  # (month, day): the State Council notice usually comes out in late autumn
CALENDAR_ACTION = "calendar.notice_missing"  # its audit row of the year also marks the year as told


def unit_above(unit: OrgUnit) -> OrgUnit | None:
    """Who is told of an overdue step: a directly managed school's supervisor, else the parent unit."""
    if unit.is_directly_managed:
        return unit.supervisor
    return unit.parent


# --- (a) overdue steps ----------------------------------------------------------------------
def overdue_steps(today: date) -> list[ApprovalStep]:
    """The open steps past their due date not escalated yet (the same rule as the 已超期 queue)."""
    return list(db.session.scalars(
        select(ApprovalStep).join(ChangeRequest, ChangeRequest.id == ApprovalStep.request_id)
        .where(ChangeRequest.status == PENDING, ApprovalStep.seq == ChangeRequest.current_seq,
               ApprovalStep.decision.is_(None), ApprovalStep.due_date < today, ApprovalStep.escalated_at.is_(None))
        .order_by(ApprovalStep.id)
    ))


def escalate_overdue_steps() -> list[ApprovalStep]:
    """Tell the unit above of every newly overdue step, once each; the caller commits."""
    now, today = clock.now(), clock.today()
    done: list[ApprovalStep] = []
    for step in overdue_steps(today):
        claimed = db.session.execute(  # a sweep running at the same time claims it first: told once
            update(ApprovalStep).where(ApprovalStep.id == step.id, ApprovalStep.escalated_at.is_(None))
            .values(escalated_at=now).execution_options(synchronize_session=False, preserve_rowcount=True)
        )
        if claimed.rowcount != 1:
            continue
        req, unit = step.request, step.unit
        above = unit_above(unit)
        late, _estimated = workdays.workdays_between(step.due_date, today)  # type: ignore[arg-type]
        due = f"{step.due_date:%Y-%m-%d}{'（估算）' if step.due_estimated else ''}"
        if above is not None:
            db.session.add(Notification(unit_id=above.id, request_id=req.id, message=(
                f"督办提醒：变动申请 #{req.id} 第 {step.seq} 步由{unit.name}办理，已超过办理期限（{due}）"
                f"{f' {late} 个工作日' if late > 0 else ''}。请督促办理，必要时可在“已超期”中强制干预。")))
        db.session.add(Notification(unit_id=unit.id, request_id=req.id, message=(
            f"超期提醒：变动申请 #{req.id} 第 {step.seq} 步已超过办理期限（{due}），"
            f"已报{above.name if above else '上级'}督办，请尽快办理。")))
        row = audit.record(None, "step.escalate", "change_request", req.id,
                           f"第 {step.seq} 步（{unit.name}）超期（期限 {due}），已报{above.name if above else '（无上级单位）'}督办")
        row.unit_id, row.scope_path = unit.id, unit.path  # filed under the late unit: it and every unit above see it
        notifications.step_overdue(step, _type_label(req), above)
        done.append(step)
    return done


def _type_label(req: ChangeRequest) -> str:
    ctype = TYPES.get(req.type)
    return zh(ctype.label) if ctype is not None else "变动"


# --- (a2) two working days left ----------------------------------------------------------------
def steps_due_soon(today: date) -> list[ApprovalStep]:
    """The open current steps due within notifications.DUE_SOON_WORKDAYS working days, not told yet."""
    horizon = workdays.add_workdays(today, notifications.DUE_SOON_WORKDAYS).due
    return list(db.session.scalars(
        select(ApprovalStep).join(ChangeRequest, ChangeRequest.id == ApprovalStep.request_id)
        .where(ChangeRequest.status == PENDING, ApprovalStep.seq == ChangeRequest.current_seq,
               ApprovalStep.decision.is_(None), ApprovalStep.due_date >= today, ApprovalStep.due_date <= horizon,
               ApprovalStep.due_soon_at.is_(None))
        .order_by(ApprovalStep.id)
    ))


def remind_due_soon_steps() -> list[ApprovalStep]:
    """Tell the deciders of every step that has 2 working days or fewer left, once each; the caller commits."""
    now, today = clock.now(), clock.today()
    done: list[ApprovalStep] = []
    for step in steps_due_soon(today):
        claimed = db.session.execute(
            update(ApprovalStep).where(ApprovalStep.id == step.id, ApprovalStep.due_soon_at.is_(None))
            .values(due_soon_at=now).execution_options(synchronize_session=False, preserve_rowcount=True)
        )
        if claimed.rowcount != 1:
            continue
        left, _estimated = workdays.workdays_between(today, step.due_date)  # type: ignore[arg-type]
        notifications.step_due_soon(step, _type_label(step.request), left)
        done.append(step)
    return done


# --- (b) suspension expiry --------------------------------------------------------------------
def suspensions_to_remind(today: date) -> list[Any]:
    """(Suspension, Student) rows: suspensions ended or ending within REMIND_WORKDAYS working days, the pupil still suspended,
    no resumption or extension waiting, not yet reminded of this end date."""
    horizon = workdays.add_workdays(today, REMIND_WORKDAYS).due
    waiting = exists().where(ChangeRequest.student_id == Student.id, ChangeRequest.type.in_((RESUMPTION, SUSPENSION_EXTENSION)),
                             ChangeRequest.status == PENDING)
    return list(db.session.execute(
        select(Suspension, Student).join(Student, Student.id == Suspension.student_id)
        .where(Suspension.ended_on.is_(None), Suspension.ends_on.is_not(None), Suspension.ends_on <= horizon,
               Student.status == StudentStatus.SUSPENDED, ~waiting,
               (Suspension.expiry_reminded_for.is_(None)) | (Suspension.expiry_reminded_for != Suspension.ends_on))
        .order_by(Suspension.ends_on, Suspension.id)
    ))


def remind_suspension_expiry() -> list[Suspension]:
    """Tell each school of its pupils' suspensions that end soon or have ended, once per end date."""
    today = clock.today()
    done: list[Suspension] = []
    for suspension, pupil in suspensions_to_remind(today):
        claimed = db.session.execute(
            update(Suspension).where(Suspension.id == suspension.id, Suspension.ends_on == suspension.ends_on,
                                     (Suspension.expiry_reminded_for.is_(None)) | (Suspension.expiry_reminded_for != suspension.ends_on))
            .values(expiry_reminded_for=suspension.ends_on)
            .execution_options(synchronize_session=False, preserve_rowcount=True)
        )
        if claimed.rowcount != 1:
            continue
        ended = suspension.ends_on < today
        when = f"已于 {suspension.ends_on:%Y-%m-%d} 到期" if ended else f"将于 {suspension.ends_on:%Y-%m-%d} 到期"
        db.session.add(Notification(unit_id=pupil.school_id, request_id=None, message=(
            f"休学到期提醒：学生 {pupil.name} 的休学{when}。请联系监护人，办理复学或申请延长休学（第十九条）。")))
        row = audit.record(None, "suspension.remind", "student", pupil.id,
                           f"学生 #{pupil.id} 休学{when}，已提醒学校")
        row.unit_id, row.scope_path = pupil.school_id, pupil.scope_path
        done.append(suspension)
    return done


# --- (d) next year's calendar -------------------------------------------------------------------
@dataclass(frozen=True)
class CalendarCheck:
    year: int
    notified_units: int  # 0: nothing to do (too early, the year is known, or already told)


def check_next_year_calendar() -> CalendarCheck:
    """From 1 November: next year still estimated → every unit of the province is told, once per year."""
    today = clock.today()
    year = today.year + 1
    if (today.month, today.day) < CALENDAR_CHECK_FROM:
        return CalendarCheck(year, 0)
    if workdays.year_source(year) != workdays.SOURCE_ESTIMATE:
        return CalendarCheck(year, 0)
    told = db.session.scalar(select(exists().where(AuditLog.action == CALENDAR_ACTION, AuditLog.object_id == str(year))))
    if told:
        return CalendarCheck(year, 0)
    message = (f"{year} 年的国务院节假日安排通知尚未录入。{year} 年的办理期限暂按估算的节假日计算（标“*”），"
               f"通知录入后将自动重新计算。")
    units = select(OrgUnit.id, literal(message), literal(clock.now())).where(OrgUnit.active.is_(True))
    result = db.session.execute(insert(Notification).from_select(["unit_id", "message", "created_at"], units)
                                .execution_options(preserve_rowcount=True))  # set-based: thousands of schools
    province = db.session.scalar(select(OrgUnit).where(OrgUnit.level == PROVINCE).order_by(OrgUnit.id))
    if province is not None:
        db.session.add(Notification(unit_id=province.id, message=(
            f"请尽快在“工作日历”中录入 {year} 年的国务院节假日安排通知，以免 {year} 年的办理期限按估算计算。")))
    row = audit.record(None, "calendar.notice_missing", "calendar", year,
                       f"{year} 年节假日安排通知尚未录入，已通知 {result.rowcount} 个单位：办理期限将按估算计算")
    if province is not None:
        row.unit_id, row.scope_path = province.id, province.path
    return CalendarCheck(year, result.rowcount)


# --- the schedule -------------------------------------------------------------------------------
# Early morning, one after another, before anybody works: the queues show the day's state at 8:00.
@periodic(crontab(hour="1", minute="10"))
def overdue_steps_sweep() -> None:
    escalate_overdue_steps()
    db.session.commit()


@periodic(crontab(hour="1", minute="15"))
def due_soon_sweep() -> None:
    remind_due_soon_steps()
    db.session.commit()


@periodic(crontab(hour="1", minute="20"))
def suspension_expiry_sweep() -> None:
    remind_suspension_expiry()
    db.session.commit()


@periodic(crontab(hour="1", minute="30"))
def dormant_accounts_sweep() -> None:
    disable_dormant_accounts()
    db.session.commit()


@periodic(crontab(hour="1", minute="40"))
def calendar_sweep() -> None:
    check_next_year_calendar()
    db.session.commit()


def disable_dormant_accounts() -> int:
    """(c) The accounts unseen for 90 days, disabled with an audit row each (services/dormant_accounts.py)."""
    return len(dormant_accounts.disable_dormant())


__all__ = [
    "check_next_year_calendar", "disable_dormant_accounts", "escalate_overdue_steps", "remind_due_soon_steps",
    "remind_suspension_expiry",
    "unit_above",
]
