"""`flask --app app backup create|verify|restore|prune` (issue 15, point 5): services/backup/ does the work."""

from __future__ import annotations

import typing as t
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

backup_cli = AppGroup("backup", help="备份与恢复：数据库和全部上传文件，一个归档文件。")


class Refused(click.ClickException):
    """Click's error, said in Chinese (click's own prefix "Error:" has no Chinese catalogue)."""

    def show(self, file: t.IO[t.Any] | None = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True, file=file)


def _fail(exc: Exception) -> click.ClickException:
    return Refused(str(exc))


@backup_cli.command("create")
@click.argument("path", type=click.Path(path_type=Path))
def create(path: Path) -> None:
    """Back up the database and UPLOAD_DIR into PATH (a new file, or a directory for a dated name)."""
    from services.backup.common import BackupError
    from services.backup.site import create as make

    try:
        written, manifest = make(path)
    except BackupError as exc:
        raise _fail(exc) from None
    click.echo(f"备份已写入：{written}")
    for line in manifest.summary():
        click.echo(f"  {line}")


@backup_cli.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
def verify(path: Path) -> None:
    """Read the whole archive and check every checksum; changes nothing."""
    from services.backup.archive import verify as check
    from services.backup.common import BackupError

    try:
        manifest = check(path)
    except BackupError as exc:
        raise _fail(exc) from None
    click.echo(f"备份完好：{path}（全部 {len(manifest.files)} 个文件的 SHA-256 校验通过）")
    for line in manifest.summary():
        click.echo(f"  {line}")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问，直接恢复（用于脚本）。")
def restore(path: Path, yes: bool) -> None:
    """Replace the database and UPLOAD_DIR with the archive's (the app should be stopped)."""
    from flask import current_app

    from services.backup.archive import check_compatible, read_manifest
    from services.backup.common import BackupError
    from services.backup.site import restore as bring_back

    try:
        manifest = read_manifest(path)
        check_compatible(manifest)
    except BackupError as exc:
        raise _fail(exc) from None
    click.echo(f"备份文件：{path}")
    for line in manifest.summary():
        click.echo(f"  {line}")
    if not yes and not click.confirm(
            f"恢复将删除当前数据库和上传目录（{current_app.config['UPLOAD_DIR']}）中的全部内容，换成备份中的内容。"
            "请先停止网站和后台任务进程。确定要恢复吗？"):
        click.echo("已取消，未做任何更改。")
        raise SystemExit(1)
    try:
        bring_back(path)
    except BackupError as exc:
        raise _fail(exc) from None
    click.echo("恢复完成：数据库和上传文件已替换为备份中的内容。请运行 `flask --app app audit verify` 检查审计日志。")


@backup_cli.command("prune")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep-daily", default=7, show_default=True, help="保留最近多少天的每日备份。")
@click.option("--keep-weekly", default=4, show_default=True, help="保留最近多少周的每周备份。")
@click.option("--keep-monthly", default=12, show_default=True, help="保留最近多少个月的每月备份。")
@click.option("--dry-run", is_flag=True, help="只列出将删除的文件，不删除。")
def prune(directory: Path, keep_daily: int, keep_weekly: int, keep_monthly: int, dry_run: bool) -> None:
    """Delete the dated backups in DIRECTORY that the retention policy does not keep."""
    from services.backup.retention import backups_in
    from services.backup.retention import prune as trim

    if min(keep_daily, keep_weekly, keep_monthly) < 0:
        raise Refused("保留数量不能为负数。")
    before = len(backups_in(directory))
    doomed = trim(directory, keep_daily, keep_weekly, keep_monthly, dry_run=dry_run)
    for path in doomed:
        click.echo(f"{'将删除' if dry_run else '已删除'}：{path.name}")
    click.echo(f"共 {before} 个备份，{'将删除' if dry_run else '已删除'} {len(doomed)} 个，保留 {before - len(doomed)} 个。")


def register(app: Flask) -> None:
    app.cli.add_command(backup_cli)
