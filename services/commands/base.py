"""The command base: one user action = who may do it to what (`allowed`) and doing it (`run`).

A command holds no rule of its own. Its `refusal` asks the service's own predicate (for example
`workflows.withdraw_refusal`), the same one the service function checks before it acts, so the
button on a page and the service answer with the same words. Commands never commit: the caller
(a view through admin/base.run_command, a CLI command) commits or rolls back.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models.people import User
from services.errors import NotInScope, RuleViolation

Target = t.TypeVar("Target")
Reason = t.Callable[[User, t.Any], "str | None"]


def always_in_scope(actor: User, target: t.Any) -> bool:
    return True


@dataclass(frozen=True)
class Command(t.Generic[Target]):
    """One user action on one kind of target (a request, a pupil, a certificate, a roster …).

    - `in_scope(actor, target)`: may the actor see the target at all (else 404, never a reason);
    - `refusal(actor, target)`: the rule, in words (lazy, translated), None when allowed;
    - `perform(actor, target, **args)`: the service call, run only when allowed.
    """

    name: str
    refusal: t.Callable[[User, Target], t.Any]
    perform: t.Callable[..., t.Any]
    in_scope: t.Callable[[User, Target], bool] = always_in_scope

    def allowed(self, actor: User, target: Target) -> str | None:
        """None when the actor may do this to the target now; otherwise why not, in words."""
        if not self.in_scope(actor, target):
            return str(_l("Not found."))
        reason = self.refusal(actor, target)
        return str(reason) if reason else None

    def run(self, actor: User, target: Target, **args: t.Any) -> t.Any:
        """Check, then do. Out of scope → NotInScope; refused → RuleViolation(reason). The caller commits."""
        if not self.in_scope(actor, target):
            raise NotInScope()
        reason = self.refusal(actor, target)
        if reason:
            raise RuleViolation(str(reason))
        return self.perform(actor, target, **args)

    def __call__(self, actor: User, target: Target, **args: t.Any) -> t.Any:
        return self.run(actor, target, **args)


def first_refusal(*reasons: t.Callable[[], t.Any]) -> str | None:
    """The first of several checks that refuses (each evaluated only when the ones before passed)."""
    for reason in reasons:
        found = reason()
        if found:
            return str(found)
    return None


def refusals(commands: t.Mapping[str, Command[t.Any]], actor: User, target: t.Any) -> dict[str, str | None]:
    """name → refusal (None: allowed) for the buttons of one page: a template shows an allowed
    button, or the reason on a disabled one; it never derives the rule itself."""
    return {name: command.allowed(actor, target) for name, command in commands.items()}
