"""The migrations run both ways: upgrade head → downgrade base → upgrade head, on a database of
their own, and after each upgrade the schema is exactly the models' (autogenerate finds nothing).

SQLite: a temporary file. PostgreSQL (TEST_DATABASE_URL set): a separate database
`<name>_migrations` on the same server, created when missing, so the suite's own database
(which every other test uses) is never dropped under it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text

import config
from app import create_app
from extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


@pytest.fixture(autouse=True)
def demo() -> Iterator[None]:
    """Overrides conftest's demo province: these tests never touch the suite's database."""
    yield


def _postgres(suite_url: str, *statements: str) -> None:
    """Run statements on the suite's server outside a transaction (CREATE/DROP DATABASE need that)."""
    admin = create_engine(suite_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


@pytest.fixture
def migration_app(tmp_path: Path) -> Iterator[Flask]:
    """An app bound to an empty database of its own."""
    cfg = config.TestConfig()
    suite_url = cfg.SQLALCHEMY_DATABASE_URI
    own = None
    if suite_url.startswith("postgresql"):
        url = make_url(suite_url)
        own = f"{url.database}_migrations{os.environ.get('PYTEST_XDIST_WORKER', '')}"  # one per xdist worker
        _postgres(suite_url, f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)', f'CREATE DATABASE "{own}"')
        cfg.SQLALCHEMY_DATABASE_URI = url.set(database=own).render_as_string(hide_password=False)
    else:
        cfg.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrations.db'}"
    app = create_app(cfg)
    yield app
    with app.app_context():
        db.engine.dispose()
    if own:
        _postgres(suite_url, f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')


def _schema_diff() -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


def _tables_left() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _enums_left() -> list[str]:
    """PostgreSQL named types a downgrade forgot (they would break the next upgrade)."""
    if db.engine.dialect.name != "postgresql":
        return []
    with db.engine.connect() as conn:
        return [e["name"] for e in inspect(conn).get_enums()]


def test_migrations_run_up_down_and_up_again_and_match_the_models(migration_app: Flask):
    with migration_app.app_context():
        upgrade(directory=MIGRATIONS)
        assert _schema_diff() == [], "after the first upgrade the schema differs from the models"

        downgrade(directory=MIGRATIONS, revision="base")
        assert _tables_left() == set(), "downgrade base left application tables"
        assert _enums_left() == [], "downgrade base left PostgreSQL enum types"

        upgrade(directory=MIGRATIONS)
        assert _schema_diff() == [], "after upgrade → downgrade → upgrade the schema differs from the models"
        assert _tables_left() == {t.name for t in db.metadata.sorted_tables}


def _revisions() -> list[str]:
    """Every revision id, oldest first (the history is one straight line)."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def _index_names(conn) -> set[tuple[str, str]]:
    """(table, index) from the catalogue itself: the inspector skips expression indexes on SQLite."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'"
    else:
        sql = "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {tuple(row) for row in conn.execute(text(sql)) if row[0] != "alembic_version"}


def _snapshot() -> dict:
    """What a revision's schema is made of: tables, columns, keys, unique constraints, indexes."""
    with db.engine.connect() as conn:
        insp = inspect(conn)
        tables = {}
        for name in sorted(set(insp.get_table_names()) - {"alembic_version"}):
            tables[name] = {
                "columns": sorted((c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)),
                "pk": sorted(insp.get_pk_constraint(name)["constrained_columns"]),
                # By columns and target, not name: SQLite does not report a column-level key's name.
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in insp.get_foreign_keys(name)),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
            }
        return {"tables": tables, "indexes": sorted(_index_names(conn))}


def test_each_downgrade_restores_the_schema_of_the_revision_before(migration_app: Flask):
    """Step by step: upgrade one revision, down one, up again — the schema before and after agree,
    so a database stopped at any revision (not only base) is what that revision built."""
    with migration_app.app_context():
        before = _snapshot()
        for revision in _revisions():
            previous = before
            upgrade(directory=MIGRATIONS, revision=revision)
            after = _snapshot()
            downgrade(directory=MIGRATIONS, revision="-1")
            assert _snapshot() == previous, f"downgrade of {revision} does not restore the schema before it"
            upgrade(directory=MIGRATIONS, revision=revision)
            assert _snapshot() == after, f"upgrade of {revision} after its downgrade builds another schema"
            before = after
        assert _schema_diff() == []


def test_the_classes_migration_makes_this_years_classes_from_the_pupils_class_names(migration_app: Flask):
    """w_classes (issue 16, point 7): one class per distinct (school, grade, class name) of the pupils
    kept at a school, for the current school year, and each such pupil linked to it; pupils who left,
    pupils without a class and other schools' same names stay apart."""
    from datetime import date

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS, revision="v_qimport_source")
        with db.engine.begin() as conn:
            for uid, code, path in ((1, "2121000001", "/21/2101/210102/2121000001/"), (2, "2121000003", "/21/2101/210103/2121000003/")):
                conn.execute(text("INSERT INTO org_unit (id, code, name, level, path, active, is_rural) "
                                  "VALUES (:id, :code, :name, 'school', :path, :t, :f)"),
                             {"id": uid, "code": code, "name": f"学校{uid}", "path": path, "t": True, "f": False})
            pupils = [  # (id, school, grade, class name, status)
                (1, 1, 3, "1班", "enrolled"), (2, 1, 3, "1班", "suspended"), (3, 1, 3, "2班", "enrolled"),
                (4, 1, 4, "1班", "pending"), (5, 1, 3, None, "enrolled"), (6, 1, 3, "9班", "graduated"),
                (7, 2, 3, "1班", "enrolled"),
            ]
            for sid, school_id, grade, klass, status in pupils:
                conn.execute(text(
                    "INSERT INTO student (id, version_id, school_id, scope_path, status, name, gender, birth_date, ethnicity, "
                    "nationality, id_type, overseas, health, grade, class_name, only_child, preschool, left_behind, migrant_child, "
                    "orphan, disability, created_at, updated_at) VALUES (:id, 1, :school, (SELECT path FROM org_unit WHERE id = :school), "
                    ":status, :name, '1', :birth, '01', '156', '1', '0', '1', :grade, :klass, :f, :f, '0', :f, :f, '0', :now, :now)"),
                    {"id": sid, "school": school_id, "status": status, "name": f"学生{sid}", "birth": date(2017, 3, 1),
                     "grade": grade, "klass": klass, "f": False, "now": date(2026, 9, 1)})
        upgrade(directory=MIGRATIONS, revision="w_classes")
        with db.engine.connect() as conn:
            made = {(r.school_id, r.grade, r.name): r for r in conn.execute(text(
                "SELECT id, school_id, scope_path, school_year, grade, name FROM school_class"))}
            linked = dict(conn.execute(text("SELECT id, class_id FROM student")).all())
        today = date.today()
        year = today.year if (today.month, today.day) > (7, 15) else today.year - 1
        assert set(made) == {(1, 3, "1班"), (1, 3, "2班"), (1, 4, "1班"), (2, 3, "1班")}
        assert {r.school_year for r in made.values()} == {year}
        assert made[(2, 3, "1班")].scope_path == "/21/2101/210103/2121000003/"
        assert linked[1] == linked[2] == made[(1, 3, "1班")].id and linked[3] == made[(1, 3, "2班")].id
        assert linked[4] == made[(1, 4, "1班")].id and linked[7] == made[(2, 3, "1班")].id
        assert linked[5] is None and linked[6] is None  # no class; a graduate's old class is no class of this year
        downgrade(directory=MIGRATIONS, revision="v_qimport_source")
        assert "school_class" not in _tables_left()
