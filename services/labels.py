"""Labels of the domain's words that both the screens and the printed documents show.

They live here, beside the rules, so that services (documents, the archive's history) never import
admin/ (layers: admin → forms → services → models); the screens import them from here.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from models.people import ROLE_LABELS
from models.status import ILLNESS, OTHER
from services.change_codes import TO_ORDINARY, TO_SPECIAL, WORK_STUDY

# The student record's fields, as the record page, the history and the printed 学籍档案 name them.
FIELD_LABELS = {
    "xjh": _l("Student number"), "name": _l("Name"), "former_name": _l("Former name"), "gender": _l("Gender"),
    "birth_date": _l("Birth date"), "birthplace": _l("Birthplace code"), "native_place": _l("Native place"),
    "ethnicity": _l("Ethnicity"), "nationality": _l("Nationality"), "id_type": _l("ID type"),
    "id_number": _l("ID number"), "overseas": _l("HK/Macao/Taiwan/overseas"), "health": _l("Health"),
    "hukou_location": _l("Hukou location code"), "hukou_type": _l("Hukou type"), "grade": _l("Grade"),
    "class_name": _l("Class"), "enroll_month": _l("Enrollment month"), "enroll_mode": _l("Enrollment mode"),
    "attendance_mode": _l("Attendance mode"), "current_address": _l("Current address"),
    "home_address": _l("Home address"), "phone": _l("Phone"), "only_child": _l("Only child"),
    "preschool": _l("Attended preschool"), "left_behind": _l("Left-behind child"),
    "migrant_child": _l("Migrant worker's child"), "orphan": _l("Orphan"), "disability": _l("Disability type"),
    "school": _l("School"), "school_id": _l("School"), "status": _l("Status"), "guardians": _l("Guardians"),
    "relation": _l("Relation"), "workplace": _l("Workplace"),
    "photo": _l("Photo"),
    # The national form's remaining fields (issue 16, point 4).
    "name_pinyin": _l("Name in pinyin"), "id_valid_period": _l("ID validity period"),
    "political_status": _l("Political status"), "specialty": _l("Special talents"),
    "class_number": _l("Number in class"), "student_source": _l("Pupil source"),
    "mailing_address": _l("Mailing address"), "postal_code": _l("Postal code"), "email": _l("Email"),
    "homepage": _l("Home page"), "martyr_child": _l("Child of a martyr or of an entitled family"),
    "inclusive_class": _l("Inclusive class (随班就读)"), "gov_paid_place": _l("Place bought by the government"),
    "needs_aid": _l("Needs financial aid"), "one_subsidy": _l("Receives the living subsidy (一补)"),
    "school_distance": _l("Distance to school (km)"), "transport_mode": _l("Way to school"),
    "school_bus": _l("Needs the school bus"), "relation_note": _l("Relation note"),
    "is_guardian": _l("Is guardian"), "job_title": _l("Job title"),
}

# An approval step's role and decision (models/changes.py ApprovalStep.role / .decision).
STEP_ROLE_LABELS = {
    "receiving_school": _l("Receiving school"), "receiving_authority": _l("Receiving school's authority"),
    "sending_school": _l("Sending school"), "sending_authority": _l("Sending school's authority"),
    "school": _l("School"), "authority": _l("Supervising authority"),
}
DECISION_LABELS = {"approved": _l("Approved"), "rejected": _l("Rejected")}

# 第十三条: the five lawful reasons of a transfer (changes/transfer.py; the printed contact form).
TRANSFER_REASONS = {
    "hukou_moved": _l("Hukou and home moved across province, city or county"),
    "guardian_job": _l("Parents' or guardians' work moved across province or city"),
    "migrant_moved": _l("Migrant family's residence moved across province, city or county"),
    "special": _l("Guardians abroad, in border support or military transfer, or another special reason: child lives with relatives"),
    "health": _l("Change of health: between an ordinary and a special-education school"),
}


# 出国出境 (第二十条): the document the pupil travels with (payload "document").
TRAVEL_DOCUMENTS = {
    "passport": _l("Passport"),
    "hk_macao_pass": _l("Exit-entry permit for Hong Kong and Macao"),
    "taiwan_pass": _l("Exit-entry permit for Taiwan"),
    "visa": _l("Visa"),
}
# 第十七条: the kinds of move between ordinary, special-education and work-study schools (payload "kind").
MOVE_KINDS = {
    TO_SPECIAL: _l("From an ordinary school into a special-education school"),
    TO_ORDINARY: _l("From a special-education school into an ordinary school (随班就读)"),
    WORK_STUDY: _l("Into a work-study school"),
}
# 休学 (第十九条): the reason of a suspension (payload "reason_kind").
SUSPENSION_REASONS = {ILLNESS: _l("Illness"), OTHER: _l("Another special reason")}

# The record's fields whose values are codes (data/codes.json): field → code table.
CODED_FIELDS = {
    "gender": "gender", "ethnicity": "ethnicity", "nationality": "nationality", "id_type": "id_type",
    "overseas": "overseas", "health": "health", "hukou_type": "hukou_type", "enroll_mode": "enroll_mode",
    "attendance_mode": "attendance_mode", "left_behind": "left_behind", "disability": "disability",
    "status": "student_status", "grade": "grade",
    "political_status": "political_status", "student_source": "student_source",
    "inclusive_class": "inclusive_class", "transport_mode": "transport_mode",
}

# The record's yes/no fields: history keeps them as "1"/"0" (services/audit._text).
BOOLEAN_FIELDS = frozenset({"only_child", "preschool", "migrant_child", "orphan", "martyr_child", "gov_paid_place",
                            "needs_aid", "one_subsidy", "school_bus"})
# A guardian's coded fields, as history names them ("guardian1.relation").
GUARDIAN_CODED_FIELDS = {"relation": "guardian_relation", "id_type": "id_type", "ethnicity": "ethnicity"}
_ROLE_NOTE = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")
_TRUE, _FALSE = frozenset({"1", "true", "True"}), frozenset({"0", "false", "False"})


def yes_no(value: object) -> str:
    """是/否 for a yes/no value (True/False, "1"/"0"); "" for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if value in _TRUE:
            return str(_l("Yes"))
        if value in _FALSE:
            return str(_l("No"))
        return value
    return str(_l("Yes")) if value else str(_l("No"))


def history_value(field: str, raw: object) -> str:
    """A value of a history row (a record's or a guardian's field) in words: codes by their names,
    yes/no as 是/否; other text as written. ID numbers are masked by the screens (admin/masked_ids)."""
    if raw is None or raw == "":
        return ""
    from services import codes  # services/codes reads data/codes.json once

    attr = field.split(".", 1)[1] if field.startswith("guardian") and "." in field else None
    if attr is not None:
        table = GUARDIAN_CODED_FIELDS.get(attr)
        if attr == "is_guardian":
            return yes_no(raw)
        return codes.label(table, str(raw)) if table else str(raw)
    if field in BOOLEAN_FIELDS:
        return yes_no(raw)
    if field in CODED_FIELDS:
        return codes.label(CODED_FIELDS[field], str(raw))
    return str(raw)


def person(user: t.Any) -> str:
    """A user as people are named on screens, in history and the audit log: name and unit
    (王丽（沈阳市和平区第一小学）), never the e-mail address (only the account page shows that)."""
    if not user:  # None, or a template's undefined value
        return ""
    name = name_of(user)
    return f"{name}（{user.unit.name}）" if user.unit is not None else name


def name_of(user: t.Any) -> str:
    """A user's name alone, where the unit is shown beside it: the roles for an account without a name."""
    if not user:
        return ""
    name = _ROLE_NOTE.sub("", user.name or "").strip()  # "王丽（学籍管理员）": the role is not part of the name
    return name or "、".join(sorted(ROLE_LABELS.get(r.name, r.name) for r in user.roles)) or str(_l("Unnamed account"))


def minute(value: t.Any) -> str:
    """A stored time (naive China Standard Time, models/clock.py) to the minute: 2026-12-06 10:48."""
    if not value:  # None, or a template's undefined value
        return ""
    if not isinstance(value, datetime):  # a day as the day; text (already formatted) as it is
        return value.isoformat() if isinstance(value, date) else str(value)
    if getattr(value, "tzinfo", None) is not None:  # an aware time (e.g. from a library): shown in Asia/Shanghai
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo("Asia/Shanghai"))
    return value.strftime("%Y-%m-%d %H:%M")


CHINESE = "zh_Hans_CN"


def zh(text: t.Any) -> str:
    """A (lazy) label in Chinese whatever the reader's language: audit details are written once and
    read by everyone, in the province's language."""
    from flask import has_app_context
    from flask_babel import force_locale

    if not has_app_context():
        return str(text)
    with force_locale(CHINESE):
        return str(text)


def history_label(name: str) -> str:
    if name == "_created":
        return str(_l("Record created"))
    if name.startswith("guardian") and "." in name:
        head, attr = name.split(".", 1)
        return f"{FIELD_LABELS['guardians']}{head.removeprefix('guardian')}·{FIELD_LABELS.get(attr, attr)}"
    return str(FIELD_LABELS.get(name, name))


def init_app(app: t.Any) -> None:
    """`person(user)`, `name_of(user)` and `minute(time)` for every template (people by name and unit, times to the minute)."""
    app.add_template_global(person, "person")
    app.add_template_global(minute, "minute")
    app.add_template_global(name_of, "name_of")
