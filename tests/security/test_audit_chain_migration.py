"""Migration s5_audit_chain chains the rows an existing database already has, in id order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from extensions import db
from models.audit import GENESIS
from services.audit_chain import verify
from tests.test_migrations import MIGRATIONS, migration_app  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def demo() -> Iterator[None]:
    """Overrides conftest's demo province: this test has a database of its own."""
    yield


def test_the_migration_chains_existing_rows(migration_app: Flask):  # noqa: F811
    with migration_app.app_context():
        upgrade(directory=MIGRATIONS, revision="h4_assessment_confirmation")
        with db.engine.begin() as conn:
            for i, action in enumerate(("login", "student.view", "export")):
                conn.execute(text("INSERT INTO audit_log (id, at, action, detail) VALUES (:id, :at, :a, :d)"),
                             {"id": 10 + i, "at": f"2026-0{i + 1}-01 08:00:00", "a": action, "d": f"旧行 {i}"})
        upgrade(directory=MIGRATIONS, revision="s5_audit_chain")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, prev_hash, row_hash FROM audit_log ORDER BY id")).all()
            assert rows[0].prev_hash == GENESIS
            assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
            verdict = verify(conn)
        assert verdict.intact, verdict.message()
        assert verdict.rows == 3
