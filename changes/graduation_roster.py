"""毕业生花名册 (第二十四条): the change type that submits a school's graduation roster to its
supervising authority and, approved, graduates (毕业) or completes (结业) every listed pupil.

The roster itself (compiled, assessed, confirmed, locked while a request holds it) and the
set-based approval live with the roster in services/graduation.py; this module declares how the
request is opened, who decides and what the approval and the refusal do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from models.changes import COMPLETED, ChangeRequest
from models.org import OrgUnit
from services import graduation
from services.change_codes import GRADUATION
from services.change_common import is_own_staff
from services.payloads import Payload
from services.workflows import ChangeType, Fact, StepDef, declare

if TYPE_CHECKING:
    from models.people import User


@dataclass(frozen=True)
class RosterPayload(Payload):
    year: int
    grade: int | None = None  # the graduating grade of the school (6 or 9)


def _supervisor(req: ChangeRequest) -> OrgUnit | None:
    return req.from_school.supervisor if req.from_school is not None else None


def _who_submits(req: ChangeRequest, actor: User) -> str | None:
    """The school until 30 July; after it only the supervising authority, saying why (第十二条)."""
    school = req.from_school
    assert school is not None
    problem = graduation.submitter_refusal(actor, school, graduation.roster_year(req), overriding=bool(req.window_override))
    if problem is None and not is_own_staff(actor, school) and not req.window_override:
        return str(_l("Say why the roster is submitted after 30 July."))
    return problem


def _not_approved_yet(req: ChangeRequest, actor: User) -> str | None:
    assert req.from_school is not None
    year = graduation.roster_year(req)
    if any(r.status == COMPLETED for r in graduation.roster_requests(req.from_school, year)):
        return str(_l("The graduation roster %(y)d has already been approved.", y=year))
    return None


GRADUATION_ROSTER = declare(ChangeType(
    code=GRADUATION,
    label=_l("Graduation roster"),
    steps=(StepDef("authority", _l("Supervising authority"), _supervisor),),
    effect=graduation.approve_roster,
    on_reject=graduation.roster_sent_back,
    preconditions=(_who_submits, _not_approved_yet, graduation.roster_ready_refusal),
    same_when=("year",),
    facts=(Fact("year", _l("Year")),),
    payload=RosterPayload,
))
