"""Labels of the domain's words that both the screens and the printed documents show.

They live here, beside the rules, so that services (documents, the archive's history) never import
admin/ (layers: admin → forms → services → models); the screens import them from here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
}
