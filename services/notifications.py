"""我的消息 (issue 16 point 6): personal notifications of the events a user acts on or waits for,
in the app always, by e-mail when the user asks for it (per kind: off, at once, or a daily digest).

The events, and who hears of them (each written in the transaction of the event itself):

- STEP_WAITING: a step of a change request becomes pending → the users of the step's unit in the
  role that decides it (school staff for a school's step, the level's officials for an authority's);
- DUE_SOON: 2 working days are left on a pending step (daily sweep, once per step:
  `ApprovalStep.due_soon_at`) → the same deciders;
- OVERDUE: a pending step passed its due date (the overdue sweep, once per step) → the same
  deciders, and the officials of the unit above that is told to 督办;
- DECIDED: my request was approved, refused or sent back → its requester;
- OTHER_SCHOOL: the other school of a transfer agreed, refused, or the pupil reported → the other
  school's registrars;
- EXPORT_READY: an export I asked for is ready (an approved export request produced, a background
  print batch finished) → who asked for it.

Nobody hears of a pupil they may not see: a notification about a request goes only to users who see
the request (the engine's own rule, registered by services/workflows.py with
`set_request_visibility`, since the engine imports this module and not the other way round). Nobody
is told of what they did themselves.

Mail never runs in a web request and never breaks the event: the rows to mail at once are noted on
the session, and only after its commit handed to the queue (`mail_instant`, services/queue.py); a
failure there is logged and leaves the row unmailed. The daily digest (`send_daily_digests`) is a
periodic task that mails each user one message with every unmailed item of the kinds they want
daily.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, SessionTransaction

from extensions import db
from models.inbox import MAIL_DAILY, MAIL_INSTANT, MAIL_MODES, MAIL_OFF, NotificationPreference, UserNotification
from models.org import OrgUnit
from models.people import OFFICIAL_ROLE_FOR_LEVEL, REGISTRAR, SCHOOL_ROLES, Role, User, roles_users
from services import clock, mail, notification_mail, session_writes
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.changes import ApprovalStep, ChangeRequest

log = logging.getLogger(__name__)

STEP_WAITING, DUE_SOON, OVERDUE, DECIDED, OTHER_SCHOOL, EXPORT_READY = (
    "step_waiting", "step_due_soon", "step_overdue", "request_decided", "transfer_other_school", "export_ready")
KIND_LABELS = {
    STEP_WAITING: "待我审批的申请",
    DUE_SOON: "办理期限将到（剩 2 个工作日）",
    OVERDUE: "申请已超期",
    DECIDED: "我提交的申请有了结果",
    OTHER_SCHOOL: "转学的对方学校已办理",
    EXPORT_READY: "我申请的导出文件已生成",
}
MAIL_LABELS = {MAIL_OFF: "不发邮件", MAIL_INSTANT: "立即发送", MAIL_DAILY: "每日汇总"}
DUE_SOON_WORKDAYS = 2
PAGE_SIZE = 50
_PENDING_MAIL = "notifications.instant"  # Session.info key: ids of rows to mail once the session commits

# The engine's rule "who sees this request" (services/workflows.can_see), set when it is imported.
_request_visibility: list[Callable[[User, ChangeRequest], bool]] = []


def set_request_visibility(rule: Callable[[User, ChangeRequest], bool]) -> None:
    _request_visibility[:] = [rule]


def sees_request(user: User, req: ChangeRequest) -> bool:
    if not _request_visibility:  # the engine was never imported: nobody is told of a request
        return False
    return _request_visibility[0](user, req)


# --- writing ------------------------------------------------------------------------------------
def mail_modes(user_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """(user id, kind) → mail mode of every preference the users set (one query)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = db.session.execute(select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.mail)
                              .where(NotificationPreference.user_id.in_(ids)))
    return {(uid, kind): mode for uid, kind, mode in rows}


def notify(users: Iterable[User], kind: str, title: str, body: str = "", *, request: ChangeRequest | None = None,
           link: str | None = None, exclude: Iterable[int] = ()) -> list[UserNotification]:
    """One notification per active user (each once), except `exclude` and, for a request, anyone who
    does not see it. Added to the caller's transaction; e-mail only after it commits."""
    skip = set(exclude)
    chosen: dict[int, User] = {}
    for user in users:
        if user is None or user.id in skip or user.id in chosen or not user.active:
            continue
        if request is not None and not sees_request(user, request):
            continue
        chosen[user.id] = user
    if not chosen:
        return []
    modes = mail_modes(chosen) if mail.enabled() else {}
    rows = [UserNotification(user_id=uid, kind=kind, title=title[:200], body=body, request_id=request.id if request else None,
                             link=link, created_at=clock.now(), mail_mode=modes.get((uid, kind), MAIL_OFF))
            for uid in chosen]
    db.session.add_all(rows)
    db.session.flush()
    instant = [row.id for row in rows if row.mail_mode == MAIL_INSTANT]
    if instant:
        db.session.info.setdefault(_PENDING_MAIL, []).extend(instant)
    return rows


def users_with_roles(unit_id: int, roles: Iterable[str]) -> list[User]:
    """The active accounts of one unit holding any of `roles`."""
    names = list(roles)
    if not names:
        return []
    return list(db.session.scalars(
        select(User).join(roles_users, roles_users.c.user_id == User.id).join(Role, Role.id == roles_users.c.role_id)
        .where(User.unit_id == unit_id, User.active.is_(True), Role.name.in_(names)).distinct().order_by(User.id)
    ))


def deciders(step: ApprovalStep) -> list[User]:
    """Who decides the step (services/workflows.may_decide): its unit's school staff for a school's
    step, its unit's officials of the unit's level for an authority's."""
    if step.role.endswith("school"):
        return users_with_roles(step.unit_id, SCHOOL_ROLES)
    role = OFFICIAL_ROLE_FOR_LEVEL.get(step.unit.level)
    return users_with_roles(step.unit_id, [role] if role else [])


def officials(unit: OrgUnit | None) -> list[User]:
    if unit is None:
        return []
    role = OFFICIAL_ROLE_FOR_LEVEL.get(unit.level)
    return users_with_roles(unit.id, [role] if role else [])


def request_link(req: ChangeRequest) -> str:
    return f"/admin/requests/{req.id}/"


def _pupil(req: ChangeRequest) -> str:
    return f"学生 {req.student.name}：" if req.student is not None else (f"{req.from_school.name}：" if req.from_school else "")


def _due(step: ApprovalStep) -> str:
    return f"{step.due_date:%Y-%m-%d}{'（估算）' if step.due_estimated else ''}" if step.due_date else "（无）"


# --- the events -----------------------------------------------------------------------------------
def step_waiting(req: ChangeRequest, step: ApprovalStep, type_label: str, actor: User | None) -> list[UserNotification]:
    return notify(deciders(step), STEP_WAITING, f"待您审批：{type_label}申请 #{req.id}",
                  f"{_pupil(req)}{type_label}申请 #{req.id} 第 {step.seq} 步由{step.unit.name}审批，办理期限 {_due(step)}。",
                  request=req, link=request_link(req), exclude=[actor.id] if actor else [])


def steps_waiting(reqs: list[ChangeRequest], type_label: str, actor: User | None) -> list[UserNotification]:
    """Many requests opened at once (a new class imported): one message per deciding unit and role,
    telling each decider how many wait, for those of the requests they see."""
    groups: dict[tuple[int, str], list[ChangeRequest]] = defaultdict(list)
    for req in reqs:
        step = req.current_step
        if step is not None:
            groups[(step.unit_id, step.role)].append(req)
    told: list[UserNotification] = []
    for group in groups.values():
        step = group[0].current_step
        assert step is not None
        for user in deciders(step):
            seen = [r for r in group if sees_request(user, r)]
            if not seen:
                continue
            title = f"待您审批：{len(seen)} 件{type_label}申请"
            body = f"{type_label}申请 {'、'.join(f'#{r.id}' for r in seen[:20])}{' 等' if len(seen) > 20 else ''}" \
                   f" 由{step.unit.name}审批，办理期限 {_due(step)}。"
            told += notify([user], STEP_WAITING, title, body, link="/admin/requests/?queue=waiting",
                           exclude=[actor.id] if actor else [])
    return told


def step_due_soon(step: ApprovalStep, type_label: str, left: int) -> list[UserNotification]:
    req = step.request
    return notify(deciders(step), DUE_SOON, f"办理期限将到：{type_label}申请 #{req.id}",
                  f"{_pupil(req)}{type_label}申请 #{req.id} 第 {step.seq} 步还剩 {left} 个工作日（期限 {_due(step)}），请尽快办理。",
                  request=req, link=request_link(req))


def step_overdue(step: ApprovalStep, type_label: str, above: OrgUnit | None) -> list[UserNotification]:
    req = step.request
    told = notify(deciders(step), OVERDUE, f"已超期：{type_label}申请 #{req.id}",
                  f"{_pupil(req)}{type_label}申请 #{req.id} 第 {step.seq} 步已超过办理期限（{_due(step)}），"
                  f"已报{above.name if above else '上级'}督办，请尽快办理。", request=req, link=request_link(req))
    told += notify(officials(above), OVERDUE, f"督办：{type_label}申请 #{req.id} 已超期",
                   f"{_pupil(req)}{type_label}申请 #{req.id} 第 {step.seq} 步由{step.unit.name}办理，已超过办理期限（{_due(step)}）。"
                   "请督促办理，必要时可在“已超期”中强制干预。",
                   request=req, link=request_link(req), exclude=[u.user_id for u in told])
    return told


def request_decided(req: ChangeRequest, type_label: str, outcome: str, actor: User | None, comment: str | None = None,
                    ) -> list[UserNotification]:
    """`outcome`: 已批准, 未获批准, 已退回 (the roster's rejection sends it back)."""
    why = f"意见：{comment}" if comment else ""
    return notify([req.requested_by], DECIDED, f"您提交的{type_label}申请 #{req.id} {outcome}",
                  f"{_pupil(req)}{type_label}申请 #{req.id} {outcome}。{why}", request=req, link=request_link(req),
                  exclude=[actor.id] if actor else [])


def transfer_side_acted(req: ChangeRequest, acting_school: OrgUnit | None, other_school: OrgUnit | None, what: str,
                        actor: User | None, exclude: Iterable[int] = ()) -> list[UserNotification]:
    """The other school of a transfer hears what this one did (agreed, refused, the pupil reported)."""
    if other_school is None or acting_school is None:
        return []
    return notify(users_with_roles(other_school.id, [REGISTRAR]), OTHER_SCHOOL, f"转学申请 #{req.id}：{acting_school.name}{what}",
                  f"{_pupil(req)}转学申请 #{req.id}，{acting_school.name}{what}。", request=req, link=request_link(req),
                  exclude=[*exclude, *([actor.id] if actor else [])])


def request_ended(req: ChangeRequest, step: ApprovalStep | None, type_label: str, outcome: str, why: str | None,
                  actor: User | None) -> list[UserNotification]:
    """A request that was waiting ends without a decision (`outcome`: 已撤回, 已终止 when the pupil's
    record ended): whoever had its step before them need not decide it any more, and the requester,
    when someone else ended it, hears of it."""
    reason = f"原因：{why}" if why else ""
    told: list[UserNotification] = []
    if step is not None:
        told += notify(deciders(step), STEP_WAITING, f"{outcome}，无需再审批：{type_label}申请 #{req.id}",
                       f"{_pupil(req)}{type_label}申请 #{req.id} {outcome}，第 {step.seq} 步（{step.unit.name}）不再需要办理。{reason}",
                       request=req, link=request_link(req), exclude=[actor.id] if actor else [])
    told += notify([req.requested_by], DECIDED, f"您提交的{type_label}申请 #{req.id} {outcome}",
                   f"{_pupil(req)}{type_label}申请 #{req.id} {outcome}。{reason}", request=req, link=request_link(req),
                   exclude=[*(n.user_id for n in told), *([actor.id] if actor else [])])
    return told


def export_ready(user_id: int, what: str, link: str) -> list[UserNotification]:
    """The requester's file can be downloaded (an approved export request, a finished print batch)."""
    user = db.session.get(User, user_id)
    return notify([user] if user else [], EXPORT_READY, f"导出文件已生成：{what}"[:200],
                  f"您申请的{what}已生成，请在有效期内下载。", link=link)


# --- reading ------------------------------------------------------------------------------------
def unread_count(user: User) -> int:
    """The navbar's badge. Read with the account at the request's start (services/user_store.py)
    unless this request has written a notification since (opening one marks it read); otherwise
    one COUNT on ix_user_notification_unread."""
    loaded = user.__dict__.get("unread_at_load")  # not `user.unread_at_load`: an expired account would reload
    if loaded is not None and not session_writes.written(UserNotification):
        return int(loaded)
    return int(db.session.scalar(select(func.count()).select_from(UserNotification)
                                 .where(UserNotification.user_id == user.id, UserNotification.read_at.is_(None))) or 0)


session_writes.watch(UserNotification)


def inbox(user: User, page: int = 1) -> list[UserNotification]:
    """One page of the user's notifications, newest first."""
    page = max(1, page)
    return list(db.session.scalars(select(UserNotification).where(UserNotification.user_id == user.id)
                                   .order_by(UserNotification.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))


def own(user: User, notice_id: int) -> UserNotification:
    """The user's own notification; anybody else's, or none, is NotInScope (404)."""
    row = db.session.get(UserNotification, notice_id)
    if row is None or row.user_id != user.id:
        raise NotInScope()
    return row


def mark_read(user: User, notice_id: int) -> UserNotification:
    row = own(user, notice_id)
    if row.read_at is None:
        row.read_at = clock.now()
    db.session.flush()
    return row


def mark_all_read(user: User) -> int:
    result = db.session.execute(update(UserNotification).where(UserNotification.user_id == user.id, UserNotification.read_at.is_(None))
                                .values(read_at=clock.now()).execution_options(synchronize_session=False, preserve_rowcount=True))
    return int(result.rowcount)


# --- preferences -----------------------------------------------------------------------------------
def preferences(user: User) -> dict[str, str]:
    """Kind → mail mode for every kind (MAIL_OFF where the user set nothing)."""
    found = {kind: mode for (_uid, kind), mode in mail_modes([user.id]).items()}
    return {kind: found.get(kind, MAIL_OFF) for kind in KIND_LABELS}


def set_preferences(user: User, modes: dict[str, str]) -> None:
    """Store the user's mail mode per kind; an unknown kind or mode is refused, nothing stored."""
    problems = [(kind, "请选择“不发邮件”“立即发送”或“每日汇总”。") for kind, mode in modes.items()
                if kind not in KIND_LABELS or mode not in MAIL_MODES]
    if problems:
        raise RuleViolation(problems)
    existing = {p.kind: p for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for kind, mode in modes.items():
        if kind in existing:
            existing[kind].mail = mode
        else:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, mail=mode))
    db.session.flush()


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_MAIL, None)
    if not ids:
        return
    try:
        notification_mail.mail_instant(ids)
    except Exception:  # the queue is down: the event stands, the notification is in the app
        log.exception("could not queue the mail of notifications %s", ids)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    """The whole transaction rolled back: its rows are gone, nothing to mail. A savepoint's rollback
    (begin_nested) keeps the list: the rows written before it still stand."""
    if previous.parent is None and not previous.nested:
        session.info.pop(_PENDING_MAIL, None)


def install() -> None:
    """Hand the rows to mail to the queue after each commit (create_app calls it once)."""
    from flask_sqlalchemy.session import Session as AppSession

    if not event.contains(AppSession, "after_commit", _after_commit):
        event.listen(AppSession, "after_commit", _after_commit)
        event.listen(AppSession, "after_soft_rollback", _after_soft_rollback)

