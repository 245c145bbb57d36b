"""The student archive (学籍档案, 第八条–第十条): its sections, who may add to it, completeness,
exports, and the sending school's backup.

Kept whole: the sections, who may add, completeness, export and the backup all read the one
section table (SECTIONS) and the same scope checks; its seams are the `# ---` parts below, and
it is not split while its imports are being reworked in a parallel change.

Rules:

- 第八条: the archive holds (1) basic data and its change history (Student, Guardian,
  StudentHistory), (2) evidence documents, (3) the comprehensive quality report, (4) health
  tests, checkups and vaccinations, (5) awards, (6) financial aid, (7) grades and evaluations.
- 第九条: archives are kept forever. Entries are added and corrected, never deleted; every
  addition and correction is an audit row (`archive.add`, `archive.edit`, object = the student).
- Who: the school holding the record (the actor's unit is the pupil's school, in a school role)
  adds and edits. Officials and every other unit whose subtree covers the pupil read only.
  Outside the scope the archive does not exist (NotInScope → 404).
- 第十条: when a record leaves a school, the sending school keeps an exported backup (PDF and
  XLSX, `ArchiveBackup`) that stays in *its* scope after the pupil has gone.

Exports are always in Chinese (the archive is an official document), whatever the UI language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import exists, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from extensions import db
from models.archive import (
    AWARD_LEVELS,
    DOC_HUKOU,
    DOC_KINDS,
    DOC_OTHER,
    DOC_SUSPENSION,
    DOC_TRANSFER,
    HEALTH_KINDS,
    TEXT_MAX,
    ArchiveBackup,
    ArchiveDocument,
    Award,
    FinancialAid,
    GradeRecord,
    HealthRecord,
    QualityReport,
)
from models.audit import AuditLog, StudentHistory
from models.changes import COMPLETED, PrintedDocument
from models.people import User
from models.student import Guardian, Student
from services import audit, clock, codes, exports, labels, pdf, scope, uploads
from services.documents import numbered_document, student_context
from services.errors import NotInScope, RuleViolation
from services.labels import history_label
from services.workflows import AFTER_EFFECT, type_of

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from models.changes import ChangeRequest

EXPORT_LOCALE = "zh_Hans_CN"
PDF_PREFIX = "DA"  # 档案: numbers of printed archives, like XX/ZX in services/documents.py
VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_AMOUNT = Decimal("99999999.99")  # Numeric(10, 2)
SCHOOL_YEAR_RE = re.compile(r"^(\d{4})-(\d{4})$")
ADD, EDIT = "archive.add", "archive.edit"

DOC_KIND_LABELS = {
    DOC_HUKOU: _l("Hukou proof"),
    DOC_TRANSFER: _l("Transfer application"),
    DOC_SUSPENSION: _l("Suspension or resumption application"),
    DOC_OTHER: _l("Other evidence"),
}
HEALTH_KIND_LABELS = {
    "test": _l("Physical fitness test"),
    "checkup": _l("Medical checkup"),
    "vaccination": _l("Vaccination"),
}
AWARD_LEVEL_LABELS = {
    "school": _l("School level"),
    "county": _l("County level"),
    "city": _l("City level"),
    "province": _l("Province level"),
    "national": _l("National level"),
}
TERM_LABELS = {1: _l("First term"), 2: _l("Second term")}
assert set(DOC_KIND_LABELS) == set(DOC_KINDS) and set(HEALTH_KIND_LABELS) == set(HEALTH_KINDS)
assert set(AWARD_LEVEL_LABELS) == set(AWARD_LEVELS)


# --- the sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One editable column of a section, with the rule its values follow."""

    name: str
    label: Any
    kind: str = "text"  # text | date | choice | amount | term | school_year
    max_length: int | None = None
    required: bool = False
    choices: dict[Any, Any] | None = None


@dataclass(frozen=True)
class Column:
    """One displayed column: a label and how to read it from a row (raw value, or a label)."""

    label: Any
    get: Callable[[Any], Any]


@dataclass(frozen=True)
class Section:
    code: str  # also the URL segment and the tab id
    model: type
    label: Any
    fields: tuple[Field, ...]
    order: tuple[str, ...]
    display: tuple[Column, ...] | None = None  # what lists and exports show; default: the fields

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.display or tuple(Column(f.label, _getter(f)) for f in self.fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _getter(f: Field) -> Callable[[Any], Any]:
    choices = f.choices
    if choices is not None:  # a code is shown by its label (in the current locale)
        return lambda row: str(choices.get(getattr(row, f.name), getattr(row, f.name)))
    return lambda row: getattr(row, f.name)


def _who(row: Any) -> str:
    user = row.created_by
    return labels.person(user)


SECTIONS: dict[str, Section] = {
    s.code: s
    for s in (
        Section(
            "documents", ArchiveDocument, _l("Evidence materials"),
            (
                Field("kind", _l("Kind of material"), "choice", required=True, choices=DOC_KIND_LABELS),
                Field("note", _l("Note"), max_length=200),
            ),
            ("created_at", "id"),
            display=(
                Column(_l("Kind of material"), lambda r: str(DOC_KIND_LABELS.get(r.kind, r.kind))),
                Column(_l("File name"), lambda r: r.filename),
                Column(_l("Note"), lambda r: r.note),
                Column(_l("Uploaded by"), _who),
                Column(_l("Uploaded at"), lambda r: r.created_at),
            ),
        ),
        Section(
            "quality", QualityReport, _l("Quality development report"),
            (
                Field("school_year", _l("School year"), "school_year", required=True),
                Field("term", _l("Term"), "term", required=True, choices=TERM_LABELS),
                Field("academic_tests", _l("Academic tests"), max_length=TEXT_MAX),
                Field("sports_arts", _l("Sports skills and artistic talents"), max_length=TEXT_MAX),
                Field("community_service", _l("Community service and social practice"), max_length=TEXT_MAX),
            ),
            ("school_year", "term", "id"),
        ),
        Section(
            "health", HealthRecord, _l("Physical health"),
            (
                Field("kind", _l("Kind"), "choice", required=True, choices=HEALTH_KIND_LABELS),
                Field("date", _l("Date"), "date", required=True),
                Field("summary", _l("Summary"), max_length=500, required=True),
                Field("result", _l("Result"), max_length=200),
            ),
            ("date", "id"),
        ),
        Section(
            "awards", Award, _l("Awards"),
            (
                Field("date", _l("Date"), "date", required=True),
                Field("name", _l("Name of the award"), max_length=100, required=True),
                Field("level", _l("Level"), "choice", required=True, choices=AWARD_LEVEL_LABELS),
                Field("issuer", _l("Issued by"), max_length=100),
            ),
            ("date", "id"),
        ),
        Section(
            "aid", FinancialAid, _l("Financial aid"),
            (
                Field("date", _l("Date"), "date", required=True),
                Field("kind", _l("Aid programme"), max_length=50, required=True),
                Field("amount", _l("Amount (yuan)"), "amount", required=True),
                Field("funder", _l("Funder"), max_length=100),
            ),
            ("date", "id"),
        ),
        Section(
            "grades", GradeRecord, _l("Grades and evaluation"),
            (
                Field("school_year", _l("School year"), "school_year", required=True),
                Field("term", _l("Term"), "term", required=True, choices=TERM_LABELS),
                Field("subject", _l("Subject"), max_length=30, required=True),
                Field("score", _l("Score or grade"), max_length=20),
                Field("evaluation", _l("Evaluation"), max_length=500),
            ),
            ("school_year", "term", "subject", "id"),
        ),
    )
}
SECTION_OF_MODEL = {s.model: s for s in SECTIONS.values()}


def section(code: str) -> Section:
    """The section with this code; an unknown code is a URL that does not exist."""
    try:
        return SECTIONS[code]
    except KeyError:
        raise NotInScope() from None


# --- who may do what ---------------------------------------------------------------------


def can_read(actor: User, student: Student) -> bool:
    """Every user whose subtree covers the pupil reads the whole archive (第二十六条)."""
    return scope.covers(actor, student.scope_path)


def can_edit(actor: User, student: Student) -> bool:
    """Only the staff of the school holding the record add and correct entries (第九条: 学籍管理员)."""
    return actor.unit_id == student.school_id and actor.is_school_user


def _check_edit(actor: User, student: Student) -> None:
    if not can_read(actor, student):
        raise NotInScope()
    if not can_edit(actor, student):
        raise RuleViolation(str(_l("The archive is kept by the pupil's school: only its staff can add or correct entries.")))


def load_student(actor: User, student_id: int) -> Student:
    student = db.session.get(Student, student_id)
    if student is None or not can_read(actor, student):
        raise NotInScope()
    return student


def load_entry(actor: User, code: str, entry_id: int) -> Any:
    """One archive row of a section, if its pupil is in the actor's scope."""
    row = db.session.get(section(code).model, entry_id)
    if row is None or not can_read(actor, row.student):
        raise NotInScope()
    return row


def load_document(actor: User, doc_id: int) -> ArchiveDocument:
    return load_entry(actor, "documents", doc_id)


# --- validation --------------------------------------------------------------------------


def _clean_value(f: Field, value: Any, student: Student, problems: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if value in (None, ""):
        if f.required:
            problems.append((f.name, str(_l("This field is required."))))
        return None
    if f.kind == "text":
        value = str(value)
        if f.max_length and len(value) > f.max_length:
            problems.append((f.name, str(_l("At most %(n)d characters.", n=f.max_length))))
        return value
    if f.kind == "choice":
        if value not in (f.choices or {}):
            problems.append((f.name, str(_l("Choose one of the listed options."))))
        return value
    if f.kind == "term":
        try:
            term = int(value)
        except (TypeError, ValueError):
            term = None
        if term not in TERM_LABELS:
            problems.append((f.name, str(_l("Choose the first or the second term."))))
        return term
    if f.kind == "date":
        return _clean_date(f, value, student, problems)
    if f.kind == "amount":
        return _clean_amount(f, value, problems)
    if f.kind == "school_year":
        return _clean_school_year(f, str(value), problems)
    raise ValueError(f"unknown field kind {f.kind!r}")  # pragma: no cover - programming error


def _clean_date(f: Field, value: Any, student: Student, problems: list[tuple[str, str]]) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            problems.append((f.name, str(_l("Write a date as YYYY-MM-DD."))))
            return None
    if value > clock.today():
        problems.append((f.name, str(_l("The date cannot be in the future."))))
    elif isinstance(student.birth_date, date) and value < student.birth_date:
        problems.append((f.name, str(_l("The date cannot be before the pupil's birth date."))))
    return value


def _clean_amount(f: Field, value: Any, problems: list[tuple[str, str]]) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        problems.append((f.name, str(_l("Enter an amount in yuan, e.g. 500 or 500.00."))))
        return None
    if amount < 0:
        problems.append((f.name, str(_l("The amount cannot be negative."))))
    elif amount > MAX_AMOUNT:
        problems.append((f.name, str(_l("The amount is too large."))))
    elif amount != amount.quantize(Decimal("0.01")):
        problems.append((f.name, str(_l("An amount has at most two decimal places."))))
    else:
        return amount.quantize(Decimal("0.01"))
    return amount


def _clean_school_year(f: Field, value: str, problems: list[tuple[str, str]]) -> str:
    m = SCHOOL_YEAR_RE.match(value)
    if not m or int(m[2]) != int(m[1]) + 1:
        problems.append((f.name, str(_l("Write the school year as YYYY-YYYY, e.g. 2025-2026."))))
    elif int(m[1]) > clock.today().year or int(m[1]) < 1990:
        problems.append((f.name, str(_l("This school year is not plausible."))))
    return value


def clean(code: str, data: dict[str, Any], student: Student, partial: bool = False) -> dict[str, Any]:
    """The section's values from `data`, checked and normalised, or RuleViolation with every problem.

    With `partial`, only the fields present in `data` are checked (a correction of some fields).
    """
    problems: list[tuple[str, str]] = []
    values = {}
    for f in section(code).fields:
        if partial and f.name not in data:
            continue
        values[f.name] = _clean_value(f, data.get(f.name), student, problems)
    if problems:
        raise RuleViolation(problems)
    return values


# --- adding and correcting ----------------------------------------------------------------


def add_entry(student: Student, actor: User, code: str, data: dict[str, Any]) -> Any:
    """Add one row to a section (not documents: see add_document) — holding school only."""
    sect = section(code)
    if sect.model is ArchiveDocument:
        raise RuleViolation(str(_l("Evidence is added by uploading a file.")))
    _check_edit(actor, student)
    row = sect.model(student_id=student.id, created_by_id=actor.id, created_at=clock.now(), **clean(code, data, student))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, ADD, "student", student.id, _summary(sect, row))
    return row


def add_document(student: Student, actor: User, kind: str, file: FileStorage, note: str | None = None) -> ArchiveDocument:
    """Upload one evidence file (JPG/PNG/PDF by content, ≤ 5 MB); refused files never reach storage."""
    _check_edit(actor, student)
    values = clean("documents", {"kind": kind, "note": note}, student)
    name = uploads.clean_filename(file.filename)
    data, ctype = uploads.read_checked(file.stream, name)
    doc = ArchiveDocument(
        student_id=student.id, filename=name, content_type=ctype, size=len(data), sha256=uploads.store(data),
        created_by_id=actor.id, created_at=clock.now(), **values,
    )
    db.session.add(doc)
    db.session.flush()
    audit.record(actor, ADD, "student", student.id, _summary(SECTIONS["documents"], doc))
    return doc


# --- 第十二条: a change's evidence goes into the archive ------------------------------------

def _filed_kind(req: ChangeRequest, material: str) -> str:
    """The kind of archive document a request's upload becomes: a 户籍 copy is 户籍证明 whatever the
    change; otherwise the one its change type declares (ChangeType.filed_as)."""
    return DOC_HUKOU if material == "hukou" else type_of(req).filed_as


def file_request_materials(req: ChangeRequest, actor: User | None) -> list[ArchiveDocument]:
    """File every upload of a change that has taken effect into the pupil's 证明材料 (第十二条).

    Only a completed change files (a rejected or withdrawn one never does; an approved transfer
    files at 报到, when the record is at the receiving school). Each upload becomes one document
    with the request number and the material's name, pointing at the stored file (same sha256,
    no copy). Calling it again files nothing twice (one document per attachment).
    """
    student = req.student
    if student is None or req.status != COMPLETED or not req.attachments:
        return []
    done = set(db.session.scalars(select(ArchiveDocument.attachment_id).where(ArchiveDocument.request_id == req.id)))
    labels = {m.code: m.label for m in type_of(req).materials}
    filed = []
    with force_locale(EXPORT_LOCALE):  # the note is read in the Chinese archive and its exports
        type_label = str(type_of(req).label)
        for att in req.attachments:
            if att.id in done:
                continue
            note = f"{type_label} #{req.id}：{labels.get(att.material, att.material)}"
            filed.append(ArchiveDocument(
                student_id=student.id, kind=_filed_kind(req, att.material), filename=att.filename,
                content_type=att.content_type, size=att.size, sha256=att.sha256, note=note[:200],
                request_id=req.id, attachment_id=att.id, created_by_id=actor.id if actor else None, created_at=clock.now(),
            ))
    db.session.add_all(filed)
    db.session.flush()
    for doc in filed:
        audit.record(actor, ADD, "student", student.id, _summary(SECTIONS["documents"], doc))
    return filed


def edit_entry(row: Any, actor: User, data: dict[str, Any]) -> Any:
    """Correct the given fields of a row (a document's kind and note only); the audit row keeps old → new."""
    sect = SECTION_OF_MODEL[type(row)]
    student = row.student
    _check_edit(actor, student)
    values = clean(sect.code, {k: v for k, v in data.items() if k in {f.name for f in sect.fields}}, student, partial=True)
    changes = []
    with force_locale(EXPORT_LOCALE):  # the audit detail is read in the Chinese archive export
        for name, new in values.items():
            old = getattr(row, name)
            if old != new:
                f = sect.field(name)
                changes.append(f"{f.label}：{_shown(f, old)} → {_shown(f, new)}")
                setattr(row, name, new)
    if changes:
        db.session.flush()
        audit.record(actor, EDIT, "student", student.id, f"{labels.zh(sect.label)} #{row.id}：" + "；".join(changes))
    return row


def _summary(sect: Section, row: Any) -> str:
    """The audit detail of an addition: "<section name> #<id>：<first columns>" (Chinese, as the export reads it)."""
    with force_locale(EXPORT_LOCALE):
        shown = "，".join(t for t in (_text(c.get(row)) for c in sect.columns[:3]) if t)
    return f"{labels.zh(sect.label)} #{row.id}：{shown}"[:500]  # the section by its name (archive.history reads it back)


def _shown(f: Field, value: Any) -> str:
    """A value as a reader knows it: a code by its label."""
    return str(f.choices.get(value, value)) if f.choices else _text(value)


def entries(student: Student) -> dict[str, list[Any]]:
    """Every section's rows, in the section's order."""
    result = {}
    for code, sect in SECTIONS.items():
        order = [getattr(sect.model, name) for name in sect.order]
        result[code] = list(db.session.scalars(select(sect.model).where(sect.model.student_id == student.id).order_by(*order)))
    return result


# --- completeness (第八条: within one month of enrollment) ---------------------------------

MISSING_HUKOU, MISSING_GUARDIANS = "hukou_proof", "guardians"
MISSING_LABELS = {
    MISSING_HUKOU: _l("Hukou proof (evidence materials)"),
    MISSING_GUARDIANS: _l("Guardians"),
}


def missing_sections(student: Student) -> list[str]:
    """What keeps the archive from being complete, as codes of MISSING_LABELS (empty when complete).

    The rule (the minimum 第八条 asks of a new archive, to exist within one month of enrollment):

    - basic data: always present, a Student row cannot be saved without it;
    - at least one evidence document of kind 户籍证明 (`DOC_HUKOU`);
    - at least one guardian recorded.

    The other sections fill up during the school years and are not required for completeness.
    `incomplete_archive_filter()` is the same rule in SQL.
    """
    missing = []
    has_hukou = db.session.scalar(
        select(exists().where(ArchiveDocument.student_id == student.id, ArchiveDocument.kind == DOC_HUKOU))
    )
    if not has_hukou:
        missing.append(MISSING_HUKOU)
    if not student.guardians:
        missing.append(MISSING_GUARDIANS)
    return missing


def archive_is_complete(student: Student) -> bool:
    """True when the archive meets the rule of `missing_sections` (basic data, 户籍证明, guardians)."""
    return not missing_sections(student)


def incomplete_archive_filter() -> ColumnElement[bool]:
    """SQL condition on Student: the archive is incomplete (no 户籍证明 document, or no guardian).

    For reports, e.g. pupils enrolled more than a month ago whose archive is incomplete:
    `select(Student).where(scope_filter, Student.created_at < cutoff, incomplete_archive_filter())`.
    """
    has_hukou = exists().where(ArchiveDocument.student_id == Student.id, ArchiveDocument.kind == DOC_HUKOU)
    has_guardian = exists().where(Guardian.student_id == Student.id)
    return or_(not_(has_hukou), not_(has_guardian))


# --- export ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as printed (services/pdf.printable), always as text for the XLSX cells."""
    return str(pdf.printable(value))


def text_of(value: Any) -> str:
    """Public twin of `_text` for the screens."""
    return _text(value)


def _basic_rows(info: SimpleNamespace) -> list[tuple[str, Any]]:
    """The 学籍基础信息 as (label, value), labels of the national basic-information sheet."""
    return [
        ("全国学籍号", info.xjh), ("姓名", info.name), ("曾用名", info.former_name), ("性别", info.gender_label),
        ("出生日期", info.birth_date), ("出生地", info.birthplace), ("籍贯", info.native_place),
        ("民族", info.ethnicity_label), ("国籍/地区", info.nationality_label), ("港澳台侨外", info.overseas_label),
        ("身份证件类型", info.id_type_label), ("身份证件号", info.id_number), ("健康状况", info.health_label),
        ("户口性质", info.hukou_type_label), ("户口所在地", info.hukou_location), ("学校名称", info.school_name),
        ("年级", info.grade_label), ("班级", info.class_name), ("入学年月", info.enroll_month),
        ("入学方式", info.enroll_mode_label), ("就读方式", info.attendance_mode_label), ("联系电话", info.phone),
        ("现住址", info.current_address), ("家庭地址", info.home_address),
        ("是否独生子女", _yn(info.only_child)), ("是否受过学前教育", _yn(info.preschool)),
        ("是否留守儿童", info.left_behind_label), ("是否进城务工人员随迁子女", _yn(info.migrant_child)),
        ("是否孤儿", _yn(info.orphan)), ("残疾类型", info.disability_label),
    ]


def _yn(value: Any) -> str:
    return "" if value is None else ("是" if value else "否")




def history(student: Student) -> list[tuple[datetime, str, str, str, str, str]]:
    """(time, item, old, new, by, reason): the basic-data history and the archive's additions/corrections."""
    rows = [
        (h.changed_at, history_label(h.field), labels.history_value(h.field, h.old_value),
         labels.history_value(h.field, h.new_value), labels.person(h.changed_by), h.reason or "")
        for h in db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == student.id).order_by(StudentHistory.id))
    ]
    changed = db.session.execute(
        select(AuditLog, User).outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.object_type == "student", AuditLog.object_id == str(student.id), AuditLog.action.in_((ADD, EDIT)))
        .order_by(AuditLog.id)
    )
    action_labels = {ADD: str(_l("Archive entry added")), EDIT: str(_l("Archive entry corrected"))}
    section_labels = {code: str(s.label) for code, s in SECTIONS.items()}
    for a, user in changed:
        code, _, rest = (a.detail or "").partition(" ")
        rows.append((a.at, f"{action_labels[a.action]}：{section_labels.get(code, code)}", "", rest, labels.person(user), ""))
    rows.sort(key=lambda r: r[0] or datetime.min)
    return rows


def _extra(row: Any) -> list[Any]:
    """What the workbook adds to a row: who entered it and when; for a file, what makes it verifiable."""
    if isinstance(row, ArchiveDocument):
        return [row.content_type, row.size, row.sha256]
    return [_who(row), row.created_at]


def _tables(student: Student) -> list[SimpleNamespace]:
    """Every section as headers and rows of raw values (call inside force_locale)."""
    rows_by_section = entries(student)
    return [
        SimpleNamespace(code=code, title=str(sect.label), headers=[str(c.label) for c in sect.columns],
                        rows=[[c.get(r) for c in sect.columns] for r in rows_by_section[code]],
                        extra=[_extra(r) for r in rows_by_section[code]])
        for code, sect in SECTIONS.items()
    ]


def _put(ws: Any, values: Iterable[Any]) -> None:
    """Append a row; text is always text (a value starting with "=" never becomes a formula)."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # text stays text: "=…", "+…", "@…" are never formulas (issue 13)
        elif isinstance(cell.value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
        elif isinstance(cell.value, Decimal):
            cell.number_format = "0.00"


def _cell_text(value: Any) -> Any:
    return value if isinstance(value, (date, datetime)) else _text(value) if value is not None else None


def _sheet(wb: Workbook, title: str, headers: list[str], rows: Iterable[Iterable[Any]], widths: Iterable[int] = ()) -> None:
    ws = wb.create_sheet(title[:31])
    rows = [list(r) for r in rows]  # an archive is small: read it whole, to fit the columns when no widths are given
    widths = list(widths) or exports.column_widths(headers, [[_cell_text(v) for v in r] for r in rows])
    _put(ws, headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for row in rows:
        _put(ws, row)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def archive_xlsx(student: Student) -> bytes:
    """The whole archive as a workbook: basic data, guardians, one sheet per section, history."""
    info = student_context(student)
    wb = Workbook()
    wb.remove(wb.active)
    with force_locale(EXPORT_LOCALE):
        _sheet(wb, str(_l("Basic information")), ["项目", "内容"], _basic_rows(info), (24, 60))
        _sheet(
            wb, str(_l("Guardians")), ["关系", "姓名", "身份证件类型", "身份证件号", "联系电话", "工作单位"],
            ([codes.label("guardian_relation", g.relation), g.name, codes.label("id_type", g.id_type), g.id_number or "",
              g.phone or "", g.workplace or ""] for g in student.guardians),
            (10, 14, 16, 22, 16, 30),
        )
        entered = [str(_l("Entered by")), str(_l("Entered at"))]
        file_facts = [str(_l("Format")), str(_l("Size (bytes)")), "SHA-256"]
        for table in _tables(student):
            extra_headers = file_facts if table.code == "documents" else entered
            _sheet(wb, table.title, table.headers + extra_headers, (r + e for r, e in zip(table.rows, table.extra, strict=True)))
        _sheet(wb, str(_l("Change history")), ["时间", "项目", "原值", "新值", "经办人", "原因"], history(student),
               (18, 24, 30, 30, 20, 20))
    wb.properties.title = f"学籍档案 {student.xjh or student.id}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def archive_pdf(student: Student, doc: Any = None) -> bytes:
    """The whole archive as a PDF (templates/pdf/archive.html, embedded CJK font).

    `doc` (number, verify_code, printed_at, printed_by) fills the footer; without it the
    footer says the copy is not numbered.
    """
    with force_locale(EXPORT_LOCALE):
        tables = [
            SimpleNamespace(code=t.code, title=t.title, headers=t.headers, rows=[[_text(v) for v in r] for r in t.rows])
            for t in _tables(student)
        ]
        rows = [[_text(v) for v in r] for r in history(student)]
        missing = [str(MISSING_LABELS[m]) for m in missing_sections(student)]
    if doc is None:
        doc = SimpleNamespace(number="（未编号）", verify_code="—", printed_at=clock.now(), printed_by="")
    return pdf.render_pdf("archive.html", student=student_context(student), tables=tables, history=rows,
                          missing=missing, doc=doc)


def _numbered(student: Student, actor: User | None, scope_path: str, printed_by_id: int) -> PrintedDocument:
    """A PrintedDocument for an archive PDF: numbered DA<year><id>, with a verification code."""
    return numbered_document("archive", PDF_PREFIX, scope_path, printed_by_id, student=student)


def _footer(doc: PrintedDocument, printed_by: str) -> SimpleNamespace:
    return SimpleNamespace(number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at, printed_by=printed_by)


def export_xlsx(student: Student, actor: User) -> bytes:
    """The archive workbook for a user in scope; audited as an export (第二十八条)."""
    if not can_read(actor, student):
        raise NotInScope()
    data = archive_xlsx(student)
    audit.record(actor, "export", "student", student.id, "学籍档案 Excel")
    return data


def export_pdf(student: Student, actor: User) -> tuple[bytes, PrintedDocument]:
    """The numbered archive PDF for a user in scope; audited as an export."""
    if not can_read(actor, student):
        raise NotInScope()
    doc = _numbered(student, actor, actor.unit.path, actor.id)
    data = archive_pdf(student, _footer(doc, labels.person(actor)))
    audit.record(actor, "export", "student", student.id, f"学籍档案 PDF {doc.number}")
    return data, doc


# --- 第十条: the sending school's backup ----------------------------------------------------


def backup_on_leaving(req: ChangeRequest, actor: User | None = None, reason: str | None = None) -> ArchiveBackup:
    """Export the archive (PDF + XLSX) for the school the record is leaving, and keep it in its scope.

    Call before the student's school changes: the backup records that school and its path.
    """
    student = req.student
    school = student.school
    printer = actor or req.requested_by
    doc = _numbered(student, actor, school.path, printer.id)
    pdf_data = archive_pdf(student, _footer(doc, labels.person(printer)))
    xlsx_data = archive_xlsx(student)
    backup = ArchiveBackup(
        student_id=student.id, from_school_id=school.id, request_id=req.id,
        reason=(reason or str(_l("Transfer #%(id)s to %(school)s", id=req.id,
                                 school=req.to_school.name if req.to_school else (req.external_school or ""))))[:200],
        pdf_sha256=uploads.store(pdf_data), xlsx_sha256=uploads.store(xlsx_data),
        created_at=clock.now(), scope_path=school.path,
    )
    db.session.add(backup)
    db.session.flush()
    audit.record(actor, "archive.backup", "student", student.id, f"备份 #{backup.id} {doc.number}（变动申请 #{req.id}）")
    return backup


def backups_filter(actor: User) -> ColumnElement[bool]:
    """The backups a user may list: those kept by a school in their subtree."""
    return scope.filter_for(actor, ArchiveBackup.scope_path)


def load_backup(actor: User, backup_id: int) -> ArchiveBackup:
    return scope.load_scoped(actor, ArchiveBackup, backup_id)


@dataclass(frozen=True)
class BackupFile:
    path: Path
    mimetype: str
    download_name: str


def backup_file(actor: User, backup_id: int, fmt: str) -> BackupFile:
    """One file of a backup for download (pdf or xlsx), audited."""
    backup = load_backup(actor, backup_id)
    if fmt not in ("pdf", "xlsx"):
        raise NotInScope()
    digest = backup.pdf_sha256 if fmt == "pdf" else backup.xlsx_sha256
    mimetype = "application/pdf" if fmt == "pdf" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    audit.record(actor, "archive.backup.view", "archive_backup", backup.id, f"档案备份 {fmt.upper()}")
    name = f"学籍档案备份_{backup.student.xjh or backup.student_id}_{backup.created_at:%Y%m%d}.{fmt}"
    return BackupFile(uploads.path_of(digest), mimetype, name)


# 第十二条: an approved request's evidence is filed into the pupil's archive by the engine, after the effect.
AFTER_EFFECT.append(file_request_materials)
