"""CLI commands: `flask --app app demo-data`, `flask --app app import-students FILE --school CODE`."""

from __future__ import annotations

import click
from flask import Flask

DEMO_PASSWORD = "Xueji@2026"


def register_commands(app: Flask) -> None:
    from cli import demo_totp

    demo_totp.register(app)  # two-factor codes of the demo accounts (issue 13)
    from cli.audit import register as register_audit

    register_audit(app)  # `flask --app app audit verify|purge`
    from cli.backup import register as register_backup

    register_backup(app)  # `flask --app app backup create|verify|restore|prune` (issue 15)
    from cli import queue

    queue.register(app)  # `flask --app app queue worker`: the task queue's consumer (issue 15)

    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only load when the database has no organisation yet.")
    @click.option("--pupils", default=2000, show_default=True, help="How many demo pupils.")
    @click.option("--realistic", default=0, show_default=True, metavar="N",
                  help="Also N pupils with real-life variety: rare characters, long minority names, leap-day birthdays, "
                       "no 学籍号, no class, guardians born 1930–2008.")
    @click.option("--no-requests", is_flag=True, help="Leave out the change requests of every type in every state.")
    def demo_data(if_empty: bool, pupils: int, realistic: int, no_requests: bool) -> None:
        """Load the demo province (idempotent) with change requests of every type in every state,
        and print the demo logins."""
        from cli.demo import load_demo, print_logins

        if realistic < 0:
            raise click.ClickException("--realistic 后应为不小于 0 的人数。")
        # The requests' effects write history and notices in words (lazy_gettext, audit), as in a request.
        with app.test_request_context():
            created = load_demo(pupils=pupils, only_if_empty=if_empty, requests=not no_requests, realistic=realistic,
                                registrars=True)
        click.echo("已载入演示数据。" if created else "演示数据已存在，未重复载入。")
        print_logins(click.echo)

    @app.cli.command("import-students")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--school", "school_code", required=True, help="学校标识码 of the school the pupils are enrolled in.")
    @click.option("--as", "as_email", default=None, help="Acting user (default: the school's first registrar).")
    def import_students(file: str, school_code: str, as_email: str | None) -> None:
        """Import new pupils from an Excel file of the template: all rows or none; exit code 1 when invalid."""
        from flask_babel import force_locale
        from flask_babel import lazy_gettext as _l
        from sqlalchemy import select

        from extensions import db
        from models.org import SCHOOL, OrgUnit
        from models.people import User
        from services.errors import NotInScope, RuleViolation
        from services.imports import apply, columns, jobs, parse

        with force_locale(app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
            school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == school_code, OrgUnit.level == SCHOOL))
            if school is None:
                raise click.ClickException(str(_l("No school has the code %(code)s.", code=school_code)))
            if as_email:
                actor = db.session.scalar(select(User).where(User.email == as_email.strip().lower()))
                if actor is None:
                    raise click.ClickException(str(_l("No user has the e-mail address %(email)s.", email=as_email)))
            else:
                actor = jobs.default_actor(school)
                if actor is None:
                    raise click.ClickException(str(_l("The school has no registrar; name the acting user with --as.")))
            def progress(phase: str, n: int) -> None:
                if n % 1000 == 0:
                    click.echo(f"  {phase} {n}", err=True)

            try:
                with open(file, "rb") as fh:
                    rows = parse.parse(fh)
                click.echo(str(_l("%(n)d rows read; checking and writing …", n=len(rows))), err=True)
                count = apply.import_rows(rows, school, actor, filename=file, progress=progress)
            except NotInScope:
                message = _l("%(user)s may not import into %(school)s.", user=actor.email, school=school.name)
                raise click.ClickException(str(message)) from None
            except columns.ImportRejected as exc:
                for e in exc.errors:
                    click.echo("\t".join((str(e.row or ""), e.column, e.message)))
                click.echo(str(_l("Nothing was imported: the file has %(n)d errors.", n=len(exc.errors))), err=True)
                raise SystemExit(1) from None
            except RuleViolation as exc:
                for _field, message in exc.problems:
                    click.echo(message, err=True)
                raise SystemExit(1) from None
            click.echo(str(_l("%(n)d pupils imported into %(school)s; they wait for the approval of the supervising authority.",
                              n=count, school=school.name)))

    @app.cli.group("accounts")
    def accounts() -> None:
        """User accounts: housekeeping of the security rules (issue 13)."""

    from cli import first_account

    first_account.register(accounts)  # `accounts create-admin`: the first login of an empty database

    @accounts.command("disable-dormant")
    def disable_dormant() -> None:
        """Disable the accounts nobody has logged in with for 90 days (each one audited). Meant to
        run daily; the task queue that will schedule it comes with a later issue."""
        from extensions import db
        from services import dormant_accounts

        users = dormant_accounts.disable_dormant()
        db.session.commit()
        for user in users:
            click.echo(f"已停用：{user.email}")
        click.echo(f"共停用 {len(users)} 个连续 {dormant_accounts.DORMANT_DAYS} 天未登录的账号。")

    @app.cli.command("check-duplicates")
    @click.option("--background", is_flag=True, help="交给后台任务队列执行（由队列工作进程运行），不在本进程等待结果")
    def check_duplicates(background: bool) -> None:
        """查重 (第七条): rescan the whole province for soft duplicates and invalid ID numbers."""
        import time

        from extensions import db
        from services.dedup_scan import rescan_task, scan_province

        if background:
            rescan_task()
            click.echo("已提交全省查重任务，由队列工作进程执行；结果见问题学籍列表和审计日志。")
            return

        names = {"soft_name_birth": "姓名+性别+出生日期相同", "soft_guardian": "监护人及学生姓名相同", "invalid_id": "身份证号无效"}
        started = time.perf_counter()
        counts = scan_province()
        db.session.commit()
        elapsed = time.perf_counter() - started
        for kind, name in names.items():
            click.echo(f"{name}（{kind}）：新增问题学籍 {counts[kind]} 条")
        if counts.get("rescoped"):
            click.echo(f"随学生学校更新范围的问题学籍：{counts['rescoped']} 条")
        click.echo(f"查重完成，用时 {elapsed:.1f} 秒。")
