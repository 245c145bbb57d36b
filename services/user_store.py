"""The logged-in account, loaded once per request with what every page asks of it (issue 15, point 8).

Flask-Security loads the account of each request by its fs_uniquifier (`_user_loader`), with its
roles. Every page then asked four more things, one statement each: the login session named by the
cookie (services/sessions.py checks it on every request), the account's unit (the row scope, the
navbar), the number of unread notifications (the navbar's 我的消息 badge) and, on the lists, the
saved filters. Here the session and the unit are joined and the two counts ride along as scalar
subqueries, in the one statement Flask-Security runs anyway; the session's check then finds its
row in the SQLAlchemy session (`Session.get` looks in the identity map first). Other lookups
(login by e-mail, tokens, the admin pages) are Flask-Security's own.
"""

from __future__ import annotations

import typing as t
from functools import lru_cache

from flask import g, has_request_context, session
from flask_security import SQLAlchemyUserDatastore
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import joinedload, with_expression

from models.inbox import UserNotification
from models.people import User
from models.saved_filter import SavedFilter
from models.sessions import LoginSession
from services.sessions import SESSION_KEY


def _unread() -> t.Any:
    return (select(func.count()).select_from(UserNotification)
            .where(UserNotification.user_id == User.id, UserNotification.read_at.is_(None))
            .correlate(User).scalar_subquery())


def _saved_filters() -> t.Any:
    return select(func.count()).select_from(SavedFilter).where(SavedFilter.user_id == User.id).correlate(User).scalar_subquery()


@lru_cache(maxsize=1)
def _request_account() -> t.Any:
    """Built once: SQLAlchemy keeps a statement's cache key on the object, and building this one
    afresh (two subqueries) cost ~0.5 ms a request, as much as the statement it saves."""
    return (select(User, LoginSession)
            .outerjoin(LoginSession, and_(LoginSession.id == bindparam("sid"), LoginSession.user_id == User.id))
            .options(joinedload(User.roles), joinedload(User.unit),
                     with_expression(User.unread_at_load, _unread()),
                     with_expression(User.saved_filters_at_load, _saved_filters()))
            .where(User.fs_uniquifier == bindparam("fs_uniquifier")))


class UserDatastore(SQLAlchemyUserDatastore):
    def find_user(self, case_insensitive: bool = False, **kwargs: t.Any) -> t.Any:
        if case_insensitive or set(kwargs) != {"fs_uniquifier"}:
            return super().find_user(case_insensitive=case_insensitive, **kwargs)
        sid = session.get(SESSION_KEY) if has_request_context() else None
        row = self.db.session.execute(_request_account(),
                                      {"fs_uniquifier": kwargs["fs_uniquifier"], "sid": str(sid or "")}).unique().first()
        if row is None:
            return None
        if has_request_context():
            # The identity map holds unchanged objects weakly: without a reference the session row
            # would be collected before services/sessions.py asks for it, and read again.
            g.xueji_login_session = row[1]
        return row[0]
