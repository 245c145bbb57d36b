"""Errors a user can cause; views turn them into messages, never into a 500."""

from collections.abc import Callable


class RuleViolation(Exception):
    """One or more rules refused an action. `problems` is a list of (field or "", message)."""

    def __init__(self, problems: list[tuple[str, str]] | str):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = [(f, str(m)) for f, m in problems]
        super().__init__("; ".join(m for _, m in self.problems))


class NotInScope(Exception):
    """The row exists but not for this user; the web layer answers 404."""


def refusal_of(check: Callable[[], object]) -> str | None:
    """The words of the RuleViolation a check raises, or None when it passes: a service that checks
    its rule by raising also answers `…_refusal()` (buttons, commands) from that one check."""
    try:
        check()
    except RuleViolation as exc:
        return str(exc)
    return None
