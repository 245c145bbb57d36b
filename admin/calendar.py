"""工作日历: the official holidays and 调休 days that override chinese-calendar.

Calendar days belong to no org unit, so there is no row scope: every logged-in user reads
the calendar (a school must see why its deadline falls where it does); only the province and
administrators change it (services/workdays.py decides, this view only hides the buttons).
"""

from __future__ import annotations

import typing as t

from flask_admin.contrib.sqla import ModelView
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf import FlaskForm

from admin.base import AccessMixin, ServiceErrorsMixin, current_actor
from extensions import db
from models.calendar import CalendarDay
from services.workdays import can_edit_calendar, delete_calendar_day, save_calendar_day


class CalendarDayView(ServiceErrorsMixin, AccessMixin, ModelView):
    form_base_class = FlaskForm  # Flask-WTF token, the one CSRFProtect checks on every POST
    column_list = ("day", "is_workday", "note")
    column_labels = {"day": _l("Date"), "is_workday": _l("Working day"), "note": _l("Note")}
    column_descriptions = {
        "is_workday": _l("Ticked: a working day (e.g. a 调休 Saturday). Unticked: a holiday."),
        "note": _l("Enter the whole State Council holiday notice of a year at once: any entry makes the year count as known."),
    }
    column_default_sort = ("day", True)
    column_searchable_list = ("note",)
    form_columns = ("day", "is_workday", "note")
    page_size = 50

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        super().__init__(CalendarDay, db, *args, **kwargs)

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return current_user.is_authenticated and can_edit_calendar(current_actor())

    @can_create.setter
    def can_create(self, value: bool) -> None:  # Flask-Admin assigns the class default
        pass

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.can_create

    @can_edit.setter
    def can_edit(self, value: bool) -> None:
        pass

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.can_create

    @can_delete.setter
    def can_delete(self, value: bool) -> None:
        pass

    def on_model_change(self, form: t.Any, model: CalendarDay, is_created: bool) -> None:
        save_calendar_day(model, current_actor())  # also sets created_by on create

    def on_model_delete(self, model: CalendarDay) -> None:
        delete_calendar_day(model, current_actor())
