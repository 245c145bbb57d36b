"""One clock for the whole system: the province runs on China Standard Time.

Times are stored naive in Asia/Shanghai so that "today" in a deadline is the
registrar's today. Tests monkeypatch `now` (and `today`).

The wall clock itself lives at the bottom, in models/clock.py, because the models' column
defaults need it and models do not import services. This module is the public API: the rules call
`clock.now()` / `clock.today()`, and the column defaults follow whatever `now` is here.
"""

from __future__ import annotations

from datetime import date, datetime

from models import clock as _base
from models.clock import CHINA

__all__ = ["CHINA", "now", "today"]


def now() -> datetime:
    return _base.system_now()


def today() -> date:
    return now().date()


# Looked up at call time, so a monkeypatched `now` (time travel in tests) moves the defaults too.
_base.follow(lambda: now())
