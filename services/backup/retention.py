"""The retention policy of `backup prune`: grandfather-father-son over the dated archives of a directory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from services.backup.common import NAME_RE


def backups_in(directory: Path) -> dict[Path, datetime]:
    """The archives `backup create DIR` named, with the time in their names."""
    found = {}
    for path in directory.iterdir() if directory.is_dir() else ():
        m = NAME_RE.match(path.name)
        if m and path.is_file():
            found[path] = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
    return found


def to_keep(stamps: Iterable[datetime], daily: int, weekly: int, monthly: int) -> set[datetime]:
    """Grandfather-father-son: the newest backup of each of the last `daily` days that have one,
    of the last `weekly` ISO weeks and of the last `monthly` months (the newest one always stays)."""
    ordered = sorted(stamps, reverse=True)
    keep: set[datetime] = set(ordered[:1])
    periods = ((daily, lambda d: d.date()), (weekly, lambda d: d.isocalendar()[:2]), (monthly, lambda d: (d.year, d.month)))
    for count, period in periods:
        seen: list[Any] = []
        for stamp in ordered:
            key = period(stamp)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(key)
            keep.add(stamp)
    return keep


def prune(directory: Path, daily: int, weekly: int, monthly: int, dry_run: bool = False) -> list[Path]:
    """Delete the dated archives in `directory` that the retention policy does not keep."""
    found = backups_in(directory)
    keep = to_keep(found.values(), daily, weekly, monthly)
    doomed = sorted(p for p, stamp in found.items() if stamp not in keep)
    if not dry_run:
        for path in doomed:
            path.unlink()
    return doomed
