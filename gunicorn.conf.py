"""gunicorn's settings for `make serve` (scripts/serve.py): `gunicorn -c gunicorn.conf.py wsgi:app`.

- WEB_CONCURRENCY workers (default 2 × cores + 1, gunicorn's own advice for sync workers: one
  waits on the database while another computes);
- on 127.0.0.1:PORT (PORT default 8000): the reverse proxy in front of it (ProxyFix trusts one)
  is the only client. BIND (host:port) or HOST puts it elsewhere, e.g. HOST=0.0.0.0 behind a load
  balancer on another machine;
- no access log: gunicorn's prints the query string, where searches carry names and ID numbers;
  the app writes its own JSON line per request instead (services/request_log.py).
"""

import multiprocessing
import os

bind = os.environ.get("BIND") or f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A certificate batch or an export is queued, not served: a request longer than this is a fault.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 20  # Ctrl+C: requests in flight may finish, for at most this long
keepalive = 5  # behind a proxy that keeps connections open
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# Each worker builds its own app (and its own database pool) after the fork: no connection is
# shared between processes.
preload_app = False
proc_name = "xuejitong"
# gunicorn 26's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): a second
# instance on the machine (a test, a second province) would take it over. Nobody uses it here.
control_socket_disable = True


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """A stopping worker leaves at once: the interpreter's own teardown of the app's hundreds of
    modules took seconds on a busy 2-core machine (Ctrl+C seemed to hang), and it frees nothing the
    operating system does not free anyway. The request log is flushed first; the database
    connections are closed by the server when the socket goes."""
    import logging
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
