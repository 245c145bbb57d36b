"""核对: a national basic-information file against our records, and the accepted differences applied.

Matching (NATIONAL-FIELDS.md): a row is our pupil with the same 身份证件类型 + 身份证件号; failing
that, the one pupil with the same 姓名 + 性别 + 出生日期 at the same school (the row's 学校标识码, else
the school the file was uploaded for). Only pupils within the user's scope are looked at: a row
whose pupil lies elsewhere is simply unmatched, and the page says nothing of it.

Differences are compared in the national form (services/national/columns.py), so a file exported
here and read back shows none. A difference that our rules do not let a school change as data —
the core data of an approved record (第十一条: a correction request), the grade or the class
(promotion, 调班) — is shown with the reason and cannot be accepted here.

Applying re-reads the stored file and recomputes everything, then changes only the accepted fields
that still differ: applying twice has the effect once. Each pupil is saved by
services/students.save_student (every rule of a record, the scope, 查重), with the reason
"全国学籍系统核对" on each history row; a pupil whose accepted values break a rule is left unchanged
and named in the result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models.lifecycle import StudentStatus
from models.org import SCHOOL, OrgUnit
from models.people import User
from models.student import CORE_FIELDS, PENDING, Guardian, Student
from services import audit, national_codes, scope
from services.errors import RuleViolation
from services.ids import IdNumberError, check_guardian_id, parse_resident_id
from services.national.columns import (
    BY_KEY,
    COMPARED,
    KEY_HEADERS,
    MEMBERS,
    NationalColumn,
    header_index,
    national_value,
    same,
    shown,
    to_ours,
)
from services.national.reading import NationalRow, read_upload
from services.students import save_student

REASON = "全国学籍系统核对"
ID_CHUNK = 1000
LOCKED_CORE = "已审核的学籍，此项须通过学籍信息更正申请修改（第十一条）。"
LOCKED_PLACEMENT = "年级、班级通过升级、留级或调班办理，不在此直接修改。"
MEMBER_FIELDS = ("name", "relation")  # a family member added from the national file needs these


@dataclass
class Difference:
    key: str  # column key: "phone", "guardian1.phone"
    label: str  # the national column's header
    ours: str  # shown (Chinese)
    national: str
    locked: str | None = None  # why it cannot be accepted here


@dataclass
class Matched:
    row: int
    student_id: int
    name: str
    xjh: str
    by: str  # "证件号" or "姓名、性别、出生日期、学校"
    differences: list[Difference]

    @property
    def acceptable(self) -> list[Difference]:
        return [d for d in self.differences if d.locked is None]


@dataclass
class Unmatched:
    row: int
    name: str  # as the file writes it (the user's own upload)
    reason: str


@dataclass
class Reconciliation:
    columns: list[str]  # the compared columns the file has (headers)
    matched: list[Matched] = field(default_factory=list)  # with differences
    unchanged: int = 0  # matched pupils without any difference
    unmatched: list[Unmatched] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)

    @property
    def total(self) -> int:
        return len(self.matched) + self.unchanged + len(self.unmatched)


def read(stream: IO[bytes]) -> tuple[list[NationalColumn], list[NationalRow]]:
    """The rows of an uploaded national basic-information file (RuleViolation: a clear refusal)."""
    columns, rows = read_upload(stream, header_index(), KEY_HEADERS, "全国学籍系统学生基本信息表")
    for row in rows:
        _check_ids(row)
    return columns, rows


def _check_ids(row: NationalRow) -> None:
    """A 居民身份证号 that is no valid number is an error of its cell (and matches nobody)."""
    if row.get("id_type") == "1" and row.get("id_number"):
        try:
            parse_resident_id(row.get("id_number"))
        except IdNumberError as exc:
            row.errors.append(("身份证件号", str(exc)))
            row.values["id_number"] = None
    if row.get("id_type") not in (None, "Z") and not row.get("id_number") and "身份证件号" not in dict(row.errors):
        row.errors.append(("身份证件号", "除证件类型为“其他”外，身份证件号必填。"))
    for n in MEMBERS:
        key = f"guardian{n}.id_number"
        if row.get(f"guardian{n}.id_type") == "1" and row.get(key):
            try:
                check_guardian_id(row.get(key))
            except IdNumberError as exc:
                row.errors.append((BY_KEY[key].header, str(exc)))
                row.values[key] = None


# --- matching ----------------------------------------------------------------------------------------
def _in_scope(actor: User, unit: OrgUnit):  # type: ignore[no-untyped-def]
    """Our pupils a file is matched against: the unit's area, within the actor's scope, not 注销."""
    return (scope.filter_for(actor, Student.scope_path), scope.within(Student.scope_path, unit.path),
            Student.status != StudentStatus.CANCELLED.value)


def _by_id(actor: User, unit: OrgUnit, rows: list[NationalRow]) -> dict[str, Student]:
    numbers = sorted({r.get("id_number") for r in rows if r.get("id_number")})  # type: ignore[type-var]
    found: dict[str, Student] = {}
    for k in range(0, len(numbers), ID_CHUNK):
        q = (select(Student).where(Student.id_number.in_(numbers[k:k + ID_CHUNK]), *_in_scope(actor, unit))
             .options(selectinload(Student.guardians)))
        for s in db.session.scalars(q):
            found[s.id_number] = s  # type: ignore[index]
    return found


def _school_of(row: NationalRow, unit: OrgUnit, schools: dict[str, OrgUnit | None]) -> OrgUnit | None:
    code = row.get("school_code")
    if not code:
        return unit if unit.level == SCHOOL else None
    if code not in schools:
        schools[code] = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == SCHOOL))
    return schools[code]


NameKey = tuple[int, str, str | None, object]  # (school id, name, gender, birth date)


def _name_key(row: NationalRow, school: OrgUnit) -> NameKey:
    birth = to_ours(BY_KEY["birth_date"], row.get("birth_date"))
    return (school.id, str(row.get("name")), national_codes.to_ours("gender", row.get("gender")), birth)


def _by_names(actor: User, unit: OrgUnit, keys: set[NameKey]) -> dict[NameKey, list[Student]]:
    """Our pupils for the rows without an ID match, by school and name in chunks: one query per
    school and 500 names, not one per row (a 20,000-row file of pupils without ID numbers)."""
    names_by_school: dict[int, set[str]] = {}
    for school_id, name, _gender, _birth in keys:
        names_by_school.setdefault(school_id, set()).add(name)
    found: dict[NameKey, list[Student]] = {}
    for school_id, names in names_by_school.items():
        ordered = sorted(names)
        for k in range(0, len(ordered), ID_CHUNK):
            q = (select(Student).where(Student.school_id == school_id, Student.name.in_(ordered[k:k + ID_CHUNK]),
                                       *_in_scope(actor, unit))
                 .options(selectinload(Student.guardians)))
            for s in db.session.scalars(q):
                found.setdefault((school_id, s.name, s.gender, s.birth_date), []).append(s)
    return found


def match(actor: User, unit: OrgUnit, rows: list[NationalRow]) -> list[tuple[NationalRow, Student | None, str]]:
    """Each row with its pupil (or None) and how it was matched (or why not)."""
    by_id = _by_id(actor, unit, rows)
    schools: dict[str, OrgUnit | None] = {}

    def id_match(row: NationalRow) -> Student | None:
        number = row.get("id_number")
        pupil = by_id.get(number) if number else None
        return pupil if pupil is not None and national_codes.same_value("id_type", pupil.id_type, row.get("id_type")) else None

    def name_key(row: NationalRow) -> NameKey | None:
        school = _school_of(row, unit, schools)
        if school is None or not (row.get("name") and row.get("birth_date") and row.get("gender")):
            return None
        return _name_key(row, school)

    by_name = _by_names(actor, unit, {k for r in rows if id_match(r) is None and (k := name_key(r)) is not None})
    out: list[tuple[NationalRow, Student | None, str]] = []
    taken: set[int] = set()
    for row in rows:
        pupil = id_match(row)
        if pupil is not None:
            how = "证件号"
        else:
            how = "本系统（您的权限范围内）没有证件类型和证件号相同的学生，也没有姓名、性别、出生日期和学校都相同的学生。"
            key = name_key(row)
            if key is not None:
                found = by_name.get(key, [])
                if len(found) == 1:
                    pupil, how = found[0], "姓名、性别、出生日期、学校"
                elif len(found) > 1:
                    how = "本校有多名姓名、性别、出生日期都相同的学生，请在全国系统中补全身份证件号后再核对。"
        if pupil is not None and pupil.id in taken:
            pupil, how = None, "文件中另有一行已对应同一名学生。"
        if pupil is not None:
            taken.add(pupil.id)
        out.append((row, pupil, how))
    return out


# --- differences ---------------------------------------------------------------------------------------
def _locked(student: Student, col: NationalColumn) -> str | None:
    if student.status == PENDING or col.member is not None:
        return None
    if col.attr in CORE_FIELDS:
        if col.attr in ("id_type", "id_number") and not student.id_number:
            return None  # recording an ID number for a pupil who had none is no correction
        return LOCKED_CORE
    if col.attr in ("grade", "class_name"):
        return LOCKED_PLACEMENT
    return None


def _member_in_file(row: NationalRow, n: int, present: set[str]) -> bool:
    return any(row.get(k) for k in present if k.startswith(f"guardian{n}."))


def differences(student: Student, row: NationalRow, present: list[NationalColumn]) -> list[Difference]:
    """Field by field, where our record and the national row disagree (columns the file has, cells it could read)."""
    unreadable = {header for header, _m in row.errors}
    keys = {c.key for c in present}
    out: list[Difference] = []
    for col in present:
        if not col.attr or col.header in unreadable:
            continue
        national = row.get(col.key)
        if col.member is not None:
            if not _member_in_file(row, col.member, keys):
                continue  # the file says nothing of this member: nothing to compare
            owner: Any = student.guardians[col.member - 1] if len(student.guardians) >= col.member else None
            ours_value = getattr(owner, col.field) if owner is not None else None
        else:
            if national is None and col.required:
                continue  # a blank cell does not empty a field our record must have
            ours_value = getattr(student, col.attr)
        if same(col, ours_value, national):
            continue
        ours_shown = shown(col, national_value(student, col)) if col.member is None or owner is not None else "（无此成员）"
        out.append(Difference(col.key, col.header, ours_shown, shown(col, national), _locked(student, col)))
    return out


def reconcile(actor: User, unit: OrgUnit, stream: IO[bytes]) -> Reconciliation:
    """Read the file and compare it with our records of the unit's area (nothing is written)."""
    columns, rows = read(stream)
    return compare(actor, unit, columns, rows)


def compare(actor: User, unit: OrgUnit, columns: list[NationalColumn], rows: list[NationalRow]) -> Reconciliation:
    compared = [c for c in columns if c in COMPARED]
    result = Reconciliation(columns=[c.header for c in compared])
    for row in rows:
        result.errors.extend((row.row, header, message) for header, message in row.errors)
    for row, pupil, how in match(actor, unit, rows):
        if pupil is None:
            result.unmatched.append(Unmatched(row.row, row.get("name") or "", how))
            continue
        found = differences(pupil, row, compared)
        if found:
            result.matched.append(Matched(row.row, pupil.id, pupil.name, pupil.xjh or "", how, found))
        else:
            result.unchanged += 1
    return result


# --- applying --------------------------------------------------------------------------------------------
@dataclass
class Applied:
    pupils: int = 0  # pupils changed
    fields: int = 0  # fields changed
    refused: list[tuple[str, str]] = field(default_factory=list)  # (pupil's name, why not)


def _set(student: Student, col: NationalColumn, national: str | None) -> None:
    value = to_ours(col, national)
    if col.member is None:
        setattr(student, col.attr, value)
        return
    while len(student.guardians) < col.member:
        student.guardians.append(Guardian(name="", relation=""))
    setattr(student.guardians[col.member - 1], col.field, value)


def _apply_one(actor: User, student: Student, row: NationalRow, accepted: list[Difference]) -> None:
    for d in accepted:
        _set(student, BY_KEY[d.key], row.get(d.key))
    for g in student.guardians:
        if not g.name or not g.relation:
            raise RuleViolation("新增家庭成员须同时接受其姓名和关系。")
        if g.id_type is None:
            g.id_type = "1"
    save_student(student, actor, student.school, REASON)


def apply(actor: User, unit: OrgUnit, stream: IO[bytes], accepted: Iterable[tuple[int, str]]) -> Applied:
    """Change the accepted (student id, column key) pairs that still differ; commit once. Only a
    school's staff apply (the school maintains its pupils' data, 第十二条); an authority compares."""
    if not actor.is_school_user:
        raise RuleViolation("只有学生所在学校可以按全国系统修改学生信息；教育行政部门可查看差异。")
    wanted: dict[int, set[str]] = defaultdict(set)
    for student_id, key in accepted:
        wanted[student_id].add(key)
    columns, rows = read(stream)
    compared = [c for c in columns if c in COMPARED]
    done = Applied()
    for row, pupil, _how in match(actor, unit, rows):
        if pupil is None or pupil.id not in wanted:
            continue
        chosen = [d for d in differences(pupil, row, compared) if d.locked is None and d.key in wanted[pupil.id]]
        if not chosen:
            continue  # nothing accepted differs any more (applied before)
        savepoint = db.session.begin_nested()
        try:
            with audit.acting(actor, REASON):
                _apply_one(actor, pupil, row, chosen)
            savepoint.commit()
        except RuleViolation as exc:
            savepoint.rollback()
            done.refused.append((pupil.name, "；".join(m for _f, m in exc.problems)))
            continue
        done.pupils += 1
        done.fields += len(chosen)
    audit.record(actor, "national.reconcile", "org_unit", unit.id,
                 f"{REASON}：{unit.name}，{done.pupils}名学生的{done.fields}项信息按全国学籍系统修改")
    db.session.commit()
    return done
