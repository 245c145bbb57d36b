"""`flask --app app queue worker` (issue 15, point 1): refuses to start when tasks run at once
(QUEUE_IMMEDIATE), else runs Huey's consumer with threads, the scheduler and the health check, in
China Standard Time. tests/production/test_serve.py starts the real one."""

from __future__ import annotations

import logging
import os
import time

import pytest
from flask import Flask

from services import queue


def test_refuses_when_tasks_run_at_once(app: Flask) -> None:
    assert app.config["QUEUE_IMMEDIATE"]
    result = app.test_cli_runner().invoke(args=["queue", "worker"])
    assert result.exit_code != 0 and "QUEUE_IMMEDIATE 已开启" in result.output


def test_runs_the_consumer_in_china_standard_time(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict = {}

    class Consumer:
        def run(self) -> None:
            started["tz"] = (os.environ["TZ"], time.strftime("%z"))

    def create_consumer(**options):  # type: ignore[no-untyped-def]
        started["options"] = options
        return Consumer()

    monkeypatch.setitem(app.config, "QUEUE_IMMEDIATE", False)
    monkeypatch.setattr(queue.huey, "create_consumer", create_consumer)
    monkeypatch.setattr(os, "nice", lambda n: started.setdefault("nice", n))  # not the test process's own priority
    monkeypatch.setenv("TZ", "UTC")  # restored afterwards; time.tzset() again below
    huey_log = logging.getLogger("huey")
    monkeypatch.setattr(huey_log, "handlers", [])  # the command adds its stderr handler: not for the suite
    monkeypatch.setattr(huey_log, "level", huey_log.level)
    try:
        result = app.test_cli_runner().invoke(args=["queue", "worker", "--workers", "3"])
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result.exit_code == 0, result.output
    assert started["options"] == {"workers": 3, "worker_type": "thread", "periodic": True, "check_worker_health": True}
    assert started["tz"] == ("Asia/Shanghai", "+0800")
    assert started["nice"] == 10  # background work yields the CPU to the pages
    assert "后台任务进程已启动" in result.output and "后台任务进程已退出" in result.output
