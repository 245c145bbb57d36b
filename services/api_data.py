"""What the data API (api/, issue 16 point 5) reads: pupils, change requests and the change feed of a
token's scope, as JSON-ready dicts, paged by opaque cursors.

The scope is the token's unit (services/scope.within on its path); the sensitive groups shown in
full are those the export gate granted (services/export_gate.decide_token). Otherwise they are
masked exactly as on the 学生学籍卡 (services/student_cards): an ID number (the pupil's, a
guardian's, the digits of a G-学籍号) to its division code and last four digits; addresses,
health and the guardians' phones and ID numbers withheld (null, the group named in `withheld`).

Values read both ways: a coded value is {"code", "label"} (gender 1 → 男), dates are ISO 8601.

Cursors are signed (itsdangerous, the app's SECRET_KEY) and name the endpoint they page, so a
cursor altered, forged or taken from another list is a 400, never a surprise page. Every list is
ordered by id and resumes after the last id it sent: rows added meanwhile come on a later page,
none is sent twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from extensions import db
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.org import OrgUnit
from models.student import Student
from services import codes, export_gate, labels, photos, scope, workflows
from services.errors import NotInScope
from services.ids import mask_id, mask_xjh
from services.student_cards import HISTORY_GROUPS

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
REQUEST_STATUS_LABELS = {"pending": "待审批", "approved": "已批准，待报到", "rejected": "未批准", "withdrawn": "已撤回",
                         "completed": "已办结"}
CREATED = "_created"


class BadParameter(Exception):
    """A cursor, limit or filter the API cannot read: 400 with this (Chinese) message."""


# --- cursors and limits ---------------------------------------------------------------------------
def _serializer(kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"xueji-api-cursor:{kind}")


def make_cursor(kind: str, last_id: int) -> str:
    return str(_serializer(kind).dumps(last_id))


def read_cursor(kind: str, cursor: str | None) -> int:
    """The id a cursor resumes after (0 without a cursor); BadParameter for anything not ours."""
    if cursor is None or cursor == "":
        return 0
    try:
        value = _serializer(kind).loads(cursor[:500])
    except BadData:
        raise BadParameter("游标无效。") from None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= scope.MAX_ID:
        raise BadParameter("游标无效。")
    return value


FeedPosition = tuple[int, int]  # (writing transaction, history id): where the change feed resumes


def make_feed_cursor(position: FeedPosition) -> str:
    return str(_serializer("changes").dumps(list(position)))


def read_feed_cursor(cursor: str | None) -> FeedPosition:
    """The feed position a `since` cursor resumes after ((0, 0) without one); BadParameter otherwise."""
    if cursor is None or cursor == "":
        return (0, 0)
    try:
        value = _serializer("changes").loads(cursor[:500])
    except BadData:
        raise BadParameter("游标无效。") from None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**63 - 1 for v in value)):
        raise BadParameter("游标无效。")
    return (value[0], value[1])


def read_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter(f"limit 须为 1 至 {MAX_LIMIT} 的整数。")
    return int(raw)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool = False


def _page(kind: str, rows: list[Any], limit: int, shape: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([shape(r) for r in rows], make_cursor(kind, rows[-1].id) if more and rows else None, more)


# --- values -----------------------------------------------------------------------------------------
def coded(table: str, code: Any) -> dict[str, Any] | None:
    if code is None or code == "":
        return None
    return {"code": str(code), "label": codes.label(table, str(code))}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: datetime | None) -> str | None:
    """Stored times are naive China Standard Time (models/clock.py): sent with their offset."""
    return value.isoformat(timespec="seconds") + "+08:00" if value else None


def unit_ref(unit: OrgUnit | None) -> dict[str, Any] | None:
    return {"id": unit.id, "code": unit.code, "name": unit.name} if unit is not None else None


def _withheld(groups: frozenset[str]) -> list[str]:
    return sorted(g for g in (export_gate.ADDRESS, export_gate.HEALTH, export_gate.GUARDIAN) if g not in groups)


def pupil_dict(student: Student, groups: frozenset[str], detail: bool = False) -> dict[str, Any]:
    full_id = export_gate.ID_NUMBER in groups
    address, health = export_gate.ADDRESS in groups, export_gate.HEALTH in groups
    out: dict[str, Any] = {
        "id": student.id,
        "xjh": (student.xjh if full_id else mask_xjh(student.xjh)) or None,
        "name": student.name,
        "former_name": student.former_name or None,
        "gender": coded("gender", student.gender),
        "birth_date": _day(student.birth_date),
        "ethnicity": coded("ethnicity", student.ethnicity),
        "nationality": coded("nationality", student.nationality),
        "id_type": coded("id_type", student.id_type),
        "id_number": (student.id_number if full_id else mask_id(student.id_number)) or None,
        "id_number_masked": not full_id,
        "grade": coded("grade", student.grade),
        "class_name": student.class_name or None,
        "status": coded("student_status", student.status),
        "school": unit_ref(student.school),
        "attending_school": unit_ref(student.attending_school),
        "enroll_month": student.enroll_month or None,
        "updated_at": _time(student.updated_at),
        "withheld": _withheld(groups),
    }
    if detail:
        out.update({
            "birthplace": student.birthplace or None,
            "hukou_location": student.hukou_location or None,
            "hukou_type": coded("hukou_type", student.hukou_type),
            "enroll_mode": coded("enroll_mode", student.enroll_mode),
            "attendance_mode": coded("attendance_mode", student.attendance_mode),
            "left_behind": coded("left_behind", student.left_behind),
            "current_address": (student.current_address or None) if address else None,
            "home_address": (student.home_address or None) if address else None,
            "health": coded("health", student.health) if health else None,
            "disability": coded("disability", student.disability) if health else None,
            "guardians": [_guardian(g, groups) for g in student.guardians],
        })
    return out


def _guardian(g: Any, groups: frozenset[str]) -> dict[str, Any]:
    shown = export_gate.GUARDIAN in groups
    full_id = shown and export_gate.ID_NUMBER in groups
    return {
        "relation": coded("guardian_relation", g.relation),
        "name": g.name,
        "id_type": coded("id_type", g.id_type),
        "id_number": ((g.id_number if full_id else mask_id(g.id_number)) or None) if shown else None,
        "phone": (g.phone or None) if shown else None,
    }


# --- pupils -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PupilFilter:
    grade: int | None = None
    status: str | None = None
    school: str | None = None  # 学校标识码


def read_filter(grade: str | None, status: str | None, school: str | None) -> PupilFilter:
    """A filter given is a filter: an empty one is refused like a wrong one, not ignored (a system
    that sends school= by mistake would otherwise sync the whole county)."""
    if grade is not None and (not grade.isdigit() or grade not in codes.table("grade")):
        raise BadParameter("grade 须为 1 至 9 的年级代码。")
    if status is not None and status not in codes.table("student_status"):
        raise BadParameter("status 不是有效的学籍状态代码。")
    if school is not None and (len(school) != 10 or not school.isdigit()):
        raise BadParameter("school 须为 10 位学校标识码。")
    return PupilFilter(int(grade) if grade else None, status or None, school or None)


def pupils(path: str, groups: frozenset[str], f: PupilFilter, after: int, limit: int) -> Page:
    q: Select = select(Student).where(scope.within(Student.scope_path, path), Student.id > after)
    if f.grade is not None:
        q = q.where(Student.grade == f.grade)
    if f.status:
        q = q.where(Student.status == f.status)
    if f.school:
        q = q.join(OrgUnit, OrgUnit.id == Student.school_id).where(OrgUnit.code == f.school)
    rows = list(db.session.scalars(q.order_by(Student.id).limit(limit + 1)))
    return _page("pupils", rows, limit, lambda s: pupil_dict(s, groups))


def pupil(path: str, pupil_id: int) -> Student:
    """One pupil inside the path, else NotInScope (404: absent and foreign look the same)."""
    if not 0 < pupil_id <= scope.MAX_ID:
        raise NotInScope()
    student = db.session.get(Student, pupil_id)
    if student is None or not student.scope_path.startswith(path):
        raise NotInScope()
    return student


# --- change requests --------------------------------------------------------------------------------
def _requests_in(path: str, unit_id: int) -> Any:
    """As services/workflows.visible_filter, for a unit rather than an account: either end in the
    subtree, or the unit is the township central school of a rural end."""
    return or_(
        and_(ChangeRequest.from_path.is_not(None), scope.within(ChangeRequest.from_path, path)),
        and_(ChangeRequest.to_path.is_not(None), scope.within(ChangeRequest.to_path, path)),
        ChangeRequest.from_central_id == unit_id,
        ChangeRequest.to_central_id == unit_id,
    )


def request_dict(req: ChangeRequest) -> dict[str, Any]:
    ctype = workflows.TYPES.get(req.type)
    return {
        "id": req.id,
        "type": {"code": req.type, "label": labels.zh(ctype.label) if ctype else req.type},
        "status": {"code": req.status, "label": REQUEST_STATUS_LABELS.get(req.status, req.status)},
        "pupil_id": req.student_id,
        "pupil_name": req.student.name if req.student is not None else None,
        "from_school": unit_ref(req.from_school),
        "to_school": unit_ref(req.to_school),
        "external_school": req.external_school or None,
        "reason": req.reason_text or None,
        "created_at": _time(req.created_at),
        "finished_at": _time(req.finished_at),
    }


def requests(path: str, unit_id: int, after: int, limit: int) -> Page:
    q = select(ChangeRequest).where(_requests_in(path, unit_id), ChangeRequest.id > after)
    rows = list(db.session.scalars(q.order_by(ChangeRequest.id).limit(limit + 1)))
    return _page("requests", rows, limit, request_dict)


# --- the change feed ----------------------------------------------------------------------------------
def _masked_values(field: str, old: str | None, new: str | None, groups: frozenset[str]) -> tuple[Any, Any, bool]:
    """(old, new, withheld) of one history row as the gate lets it out (as the 学籍卡 prints it)."""
    attr = field.split(".", 1)[1] if field.startswith("guardian") and "." in field else None
    # A pupil's ID number is masked, as in the pupil's own answer, not withheld (the card withholds it).
    group = export_gate.GUARDIAN if attr is not None else None if field == "id_number" else HISTORY_GROUPS.get(field)
    if group is not None and group not in groups:
        return None, None, True
    if field in ("xjh", CREATED) and export_gate.ID_NUMBER not in groups:  # a G-number holds the ID number
        return mask_xjh(old) or None, mask_xjh(new) or None, False
    if (field == "id_number" or attr == "id_number") and export_gate.ID_NUMBER not in groups:
        return mask_id(old) or None, mask_id(new) or None, False
    return old, new, False


def _value(field: str, raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    if field == photos.HISTORY_FIELD:  # a stored file's name says nothing to another system
        return {"value": None, "label": "已更新"}
    return {"value": raw, "label": labels.history_value(field, raw)}


def change_dict(h: StudentHistory, groups: frozenset[str]) -> dict[str, Any]:
    old, new, withheld = _masked_values(h.field, h.old_value, h.new_value, groups)
    return {
        "id": h.id,
        "kind": "created" if h.field == CREATED else "changed",
        "pupil_id": h.student_id,
        "field": h.field,
        "field_label": labels.zh(labels.history_label(h.field)),
        "old": _value(h.field, old),
        "new": _value(h.field, new),
        "withheld": withheld,
        "reason": h.reason or None,
        "request_id": h.request_id,
        "changed_at": _time(h.changed_at),
    }


def changes(path: str, groups: frozenset[str], after: FeedPosition, limit: int, session: Session | None = None) -> Page:
    """History rows (a record's creation is its `_created` row) of the pupils now in the scope, in
    (writing transaction, id) order, so that a system that stores `next_cursor` and asks again
    misses nothing.

    Why not simply by id: on PostgreSQL an id is taken when the row is inserted but seen only when its
    transaction commits, so a 10,000-row import commits ids below those a reader has already passed.
    The feed therefore serves only rows of transactions older than every transaction still running
    (txid below the snapshot's xmin: all of them finished, and no new one can get such a txid), in
    txid order; a running import holds the feed back at its start until it commits, then its rows
    follow. SQLite has one writer at a time, which commits ids in order: txid is NULL there (0).
    The reader's own transaction's rows are final to it (a request that wrote history, or a test)."""
    s = session or db.session
    position = func.coalesce(StudentHistory.txid, 0)
    q = (select(StudentHistory).join(Student, Student.id == StudentHistory.student_id)
         .where(scope.within(Student.scope_path, path), tuple_(position, StudentHistory.id) > tuple_(*after)))
    if s.get_bind().dialect.name == "postgresql":
        q = q.where(or_(position < func.txid_snapshot_xmin(func.txid_current_snapshot()),
                        StudentHistory.txid == func.txid_current_if_assigned()))
    rows = list(s.scalars(q.order_by(position, StudentHistory.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1].txid or 0, rows[-1].id) if rows else after
    # Caught up or not, the cursor resumes after the last row sent (or where the caller was).
    return Page([change_dict(h, groups) for h in rows], make_feed_cursor(last), more)


def ids_of(items: Iterable[dict[str, Any]]) -> str:
    """The ids a call sent, for its audit row (truncated by the audit log's own limit)."""
    return ",".join(str(i["id"]) for i in items)
