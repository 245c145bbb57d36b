"""The restore drill (issue 15, point 5): back up a realistic site, destroy it, restore it, and
compare everything — on SQLite and, when the suite runs on PostgreSQL, on PostgreSQL.

The site is an app of its own (its own database and upload directory, never the suite's): the demo
province with change requests of every type in every state (so history and audit rows), plus
evidence files attached to a transfer and a generated file. After `backup create` the database
and the upload directory are destroyed (the SQLite file deleted, the PostgreSQL database dropped)
and `backup restore --yes` brings them back, once into an empty database that was never migrated
and once into an empty one migrated to the head. Every row of every table must come back
(pupils, requests, history, audit), the audit hash chain must still verify, and every file must
have its checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import typing as t
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, make_url, select, text

import config
from extensions import db
from models.audit import AuditLog
from models.changes import Attachment
from services import queue, uploads
from tests.transfer_helpers import pdf_bytes, start, upload

TERM_DAY = date(2026, 11, 10)


@pytest.fixture(autouse=True)
def demo() -> Iterator[None]:
    """Overrides conftest's demo province: the drill never touches the suite's database."""
    yield


def _admin(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


class Site(t.NamedTuple):
    app: Flask
    kind: str
    archive: Path
    rows: dict[str, list[tuple]]
    files: dict[str, str]

    def destroy(self) -> None:
        """Everything gone: the database (file deleted / database dropped and made again, empty)
        and the whole upload directory."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        url = make_url(self.app.config["SQLALCHEMY_DATABASE_URI"])
        if self.kind == "sqlite":
            Path(str(url.database)).unlink()
        else:
            name = url.database
            _admin(url.set(database="postgres").render_as_string(hide_password=False),
                   f'DROP DATABASE "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        shutil.rmtree(self.app.config["UPLOAD_DIR"])

    def cli(self, *args: str, input: str | None = None):
        return self.app.test_cli_runner().invoke(args=list(args), input=input)


def _rows() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with db.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        tables = [db.metadata.tables[n] for n in names if n in db.metadata.tables]
        return {tb.name: [tuple(r) for r in conn.execute(select(tb).order_by(*tb.primary_key.columns))] for tb in tables}


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _jpeg(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    return buf.getvalue()


def _build_site(app: Flask) -> None:
    from cli.demo import load_demo
    from services import workflows
    from tests.transfer_helpers import user

    with pytest.MonkeyPatch.context() as mp:
        from tests.transfer_helpers import at

        at(mp, TERM_DAY)
        with app.test_request_context():
            upgrade()
            load_demo(pupils=70, requests=True)
            req = start(materials=True)  # three evidence files, each audited
            actor = user("school-shenhe1")
            workflows.attach(req, "hukou", upload(_jpeg((20, 90, 200)), "居住证明.jpg"), actor)
            workflows.attach(req, "contact_form", upload(pdf_bytes(), "联系表.pdf"), actor)
            uploads.store(b"generated roster " * 1000)  # a generated file no row names yet
            db.session.commit()
            db.session.remove()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    kind = request.param
    cfg = config.TestConfig()
    suite_url = cfg.SQLALCHEMY_DATABASE_URI
    if kind == "postgresql":
        if not suite_url.startswith("postgresql"):
            pytest.skip("the suite runs on SQLite (set TEST_DATABASE_URL for the PostgreSQL drill)")
        url = make_url(suite_url)
        name = f"{url.database}_backup_drill{os.environ.get('PYTEST_XDIST_WORKER', '')}"
        _admin(suite_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        cfg.SQLALCHEMY_DATABASE_URI = url.set(database=name).render_as_string(hide_password=False)
    tmp = tmp_path_factory.mktemp(f"drill-{kind}")
    if kind == "sqlite":
        cfg.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp / 'site.db'}"
    cfg.UPLOAD_DIR = str(tmp / "uploads")
    previous = queue._bound.get("app")
    from app import create_app

    app = create_app(cfg)
    try:
        _build_site(app)
        with app.app_context():
            rows, files = _rows(), _files(Path(cfg.UPLOAD_DIR))
        (tmp / "backups").mkdir()
        result = app.test_cli_runner().invoke(args=["backup", "create", str(tmp / "backups")])
        assert result.exit_code == 0, result.output
        archive = next((tmp / "backups").glob("xueji-backup-*.tar"))
        yield Site(app, kind, archive, rows, files)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if previous is not None:
            queue.init_app(previous)  # the suite's app gets its task queue back
        if kind == "postgresql":
            _admin(suite_url, f'DROP DATABASE IF EXISTS "{make_url(cfg.SQLALCHEMY_DATABASE_URI).database}" WITH (FORCE)')


def _assert_restored(site: Site) -> None:
    with site.app.app_context():
        rows = _rows()
        restored_files = _files(Path(site.app.config["UPLOAD_DIR"]))
        attachments = db.session.scalars(select(Attachment)).all()
        last = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).one()
        assert last.action == "backup.restore" and site.archive.name in (last.detail or "")
        db.session.remove()
    for must in ("student", "guardian", "change_request", "approval_step", "student_history", "audit_log", "attachment"):
        assert site.rows[must], f"the drill's site has no {must} rows"
    assert rows.keys() == site.rows.keys()
    for name, before in site.rows.items():
        after = rows[name][:-1] if name == "audit_log" else rows[name]  # + the restore's own audit row
        assert after == before, f"table {name} differs after the restore"
    assert restored_files == site.files
    assert len(attachments) >= 5
    with site.app.app_context():
        for att in attachments:
            assert hashlib.sha256(uploads.path_of(att.sha256).read_bytes()).hexdigest() == att.sha256
    verdict = site.cli("audit", "verify")
    assert verdict.exit_code == 0 and "审计日志完整" in verdict.output, verdict.output


def test_restore_into_an_empty_database_never_migrated(site: Site):
    site.destroy()
    result = site.cli("backup", "restore", "--yes", str(site.archive))
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output
    _assert_restored(site)


def test_restore_into_an_empty_migrated_database(site: Site):
    site.destroy()
    with site.app.app_context():
        upgrade()
        db.engine.dispose()
    result = site.cli("backup", "restore", "--yes", str(site.archive))
    assert result.exit_code == 0, result.output
    _assert_restored(site)


def test_restore_over_a_live_database_replaces_what_was_done_since(site: Site):
    """The usual case: the site has moved on (or been damaged) since the backup; the restore
    puts back exactly the backed-up state, in one step."""
    with site.app.test_request_context():
        db.session.execute(text("DELETE FROM student_history"))
        db.session.commit()
        uploads.store(b"written after the backup")
        db.session.remove()
    result = site.cli("backup", "restore", "--yes", str(site.archive))
    assert result.exit_code == 0, result.output
    _assert_restored(site)


def test_restore_into_an_upload_directory_that_is_a_volume_of_its_own(site: Site, monkeypatch):
    """UPLOAD_DIR as a mount point (a disk for the files) cannot be renamed: its contents are
    replaced in place."""
    uploads_dir = Path(site.app.config["UPLOAD_DIR"]).resolve()
    with site.app.app_context():
        uploads.store(b"written after the backup, on the volume")
    real_is_mount = Path.is_mount
    monkeypatch.setattr(Path, "is_mount", lambda self: self == uploads_dir or real_is_mount(self))
    result = site.cli("backup", "restore", "--yes", str(site.archive))
    assert result.exit_code == 0, result.output
    assert uploads_dir.is_dir()
    _assert_restored(site)


def test_verify_reads_the_whole_archive(site: Site):
    result = site.cli("backup", "verify", str(site.archive))
    assert result.exit_code == 0 and "备份完好" in result.output, result.output
    manifest = _manifest(site.archive)
    assert manifest["database_kind"] == site.kind and manifest["row_counts"]["student"] == len(site.rows["student"])
    assert {n.removeprefix("uploads/") for n in manifest["files"] if n.startswith("uploads/")} == set(site.files)


# --- refusals: nothing is touched -------------------------------------------------------------

def _manifest(archive: Path) -> dict[str, t.Any]:
    with tarfile.open(archive) as tar:
        fh = tar.extractfile("manifest.json")
        assert fh is not None
        return json.loads(fh.read())


def _rewritten(archive: Path, target: Path, *, manifest: dict[str, t.Any] | None = None,
               damage: str | None = None) -> Path:
    """A copy of the archive with another manifest, or with one member's bytes altered."""
    with tarfile.open(archive) as src, tarfile.open(target, "w") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            if member.name == damage:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return target


def _refused(site: Site, archive: Path, words: str) -> None:
    with site.app.app_context():
        before = _rows()
    files_before = _files(Path(site.app.config["UPLOAD_DIR"]))
    result = site.cli("backup", "restore", "--yes", str(archive))
    assert result.exit_code != 0
    assert words in result.output, result.output
    assert "错误：" in result.output and "Error" not in result.output
    with site.app.app_context():
        assert _rows() == before
    assert _files(Path(site.app.config["UPLOAD_DIR"])) == files_before


def test_restore_refuses_a_damaged_archive_before_touching_anything(site: Site, tmp_path: Path):
    name = next(n for n in _manifest(site.archive)["files"] if n.startswith("uploads/"))
    _refused(site, _rewritten(site.archive, tmp_path / "damaged.tar", damage=name), "校验失败")


def test_restore_refuses_an_archive_of_the_other_database_kind(site: Site, tmp_path: Path):
    manifest = _manifest(site.archive)
    manifest["database_kind"] = "postgresql" if site.kind == "sqlite" else "sqlite"
    _refused(site, _rewritten(site.archive, tmp_path / "other.tar", manifest=manifest), "无法恢复")


def test_restore_refuses_an_archive_of_a_newer_schema(site: Site, tmp_path: Path):
    manifest = _manifest(site.archive)
    manifest["alembic_revision"] = "z9_from_a_later_release"
    _refused(site, _rewritten(site.archive, tmp_path / "newer.tar", manifest=manifest), "本程序不认识")


def test_restore_asks_first_and_no_changes_nothing_when_told_no(site: Site):
    with site.app.app_context():
        before = _rows()
    result = site.cli("backup", "restore", str(site.archive), input="n\n")
    assert result.exit_code == 1 and "确定要恢复吗" in result.output and "已取消，未做任何更改" in result.output
    with site.app.app_context():
        assert _rows() == before
