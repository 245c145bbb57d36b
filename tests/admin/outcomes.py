"""What the tests of the screens' refusals and races share: the words as the user reads them, a
service that does its work and then fails as a concurrent change would, and the row count of every
table (a refused or raced action must leave all of them as they were)."""

from __future__ import annotations

import html
import typing as t

from flask import Flask
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from extensions import db

STALE_WORDS = "Someone else changed this at the same moment; please look again."


def words(app: Flask, message: str, **kw: t.Any) -> str:
    """The message in the Chinese catalogue, as the page shows it."""
    with app.test_request_context():
        return str(gettext(message, **kw))


def text(resp: t.Any) -> str:
    """A response's page as read (entities such as &#39; undone)."""
    return html.unescape(resp.get_data(as_text=True))


def stale() -> StaleDataError:
    return StaleDataError("UPDATE statement on table expected to update 1 row(s); 0 were matched.")


def clash() -> IntegrityError:
    return IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))


def then_raise(real: t.Callable[..., t.Any], exc: Exception) -> t.Callable[..., t.Any]:
    """`real`, which does all its work (writes included), then fails with `exc`: what the handler
    sees when another user changed the same rows at the same moment, or a later check refused."""
    def wrapper(*args: t.Any, **kw: t.Any) -> t.Any:
        real(*args, **kw)
        raise exc
    return wrapper


def table_counts(app: Flask) -> dict[str, int]:
    """The number of rows of every table, as the test's transaction sees them."""
    with app.app_context():
        counts = {table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
                  for table in db.metadata.sorted_tables}
        db.session.remove()
    return counts
