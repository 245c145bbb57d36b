"""The lowest clock: what the models' column defaults (created_at, recorded_at …) read.

The province runs on China Standard Time; times are stored naive in Asia/Shanghai so that "today"
in a deadline is the registrar's today. services/clock.py is the clock the rules (and the tests)
use: it plugs its own `now` in here with follow(), so that a test that moves `services.clock.now`
moves the column defaults too, while models never import services (layers: services → models).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def system_now() -> datetime:
    """The wall clock in China Standard Time, naive, to the second."""
    return datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


_source: Callable[[], datetime] = system_now


def follow(source: Callable[[], datetime]) -> None:
    """From now on `now()` asks `source` (services/clock.py registers itself once, when imported)."""
    global _source  # one process-wide clock, set once at import
    _source = source


def now() -> datetime:
    return _source()
