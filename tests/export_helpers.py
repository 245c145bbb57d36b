"""The export gate (services/export_gate.py) opened or shut for tests of something else.

Approval itself is tested in tests/security/test_export_requests.py. Tests of a file's content
(a roster, a backup, a register) open the gate as if the request had been approved with every
sensitive group; tests that a view asks the gate shut it.
"""

from __future__ import annotations

from services import export_gate


def open_gate(monkeypatch) -> None:
    monkeypatch.setattr(export_gate, "decide",
                        lambda actor, kind, groups=(), personal=True: export_gate.Decision(True, groups=export_gate.ALL_GROUPS))
    monkeypatch.setattr(export_gate, "approved_groups", lambda: export_gate.ALL_GROUPS)


def shut_gate(monkeypatch) -> None:
    monkeypatch.setattr(export_gate, "decide",
                        lambda actor, kind, groups=(), personal=True: export_gate.Decision(False, reason="测试：网关拒绝"))


def make_downloadables(registrar, pupil):
    """One row behind each evidence and roster download of a school (and its pupil): an archive
    document, a backup made on leaving, a problem record resolved with evidence, and the school's
    新生花名册 of 2026 submitted. For the tests that download them (races, the gate)."""
    from types import SimpleNamespace

    from services import archive, problems
    from services.rosters import registers, submissions
    from tests.builders import make_problem_record
    from tests.transfer_helpers import upload

    doc = archive.add_document(pupil, registrar, "hukou", upload(name="户口簿.png"), "户主页及本人页")
    leaving = SimpleNamespace(student=pupil, id=None, to_school=None, external_school="北京市某小学", requested_by=registrar)
    backup = archive.backup_on_leaving(leaving, registrar)  # type: ignore[arg-type]
    problem = make_problem_record()
    problems.resolve_with_evidence(problem, registrar, upload(name="出生证明.png"), "双胞胎")
    submission, _pdf, _xlsx = submissions.submit(registrar, registers.NEW, 2026)
    return SimpleNamespace(doc=doc, backup=backup, problem=problem, submission=submission)
