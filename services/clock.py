"""One clock for the whole system: the province runs on China Standard Time.

Times are stored naive in Asia/Shanghai so that "today" in a deadline is the
registrar's today. Tests monkeypatch `now`.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return now().date()
