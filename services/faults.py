"""Faults of what lies under the app (issue 15, point 6): the database goes away, the disk fills up.

Either way the user gets a page in Chinese that says nothing was saved, never a 500 with a trace,
and the request's transaction is rolled back first, so nothing of it is half-written.

- The database: any OperationalError or InterfaceError reaching Flask (a dropped connection, a
  server restart, SQLite's "database is locked") answers 503 with Retry-After. The engine's
  `pool_pre_ping` (config.py) then finds the dead pooled connections at their next checkout and
  opens new ones, so the app recovers by itself once the database is back: no restart.
- The disk: ENOSPC (no space) or EDQUOT (quota) from any writer reaching Flask — Werkzeug
  spooling a large upload to a temporary file, a generated file — answers 507. The upload store
  (services/uploads.py) turns its own ENOSPC into a refusal shown on the form instead.

`init_app(app)` registers both handlers; the admin views' own exception hook passes these errors
on (`passes_through`) instead of flashing the driver's raw message as "failed to save".
"""

from __future__ import annotations

import errno
import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from extensions import db

log = logging.getLogger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
RETRY_AFTER_SECONDS = 30


def disk_full(exc: BaseException) -> bool:
    """No space left (or the quota is used up): from a file write, or SQLite's own file."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return True
    return isinstance(exc, OperationalError) and "disk is full" in str(exc.orig)  # SQLITE_FULL


def database_unreachable(exc: BaseException) -> bool:
    """The database cannot answer now (connection lost, server down or busy): worth a retry."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def passes_through(exc: BaseException) -> bool:
    """An error for the handlers below, not for a view's "could not save" message."""
    return database_unreachable(exc) or disk_full(exc)


def _discard_transaction() -> None:
    """Roll back what the request had done. On a dead connection the rollback itself may fail;
    the session is then dropped, and the pool replaces the connection."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: nothing is left to roll back on the server
        log.warning("rollback after a database fault failed", exc_info=True)
    db.session.remove()


def _page(code: int, title: str, message: str):
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return render_template("error.html", code=code, title=title, message=message), code, headers


def _disk_full_page():
    return _page(507, _("Storage full"),
                 _("The server's storage is full, so nothing of this action was saved. Please try again later "
                   "and tell the system administrator."))


def init_app(app: Flask) -> None:
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_fault(exc: DBAPIError):
        log.error("database fault during %s %s", request.method, request.path, exc_info=exc)
        _discard_transaction()
        if disk_full(exc):
            return _disk_full_page()
        return _page(503, _("Database unavailable"),
                     _("The database cannot be reached at the moment. Nothing of this action was saved; "
                       "please try again in a minute."))

    @app.errorhandler(OSError)
    def _os_fault(exc: OSError):
        if not disk_full(exc):
            raise exc  # any other OS error is a bug to see, not a full disk
        log.error("disk full during %s %s", request.method, request.path, exc_info=exc)
        _discard_transaction()
        return _disk_full_page()
