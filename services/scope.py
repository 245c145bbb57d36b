"""The row rule (第三条, 第二十六条): a user sees only rows inside their unit's subtree.

Paths look like "/21/2101/210102/2112000001/". A row belongs to the subtree of P when
its path starts with P; we write that as a range (P <= path < P with its final "/"
raised to "0") so that both SQLite and PostgreSQL answer it from a plain b-tree index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

if TYPE_CHECKING:
    from models.people import User


def path_upper_bound(path: str) -> str:
    if not path.endswith("/"):
        raise ValueError(f"scope path must end with '/': {path!r}")
    return path[:-1] + "0"  # "0" is the character right after "/"


def within(column: ColumnElement, path: str) -> ColumnElement[bool]:
    """SQL condition: `column` lies in the subtree rooted at `path`."""
    return and_(column >= path, column < path_upper_bound(path))


def user_path(user: User) -> str:
    return user.unit.path


def filter_for(user: User, column: ColumnElement) -> ColumnElement[bool]:
    return within(column, user_path(user))


def covers(user: User, path: str | None) -> bool:
    """Python twin of `filter_for` for one row already loaded."""
    return bool(path) and path.startswith(user_path(user))  # type: ignore[union-attr]


def stored_value(obj: object, attr: str) -> object:
    """The value of `attr` as loaded from the database, before this session changed it."""
    from sqlalchemy import inspect

    hist = inspect(obj).attrs[attr].history
    return hist.deleted[0] if hist.deleted else getattr(obj, attr)
