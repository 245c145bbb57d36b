"""Reports of the duties of 第八条 / 第三十条: pupils whose archive is overdue."""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from admin.students import StudentView
from services.oversight.violations import archive_overdue_filter


class ArchiveOverdueView(StudentView):
    """档案逾期未建: pupils enrolled more than a month ago whose archive is still incomplete."""

    can_create = False
    can_edit = False
    can_export = True
    column_list = ("xjh", "name", "school", "grade", "class_name", "status", "created_at")
    column_labels = {**StudentView.column_labels, "created_at": _l("Entered on")}

    def _overdue(self) -> t.Any:
        return archive_overdue_filter()  # the same rule counts the 第三十条 report (services/oversight/violations.py)

    def scope_filter(self) -> t.Any:
        return and_(super().scope_filter(), self._overdue())

    def list_scope_filter(self) -> t.Any:
        return and_(super().list_scope_filter(), self._overdue())
