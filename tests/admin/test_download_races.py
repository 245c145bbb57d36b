"""The downloads that write before they answer (an audit line, a numbered document) and go through
admin/base.attempt: when that write meets a concurrent change (StaleDataError, IntegrityError: two
numbers taken at once) the user is sent back with a Chinese message, no file is sent and nothing is
kept; a stored file that no longer matches its submission is refused in words. The services are
made to fail after their work (tests/admin/outcomes.then_raise)."""

from __future__ import annotations

import typing as t
from datetime import date

import pytest
from sqlalchemy import select

from extensions import db
from models.rosters import RosterSubmission
from services import archive, audit
from services.rosters import output, submissions
from tests.admin.outcomes import STALE_WORDS, clash, stale, table_counts, text, then_raise, words
from tests.export_helpers import make_downloadables, open_gate
from tests.helpers import HEPING1, pupil_of, school
from tests.transfer_helpers import at, user


@pytest.fixture(autouse=True)
def approved(monkeypatch) -> None:
    """The downloads here are approved exports (第二十八条; approval is tested in tests/security)."""
    open_gate(monkeypatch)


@pytest.fixture
def made(app, monkeypatch) -> dict[str, int]:
    """A pupil of 和平一小 with an archive document and a backup, a problem record resolved with
    evidence, and the school's 新生花名册 of 2026 submitted: each with a download that writes."""
    at(monkeypatch, date(2026, 11, 2))
    with app.test_request_context():
        registrar = user("school-heping1")
        pupil = pupil_of(HEPING1)
        rows = make_downloadables(registrar, pupil)
        doc, backup, problem, row = rows.doc, rows.backup, rows.problem, rows.submission
        db.session.commit()
        ids = {"pupil": pupil.id, "doc": doc.id, "backup": backup.id, "problem": problem.id, "submission": row.id,
               "school": school(HEPING1).id}
        db.session.remove()
    return ids


# (the URL, the module and function that writes, the failure) for each download.
DOWNLOADS: list[tuple[str, str, t.Any, str, t.Callable[[], Exception]]] = [
    ("backup", "/admin/archive/backup/{backup}/pdf", archive, "backup_file", stale),
    ("document", "/admin/archive/document/{doc}", audit, "record", stale),
    ("archive xlsx", "/admin/archive/{pupil}/export.xlsx", archive, "export_xlsx", stale),
    ("archive pdf", "/admin/archive/{pupil}/export.pdf", archive, "export_pdf", clash),
    ("evidence", "/admin/problems/{problem}/evidence-file", audit, "record", stale),
    ("submitted register", "/admin/rosters/submission/{submission}.pdf", submissions, "stored_file", stale),
    ("register pdf", "/admin/rosters/new/{school}.pdf?year=2026", output, "render_pdf", clash),
]


@pytest.mark.parametrize(("name", "url", "module", "function", "failure"), DOWNLOADS, ids=[d[0] for d in DOWNLOADS])
def test_a_race_on_a_download_is_a_message_and_keeps_nothing(app, as_user, made, monkeypatch, name, url, module, function,
                                                            failure):
    c = as_user("school-heping1")
    url = url.format(**made)
    assert c.get(url).status_code == 200  # the download as it is
    before = table_counts(app)
    with monkeypatch.context() as patched:
        patched.setattr(module, function, then_raise(getattr(module, function), failure()))
        resp = c.get(url)
    assert resp.status_code == 302, name
    assert table_counts(app) == before
    # The page it goes back to (a pupil's page is itself an audited view) says why.
    assert words(app, STALE_WORDS) in text(c.get(resp.headers["Location"]))


def test_a_submitted_file_that_changed_on_disk_is_refused_in_words(app, as_user, made):
    c = as_user("school-heping1")
    with app.app_context():
        db.session.get(RosterSubmission, made["submission"]).pdf_sha256 = "0" * 64  # not what is stored
        db.session.commit()
        db.session.remove()
    before = table_counts(app)
    resp = c.get(f"/admin/rosters/submission/{made['submission']}.pdf", follow_redirects=True)
    assert words(app, "The stored file does not match what was submitted.") in text(resp)
    assert table_counts(app) == before  # not even the audit line of a download
    with app.app_context():
        assert db.session.scalar(select(RosterSubmission.pdf_sha256).where(RosterSubmission.id == made["submission"])) == "0" * 64
        db.session.remove()
