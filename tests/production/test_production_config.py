"""Production settings (issue 15, point 1): secrets only from the environment, refused when
missing, short or well known; ProxyFix for one proxy and Redis rate limits in production."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from app import create_app
from config import Config, InsecureSecret, ProductionConfig, config_from_environment, secret_problem
from config import TestConfig as SuiteConfig  # not "Test…": pytest would collect it

GOOD = {
    "SECRET_KEY": "k3Jd9aQz7LmP2xVb8NcT4rYw6HsF1uGe5oKi0ZtA",
    "SECURITY_PASSWORD_SALT": "S4lt-9fJ2kL7qW3eR8tY1uI6oP0aZ5xC",
    "SECURITY_TOTP_SECRETS": json.dumps({"1": "Totp-8hG3jK6lM9nB2vC5xZ7aS1dF4gH0jK"}),
    "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS": json.dumps(["x0H2gbSUlVbWzMvF3Cq6d1jqCqj3mS6bvVDyk8cJYkQ="]),
}


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    for key in ("REDIS_URL", "RATELIMIT_STORAGE_URI", "PROXY_FIX_COUNT", "QUEUE_URL"):
        monkeypatch.delenv(key, raising=False)
    return GOOD


def test_production_takes_every_secret_from_the_environment(production_env, monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://root@127.0.0.1/xueji")
    monkeypatch.setenv("UPLOAD_DIR", "/srv/xueji/uploads")
    config = ProductionConfig()
    assert GOOD["SECRET_KEY"] == config.SECRET_KEY
    assert GOOD["SECURITY_PASSWORD_SALT"] == config.SECURITY_PASSWORD_SALT
    assert json.loads(GOOD["SECURITY_TOTP_SECRETS"]) == config.SECURITY_TOTP_SECRETS
    assert [json.loads(GOOD["SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"])[0].encode()] == config.SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://root@127.0.0.1/xueji"
    assert config.UPLOAD_DIR == "/srv/xueji/uploads"
    assert config.QUEUE_URL == config.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/1"
    assert config.PROXY_FIX_COUNT == 1
    monkeypatch.setenv("XUEJI_ENV", "production")
    assert isinstance(config_from_environment(), ProductionConfig)
    monkeypatch.delenv("XUEJI_ENV")
    assert type(config_from_environment()) is Config


def test_without_redis_the_counters_stay_in_memory_and_no_proxy_is_trusted(production_env) -> None:
    assert ProductionConfig().RATELIMIT_STORAGE_URI == "memory://"
    plain = Config()
    assert plain.PROXY_FIX_COUNT == 0 and plain.RATELIMIT_STORAGE_URI == "memory://"


@pytest.mark.parametrize(("name", "value", "words"), [
    ("SECRET_KEY", None, "未设置"),
    ("SECRET_KEY", "", "未设置"),
    ("SECRET_KEY", "dev", "众所周知"),
    ("SECRET_KEY", "change-me", "众所周知"),
    ("SECRET_KEY", "a" * 40, "众所周知"),  # one character repeated is no secret either
    ("SECRET_KEY", "k3Jd9aQz7LmP2xVb", "太短"),
    ("SECURITY_PASSWORD_SALT", "secret", "众所周知"),
    ("SECURITY_TOTP_SECRETS", json.dumps({"1": "short-Key1"}), "太短"),
    ("SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS", "not json", "JSON"),
])
def test_production_refuses_a_missing_short_or_default_secret(production_env, monkeypatch, name, value, words) -> None:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(InsecureSecret) as refused:
        ProductionConfig()
    message = str(refused.value)
    assert "学籍通拒绝启动" in message and name in message and words in message


def test_any_app_outside_debug_and_testing_refuses_a_default_key(monkeypatch) -> None:
    """`make run` with SECRET_KEY=dev in the environment: refused before anything is initialised."""
    monkeypatch.setenv("SECRET_KEY", "dev")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(InsecureSecret, match="SECRET_KEY"):
        create_app(Config())
    assert secret_problem("SECRET_KEY", Config().SECRET_KEY) is not None  # the environment's, not the file's


def test_the_suite_s_own_config_is_exempt(app: Flask) -> None:
    """Testing (and debug) apps may use any key; the suite's app counts in memory even with REDIS_URL."""
    assert app.testing and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert SuiteConfig().PROXY_FIX_COUNT == 0


def test_processes_starting_together_on_a_new_instance_share_one_set_of_secrets(tmp_path) -> None:
    """pytest-xdist's workers, or gunicorn's and the queue's, may all create instance/secrets.json
    at once: none may read it half-written, and all must sign with the same keys."""
    import os
    import subprocess
    import sys

    names = ("SECRET_KEY", "SECURITY_PASSWORD_SALT", "SECURITY_TOTP_SECRETS", "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS")
    script = (
        "import json, config; c = config.Config(); "
        f"print(json.dumps({{k: str(getattr(c, k)) for k in {names!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["XUEJI_INSTANCE"] = str(tmp_path / "instance")
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
             for _ in range(16)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        answers.append(json.loads(out))
    assert all(answer == answers[0] for answer in answers)
    stored = json.loads((tmp_path / "instance" / "secrets.json").read_text())
    assert set(stored) == set(names) and stored["SECRET_KEY"] == answers[0]["SECRET_KEY"]
    assert (tmp_path / "instance" / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "instance").iterdir() if p.name.startswith(".secrets.") and p.suffix == ".json"] == []
