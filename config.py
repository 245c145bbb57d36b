"""Configuration from the environment. Secrets are generated once into instance/ when absent."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import tempfile
import typing as t
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("XUEJI_INSTANCE", BASE_DIR / "instance"))


def _stored_secrets(wanted: dict[str, t.Callable[[], object]]) -> dict[str, object]:
    """instance/secrets.json, with each wanted key it lacks generated and added (its other keys kept).

    Several processes may start at once on a new instance (pytest-xdist's workers, gunicorn's and
    the queue's): the file is read and filled under an exclusive lock, and written whole to a
    temporary file moved into place, so no process reads it half-written and none replaces a key
    another has already handed out."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secrets.json"
    with open(INSTANCE_DIR / ".secrets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        stored = json.loads(path.read_text()) if path.exists() else {}
        missing = {k: make() for k, make in wanted.items() if k not in stored}
        if missing:
            stored.update(missing)
            fd, tmp = tempfile.mkstemp(dir=INSTANCE_DIR, prefix=".secrets.", suffix=".json")  # mode 600
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(stored))
            os.replace(tmp, path)
    return stored


def _instance_secrets() -> dict[str, str]:
    """SECRET_KEY and the password salt: from the environment, else from instance/secrets.json."""
    stored = _stored_secrets({
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "SECURITY_PASSWORD_SALT": lambda: secrets.token_urlsafe(24),
    })
    return {k: os.environ.get(k) or str(stored[k]) for k in ("SECRET_KEY", "SECURITY_PASSWORD_SALT")}


def _two_factor_secrets() -> dict[str, object]:
    """Keys of Flask-Security's two-factor (issue 13, point 7): SECURITY_TOTP_SECRETS encrypts each
    user's TOTP secret, SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS the recovery codes. From the
    environment (JSON: {"1": "..."} and ["..."]), else generated once into instance/secrets.json."""
    from cryptography.fernet import Fernet

    wanted: dict[str, t.Callable[[], object]] = {
        "SECURITY_TOTP_SECRETS": lambda: {"1": secrets.token_urlsafe(32)},
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS": lambda: [Fernet.generate_key().decode()],
    }
    stored = _stored_secrets(wanted)
    found = {k: json.loads(os.environ[k]) if os.environ.get(k) else stored[k] for k in wanted}
    found["SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"] = [
        k.encode() for k in found["SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"]]  # type: ignore[union-attr]
    return found


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'xueji.db'}"


class Config:
    SQLALCHEMY_DATABASE_URI = ""
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}

    SECURITY_PASSWORD_HASH = "argon2"
    SECURITY_TRACKABLE = True
    SECURITY_RETURN_GENERIC_RESPONSES = True  # the login page must not tell which accounts exist
    SECURITY_MSG_GENERIC_AUTHN_FAILED = ("登录失败：邮箱或密码不正确。", "error")
    SECURITY_REGISTERABLE = False
    SECURITY_RECOVERABLE = False
    SECURITY_CHANGEABLE = True
    # Flask-Security's re-authentication page would take /verify, the public certificate check (public/).
    SECURITY_VERIFY_URL = "/login/verify"
    SECURITY_SEND_REGISTER_EMAIL = False
    SECURITY_SEND_PASSWORD_CHANGE_EMAIL = False
    SECURITY_POST_LOGIN_VIEW = "/admin/"
    SECURITY_POST_LOGOUT_VIEW = "/login"
    SECURITY_USER_IDENTITY_ATTRIBUTES = [{"email": {"mapper": "flask_security.uia_email_mapper", "case_insensitive": True}}]
    SECURITY_MSG_LOGIN = ("请先登录。", "info")
    # Account security (issue 13, points 5–7; services/login_guard.py, services/passwords.py,
    # services/two_factor.py). Login: LOGIN_MAX_FAILURES wrong passwords lock the account for
    # LOGIN_LOCK_MINUTES; each client address may post the login form LOGIN_RATE_LIMIT times
    # (Flask-Limiter syntax, counters in RATELIMIT_STORAGE_URI).
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT") or "10 per minute"
    SECURITY_PASSWORD_LENGTH_MIN = 10
    PASSWORD_MAX_AGE_DAYS = 180  # authority accounts only
    SECURITY_PASSWORD_CHECK_BREACHED = False  # no outside service: the common list is local (zxcvbn)
    SECURITY_TWO_FACTOR = True
    SECURITY_TWO_FACTOR_ENABLED_METHODS = ["authenticator"]
    SECURITY_TWO_FACTOR_RESCUE_EMAIL = False  # no mail here: recovery codes are the way back in
    SECURITY_MULTI_FACTOR_RECOVERY_CODES = True
    SECURITY_MULTI_FACTOR_RECOVERY_CODES_N = 8
    SECURITY_TOTP_ISSUER = "学籍通"
    # After a change of method: the recovery codes page, so that nobody is left with none.
    SECURITY_TWO_FACTOR_POST_SETUP_VIEW = "/mf-recovery-codes"
    # Flask-Security's Chinese catalogue lacks these (or words them wrongly: "Invalid code" → 密码不正确).
    SECURITY_MSG_TWO_FACTOR_INVALID_TOKEN = ("验证码不正确。", "error")
    SECURITY_MSG_TWO_FACTOR_LOGIN_SUCCESSFUL = ("验证码正确，已登录。", "success")
    SECURITY_MSG_TWO_FACTOR_CHANGE_METHOD_SUCCESSFUL = ("两步验证设置已更新。请生成并保存恢复码。", "success")
    SECURITY_MSG_TWO_FACTOR_PERMISSION_DENIED = ("您无权进行此操作。", "error")
    SECURITY_MSG_TWO_FACTOR_METHOD_NOT_AVAILABLE = ("请选择一种两步验证方式。", "error")
    SECURITY_MSG_TWO_FACTOR_DISABLED = ("两步验证已关闭。", "success")
    SECURITY_MSG_TWO_FACTOR_SETUP_EXPIRED = ("设置已超时，请重新开始。", "error")
    SECURITY_MSG_INVALID_RECOVERY_CODE = ("恢复码无效。", "error")
    SECURITY_MSG_NO_RECOVERY_CODES_SETUP = ("尚未生成恢复码。", "info")
    SECURITY_MSG_PASSWORD_CHANGE = ("密码已修改。", "success")
    SECURITY_MSG_INVALID_PASSWORD = ("当前密码不正确。", "error")  # change-password page (login failures stay generic)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Sessions (issue 13, point 8; services/sessions.py keeps each one as a row on the server):
    # an idle session ends after SESSION_IDLE_MINUTES, any session after SESSION_MAX_HOURS.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_MAX_HOURS)
    # Remember-me would outlive the server's session: it is off (the checkbox is hidden, and a
    # remember cookie alone opens nothing: it carries no session row).
    SECURITY_DEFAULT_REMEMBER_ME = False
    REMEMBER_COOKIE_DURATION = timedelta(hours=SESSION_MAX_HOURS)
    SECURITY_LOGOUT_METHODS = ["POST"]  # the navbar's logout is a form with a CSRF token

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # a registrar's long form must not expire mid-entry

    FLASK_ADMIN_SWATCH = "default"
    FLASK_ADMIN_FLUID_LAYOUT = True
    # Province-wide exports are streamed; a single export is capped (第二十八条 gate comes later).
    EXPORT_MAX_ROWS = 50_000
    # Lists of units above this level do not count rows (no COUNT(*) over millions).
    UNCOUNTED_LIST_LEVELS = ("province", "city")
    # The pupils' list of a county is not counted either: its COUNT reads every pupil of the county
    # (44,573 index entries in the bench's largest county at 3M) and made the page grow 1.6-2.3x
    # from 30k to 3M pupils, where the list itself does not grow (bench/README.md, issue 15).
    UNCOUNTED_PUPIL_LIST_LEVELS = ("province", "city", "county")
    # Audit rows are kept at least this many days (等保 level 3: ≥ 180; `audit purge` refuses less).
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "180"))

    # School terms (month-day): transfers are handled in term time (第十五条); vacations need an override.
    TERMS = (("09-01", "01-31"), ("03-01", "07-15"))
    # The end-of-year calendar (month-day, "MM-DD"; one deployment serves one province, so these are the
    # province's dates). Each can be set from the environment of the same name. services/year_calendar.py
    # reads them; services/promotion.py and services/graduation.py say why an operation cannot run now.
    # - SCHOOL_YEAR_END: the last day of the school year (the end of the second term);
    # - PROMOTION_WINDOW: 正常升级 runs after the school year has ended and before the next one starts
    #   ("07-16/08-31" in the environment; it may not start before SCHOOL_YEAR_END has passed);
    # - GRADUATION_OPENS … GRADUATION_DEADLINE: the graduates' roster is compiled, assessed and submitted
    #   (第二十四条); graduation is done by 30 July (第十二条: 各地各校应在7月30日前完成学生毕业（结业）操作);
    # - GRADUATION_LATE_UNTIL: after the deadline only the supervising authority submits, saying why,
    #   and decides a roster, until this day; then the next school year's roster begins.
    SCHOOL_YEAR_END = os.environ.get("SCHOOL_YEAR_END") or "07-15"
    # Unset: from the day after SCHOOL_YEAR_END to 31 August.
    PROMOTION_WINDOW = tuple(os.environ["PROMOTION_WINDOW"].split("/", 1)) if os.environ.get("PROMOTION_WINDOW") else None
    GRADUATION_OPENS = os.environ.get("GRADUATION_OPENS") or "06-01"
    GRADUATION_DEADLINE = os.environ.get("GRADUATION_DEADLINE") or "07-30"
    GRADUATION_LATE_UNTIL = os.environ.get("GRADUATION_LATE_UNTIL") or "08-31"

    # The address printed in a certificate's QR code (https://…, no trailing slash needed); unset,
    # the host of the request that prints it.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    # The public certificate check, per client address (Flask-Limiter syntax); the counters live in
    # RATELIMIT_STORAGE_URI: one process's memory by default, e.g. redis://… for several processes.
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT") or "30 per minute"
    # The data API (api/), per token: a sync job pages at most this fast (same counters).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT") or "600 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (werkzeug's
    # ProxyFix, app.py). 0 here: without a proxy anyone could claim any address and dodge the login
    # rate limit. ProductionConfig expects one (nginx or the load balancer).
    PROXY_FIX_COUNT = int(os.environ.get("PROXY_FIX_COUNT") or 0)

    def __init__(self) -> None:
        self.UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
        # S3-compatible storage for the stored files (services/storage.py): s3://bucket[/prefix];
        # UPLOAD_DIR is then a local cache. Credentials: the AWS_* variables or the machine's role.
        self.STORAGE_URL = os.environ.get("STORAGE_URL") or None
        self.S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None  # MinIO, Ceph, a cloud's endpoint
        # Background work (services/queue.py): Redis when REDIS_URL is set (every app server and
        # worker shares it), else a SQLite file beside the database, for one machine.
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.QUEUE_URL = os.environ.get("QUEUE_URL") or self.REDIS_URL or f"sqlite:///{INSTANCE_DIR / 'queue.db'}"
        self.QUEUE_IMMEDIATE = os.environ.get("QUEUE_IMMEDIATE") == "1"  # tasks run in the caller (no worker)
        # How much the queue worker lowers its CPU priority (nice): background work yields to pages.
        self.QUEUE_WORKER_NICE = int(os.environ.get("QUEUE_WORKER_NICE") or 10)
        # Rate-limit counters (login, certificate check): in Redis when there is one, so that every
        # web worker and app server counts against one budget; else in this process's memory.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or self.REDIS_URL or "memory://"
        # Mail of the notifications (services/mail.py; 我的消息 works without it). No MAIL_SERVER: no
        # mail at all, and the preferences page says so. MAIL_BACKEND "locmem" keeps the messages in
        # memory (services.mail.outbox) instead of sending them: the test suite's fake outbox.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS") == "1"
        self.MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL") == "1"
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or "学籍通 <noreply@localhost>"
        self.MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT") or 10)
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or "smtp"
        self.use_database(database_url())
        self._load_secrets()
        # HTTPS=1 when the app is served over HTTPS: cookies are then never sent in clear. Off by
        # default, so that `make run` on http://localhost keeps its session.
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = os.environ.get("HTTPS") == "1"

    def use_database(self, url: str) -> None:
        self.SQLALCHEMY_DATABASE_URI = url
        options: dict[str, object] = {"pool_pre_ping": True}  # a connection the server dropped is replaced
        if url.startswith("postgresql") and os.environ.get("DATABASE_PREPARED_STATEMENTS") == "0":
            # psycopg prepares a statement run five times on a connection, and read-only requests keep
            # them (services/read_transactions.py); a pgbouncer before 1.21 in transaction mode cannot
            # (docs/deploy.md, section 3)
            options["connect_args"] = {"prepare_threshold": None}
        self.SQLALCHEMY_ENGINE_OPTIONS = options

    def _load_secrets(self) -> None:
        """The environment's, else those generated once into instance/secrets.json (`make run`)."""
        s = _instance_secrets()
        self.SECRET_KEY = s["SECRET_KEY"]
        self.SECURITY_PASSWORD_SALT = s["SECURITY_PASSWORD_SALT"]
        for key, value in _two_factor_secrets().items():
            setattr(self, key, value)


# The secrets that sign sessions, salt the password tokens and encrypt the two-factor secrets. In
# production each comes from the environment; scripts/serve.py fills them from instance/production.env.
SECRET_NAMES = ("SECRET_KEY", "SECURITY_PASSWORD_SALT", "SECURITY_TOTP_SECRETS", "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS")
SECRET_MIN_LENGTH = 32
# Values copied from tutorials and sample files: anyone could sign a session with them.
WELL_KNOWN_SECRETS = frozenset({
    "dev", "development", "secret", "secret-key", "secret_key", "secretkey", "changeme", "change-me", "change_me",
    "changeit", "default", "test", "testing", "password", "please-change-me", "your-secret-key", "super-secret",
    "supersecret", "xueji", "xuejitong", "replace-me", "insecure",
})


class InsecureSecret(RuntimeError):
    """A production secret is missing, short or well known: the app refuses to start."""


def secret_problem(name: str, value: str | None) -> str | None:
    """Why this secret may not sign anything in production (a Chinese sentence), or None."""
    if not value:
        return f"环境变量 {name} 未设置：生产环境必须提供（至少 {SECRET_MIN_LENGTH} 个字符的随机值）。"
    if value.strip().lower() in WELL_KNOWN_SECRETS or len(set(value)) < 8:
        return f"环境变量 {name} 是众所周知的默认值，任何人都能据此伪造登录：请换成随机值。"
    if len(value) < SECRET_MIN_LENGTH:
        return f"环境变量 {name} 太短（{len(value)} 个字符）：至少需要 {SECRET_MIN_LENGTH} 个字符。"
    return None


def _secret_values(name: str, raw: str) -> list[str]:
    """The strings inside a secret: SECURITY_TOTP_SECRETS is JSON {"1": "..."}, the recovery-code
    keys JSON ["..."]; each key inside is checked."""
    if name == "SECURITY_TOTP_SECRETS":
        parsed = json.loads(raw)
        return [str(v) for v in parsed.values()] if isinstance(parsed, dict) and parsed else [""]
    if name == "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS":
        parsed = json.loads(raw)
        return [str(v) for v in parsed] if isinstance(parsed, list) and parsed else [""]
    return [raw]


def production_secret_problems(environ: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """Every reason the environment's secrets are unfit for production (empty: fit)."""
    found: list[str] = []
    for name in SECRET_NAMES:
        raw = environ.get(name)
        if not raw:
            found.append(secret_problem(name, raw) or "")
            continue
        try:
            values = _secret_values(name, raw)
        except ValueError:
            found.append(f"环境变量 {name} 不是有效的 JSON。")
            continue
        found.extend(p for p in (secret_problem(name, v) for v in values) if p)
    return found


class ProductionConfig(Config):
    """`make serve`, wsgi.py and the queue worker under XUEJI_ENV=production: every secret from the
    environment (none generated here: several app servers must share them), checked, and the app
    behind one reverse proxy."""

    def __init__(self) -> None:
        self.PROXY_FIX_COUNT = int(os.environ.get("PROXY_FIX_COUNT") or 1)
        super().__init__()

    def _load_secrets(self) -> None:
        problems = production_secret_problems()
        if problems:
            raise InsecureSecret("学籍通拒绝启动：\n" + "\n".join(problems))
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        self.SECURITY_PASSWORD_SALT = os.environ["SECURITY_PASSWORD_SALT"]
        self.SECURITY_TOTP_SECRETS = json.loads(os.environ["SECURITY_TOTP_SECRETS"])
        self.SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS = [
            k.encode() for k in json.loads(os.environ["SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"])]


def config_from_environment() -> Config:
    """What `flask --app app …` and wsgi.py run with: ProductionConfig under XUEJI_ENV=production."""
    return ProductionConfig() if os.environ.get("XUEJI_ENV") == "production" else Config()


class TestConfig(Config):
    TESTING = True
    # Cheap argon2 parameters: the algorithm is the same, the suite is faster.
    SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = {"argon2__rounds": 1, "argon2__memory_cost": 512}
    LOGIN_RATE_LIMIT = "100000 per minute"  # tests/security/test_lockout.py lowers it
    TOTP_ENCRYPT_COST = 4  # cheap encryption of the TOTP secrets (services/two_factor.totp_class), like argon2 above
    VERIFY_RATE_LIMIT = "100000 per minute"  # one app serves the whole suite; tests/admin/test_verify_rate_limit.py lowers it
    API_RATE_LIMIT = "100000 per minute"  # tests/api/test_api.py lowers it

    def __init__(self) -> None:
        super().__init__()
        self.UPLOAD_DIR = str(INSTANCE_DIR / f"test-uploads-{os.getpid()}")
        self.STORAGE_URL = None  # the suite stores in its own directory, whatever the environment says
        # Tasks run at once in the test's process; tests of the queue itself start a consumer on
        # SQLite storage or on the Redis of CI (tests/queue/).
        self.QUEUE_URL = f"sqlite:///{INSTANCE_DIR / f'test-queue-{os.getpid()}.db'}"
        self.QUEUE_IMMEDIATE = True
        # Mail goes to the in-memory outbox (services.mail.outbox), never to a server.
        self.MAIL_SERVER, self.MAIL_BACKEND = "localhost", "locmem"
        # Each test process counts on its own even when REDIS_URL is set (CI): the xdist workers
        # would otherwise share one login budget for 127.0.0.1. tests/production sets Redis itself.
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.use_database(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / f'test-{os.getpid()}.db'}")
