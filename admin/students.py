"""Students: scoped list, search, filters, create/edit through services/students.py."""

from __future__ import annotations

import time
import typing as t

from flask import Response, abort, current_app, flash, g, has_request_context, jsonify, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterInList, IntEqualFilter
from flask_admin.contrib.sqla.validators import Unique
from flask_admin.model.template import EditRowAction, ViewRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from admin import list_frames, quick_edit, student_batches, student_rows
from admin.base import ScopedAjaxLoader, ScopedModelView, current_actor
from admin.list_total import TotalWithRowsMixin
from admin.masked_ids import masked_history_value, masked_id, masked_id_writer, reveal_script
from admin.menu import navbar_user
from admin.pupil_cards import start_for_pupils as start_pupil_cards
from admin.saved_filters import saved_filters_for
from admin.student_cards import start_for_pupils
from changes.transfer import REASONS, record_arrival_from_other_province
from extensions import db
from models.audit import StudentHistory
from models.changes import OPEN_STATUSES, ChangeRequest
from models.org import SCHOOL, OrgUnit
from models.student import CORE_FIELDS, PENDING, Guardian, Student
from services import archive, audit, codes, export_gate, exports, labels, pupil_search, scope, workflows
from services.change_codes import CLASS_CHANGE
from services.commands import pupils as pupil_commands
from services.enrollment_records import enroll
from services.errors import RuleViolation
from services.ids import mask_id, mask_xjh
from services.labels import CODED_FIELDS, FIELD_LABELS
from services.students import guardian_id_warning, save_student

EXPORT_GROUP_OF_COLUMN = {"current_address": export_gate.ADDRESS}  # sensitive columns: only when approved


# The school filter's options (up to 500 schools of the area, ~0.3 ms of SQL and ~6 ms of Python on
# a province's page): kept per scope path for SCHOOL_OPTIONS_SECONDS in the worker. Schools are
# opened, renamed and closed a few times a year; a commit in this process that touched a unit
# empties the cache (and the kept list pages, admin/list_frames.py), another worker's shows within
# the minute (the filter only offers choices: the list itself always reads the database under the
# user's scope).
SCHOOL_OPTIONS_SECONDS = 60.0
_school_options: dict[tuple[int, str], tuple[float, list[tuple[int, str]]]] = {}


@event.listens_for(Session, "after_flush")
def _note_unit_change(session: Session, _context: object) -> None:
    if any(isinstance(o, OrgUnit) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["xueji.units_changed"] = True


@event.listens_for(Session, "after_rollback")
def _drop_unit_note(session: Session) -> None:
    session.info.pop("xueji.units_changed", None)


@event.listens_for(Session, "after_commit")
def _forget_school_options(session: Session) -> None:
    if session.info.pop("xueji.units_changed", False):
        _school_options.clear()
        list_frames.clear()  # the kept list pages offer the options in their filter menu


def _scoped_school_options() -> list[tuple[int, str]]:
    if not has_request_context() or not current_user.is_authenticated:
        return []  # Flask-Admin also calls this once at start-up, outside any request
    actor = current_actor()
    unit = actor.unit
    if unit.level == SCHOOL:  # a school's scope holds one school, itself: no query (every page of its list)
        return [(unit.id, unit.name)]
    key, now = (id(current_app._get_current_object()), scope.user_path(actor)), time.monotonic()  # type: ignore[attr-defined]
    found = _school_options.get(key)
    if found is not None and found[0] > now:
        return found[1]
    rows = db.session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.level == SCHOOL, scope.filter_for(actor, OrgUnit.path))
        .order_by(OrgUnit.code)
        .limit(500)
    )
    options = [(r.id, r.name) for r in rows]
    if len(_school_options) > 2_000:
        _school_options.clear()
    _school_options[key] = (now + float(current_app.config.get("SCHOOL_OPTIONS_SECONDS", SCHOOL_OPTIONS_SECONDS)), options)
    return options


def _coded(table: str) -> t.Callable[..., str]:
    return lambda v, c, m, n: codes.label(table, getattr(m, n))


CODED_COLUMNS = CODED_FIELDS
OPTIONAL_CODES = {"hukou_type", "enroll_mode", "attendance_mode", "political_status", "student_source",
                  "inclusive_class", "transport_mode"}


class SchoolKindFilter(BaseSQLAFilter):
    """Pupils of the schools of one kind (小学, 初中 …): the dashboard's cells link here."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        return query.filter(Student.school_id.in_(select(OrgUnit.id).where(OrgUnit.school_kind == value)))

    def operation(self) -> t.Any:
        return _l("equals")


def _warn_stored_guardian_ids(form: t.Any) -> None:
    """A stored guardian ID that fails the rule gets a warning beside it; it does not block saving."""
    field = form._fields.get("guardians")
    for entry in field.entries if field is not None else ():
        guardian = entry.object_data
        problem = guardian_id_warning(guardian) if isinstance(guardian, Guardian) else None
        if problem and "id_number" in entry.form:
            entry.form.id_number.description = Markup('<span class="text-warning guardian-id-warning">{}</span>').format(
                _("The recorded ID number fails the check: %(why)s Correct it when you can; other changes can be saved.", why=problem)
            )


def _xjh_has_id(xjh: str | None) -> bool:
    return bool(xjh) and xjh.startswith("G")  # type: ignore[union-attr]


def _guardian_label(guardian: Guardian) -> str:
    return f"{codes.label('guardian_relation', guardian.relation)} {guardian.name or ''}".strip()


# The national form's remaining fields (issue 16, point 4), after our own on the form and the details page.
NATIONAL_FIELDS = (
    "name_pinyin", "id_valid_period", "political_status", "specialty", "class_number", "student_source",
    "mailing_address", "postal_code", "email", "homepage", "martyr_child", "inclusive_class", "gov_paid_place",
    "needs_aid", "one_subsidy", "school_distance", "transport_mode", "school_bus",
)

def _masked_ids_of_page(write: t.Callable[[str | None, int], Markup]) -> t.Callable[[Student], Markup]:
    return lambda m: write(m.id_number, m.id)


_ROW_MARK = "__row_id__"  # where a row button's URL takes the row's id (StudentView.row_buttons)


class StudentView(TotalWithRowsMixin, ScopedModelView):
    column_list = ("xjh", "name", "gender", "birth_date", "id_number", "school", "grade", "class_name", "status",
                   *quick_edit.QUICK_FIELDS)
    # Quick editing (issue 14, point 6): the volatile fields of 第十二条 in their cells, for the
    # registrars of the pupil's school (is_editable); saved like the full form (admin/quick_edit.py).
    column_editable_list = quick_edit.QUICK_FIELDS
    column_labels = {**FIELD_LABELS, "hukou_location": _l("Hukou location")}  # the list shows the division's name
    column_default_sort = ("id", True)
    uncounted_levels_setting = "UNCOUNTED_PUPIL_LIST_LEVELS"  # a county's pupils are not counted either (config.py)
    column_sortable_list = ("xjh", "name", "birth_date", "grade", "class_name")
    column_searchable_list = ("name", "xjh", "id_number")
    # ID numbers (and the G-学籍号, which contains one) are masked in the list and on the details
    # page; the full number is one audited click away (reveal_id, issue 13 point 4).
    column_formatters = {
        "id_number": lambda v, c, m, n: masked_id(m.id_number, m.id),
        "class_name": lambda v, c, m, n: m.class_name or _("No class yet"),
        "xjh": lambda v, c, m, n: mask_xjh(m.xjh),
        **{col: _coded(table) for col, table in CODED_COLUMNS.items()},
        **quick_edit.FORMATTERS,
    }
    # What column_formatters write, set up once a page for the list's rows (admin/student_rows.py):
    # a factory called per page, giving the row's words. tests/admin/test_lean_pages.py compares.
    column_page_formatters = {"id_number": lambda: _masked_ids_of_page(masked_id_writer())}
    # The list's columns whose words are a function of their own value alone (no other attribute of
    # the pupil, no request state but the language): admin/student_rows.py writes each distinct value
    # once a page. Not id_number (its 显示 button names the pupil) nor xjh and name (unique anyway).
    # tests/admin/test_lean_pages.py checks each against pupils that differ in everything else.
    column_shown_by_value = frozenset({"gender", "birth_date", "school", "grade", "class_name", "status",
                                       *quick_edit.QUICK_FIELDS})
    column_formatters_detail = {
        "id_number": lambda v, c, m, n: masked_id(m.id_number, m.id),
        "xjh": lambda v, c, m, n: masked_id(m.xjh, m.id, "xjh") if _xjh_has_id(m.xjh) else (m.xjh or _("No student number yet")),
        "class_name": lambda v, c, m, n: m.class_name or _("No class yet"),
        **{col: _coded(table) for col, table in CODED_COLUMNS.items()},
    }
    column_formatters_export = {
        **{col: _coded(table) for col, table in CODED_COLUMNS.items()},
    }
    column_export_list = (
        "xjh", "name", "gender", "birth_date", "ethnicity", "id_type", "id_number", "school", "grade",
        "class_name", "status", "current_address", "phone",
    )  # current_address only with an approved request (EXPORT_GROUP_OF_COLUMN), id_number masked without one
    can_export = True
    export_types = ("xlsx", "csv")
    can_view_details = True
    details_template = "admin/student_details.html"
    list_template = "admin/student_list.html"  # the list's masked ID numbers have 显示 buttons
    column_details_list = (
        "xjh", "status", "school", "grade", "class_name", "name", "former_name", "gender", "birth_date",
        "birthplace", "native_place", "ethnicity", "nationality", "id_type", "id_number", "overseas", "health",
        "hukou_location", "hukou_type", "enroll_month", "enroll_mode", "attendance_mode", "current_address",
        "home_address", "phone", "only_child", "preschool", "left_behind", "migrant_child", "orphan", "disability",
        *NATIONAL_FIELDS,
    )
    form_columns = (
        "school", "name", "former_name", "gender", "birth_date", "id_type", "id_number", "ethnicity",
        "nationality", "overseas", "birthplace", "native_place", "hukou_location", "hukou_type", "health",
        "grade", "class_name", "enroll_month", "enroll_mode", "attendance_mode", "current_address",
        "home_address", "phone", "only_child", "preschool", "left_behind", "migrant_child", "orphan",
        "disability", *NATIONAL_FIELDS, "guardians", "arrival_from", "arrival_reason",
    )
    form_extra_fields = {
        "arrival_from": StringField(
            _l("Arriving from a school in another province (省外转入)"),
            validators=[Optional(), Length(max=100)],
            description=_l("Leave empty for a pupil enrolled here. When filled, the record waits for "
                           "the approval of your school and its authority."),
        ),
        "arrival_reason": SelectField(_l("Reason of the transfer (第十三条)"), choices=[], validators=[Optional()]),
    }
    form_overrides = {"grade": SelectField}
    form_args = {
        "grade": {"choices": [(int(k), v) for k, v in codes.table("grade").items()], "coerce": int, "label": _l("Grade")},
    }
    form_widget_args = {
        "birth_date": {"placeholder": "YYYY-MM-DD"},
        "enroll_month": {"placeholder": "YYYY-MM"},
        "name_pinyin": {"placeholder": "Zhang San"},
        "id_valid_period": {"placeholder": "2020.06.01-2030.06.01"},
        "postal_code": {"placeholder": "110001"},
        "school_distance": {"placeholder": "2.5"},
    }
    inline_models = (
        (
            Guardian,
            {
                "form_columns": ("id", "relation", "relation_note", "name", "is_guardian", "ethnicity", "id_type",
                                 "id_number", "phone", "workplace", "job_title", "current_address", "hukou_location"),
                "form_choices": {
                    "relation": codes.choices("guardian_relation"),
                    "id_type": codes.choices("id_type"),
                },
                # A plain select with its own blank "—": Flask-Admin's choice field of a nullable
                # column adds a "__None" option, which the inline template shows escaped as text.
                "form_overrides": {"ethnicity": SelectField},
                "form_args": {"ethnicity": {"choices": codes.choices("ethnicity", blank=True), "label": _l("Ethnicity")}},
                "column_labels": FIELD_LABELS,
            },
        ),
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any):
        self.form_choices = {
            col: codes.choices(table, blank=col in OPTIONAL_CODES)
            for col, table in CODED_COLUMNS.items()
            if col not in ("status", "grade")
        }
        self.column_filters = (
            IntEqualFilter(Student.school_id, _l("School"), options=_scoped_school_options),
            IntEqualFilter(Student.grade, _l("Grade"), options=[(int(k), v) for k, v in codes.table("grade").items()]),
            FilterEqual(Student.class_name, _l("Class")),
            FilterEqual(Student.status, _l("Status"), options=codes.choices("student_status")),
            # Appended (the indices above are in bookmarked URLs): 在籍 is 在籍 + 休学 (第十九条).
            FilterInList(Student.status, _l("Status (any of)"), options=codes.choices("student_status")),
            SchoolKindFilter(Student.school_id, _l("Kind of school"), options=codes.choices("school_kind")),
        )
        self.form_ajax_refs = {
            "school": ScopedAjaxLoader(
                "school", OrgUnit, OrgUnit.path, extra=lambda: OrgUnit.level == SCHOOL,
                fields=("name", "code"), page_size=20, placeholder=str(_l("Type a school name or code")),
            )
        }
        super().__init__(Student, *args, **kwargs)

    def get_empty_list_message(self) -> t.Any:
        """A school without pupils is told how to add them (issue 14, point 8)."""
        if self.why_the_page_is_empty() is not None or not current_user.is_authenticated:
            return super().get_empty_list_message()
        if current_actor().unit.level != SCHOOL:
            return _("No pupils in your area yet. They appear here once the schools import or enter them.")
        from flask import url_for

        return Markup('<span id="no-pupils">{}<a href="{}">{}</a>{}<a href="{}">{}</a>{}</span>').format(
            _("Your school has no pupils yet. You can"), url_for("imports.index"), _("Import pupils from Excel"),
            _("(a whole class at once), or"), url_for(".create_view"), _("Enter a pupil"), _("(one by one).")
        )
    # --- quick editing (admin/quick_edit.py) ---------------------------------------------------
    # The five quick-edit columns (phone, current address …) are for the pupil's own school: an
    # official's list of a county or a province does not spread families' phones and addresses
    # (PIPL minimum necessary); they stay on each pupil's details page, which is audited.
    @property
    def _list_columns(self) -> list[tuple[str, t.Any]]:
        columns = self.__dict__.get("_all_list_columns", [])
        if has_request_context() and current_user.is_authenticated and quick_edit.may_edit_inline():
            return columns
        return [c for c in columns if c[0] not in quick_edit.QUICK_FIELDS]

    @_list_columns.setter
    def _list_columns(self, value: list[tuple[str, t.Any]]) -> None:  # Flask-Admin sets it once at start-up
        self.__dict__["_all_list_columns"] = value

    def get_list_form(self) -> t.Any:
        return self.scaffold_list_form(widget=quick_edit.QuickEditWidget())

    def is_editable(self, name: str) -> bool:
        return super().is_editable(name) and quick_edit.may_edit_inline()

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        return quick_edit.update(self)

    # --- bulk actions (admin/student_batches.py): a confirmation page first, then a report ------
    @action(student_batches.ASSIGN_CLASS, _l("Assign to a class"))
    def action_assign_class(self, ids: list[str]) -> t.Any:
        return student_batches.assign_class(self, ids)

    @action(student_batches.PRINT_CERTIFICATES, _l("Print graduation certificates"))
    def action_print_certificates(self, ids: list[str]) -> t.Any:
        return student_batches.print_certificates(self, ids)

    @action("student_cards", _l("Record cards"))
    def action_student_cards(self, ids: list[str]) -> t.Any:
        """学生学籍卡 of the selected pupils as one PDF (admin/student_cards.py)."""
        return start_for_pupils([s.id for s in self.scoped_ids(ids[: student_batches.LIST_LIMIT])])

    @action("pupil_cards", _l("Student cards"))
    def action_pupil_cards(self, ids: list[str]) -> t.Any:
        """学生卡 of the selected pupils: cards for those without one, then one sheet (admin/pupil_cards.py)."""
        return start_pupil_cards([s.id for s in self.scoped_ids(ids[: student_batches.LIST_LIMIT])])

    def is_action_allowed(self, name: str) -> bool:
        if name == student_batches.ASSIGN_CLASS and not quick_edit.may_edit_inline():
            return False  # 调班 is filed by the pupil's own school (changes/class_change.py)
        if name == "pupil_cards" and not current_actor().is_school_user:
            return False  # 学生卡 are issued by the pupil's own school (services/pupil_cards.may_issue)
        return super().is_action_allowed(name)

    def list_scope_filter(self) -> t.Any:
        if not current_user.is_authenticated:
            return self.scope_filter()
        return scope.listing(Student.scope_path, current_actor().unit.path)

    def list_auto_joins(self) -> t.Sequence[t.Any]:
        """A school's list holds its own pupils, whose school is the account's unit: the account's
        statement has read it (services/user_store.py), so each row's `school` comes from the
        session's identity map, with no SQL. Joining org_unit to the page's 20 rows cost ~0.3 ms
        (12 more columns a row to parse and load). An official's rows span many schools: joined."""
        if current_user.is_authenticated and current_actor().unit.level == SCHOOL:
            return ()
        return super().list_auto_joins()

    # --- export (第二十八条): every file passes the gate (admin/export_requests.py gate) -------
    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        if not self.can_export or export_type not in self.export_types:
            return super().export(export_type)  # Flask-Admin's own answer: back to the list
        from admin.gate import gate

        asked = export_gate.ALL_GROUPS if request.args.get("sensitive") else frozenset()
        refused = gate("student_list", groups=asked, detail=self.export_detail(export_type)[:300],
                       scope_text=f"{current_actor().unit.name}·{self.name}")
        return refused if refused is not None else self._export_stream(export_type)

    def sensitive_export_url(self) -> str:
        """The list's export asking for the sensitive groups: it leads to the request form."""
        args = {k: v for k, v in request.args.items() if k != "sensitive"}
        return self.get_url(".export", export_type="xlsx", sensitive=1, **args)

    def _export_columns_for(self, shown: frozenset[str]) -> list[exports.ExportColumn]:
        """The non-sensitive columns always (the ID number masked); each sensitive group only when
        the approved request includes it (the ID number then in full)."""
        full_id = export_gate.ID_NUMBER in shown
        columns: list[exports.ExportColumn] = []
        for name, label in self._export_columns:
            if name == "id_number":
                columns.append((str(label), lambda m: m.id_number if full_id else mask_id(m.id_number)))
            elif name == "xjh":  # a G-number contains the ID number
                columns.append((str(label), lambda m: m.xjh if full_id else mask_xjh(m.xjh)))
            elif name in EXPORT_GROUP_OF_COLUMN:
                if EXPORT_GROUP_OF_COLUMN[name] in shown:
                    columns.append((str(label), lambda m, name=name: self.raw_export_value(m, name)))
            else:
                columns.append((str(label), lambda m, name=name: self.raw_export_value(m, name)))
        if export_gate.ADDRESS in shown:
            columns.append((str(FIELD_LABELS.get("home_address", "家庭住址")), lambda m: m.home_address))
        if export_gate.HEALTH in shown:
            columns.append((str(FIELD_LABELS.get("health", "健康状况")), lambda m: codes.label("health", m.health)))
        if export_gate.GUARDIAN in shown:
            columns.append(("监护人", lambda m: "；".join(
                f"{codes.label('guardian_relation', g.relation)} {g.name} {g.phone or ''} "
                f"{g.id_number if full_id else mask_id(g.id_number)}".strip() for g in m.guardians)))
        return columns

    def _export_stream(self, export_type: str) -> Response:
        """The list as the user filtered, searched and sorted it, from the scoped query, streamed."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(
            0, sort[0] if sort is not None else None, view_args.sort_desc, view_args.search, view_args.filters,
            execute=False, page_size=self.export_max_rows,
        )
        columns = self._export_columns_for(export_gate.approved_groups())
        audit.record(current_actor(), "export", "student", None, self.export_detail(export_type))
        db.session.commit()
        filename = self.get_export_name(export_type)
        if export_type == "csv":
            return Response(exports.csv_stream(query, columns), mimetype="text/csv",
                            headers={"Content-Disposition": exports.content_disposition(filename)})
        body = exports.students_xlsx_stream(query, columns, sheet_title=str(_l("Students")))
        return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": exports.content_disposition(filename)})

    # --- search (issue 14, point 4): the rule and its indexes are in services/pupil_search.py ----
    def _apply_search(self, query, count_query, joins, count_joins, search):
        cond = pupil_search.condition(search, db.engine.dialect.name)
        if cond is not None:
            query = query.filter(cond)
            if count_query is not None:
                count_query = count_query.filter(cond)
        return query, count_query, joins, count_joins

    def search_placeholder(self) -> str:
        return str(_l("Name, last 4–6 digits of the ID number or 学籍号, guardian's phone"))

    def scaffold_form(self) -> t.Any:
        form_class = super().scaffold_form()
        # Flask-Admin adds a generic "already exists" check for unique columns; the service
        # gives the 一人一籍 message instead (and checks the whole province, not only the scope).
        field = getattr(form_class, "id_number", None)
        if field is not None:
            field.kwargs["validators"] = [v for v in field.kwargs.get("validators", []) if not isinstance(v, Unique)]
        return form_class

    def _school_user(self) -> bool:
        return current_user.unit.level == SCHOOL

    def create_form(self, obj: t.Any = None) -> t.Any:
        form = super().create_form(obj)
        if self._school_user():
            del form.school
        form.arrival_reason.choices = [("", "—")] + [(k, str(v)) for k, v in REASONS.items()]
        return form

    def edit_form(self, obj: t.Any = None) -> t.Any:
        form = super().edit_form(obj)
        if self._school_user():
            del form.school
        del form.arrival_from, form.arrival_reason  # only when the record is created
        if obj is not None and obj.status != PENDING:
            for field in CORE_FIELDS:  # 第十一条: corrected through a request, see the pupil's page
                del form[field]
            # The grade moves by promotion, retention or an approved change; the class by 调班.
            del form.grade, form.class_name
        _warn_stored_guardian_ids(form)
        return form

    def on_model_change(self, form: t.Any, model: Student, is_created: bool) -> None:
        actor = current_actor()
        field = form._fields.get("school")  # absent for school users: the server sets their school
        if field is not None:
            school = field.data
        elif self._school_user():
            school = actor.unit
        else:
            school = None
        arrival = form._fields.get("arrival_from")
        try:
            if not is_created:
                save_student(model, actor, school)
            elif arrival is not None and (arrival.data or "").strip():
                req = record_arrival_from_other_province(model, actor, school, arrival.data, form.arrival_reason.data)
                flash(_("Transfer from another province #%(id)s opened: upload the materials and decide on its page.", id=req.id), "info")
            else:
                enroll(model, actor, school)
                flash(_("The record waits for the approval of the supervising authority (待核办); the 学籍号 is issued then."), "info")
        except RuleViolation as exc:
            for field, message in exc.problems:
                if field and field in form:
                    form[field].errors = [*form[field].errors, message]
            raise

    @expose("/details/")
    def details_view(self):
        """Flask-Admin's record page of a pupil in scope (else 404), audited as a view of personal
        data. The pupil is read once (get_one below), and the page's change buttons ask once whether
        a request is open. The audit row is committed after the page is built and before it is
        sent: a failed write answers an error page, never the pupil's data."""
        student = self.get_one(request.args.get("id"))
        setattr(g, "xueji.details_row", student)
        with workflows.open_requests_read_once(student):
            page = super().details_view()
        audit.record(current_actor(), "student.view", "student", student.id)
        db.session.commit()
        return page

    def get_one(self, id: t.Any) -> t.Any:
        """The scoped row (admin/base.py), or the one details_view has just read for this id."""
        kept = g.pop("xueji.details_row", None) if has_request_context() else None
        if kept is not None and str(kept.id) == str(id):
            return kept
        return super().get_one(id)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """The edit form shows the ID numbers it edits in full: who may edit a number must see what
        they correct (a masked value in an input would be saved back as stars). Only users who may
        edit the record reach the form (scope, can_edit), and opening it is audited like a reveal."""
        if request.method == "GET" and request.args.get("id"):
            student = self.get_one(request.args.get("id"))
            audit.record(current_actor(), "student.edit_view", "student", student.id, "修改表单显示完整身份证件号")
            db.session.commit()
        return super().edit_view()

    @expose("/reveal-id/<int:student_id>", methods=("POST",))
    def reveal_id(self, student_id: int):
        """The full number behind a masked one, for static/js/reveal_id.js (POST: CSRFProtect checks
        the token). Scoped like the details page (out of scope → 404); every answer is audited.
        field: id_number, xjh (a G-number contains the ID number), guardian:<id>, request:<id>
        (the number a pending correction would write)."""
        student = self.get_one(student_id)
        number, what = self._revealed(student, request.args.get("field", "id_number"))
        if not number:
            abort(404)
        audit.record(current_actor(), "student.reveal_id", "student", student.id, f"{student.name}：{what}")
        db.session.commit()
        return jsonify(number=number)

    def _revealed(self, student: Student, field: str) -> tuple[str | None, str]:
        kind, _sep, key = field.partition(":")
        if kind == "id_number":
            return student.id_number, "学生身份证件号"
        if kind == "xjh" and _xjh_has_id(student.xjh):
            return student.xjh, "学籍号（含身份证件号）"
        if kind == "guardian" and key.isdigit():
            guardian = next((g for g in student.guardians if g.id == int(key)), None)
            if guardian is not None:
                return guardian.id_number, f"监护人（{_guardian_label(guardian)}）身份证件号"
        if kind == "request" and key.isdigit():
            req = db.session.get(ChangeRequest, int(key))
            changes = (req.payload or {}).get("changes") if req is not None and req.student_id == student.id else None
            if isinstance(changes, dict) and changes.get("id_number"):
                return str(changes["id_number"]), f"变动申请 #{req.id} 拟更正的身份证件号"  # type: ignore[union-attr]
        return None, ""

    def list_form(self, obj: t.Any = None) -> t.Any:
        """Flask-Admin builds one quick-edit form per row of every list (20 forms of 5 fields a
        page). The list's quick-edit cells are written from templates kept per language
        (admin/student_rows.py, from quick_edit_form), and a cell's post is checked by
        quick_edit.update: the page builds no form."""
        return None

    def quick_edit_form(self) -> t.Any:
        """A list form, whose fields name the quick-edit cells and give their kind (in a request)."""
        return super().list_form()

    # --- the list page: a kept frame around freshly read rows (admin/list_frames.py) -----------
    @expose("/")
    def index_view(self):
        """Flask-Admin's list — the same arguments, query, scope, filters and search — whose frame
        (everything but the rows and the tokens) is kept a minute per account and URL."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        page_size = self.get_safe_page_size(view_args.page_size)
        asked = (view_args.page, sort[0] if sort is not None else None, view_args.sort_desc, view_args.search,
                 view_args.filters, page_size)
        count, data = self.get_list(*asked[:5], page_size=page_size)

        def render() -> t.Any:  # Flask-Admin's page, from the result read above (get_list below)
            setattr(g, "xueji.list_result", (asked, (count, data)))
            return super(StudentView, self).index_view()

        me = navbar_user() or {}
        numbers = {list_frames.WAITING: str(me.get("waiting")), list_frames.UNREAD: str(me.get("unread"))}
        return list_frames.page(self.frame_inputs(count, data, me), render, lambda spec: self._write_rows(spec, data),
                                numbers)

    def get_list(self, page: t.Any, sort_column: t.Any, sort_desc: t.Any, search: t.Any, filters: t.Any,
                 execute: bool = True, page_size: t.Any = None) -> t.Any:
        """Flask-Admin's, but the page's result once index_view has read it (see render above)."""
        kept = g.pop("xueji.list_result", None) if has_request_context() else None
        if kept is not None and execute and kept[0] == (page, sort_column, sort_desc, search, filters, page_size):
            return kept[1]
        return super().get_list(page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size)

    def frame_inputs(self, count: int | None, data: t.Sequence[t.Any], me: dict[str, t.Any]) -> tuple[t.Any, ...]:
        """What the list's frame depends on besides the account and the URL (admin/list_frames.py):
        the total and the number of rows (the tabs, the pager, the empty message), the navbar (name,
        unit, roles; whether there is a queue and whether its counts are zero: their numbers are
        holes) and the user's saved filters of this list."""
        navbar = (me["name"], me["unit"], me["roles"], me["waiting"] is None, bool(me["waiting"]),
                  bool(me["unread"])) if me else None
        saved = tuple((f.id, f.name) for f in saved_filters_for(request.endpoint))
        return (count, len(data), navbar, saved)

    def _rows_spec(self, page: dict[str, t.Any]) -> tuple[t.Any, ...]:
        """How the rows are written, from the context Flask-Admin's index_view built: the columns
        (and which are edited in place), the checkbox's title (None without bulk actions), the row
        buttons. A function of the account and the URL, so it is kept with the frame."""
        return (
            [(c, self.is_editable(c)) for c, _name in page["list_columns"]],
            admin_gettext("Select record") if page.get("actions") else None,
            self.row_buttons(page.get("list_row_actions") or [], page.get("return_url", ""))
            if self.column_display_actions else None,
        )

    def _write_rows(self, spec: tuple[t.Any, ...], data: t.Sequence[t.Any]) -> Markup:
        """The list's rows (admin/student_rows.py)."""
        columns, checkbox_title, row_buttons = spec
        return student_rows.rows(self, data, columns=columns, checkbox_title=checkbox_title,
                                 row_buttons=row_buttons, csrf=generate_csrf())

    def row_buttons(self, actions: list[t.Any], return_url: str) -> t.Callable[[str], str]:
        """The row buttons of templates/admin/model/row_actions.html (view_row, edit_row) with their
        URLs built once per page, not twice per row (url_for ~0.1 ms): each URL is split where the
        row's id goes (the first argument, so the first occurrence of the marker). The list has no
        other row action (can_delete is False): a new one must be written here, or the page fails."""
        kinds = {ViewRowAction: (".details_view", "fa fa-eye glyphicon glyphicon-eye-open"),
                 EditRowAction: (".edit_view", "fa fa-pencil glyphicon glyphicon-pencil")}
        unknown = [type(a).__name__ for a in actions if type(a) not in kinds]
        if unknown:
            raise NotImplementedError(f"row actions without markup in StudentView.row_buttons: {unknown}")
        parts: list[tuple[str, str]] = []
        for a in actions:
            endpoint, icon = kinds[type(a)]
            prefix, _m, suffix = self.get_url(endpoint, id=_ROW_MARK, url=return_url).partition(_ROW_MARK)
            parts.append(('\n<a class="icon" href="' + str(escape(prefix)),  # the whitespace between the icons kept
                          str(Markup('{}" title="{}">\n  <span class="{}"></span>\n</a>\n').format(suffix, a.title or "", icon))))
        return lambda pk: "".join(head + pk + tail for head, tail in parts)

    def render(self, template: str, **kwargs: t.Any) -> str:
        model = kwargs.get("model")
        if template == self.list_template and "list_columns" in kwargs:
            spec = self._rows_spec(kwargs)
            if list_frames.is_rendering_frame():  # the frame to keep: a hole where the rows go
                list_frames.keep_rows_spec(spec)
                kwargs["student_rows"] = Markup(list_frames.ROWS)
            else:
                kwargs["student_rows"] = self._write_rows(spec, kwargs.get("data") or [])
        if template == self.details_template and model is not None:
            kwargs["history"] = db.session.scalars(
                select(StudentHistory).where(StudentHistory.student_id == model.id).order_by(StudentHistory.id.desc())
            ).all()
            kwargs["code_label"] = codes.label
            kwargs["field_labels"] = FIELD_LABELS
            kwargs["history_value"] = masked_history_value(labels.history_value)  # codes by their names, 是/否; ID numbers masked
            kwargs["person"] = labels.person  # the operator by name and unit, never the e-mail
            kwargs["minute"] = labels.minute
            kwargs["masked_id"] = masked_id
            kwargs["reveal_script"] = reveal_script
            kwargs["history_label"] = archive.history_label  # the item as the printed archive names it
            kwargs["guardian_warning"] = guardian_id_warning
            # 调班 (changes/class_change.py): the button shows when its command allows it.
            kwargs["may_change_class"] = pupil_commands.STATUS_CHANGES[CLASS_CHANGE].allowed(current_actor(), model) is None
            from admin.archive import details_context  # the archive tabs (学籍档案, 第八条)

            kwargs.update(details_context(model))
            from admin.status import details_context as status_context  # 第十七–二十三条: actions, attendance

            kwargs.update(status_context(model))
            if "photos" in current_app.blueprints:
                from admin.photos import details_context as photo_context  # 学生照片 (issue 16)

                kwargs.update(photo_context(model))
            if "pupil_cards" in current_app.blueprints:
                from admin.pupil_cards import details_context as card_context  # 学生卡 (issue 16, point 3)

                kwargs.update(card_context(model))
            from services.dedup import open_problem

            kwargs["open_problem"] = open_problem(model.id)
            kwargs["open_request"] = db.session.scalar(
                select(ChangeRequest).where(ChangeRequest.student_id == model.id, ChangeRequest.status.in_(OPEN_STATUSES))
            )
        return super().render(template, **kwargs)
