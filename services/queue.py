"""The task queue (Huey): long jobs and the daily sweeps run in a worker process, off the web request.

Storage comes from QUEUE_URL (config.py): `redis://…` when several machines share the queue (set by
REDIS_URL), else `sqlite:///PATH`, a file beside the database (one machine, no server to run). With
QUEUE_IMMEDIATE (the test suite's default) a task runs at once, in the caller's process, on Huey's
in-memory storage; queue tests turn it off and start a real consumer.

A task runs inside the app's context with a database session of its own, removed afterwards. The
app is the one `init_app` bound: in the worker, the app that `flask --app app queue worker` built.
Whoever enqueues commits first: the task reads committed rows only (on SQLite an open write
transaction would even block it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from huey import Huey, crontab
from huey.storage import RedisStorage, SqliteStorage

from extensions import db

QUEUE_NAME = "xuejitong"

# Built at import, because tasks are declared (decorated) at import; bound to the configured
# storage by init_app. Until then it runs tasks at once, in memory.
huey = Huey(QUEUE_NAME, immediate=True, utc=False)
_bound: dict[str, Flask] = {}

F = TypeVar("F", bound=Callable[..., Any])


def storage_for(url: str) -> tuple[type, dict[str, Any]]:
    """Huey's storage class and arguments for a QUEUE_URL."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage, {"url": url}
    if url.startswith("sqlite:///"):
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}
    raise ValueError(f"QUEUE_URL must be redis://… or sqlite:///…, not {url!r}")


def init_app(app: Flask) -> None:
    """Bind the queue to this app's storage and remember the app for the tasks' context."""
    huey.storage_class, huey.storage_kwargs = storage_for(app.config["QUEUE_URL"])
    huey._immediate = bool(app.config.get("QUEUE_IMMEDIATE"))  # the setter would rebuild storage too early
    huey.storage = huey.create_storage()
    _bound["app"] = app
    app.extensions["huey"] = huey


def bound_app_or_none() -> Flask | None:
    return _bound.get("app")


def bound_app() -> Flask:
    app = _bound.get("app")
    if app is None:
        raise RuntimeError("services.queue.init_app has not been called (create_app does it)")
    return app


def _in_app(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with bound_app().app_context():  # a new context: a session of its own, even when immediate
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def task(**options: Any) -> Callable[[F], F]:
    """`@task()` declares a queued job (Huey's options: retries, retry_delay, priority…).
    Calling the decorated function enqueues it; `.call_local()` runs it here."""

    def decorate(fn: F) -> F:
        return huey.task(**options)(_in_app(fn))  # type: ignore[return-value]

    return decorate


def periodic(schedule: Callable[..., bool], **options: Any) -> Callable[[F], F]:
    """`@periodic(crontab(hour="2", minute="10"))` declares a sweep run by the worker's scheduler.
    Times are China Standard Time: the queue runs with utc=False and the worker's process is set to
    Asia/Shanghai (`flask --app app queue worker`)."""

    def decorate(fn: F) -> F:
        return huey.periodic_task(schedule, **options)(_in_app(fn))  # type: ignore[return-value]

    return decorate


def health() -> str | None:
    """None when the queue's storage answers, else why not (for /healthz)."""
    try:
        huey.pending_count()
    except Exception as exc:  # any failure of the storage is "down"; the reason is shown to operators
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


__all__ = ["crontab", "health", "huey", "init_app", "periodic", "storage_for", "task"]
