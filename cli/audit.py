"""`flask --app app audit verify` and `flask --app app audit purge --before DATE` (issue 13, point 16)."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="审计日志：校验哈希链、清除超过保存期限的行。")


@audit_cli.command("verify")
def verify() -> None:
    """Walk the chain in id order; exit code 1 at the first broken link."""
    from services.audit_chain import verify as walk

    verdict = walk()
    click.echo(verdict.message())
    if not verdict.intact:
        raise SystemExit(1)


@audit_cli.command("purge")
@click.option("--before", "before", required=True, help="清除此日期（YYYY-MM-DD）之前写入的行；不得晚于保存期限。")
def purge(before: str) -> None:
    """Delete rows older than the retention period (at least 180 days); the purge is itself audited."""
    from extensions import db
    from services.audit_chain import PurgeRefused
    from services.audit_chain import purge as trim

    try:
        day = date.fromisoformat(before)
    except ValueError:
        raise click.ClickException(f"日期格式应为 YYYY-MM-DD：{before}") from None
    try:
        deleted = trim(day)
    except PurgeRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"已清除 {day.isoformat()} 之前的审计日志 {deleted} 行；清除本身已记入审计日志。")


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
