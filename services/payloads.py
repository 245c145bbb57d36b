"""What a change request asks for, typed: each change type declares its payload as a dataclass
(ChangeType.payload, in changes/<type>.py) and the engine keeps only what that class knows.

The payload is stored as JSON on the request (change_request.payload): days as ISO text, the
rest as JSON values. `parse` checks a payload before it is stored (an unknown key or a value of
the wrong kind is a programming error, refused loudly); `read` gives the typed view of a stored
one and tolerates keys written by earlier versions (they are kept in the JSON, never shown).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import cache
from typing import Any, ClassVar, Self, get_type_hints


class PayloadError(TypeError):
    """A payload that does not fit its type's declaration: a bug in the caller, not a user's mistake."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _kinds(hint: Any) -> tuple[type, ...]:
    """The concrete types a field admits (`date | None` → (date, NoneType))."""
    args = getattr(hint, "__args__", None)
    if args:
        return tuple(a if isinstance(a, type) else object for a in args)
    return (hint,) if isinstance(hint, type) else (object,)


def _loaded(name: str, hint: Any, value: Any) -> Any:
    kinds = _kinds(hint)
    if value is None:
        if type(None) in kinds:
            return None
        raise PayloadError(f"{name}: a value is required")
    if date in kinds and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PayloadError(f"{name}: not a date: {value!r}") from None
    if bool in kinds and not isinstance(value, bool):
        raise PayloadError(f"{name}: not yes/no: {value!r}")
    if int in kinds and bool not in kinds and (isinstance(value, bool) or not isinstance(value, int)):
        raise PayloadError(f"{name}: not a whole number: {value!r}")
    if object not in kinds and not isinstance(value, tuple(k for k in kinds if k is not type(None))):
        raise PayloadError(f"{name}: {type(value).__name__} where {hint} is declared")
    return value


@dataclasses.dataclass(frozen=True)
class Payload:
    """Base of the payload classes: frozen dataclasses whose fields are the payload's keys."""

    # Keys an earlier version wrote that `read` accepts but `parse` no longer writes.
    legacy_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Self:
        """The payload about to be stored: every key declared, every value of its declared kind."""
        raw = dict(raw or {})
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise PayloadError(f"{cls.__name__}: undeclared keys {sorted(unknown)}")
        return cls._build(raw)

    @classmethod
    def read(cls, raw: dict[str, Any] | None) -> Self:
        """The typed view of a stored payload (keys it does not declare are left aside)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls._build({k: v for k, v in (raw or {}).items() if k in names})

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Self:
        hints = _hints(cls)
        values = {name: _loaded(name, hints[name], value) for name, value in raw.items()}
        try:
            return cls(**values)
        except TypeError as exc:  # a required field is missing
            raise PayloadError(f"{cls.__name__}: {exc}") from None

    def dump(self) -> dict[str, Any]:
        """The JSON kept on the request: days as ISO text; fields left at None are not written."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


@dataclasses.dataclass(frozen=True)
class NoPayload(Payload):
    """A change that asks for nothing beyond its pupil, schools and reason."""
