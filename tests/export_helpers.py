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
