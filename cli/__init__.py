"""CLI commands: `flask --app app demo-data`, `flask --app app create-admin`."""

from __future__ import annotations

import click
from flask import Flask

DEMO_PASSWORD = "Xueji@2026"


def register_commands(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only load when the database has no organisation yet.")
    @click.option("--pupils", default=2000, show_default=True, help="How many demo pupils.")
    def demo_data(if_empty: bool, pupils: int) -> None:
        """Load the demo province (idempotent) and print the demo logins."""
        from cli.demo import load_demo, print_logins

        created = load_demo(pupils=pupils, only_if_empty=if_empty)
        click.echo("已载入演示数据。" if created else "演示数据已存在，未重复载入。")
        print_logins(click.echo)
