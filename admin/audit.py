"""The audit screen: officials see what users of their subtree read, exported and changed."""

from __future__ import annotations

from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from flask_babel import lazy_gettext as _l

from admin.base import ReadOnlyScopedView
from admin.org import OFFICIALS
from models.audit import AuditLog
from models.people import AUDIT_ADMIN


class AuditView(ReadOnlyScopedView):
    allowed_roles = OFFICIALS | {AUDIT_ADMIN}  # the audit administrator reads and exports it (issue 13)
    can_view_details = False
    column_list = ("at", "user_email", "action", "object_type", "object_id", "detail", "ip")
    column_labels = {
        "at": _l("Time"), "user_email": _l("User"), "action": _l("Action"), "object_type": _l("Object"),
        "object_id": _l("Object id"), "detail": _l("Detail"), "ip": _l("IP address"),
    }
    column_default_sort = ("id", True)
    # The audit log's export: services/export_gate.py kind "audit_log", the audit administrator only.
    can_export = True
    export_types = ("csv", "xlsx")
    column_sortable_list = ("at",)
    column_filters = (
        FilterEqual(AuditLog.action, _l("Action")),
        FilterLike(AuditLog.user_email, _l("User")),
        FilterEqual(AuditLog.object_id, _l("Object id")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(AuditLog, *args, **kwargs)
