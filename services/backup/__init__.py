"""Backup and restore of the whole site: the database and every file under UPLOAD_DIR, in one archive.

The archive is a plain tar (the dump is already compressed, the uploads are mostly JPG/PNG/PDF):

- ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite,
  copied with the online backup API, so a running app can be backed up);
- ``uploads/…``: every stored file (attachments, photos, reports, generated files);
- ``manifest.json``, last: format version, alembic revision, database kind, creation time, the
  row count of every table, and the sha256 and size of every other member.

The database is dumped before the files are copied: a file is stored before the row that names it
is committed, so every file a dumped row names is already on disk when the copy starts.

A restore checks the manifest (same database kind, a revision this program knows) and every
checksum before it touches anything, then replaces the whole database and the upload directory,
and upgrades the schema when the archive comes from an older revision.

Modules: common (names, manifest, error), databases (dump and restore per kind), archive (the tar,
its checksums), site (create and restore of everything, audited), retention (prune)."""
