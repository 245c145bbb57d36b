"""`flask --app app queue worker [--workers N]`: the process that runs the queued jobs and the
daily sweeps (services/queue.py). `make serve` starts it beside gunicorn (scripts/serve.py)."""

from __future__ import annotations

import logging
import os
import time

import click
from flask import Flask

CHINA_TZ = "Asia/Shanghai"


def register(app: Flask) -> None:
    @app.cli.group("queue")
    def queue_group() -> None:
        """后台任务队列。"""

    @queue_group.command("worker")
    @click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                  help="同时执行任务的线程数。")
    @click.option("--no-periodic", is_flag=True,
                  help="不运行每日定时任务：多台任务机时只在一台上运行定时任务，其余加此选项，以免每项定时任务执行多次。")
    def worker(workers: int, no_periodic: bool) -> None:
        """运行后台任务（导入、证书批次、导出、查重）和每日定时任务，直到 Ctrl+C。"""
        from services.queue import huey

        if app.config.get("QUEUE_IMMEDIATE"):
            raise click.ClickException(
                "QUEUE_IMMEDIATE 已开启：任务在提交它的进程里立即执行，队列里没有任务可取，"
                "不需要也不能启动后台任务进程。请去掉 QUEUE_IMMEDIATE=1 再启动。")
        # The daily sweeps are crontabs in China Standard Time (the queue runs with utc=False):
        # the process's local time must be Beijing time whatever the machine's zone is.
        os.environ["TZ"] = CHINA_TZ
        time.tzset()
        # Background work yields the CPU to the people waiting for a page: an import or a batch of
        # PDFs may take a minute longer, a registrar's click may not (bench/README.md, load test).
        os.nice(app.config["QUEUE_WORKER_NICE"])
        # Huey says what it starts, runs and retries through the "huey" logger: to stderr, like gunicorn.
        log = logging.getLogger("huey")
        if not log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        click.echo(f"后台任务进程已启动：{workers} 个线程，队列 {app.config['QUEUE_URL'].split('@')[-1]}（Ctrl+C 退出）",
                   err=True)
        huey.create_consumer(workers=workers, worker_type="thread", periodic=not no_periodic,
                             check_worker_health=True).run()
        click.echo("后台任务进程已退出。", err=True)
