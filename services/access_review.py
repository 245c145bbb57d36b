"""访问权限复核 (access recertification, issue 13 point 9).

Each term the authority above confirms the accounts and roles of the units directly below it: a
county its schools' accounts, a city its counties', the province its cities'. One review per
(reviewing unit, term) lists every active account of those units with its roles as they are;
each gets a decision — 保留 (keep), 停用 (disable: done at once, through services/accounts.py and
audited) or 调整角色 (adjust: recorded for the security administrator, who alone changes roles).
A review is closed when every account is decided; closed reviews stay readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.access_review import ADJUST, CLOSED, DECISIONS, DISABLE, OPEN, AccessReview, AccessReviewItem
from models.org import OrgUnit
from models.people import User
from services import accounts, audit, clock, scope, terms
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from datetime import date

NOTE_MAX = 200
DECISION_LABELS = {"keep": _l("Keep"), "disable": _l("Disable"), "adjust": _l("Adjust roles")}
STATUS_LABELS = {OPEN: _l("Open"), CLOSED: _l("Closed")}


def may_review(actor: User) -> bool:
    """Only the officials of an authority review the units below them."""
    return actor.is_official


def term_label(start: date, end: date) -> str:
    """2026—2027学年第一学期."""
    if terms.is_second_term((start, end)):
        return f"{start.year - 1}—{start.year}学年第二学期"
    return f"{start.year}—{start.year + 1}学年第一学期"


def current_term() -> tuple[date, date]:
    """The term under way (or, in a vacation, the next one)."""
    return terms.term_of(clock.today())


def accounts_below(unit: OrgUnit) -> list[User]:
    """The active accounts of the units directly below `unit` (a county: its schools)."""
    return list(db.session.scalars(
        select(User).join(OrgUnit, User.unit_id == OrgUnit.id)
        .where(OrgUnit.parent_id == unit.id, User.active.is_(True)).order_by(OrgUnit.code, User.email)
    ))


def reviews_of(actor: User) -> list[AccessReview]:
    return list(db.session.scalars(
        select(AccessReview).where(AccessReview.unit_id == actor.unit_id).order_by(AccessReview.term_start.desc())
    ))


def review_of_term(actor: User, start: date) -> AccessReview | None:
    return db.session.scalar(select(AccessReview).where(AccessReview.unit_id == actor.unit_id, AccessReview.term_start == start))


def _require_reviewer(actor: User) -> None:
    if not may_review(actor):
        raise NotInScope()


def load_review(actor: User, review_id: int) -> AccessReview:
    """A review of the actor's own unit; any other (another county's, or none) is out of scope (404)."""
    _require_reviewer(actor)
    review: AccessReview = scope.load_scoped(actor, AccessReview, review_id)
    if review.unit_id != actor.unit_id:
        raise NotInScope()
    return review


def sync_items(review: AccessReview) -> int:
    """List the accounts not yet in an open review (made since it started); the number added."""
    if review.status != OPEN:
        return 0
    listed = {item.user_id for item in review.items}
    added = 0
    for user in accounts_below(review.unit):
        if user.id not in listed:
            review.items.append(AccessReviewItem(
                user_id=user.id, unit_id=user.unit_id, email=user.email, name=user.name or "",
                roles=accounts.role_text({r.name for r in user.roles})))
            added += 1
    return added


def start_review(actor: User) -> AccessReview:
    """The review of the current term for the actor's unit, made (with its list) if it is not there yet."""
    _require_reviewer(actor)
    start, end = current_term()
    review = review_of_term(actor, start)
    if review is not None:
        return review
    review = AccessReview(unit_id=actor.unit_id, scope_path=actor.unit.path, term_start=start, term_end=end,
                          status=OPEN, opened_by_id=actor.id, opened_at=clock.now())
    db.session.add(review)
    review.unit = actor.unit
    sync_items(review)
    db.session.flush()
    audit.record(actor, "access_review.start", "access_review", review.id, f"{actor.unit.name}：{term_label(start, end)}")
    return review


def _require_open(review: AccessReview) -> None:
    if review.status != OPEN:
        raise RuleViolation(str(_l("This review is closed; its decisions can only be read.")))


def decide(actor: User, review: AccessReview, item_id: int, decision: str, note: str | None) -> AccessReviewItem:
    """Record one account's decision; 停用 disables the account at once (audited)."""
    _require_open(review)
    item = next((i for i in review.items if i.id == item_id), None)
    if item is None:
        raise NotInScope()
    note = (note or "").strip()
    problems: list[tuple[str, str]] = []
    if decision not in DECISIONS:
        problems.append(("decision", str(_l("Choose keep, disable or adjust roles."))))
    if len(note) > NOTE_MAX:
        problems.append(("note", str(_l("A note has at most %(n)d characters.", n=NOTE_MAX))))
    if decision == ADJUST and not note:
        problems.append(("note", str(_l("Say which roles should change: the security administrator acts on it."))))
    if item.decision is not None:
        problems.append(("", str(_l("This account has already been decided."))))
    if problems:
        raise RuleViolation(problems)
    item.decision, item.note, item.decided_by_id, item.decided_at = decision, note or None, actor.id, clock.now()
    label = term_label(review.term_start, review.term_end)
    if decision == DISABLE and item.user.active:
        accounts.disable_account(item.user, actor, f"访问权限复核（{label}）停用" + (f"：{note}" if note else ""))
    audit.record(actor, "access_review.decide", "user", item.user_id,
                 f"{item.email}：{DECISION_LABELS[decision]}" + (f"（{note}）" if note else ""))
    return item


def keep_the_rest(actor: User, review: AccessReview) -> int:
    """保留 for every account not yet decided; the number decided."""
    _require_open(review)
    pending = [i for i in review.items if i.decision is None]
    for item in pending:
        decide(actor, review, item.id, "keep", None)
    return len(pending)


def close_review(actor: User, review: AccessReview) -> None:
    _require_open(review)
    sync_items(review)
    if any(i.decision is None for i in review.items):
        raise RuleViolation(str(_l("Decide every account before closing the review.")))
    review.status, review.closed_by_id, review.closed_at = CLOSED, actor.id, clock.now()
    audit.record(actor, "access_review.close", "access_review", review.id,
                 f"{review.unit.name}：{term_label(review.term_start, review.term_end)}")
