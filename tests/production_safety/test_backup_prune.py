"""`backup prune DIR --keep-daily 7 --keep-weekly 4 --keep-monthly 12` (the README's retention
policy): the newest backup of each of the last 7 days, 4 ISO weeks and 12 months stays, every other
dated archive goes, and files not named by `backup create` are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.backup.common import NAME_FORMAT
from services.backup.retention import to_keep


@pytest.fixture(autouse=True)
def demo() -> Iterator[None]:
    """No database: prune reads file names only."""
    yield


def _nightly(days: int, end: datetime) -> list[datetime]:
    return [end - timedelta(days=n) for n in range(days)]


def test_a_year_of_nightly_backups_keeps_daily_weekly_and_monthly_ones():
    end = datetime(2026, 12, 6, 2, 30)  # a Sunday
    stamps = _nightly(400, end)
    kept = to_keep(stamps, daily=7, weekly=4, monthly=12)
    days = sorted((end - s).days for s in kept)
    assert days[:7] == [0, 1, 2, 3, 4, 5, 6]  # the last 7 nights
    # the weeks: Sunday 6 Dec is already the newest of its week; then the three Sundays before
    assert {7, 14, 21} <= set(days)
    months = {(s.year, s.month) for s in kept}
    assert len(months) == 12 and (2025, 12) not in months and (2026, 1) in months
    for year, month in months - {(2026, 12)}:  # each month's newest is its last night
        last = max(s for s in stamps if (s.year, s.month) == (year, month))
        assert last in kept
    # 6 Dec is the newest night, week and month at once; 30 Nov is among the last 7 nights and
    # November's newest: 7 nights + 3 older Sundays + 10 older month-ends
    assert len(kept) == 7 + 3 + 10


def test_keep_nothing_still_keeps_the_newest():
    stamps = _nightly(5, datetime(2026, 12, 6, 2, 30))
    assert to_keep(stamps, 0, 0, 0) == {max(stamps)}


def test_prune_command_deletes_only_dated_archives_beyond_the_policy(app, tmp_path: Path):
    end = datetime(2026, 12, 6, 2, 30)
    for stamp in _nightly(60, end):
        (tmp_path / stamp.strftime(NAME_FORMAT)).write_bytes(b"x")
    (tmp_path / "by-hand.tar").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("offsite copy on the 1st")
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["backup", "prune", str(tmp_path), "--keep-daily", "7", "--keep-weekly", "4",
                              "--keep-monthly", "12", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert len(list(tmp_path.iterdir())) == 62 and "将删除" in dry.output

    result = runner.invoke(args=["backup", "prune", str(tmp_path), "--keep-daily", "7", "--keep-weekly", "4",
                                 "--keep-monthly", "12"])
    assert result.exit_code == 0, result.output
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "by-hand.tar" in left and "notes.txt" in left
    expected = {s.strftime(NAME_FORMAT) for s in to_keep(_nightly(60, end), 7, 4, 12)}
    assert set(left) - {"by-hand.tar", "notes.txt"} == expected
    assert f"共 60 个备份，已删除 {60 - len(expected)} 个，保留 {len(expected)} 个。" in result.output
