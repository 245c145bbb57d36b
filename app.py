"""学籍通 — application factory. `flask --app app <command>` is the CLI."""

from __future__ import annotations

from flask import Flask, redirect, request, send_from_directory, session, url_for
from flask_login import user_logged_in
from flask_security import current_user

import changes  # noqa: F401  (declares every change type)
import models
from config import InsecureSecret, config_from_environment, secret_problem
from extensions import babel, csrf, db, migrate, security
from models.clock import system_now
from services import faults, headers, labels, redirects, sessions
from services.redirects import safe_redirect_target

DEFAULT_LOCALE = "zh_Hans_CN"


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in ("zh_Hans_CN", "en") else DEFAULT_LOCALE


def create_app(config: object | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config if config is not None else config_from_environment())
    if not (app.debug or app.testing) and (problem := secret_problem("SECRET_KEY", app.config.get("SECRET_KEY"))):
        raise InsecureSecret(problem)  # a guessable key lets anyone forge a session
    from services import proxies, request_log

    proxies.init_app(app)  # ProxyFix: the client's address and scheme as the proxy saw them
    request_log.init_app(app)  # one JSON line per request, first hook of all (issue 15)

    db.init_app(app)
    _tune_connections(app)  # SQLite in WAL mode, PostgreSQL without JIT and with lasting prepared statements
    from services import notifications, queue, sweeps  # noqa: F401  (sweeps: declares the daily periodic tasks)

    queue.init_app(app)  # background work: Huey on SQLite or Redis (issue 15)
    notifications.install()  # 我的消息: mail handed to the queue after the event's commit (issue 16)
    migrate.init_app(app, db, render_as_batch=True)
    # Babel before Security, or Flask-Security keeps English (STACK-FACTS.md).
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    from forms import i18n as form_messages

    form_messages.install(app)  # WTForms' messages parsed once per language, not per request
    from services.user_store import UserDatastore

    datastore = UserDatastore(db, models.User, models.Role)  # the request's account with its unit and badges
    from forms.login import GuardedLoginForm
    from services.passwords import PasswordPolicy
    from services.two_factor import totp_class

    # Lockout and audit of failed logins, and the one password rule (issue 13, points 5 and 6).
    # Flask-Security 5.9's init_app takes form classes but not password_util_cls (only its
    # constructor does, and extensions.py builds it bare): set before init_app instantiates it.
    security._password_util_cls = PasswordPolicy
    security._totp_cls = totp_class(app.config.get("TOTP_ENCRYPT_COST"))  # same: constructor only
    # Flask-Security stamps its times (last/current login, …) in naive UTC by default; every other
    # time here is naive China Standard Time (models/clock.py), so the users list showed UTC. The
    # wall clock, not the rules' clock that tests move: a login happens now (the 90-day dormancy rule
    # compares it with the wall clock too, services/dormant_accounts.py).
    app.config.setdefault("SECURITY_DATETIME_FACTORY", system_now)
    security.init_app(app, datastore, login_form=GuardedLoginForm)
    sessions.init_app(app)  # server-side sessions: logout, expiry, one per account (issue 13)
    headers.init_app(app)  # CSP and the other security headers
    faults.init_app(app)  # database gone → 503, disk full → 507, in Chinese, nothing half-written (issue 15)
    redirects.init_app(app)  # no redirect leaves this host
    from services import submission_tokens

    submission_tokens.init_app(app)  # a form sent twice has its effect once (issue 15)
    labels.init_app(app)  # person(user), minute(time): how every page names people and times

    from admin import init_admin

    init_admin(app)
    from public import init_public

    init_public(app)  # pages without login: /verify/<code> for certificates
    from public import health

    health.init_app(app)  # GET /healthz: database and queue, for the load balancer
    from public.account_security import init_account_security

    init_account_security(app)  # login rate limit, forced password change (issue 13)
    from api import init_api

    init_api(app)  # /api/v1/: the read-only data API, by token only (issue 16, point 5)
    _register_routes(app)
    _register_login_audit(app)

    from cli import register_commands

    register_commands(app)
    return app


def _tune_connections(app: Flask) -> None:
    """Settings of each new database connection, whatever URL the config ends up with.

    SQLite in WAL mode: readers read the last committed state while the one writer writes. In
    SQLite's default rollback journal a long write (an import of thousands of rows, in one
    transaction) holds the EXCLUSIVE lock until its commit, and every page of every web worker, even
    the progress poll of that very import, fails with "database is locked". The mode is kept in the
    file; asking again on each new connection costs one pragma.

    PostgreSQL without JIT: these are short OLTP queries, and an over-estimated plan (a correlated
    count in the request queues) switched it on and paid 34-53 ms of compiling per query
    (bench/README.md). A SET on connect, not `options` in connect_args, which would replace options
    a deployment puts in its DATABASE_URL."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    dialect = engine.dialect.name
    if dialect == "sqlite" and ":memory:" in str(engine.url):
        return
    if dialect not in ("sqlite", "postgresql"):
        return
    from services import read_transactions

    read_transactions.install(engine)  # PostgreSQL: a request that only read keeps the prepared statements

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if dialect == "postgresql":
                cursor.execute("SET jit = off")
                dbapi_connection.commit()  # psycopg opened a transaction for the SET: end it, the setting stays
            else:
                cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:  # SQLite: another connection writes; the next new connection switches
            app.logger.warning("database connection setting not applied now (%s)", exc)
        finally:
            cursor.close()


def _register_routes(app: Flask) -> None:
    @app.route("/")
    def root():
        return redirect(url_for("admin.index") if current_user.is_authenticated else url_for("security.login"))

    @app.route("/favicon.ico")
    def favicon():  # browsers ask for it at the root; the pages link the same file (templates/admin/master.html)
        return send_from_directory(app.static_folder or "static", "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400)

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in app.config["LANGUAGES"]:
            session["lang"] = code
        # Back to the page the user came from, but never to another site (no open redirect).
        return redirect(safe_redirect_target(request.referrer))

    from flask import render_template
    from flask_babel import gettext as _
    from flask_wtf.csrf import CSRFError

    errors = {
        400: (lambda: _("Bad request"), lambda: _("The request could not be understood. Please go back and try again.")),
        403: (lambda: _("Not permitted"), lambda: _("Your role does not allow this page.")),
        404: (lambda: _("Not found"), lambda: _("The page or record does not exist, or is outside your area of responsibility.")),
        413: (lambda: _("File too large"), lambda: _("The uploaded file is larger than allowed.")),
        405: (lambda: _("Not available this way"),
              lambda: _("This address cannot be opened directly. Please use the buttons on the page.")),
        429: (lambda: _("Too many requests"), lambda: _("Too many requests from your address. Please wait a minute and try again.")),
    }

    def _error_page(code: int):
        if request.path.startswith("/api/"):  # the data API answers JSON, even for a URL none of its rules matched
            from api import unmatched

            return unmatched(code)
        title, message = errors[code]
        return render_template("error.html", code=code, title=title(), message=message()), code

    for code in errors:
        app.register_error_handler(code, lambda e, code=code: _error_page(code))

    # A number in a URL or form that no integer column can hold (an id or page of 20 digits): the
    # database refuses it (SQLite: OverflowError; PostgreSQL: DataError). Whatever view asked, the
    # answer is "not found", never a 500; the transaction is rolled back first.
    from sqlalchemy.exc import DataError

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _number_out_of_range(e):
        from extensions import db

        if isinstance(e, DataError) and getattr(e.orig, "sqlstate", None) != "22003":  # numeric_value_out_of_range
            raise e  # any other data error is a bug to see, not a "not found"
        db.session.rollback()
        return _error_page(404)

    @app.errorhandler(CSRFError)
    def _csrf_error(e):
        return render_template(
            "error.html", code=400, title=_("Form expired"),
            message=_("The form's security token is missing or expired. Reload the page and submit again."),
        ), 400



def _register_login_audit(app: Flask) -> None:
    from services import audit

    @app.before_request
    def _attribute_changes() -> None:
        # Any student change flushed during this request is history written by this user.
        if current_user.is_authenticated:
            audit.set_actor(current_user)

    from services.dormant_accounts import refuse_dormant_login

    app.before_request(refuse_dormant_login)  # 90 days unseen: disabled before the login is checked

    @user_logged_in.connect_via(app)
    def _on_login(sender, user, **extra):
        audit.record(user, "login", "user", user.id)
        # Flask-Security commits the trackable fields after this signal.
