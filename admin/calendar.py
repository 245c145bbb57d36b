"""工作日历: the State Council notice of each year (one record per year) and single-day adjustments.

Calendar data belongs to no org unit, so there is no row scope: every logged-in user reads it
(a school must see why its deadline falls where it does); only the province and administrators
change it. Who may is the command EDIT_CALENDAR (services/commands/records.py, the rule of
services/workdays.py): the buttons and every handler ask it; the services check it again.
"""

from __future__ import annotations

import typing as t

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import StringField, TextAreaField

from admin.base import STALE_MESSAGE, AccessMixin, SecureBaseView, ServiceErrorsMixin, WordsMixin, current_actor, run_command
from extensions import db
from models.calendar import CalendarDay, OfficialCalendarYear
from models.people import ADMIN
from services import calendar_notices, clock, duties
from services.calendar_notices import calendar_day_deleted, delete_calendar_day, save_calendar_day
from services.commands.records import EDIT_CALENDAR
from services.workdays import SOURCE_ESTIMATE, SOURCE_LIBRARY, SOURCE_NOTICE, year_source

T = t.TypeVar("T")


def may_edit() -> bool:
    """Whether the current user may edit the calendar: the command's answer, never the rule itself."""
    return current_user.is_authenticated and EDIT_CALENDAR.allowed(current_actor(), None) is None


SOURCE_LABELS = {
    SOURCE_NOTICE: _l("State Council notice, entered"),
    SOURCE_LIBRARY: _l("State Council notice, built in"),
    SOURCE_ESTIMATE: _l("Estimated from the statutory holidays (deadlines marked *)"),
}


# Everyone working with deadlines reads the calendar; the system administrator sets it up (三员分立).
CALENDAR_READERS = duties.BUSINESS_ROLES | {ADMIN}


class CalendarDayView(WordsMixin, ServiceErrorsMixin, AccessMixin, ModelView):
    allowed_roles = CALENDAR_READERS
    form_base_class = FlaskForm  # Flask-WTF token, the one CSRFProtect checks on every POST
    column_list = ("day", "is_workday", "note")
    column_labels = {"day": _l("Date"), "is_workday": _l("Working day"), "note": _l("Note")}
    column_descriptions = {
        "is_workday": _l("Ticked: a working day. Unticked: a day off."),
        "note": _l("A single-day adjustment (e.g. a closure for a flood). It never makes a year official: "
                   "enter a year's State Council notice under Holiday notices."),
    }
    column_default_sort = ("day", True)
    column_searchable_list = ("note",)
    form_columns = ("day", "is_workday", "note")
    page_size = 50

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        super().__init__(CalendarDay, db, *args, **kwargs)

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return may_edit()

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
        # Flask-Admin commits, or rolls back and passes the refusal to handle_view_exception.
        actor = current_actor()
        EDIT_CALENDAR.run(actor, None, edit=lambda: save_calendar_day(model, actor))  # also sets created_by on create

    def delete_model(self, model: CalendarDay) -> bool:
        """The row, its audit and the open steps of that year computed again, in one transaction:
        a refusal or a concurrent change keeps the day and every due date as they were."""
        actor = current_actor()

        def delete() -> None:
            delete_calendar_day(model, actor)
            db.session.delete(model)
            db.session.flush()
            calendar_day_deleted(model.day, actor)

        return run_command(EDIT_CALENDAR, None, edit=delete).ok

    def handle_view_exception(self, exc: Exception) -> bool:
        # Two editors saving the same day at once: the unique day (IntegrityError) or a row changed
        # meanwhile (StaleDataError) is said in words, not as Flask-Admin's database error text.
        if isinstance(exc, (IntegrityError, StaleDataError)):
            flash(str(STALE_MESSAGE), "error")
            return True
        return super().handle_view_exception(exc)


class NoticeEntryForm(FlaskForm):
    # The year is text: the service gives the one Chinese message for anything not a year.
    year = StringField(_l("Year"))
    notice_number = StringField(_l("Notice number or title"), description=_l("e.g. 国办发明电〔2026〕7号"))
    days_off = TextAreaField(_l("Days off"), description=_l(
        "Every day off of the notice, weekends inside a holiday included: one date or range per line, "
        "e.g. 2027-01-01 or 2027-02-05~2027-02-12."))
    make_up_days = TextAreaField(_l("Make-up working days (调休上班)"), description=_l(
        "The Saturdays and Sundays worked, one per line; leave empty when there are none."))
    notice_text = TextAreaField(_l("Text of the notice (optional)"))


def _days_text(days: list[str]) -> str:
    return "\n".join(days)


class OfficialNoticeView(SecureBaseView):
    """节假日通知: a year is official only once its whole notice is entered here."""

    allowed_roles = CALENDAR_READERS

    @expose("/")
    def index(self) -> t.Any:
        records = db.session.scalars(select(OfficialCalendarYear).order_by(OfficialCalendarYear.year.desc())).all()
        this_year = clock.today().year
        years = [(y, SOURCE_LABELS[year_source(y)]) for y in range(this_year - 1, this_year + 3)]
        return self.render("admin/calendar_notices.html", records=records, years=years, can_edit=may_edit())

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> t.Any:
        return self._form(None)

    @expose("/edit/<int:year>/", methods=("GET", "POST"))
    def edit_view(self, year: int) -> t.Any:
        record = calendar_notices.notice_for(year)
        if record is None:
            abort(404)
        return self._form(record)

    def _form(self, record: OfficialCalendarYear | None) -> t.Any:
        actor = current_actor()
        refused = EDIT_CALENDAR.allowed(actor, None)
        if refused:
            flash(refused, "error")
            return redirect(url_for(".index"))
        form = NoticeEntryForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            if record is not None:
                form.year.data, form.notice_number.data = str(record.year), record.notice_number
                form.days_off.data, form.make_up_days.data = _days_text(record.days_off), _days_text(record.make_up_days)
                form.notice_text.data = record.notice_text or ""
            else:
                form.year.data = str(clock.today().year + 1)
        elif form.validate():  # the CSRF token; the rules are the service's
            typed = (form.year.data or "").strip()
            notice = calendar_notices.NoticeForm(
                year=int(typed) if typed.isdigit() else None, notice_number=form.notice_number.data or "",
                notice_text=form.notice_text.data or "", days_off=form.days_off.data or "",
                make_up_days=form.make_up_days.data or "")
            done = run_command(
                EDIT_CALENDAR, None,
                lambda result: _("The notice of %(year)s is saved; %(n)s open deadlines were computed again.",
                                 year=result[0].year, n=len(result[1])),
                form=form, edit=lambda: calendar_notices.save_notice(notice, actor, record))
            if done.ok:
                return redirect(url_for(".index"))
        return self.render("admin/calendar_notice_form.html", form=form, record=record)
