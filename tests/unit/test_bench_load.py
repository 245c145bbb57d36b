"""bench/load.py's catch-up vacuum: where the server runs without autovacuum (this machine's
PostgreSQL, for CI), the tables changed since their last ANALYZE are vacuumed before a run, as
autovacuum would have between runs, and the report says so."""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask

from bench.generate import libpq_dsn
from bench.load import as_text, catch_up_vacuum


def test_a_load_run_vacuums_first_where_autovacuum_is_off(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's autovacuum")
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        conn.execute("CREATE TABLE IF NOT EXISTS bench_vacuum_probe (n integer)")
        conn.execute("INSERT INTO bench_vacuum_probe SELECT generate_series(1, 100)")
    try:
        done = catch_up_vacuum(url)
    finally:
        with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
            conn.execute("DROP TABLE bench_vacuum_probe")
    if autovacuum == "on":
        assert done == {"autovacuum": "on"}
    else:
        assert done["autovacuum"] == "off" and done["vacuumed_before_run"] >= 1  # the probe, never analysed
    line = as_text({"label": "x", "users": 1, "think_s": 0, "window_s": 1, "warmup_s": 0, "load_average_start_end": [0, 0],
                    "cpus": 2, "kinds": {}, "all": {"p50_ms": 0, "p95_ms": 0, "p99_ms": 0}, "requests": 0,
                    "requests_per_s": 0, "errors": 0, "errors_by_kind": {}, "error_examples": [], "vacuum": done})
    assert f"database before the run: {done}" in line
