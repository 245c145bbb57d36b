"""Whether this request's database session has written rows of a model (added, changed or removed).

Figures read once at the request's start (services/user_store.py: the unread badge, whether the
account has saved filters) stay true until the request itself writes what they count; their
readers ask `written(Model)` and count afresh when it is so. Set at flush, kept for the session's
life (a request's, in the app): a rolled-back write still sends the reader to the database, which
is only slower, never wrong.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

_watched: set[type] = set()


def _key(model: type) -> str:
    return f"xueji.written.{model.__name__}"


@event.listens_for(Session, "after_flush")
def _note(session: Session, _context: object) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if type(obj) in _watched:
            session.info[_key(type(obj))] = True


def watch(model: type) -> None:
    _watched.add(model)


def written(model: type) -> bool:
    return bool(db.session.info.get(_key(model)))
