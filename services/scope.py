"""The row rule (第三条, 第二十六条): a user sees only rows inside their unit's subtree.

Paths look like "/21/2101/210102/2112000001/". A row belongs to the subtree of P when
its path starts with P; we write that as a range (P <= path < P with its final "/"
raised to "0") so that both SQLite and PostgreSQL answer it from a plain b-tree index.

Every route that takes an internal id loads its row through this rule (`load_scoped`, or a
service built on `covers`/`within`); outside it answers 404, like an id that does not exist
(tests/security/test_id_walk.py walks the URL map for it). Opening a change request follows it
too (services/workflows.open_requests). The one way across it is services/pupil_identity.py: a
receiving school finds another school's pupil by full ID number and name, never by a row id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from services import duties

if TYPE_CHECKING:
    from models.people import User


def path_upper_bound(path: str) -> str:
    if not path.endswith("/"):
        raise ValueError(f"scope path must end with '/': {path!r}")
    return path[:-1] + "0"  # "0" is the character right after "/"


SCHOOL_DEPTH = 4  # /province/city/county/school/: schools are the leaves of the tree


def depth(path: str) -> int:
    return path.strip("/").count("/") + 1


def within(column: ColumnElement, path: str) -> ColumnElement[bool]:
    """SQL condition: `column` lies in the subtree rooted at `path`."""
    if depth(path) >= SCHOOL_DEPTH:
        return column == path  # a school has no subtree: equality lets "ORDER BY id" walk the index
    return and_(column >= path, column < path_upper_bound(path))


def listing(column: ColumnElement, path: str) -> ColumnElement[bool]:
    """The same rows as `within`, written for "newest first" lists of a city or county.

    A range on the path cannot return rows in id order, so PostgreSQL walks the primary key
    and filters, which is slow when a city's pupils were imported together (bench/README.md).
    City and county paths have fixed lengths (9 and 16 characters), and the expression
    indexes ix_student_city_id / ix_student_county_id on (substr(scope_path, 1, n), id)
    answer "this city's newest 20" directly. Counts keep `within` (an index-only range scan).

    The 1 and the length are written into the SQL, not bound: PostgreSQL matches an expression
    index only against the same expression, and a prepared statement's generic plan
    (services/read_transactions.py keeps statements prepared) would see `substr(scope_path, $1, $2)`.
    """
    if depth(path) in (2, 3):
        return func.substr(column, literal_column("1"), literal_column(str(len(path)))) == path
    return within(column, path)


def user_path(user: User) -> str:
    return user.unit.path


# 三员分立 (services/duties.py): the tables whose rows the system, security and audit
# administrators work on. Every other table holds pupil data (or leads to it), and the scope of an
# account without a business role reaches none of its rows.
ORGANISATION_TABLES = frozenset({"org_unit", "user", "audit_log", "access_review", "access_review_item"})


def _table_of(column: ColumnElement) -> str | None:
    table = getattr(column, "table", None)
    if table is None:  # an ORM attribute (Student.scope_path): its mapped column knows the table
        table = getattr(getattr(column, "expression", None), "table", None)
    return getattr(table, "name", None)


def filter_for(user: User, column: ColumnElement) -> ColumnElement[bool]:
    if _table_of(column) not in ORGANISATION_TABLES and not duties.has_row_scope(user):
        return false()
    return within(column, user_path(user))


def covers(user: User, path: str | None) -> bool:
    """Python twin of `filter_for` for one row of pupil data already loaded (a pupil, request,
    school's roster …): never for an account without a business role."""
    return duties.has_row_scope(user) and covers_unit(user, path)


def covers_unit(user: User, path: str | None) -> bool:
    """`covers` for a unit or an account: the administrators manage those in their subtree too."""
    return bool(path) and path.startswith(user_path(user))  # type: ignore[union-attr]


def stored_value(obj: object, attr: str) -> object:
    """The value of `attr` as loaded from the database, before this session changed it."""
    from sqlalchemy import inspect

    hist = inspect(obj).attrs[attr].history
    return hist.deleted[0] if hist.deleted else getattr(obj, attr)


MAX_ID = 2**31 - 1  # the largest id an integer column holds: a longer number is simply not found


def load_scoped(actor: User, model: type, row_id: int) -> Any:
    """The row of `model` (which has a scope_path) with this id, or NotInScope (→ 404) when it
    does not exist or lies outside the actor's subtree: absent and forbidden look the same."""
    from extensions import db
    from services.errors import NotInScope

    if not 0 < row_id <= MAX_ID:
        raise NotInScope()  # a number no row can have, asked before the database overflows on it
    row = db.session.get(model, row_id)
    check = covers_unit if model.__tablename__ in ORGANISATION_TABLES else covers
    if row is None or not check(actor, row.scope_path):
        raise NotInScope()
    return row
