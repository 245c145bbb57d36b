"""The export gate as the views use it (第二十八条, services/export_gate.py decides).

`gate()` is what every file-sending view calls before it builds the file: it lets the file go
(marked on `g` for the after_request guard, written to the export register and the audit log),
leads to a request form prefilled with the kind, the view and the current filters, or refuses
with a Chinese page (403, audited).
"""

from __future__ import annotations

import json
import typing as t

from flask import Response, flash, redirect, request, url_for
from flask_security import current_user

from services import export_gate, export_requests


def gate(kind_code: str, *, groups: t.Iterable[str] = (), personal: bool = True, detail: str = "",
         scope_text: str = "") -> Response | None:
    """None when the file may go now; else the response to send instead (request form or refusal)."""
    actor = current_user._get_current_object()  # type: ignore[attr-defined]
    groups = frozenset(groups)
    decision = export_gate.decide(actor, kind_code, groups, personal)
    if decision.allowed:
        export_gate.mark_passed(kind_code)
        # Written with the view's own work: the guard commits it when the file really goes
        # (services/export_gate._guard); a download that fails after this leaves no line.
        export_requests.note_file(actor, kind_code, detail or request.full_path)
        return None
    if decision.needs_request:
        flash(decision.reason, "warning")
        return redirect(url_for("export_requests.new", kind=kind_code, view=request.endpoint,
                                args=json.dumps(request.view_args or {}, sort_keys=True),
                                q=request.query_string.decode(), fields=",".join(sorted(groups)),
                                scope=scope_text or actor.unit.name))
    return export_gate.refusal(actor, kind_code, decision.reason)


