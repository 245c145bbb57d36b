"""班级名册: the pupils of one class (name, gender, 学籍号, status) with its head teacher, printed
(PDF, numbered and audited like the registers, 第二十八条) and exported (XLSX). The callers have
passed the export gate (kind `class_roster`, services/export_gate.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING

from extensions import db
from models.changes import PrintedDocument
from models.school_class import SchoolClass
from models.student import Student
from services import audit, classes, codes, exports, pdf
from services.documents import numbered_document

if TYPE_CHECKING:
    from models.people import User

TITLE = "班级名册"
PREFIX = "BJ"  # of the printed document's number, like the registers' HM/ZJ/BY


def title_of(school_class: SchoolClass) -> str:
    """ "和平一小 2026—2027学年 三年级 2班" for the file name, the audit log and the export register."""
    return (
        f"{school_class.school.name} {classes.year_label(school_class.school_year)} "
        f"{codes.label('grade', str(school_class.grade))} {school_class.name}"
    )


def _row(index: int, s: Student) -> SimpleNamespace:
    return SimpleNamespace(
        index=index, name=s.name, gender=codes.label("gender", s.gender), xjh=s.xjh or "", status=codes.label("student_status", s.status)
    )


def render_pdf(school_class: SchoolClass, actor: User) -> tuple[bytes, PrintedDocument]:
    doc = numbered_document("roster_class", PREFIX, school_class.scope_path, actor.id, year=school_class.school_year)
    audit.record(actor, "print", "printed_document", doc.id, f"{TITLE} {doc.number}（{title_of(school_class)}）")
    head = SimpleNamespace(
        title=TITLE,
        school=school_class.school.name,
        school_code=school_class.school.code,
        year_label=classes.year_label(school_class.school_year),
        grade=codes.label("grade", str(school_class.grade)),
        class_name=school_class.name,
        head_teacher=school_class.head_teacher or "",
        phone=school_class.head_teacher_phone or "",
    )
    pupils = [_row(i, s) for i, s in enumerate(classes.roster(school_class), start=1)]
    body = pdf.render_pdf(
        "class_roster.html",
        head=head,
        pupils=pupils,
        doc=SimpleNamespace(number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at),
    )
    return body, doc


COLUMNS: list[exports.ExportColumn] = [
    ("序号", lambda r: r[0]),
    ("姓名", lambda r: r[1].name),
    ("性别", lambda r: codes.label("gender", r[1].gender)),
    ("全国学籍号", lambda r: r[1].xjh),
    ("学籍状态", lambda r: codes.label("student_status", r[1].status)),
]


def xlsx(school_class: SchoolClass, actor: User) -> Iterator[bytes]:
    """The roster as an XLSX, audited (the audit row is committed before the stream starts)."""
    audit.record(actor, "export", "school_class", school_class.id, f"{TITLE} Excel（{title_of(school_class)}）")
    rows = list(enumerate(classes.roster(school_class), start=1))
    db.session.commit()
    return exports.workbook_stream([(f"{school_class.name}", COLUMNS, rows)])


def filename(school_class: SchoolClass, ext: str) -> str:
    return f"{TITLE}_{title_of(school_class).replace(' ', '_')}.{ext}"
