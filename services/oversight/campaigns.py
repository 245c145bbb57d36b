"""The term data check (学籍数据核查, 第二十七条): an authority starts a CheckCampaign for its area
with a title and a due date; each school of the area sees its own listed problems and records
that it has finished (CheckCompletion, with a note); the authority follows completion school by
school."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.org import AUTHORITY_LEVELS, SCHOOL, OrgUnit
from models.oversight import CheckCampaign, CheckCompletion
from services import audit, clock, scope
from services.errors import NotInScope, RuleViolation

if TYPE_CHECKING:
    from models.people import User

from services.oversight.reports import by_school, counts

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
    audit.record(actor, "check.start", "check_campaign", campaign.id, f"{title[:80]}（截止 {due_on}）")
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
    audit.record(actor, "check.complete", "check_campaign", campaign.id, f"{actor.unit.name}：剩余问题 {left} 条")
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
