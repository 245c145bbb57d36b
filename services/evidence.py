"""When a change type needs a material (第十二条: the evidence of a change goes into the record),
declared once as a rule with two readings of the same condition:

- `holds(req)`: in Python, on one request (services/workflows.missing_materials, before approval);
- `sql()`: a condition on ChangeRequest for a WHERE over change_request (the report of completed
  changes whose evidence is missing, services/oversight/violations.py).

A type declares `Material(..., when=PayloadIs("kind", WORK_STUDY))` and both readings follow;
only `Rule` (a condition the payload alone cannot answer) is written twice, side by side.
Every `sql()` is NULL-free (true or false, never unknown), so `Not` of it is the opposite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, not_, true

from models.changes import ChangeRequest


class Rule:
    """A condition given by its two readings, for what the payload alone cannot answer (e.g. a
    subquery on another table). The other rules below are subclasses that derive both."""

    def __init__(self, holds: Callable[[ChangeRequest], bool], sql: Callable[[], ColumnElement[bool]]) -> None:
        self._holds, self._sql = holds, sql

    def holds(self, req: ChangeRequest) -> bool:
        return bool(self._holds(req))

    def sql(self) -> ColumnElement[bool]:
        return self._sql()


def _payload(req: ChangeRequest) -> dict[str, Any]:
    return req.payload or {}


@dataclass(frozen=True)
class Always(Rule):
    """Required on every request (the default)."""

    def holds(self, req: ChangeRequest) -> bool:
        return True

    def sql(self) -> ColumnElement[bool]:
        return true()


ALWAYS = Always()  # Material's default (a dataclass default is one shared value, made here once)


@dataclass(frozen=True)
class Never(Rule):
    """Offered for upload, never required (e.g. a loss statement the authority may ask for)."""

    def holds(self, req: ChangeRequest) -> bool:
        return False

    def sql(self) -> ColumnElement[bool]:
        return false()


@dataclass(frozen=True)
class PayloadIs(Rule):
    """The payload's `key` is the text `value`; an absent key is not equal."""

    key: str
    value: str

    def __post_init__(self) -> None:
        # An absent key reads as "" in SQL (below); an empty `value` would then match it there only.
        if not self.value:
            raise ValueError("PayloadIs needs a non-empty value")

    def holds(self, req: ChangeRequest) -> bool:
        return _payload(req).get(self.key) == self.value

    def sql(self) -> ColumnElement[bool]:
        # as_string() is JSON_EXTRACT on SQLite and ->> on PostgreSQL; coalesce keeps an absent key false, not NULL.
        return func.coalesce(ChangeRequest.payload[self.key].as_string(), "") == self.value


@dataclass(frozen=True)
class PayloadTrue(Rule):
    """The payload's `key` is the JSON boolean true; absent or false is false."""

    key: str

    def holds(self, req: ChangeRequest) -> bool:
        return _payload(req).get(self.key) is True

    def sql(self) -> ColumnElement[bool]:
        return func.coalesce(ChangeRequest.payload[self.key].as_boolean(), false())


@dataclass(frozen=True)
class Not(Rule):
    """The opposite of another rule."""

    rule: Rule

    def holds(self, req: ChangeRequest) -> bool:
        return not self.rule.holds(req)

    def sql(self) -> ColumnElement[bool]:
        return not_(self.rule.sql())
