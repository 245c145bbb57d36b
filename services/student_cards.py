"""学生学籍卡 (issue 16, point 2): the pupil's record card as a printed, numbered, verifiable PDF.

The card follows the national 学生学籍卡: basic information with the photo, family members and
guardians, 学籍 changes, rewards and penalties, and the annual assessment. Each card is a
`PrintedDocument` of kind `student_card`, numbered XK<year><id> like every PDF that leaves
(services/documents.numbered_document), with a 16-character verification code of the certificates'
alphabet, so that the public /verify page and the card's QR code resolve it. The QR carries only
the public URL of the code; the public answer is the masked name, the school, the kind and the
number (never the ID number).

What the card shows of the sensitive groups (services/export_gate.py) is what the gate approved:
the ID numbers in full only with the ID-number group (masked otherwise, and a G-学籍号 with them),
the addresses only with the address group, the guardians' phones and ID numbers only with the
guardian group, the health status only with the health group. A card printed without approval
says where something is withheld.

There is no penalty (处分) record in the system: the rewards section is titled 奖励与处分 and lists
the rewards (Award rows) of the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from extensions import db
from models.archive import Award, GradeRecord, QualityReport
from models.audit import StudentHistory
from models.changes import COMPLETED, REJECTED, ChangeRequest, PrintedDocument
from models.org import PROVINCE, OrgUnit
from models.people import User
from models.student import Student
from services import audit, codes, export_gate, labels, pdf, pdf_rare, photos, scope, workflows
from services.archive import AWARD_LEVEL_LABELS, TERM_LABELS
from services.certificates import verification
from services.certificates.numbering import division_of
from services.documents import numbered_document
from services.errors import NotInScope
from services.ids import division_name, mask_id, mask_xjh
from services.labels import history_label, zh

KIND = "student_card"
PREFIX = "XK"  # 学籍卡: numbers of printed cards, like XX/ZX/DA (services/documents.py, services/archive.py)
TITLE = "学生学籍卡"
TEMPLATE = "student_card.html"
WITHHELD = "（须经导出审批）"  # what a card shows of a sensitive group the gate did not approve
DECIDED = (COMPLETED, REJECTED)
DECISION_CN = {COMPLETED: "已办结", REJECTED: "未批准"}
#: History rows of these fields belong to a sensitive group: their values print only with it.
HISTORY_GROUPS = {
    "id_number": export_gate.ID_NUMBER,
    "current_address": export_gate.ADDRESS,
    "home_address": export_gate.ADDRESS,
    "health": export_gate.HEALTH,
    "disability": export_gate.HEALTH,
}


@dataclass(frozen=True)
class CardDoc:
    """The printed document's facts the card prints: number, code, QR of the public check."""

    number: str
    verify_code: str
    printed_at: datetime
    printed_by: str
    verify_url: str
    qr: str  # data:image/png URI

    @property
    def code_words(self) -> str:
        return verification.code_words(self.verify_code)


# --- who and which ---------------------------------------------------------------------------------


def load_student(actor: User, student_id: int) -> Student:
    """The pupil within the actor's scope (NotInScope → 404 otherwise)."""
    student: Student = scope.load_scoped(actor, Student, student_id)
    return student


def scoped_students(actor: User, student_ids: Iterable[int]) -> list[Student]:
    """These pupils within the actor's scope, in class and name order (others are left out)."""
    ids = sorted({int(i) for i in student_ids})
    if not ids:
        return []
    rows = db.session.scalars(select(Student).where(Student.id.in_(ids), scope.filter_for(actor, Student.scope_path))).all()
    return sorted(rows, key=lambda s: (s.grade, s.class_name or "", s.name, s.id))


def class_students(school: OrgUnit, grade: int, class_name: str) -> list[Student]:
    """The pupils of one class of a school (Student.class_name), in name order."""
    return list(
        db.session.scalars(
            select(Student)
            .where(Student.school_id == school.id, Student.grade == grade, Student.class_name == class_name)
            .order_by(Student.name, Student.id)
        )
    )


# --- numbering and verification ---------------------------------------------------------------------


def number_card(actor: User, student: Student, site: str, *, new_code: Any = None) -> CardDoc:
    """A PrintedDocument for one card, its 16-character code (the public check's format) and its QR."""
    doc = numbered_document(KIND, PREFIX, actor.unit.path, actor.id, student=student)
    doc.verify_code = (new_code or verification.new_code)()
    db.session.flush()
    return card_doc(doc.number, doc.verify_code, doc.printed_at, labels.person(actor), site)


def card_doc(number: str, verify_code: str, printed_at: datetime, printed_by: str, site: str) -> CardDoc:
    url = verification.verify_url(verify_code, site)
    return CardDoc(
        number=number,
        verify_code=verify_code,
        printed_at=printed_at,
        printed_by=printed_by,
        verify_url=url,
        qr=verification.qr_data_uri(url),
    )


def lookup_card(raw_code: str | None) -> PrintedDocument | None:
    """The printed card of a typed or scanned code, or None (a certificate's code is not a card's).

    A found card's check is audited; an unknown code is audited by the certificates' lookup,
    which the public page asks next."""
    code = verification.normalize_code(raw_code)
    if code is None:
        return None
    doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.verify_code == code, PrintedDocument.kind == KIND))
    if doc is not None:
        audit.record(None, "student_card.verify", "printed_document", doc.id, doc.number)
        db.session.commit()
    return doc


def public_facts(doc: PrintedDocument) -> SimpleNamespace:
    """What the public check shows of a card: the masked name, the school, the kind, the number, the day."""
    student = db.session.get(Student, doc.student_id) if doc.student_id else None
    return SimpleNamespace(
        masked_name=verification.mask_name(student.name) if student else "",
        school_name=student.school.name if student else "",
        title=TITLE,
        number=doc.number,
        printed_on=doc.printed_at.date(),
    )


# --- the card's content ------------------------------------------------------------------------------


def province_of(unit: OrgUnit) -> str:
    node: OrgUnit | None = unit
    while node is not None and node.level != PROVINCE:
        node = node.parent
    return division_of(node) if node is not None else ""  # 辽宁省教育厅 → 辽宁省


def _place(code: str | None) -> str:
    return (division_name(code) or code or "") if code else ""


def _yn(value: Any) -> str:
    return "" if value is None else ("是" if value else "否")


def _basic(student: Student, groups: frozenset[str]) -> SimpleNamespace:
    label = codes.label
    full_id = export_gate.ID_NUMBER in groups
    address = export_gate.ADDRESS in groups
    health = export_gate.HEALTH in groups
    return SimpleNamespace(
        xjh=(student.xjh if full_id else mask_xjh(student.xjh)) or "",
        name=student.name,
        former_name=student.former_name or "",
        gender=label("gender", student.gender),
        birth_date=student.birth_date,
        birthplace=_place(student.birthplace),
        native_place=student.native_place or "",
        ethnicity=label("ethnicity", student.ethnicity),
        nationality=label("nationality", student.nationality),
        id_type=label("id_type", student.id_type),
        id_number=(student.id_number if full_id else mask_id(student.id_number)) or "",
        overseas=label("overseas", student.overseas),
        health=label("health", student.health) if health else WITHHELD,
        disability=label("disability", student.disability) if health else WITHHELD,
        hukou_location=_place(student.hukou_location),
        hukou_type=label("hukou_type", student.hukou_type),
        grade=label("grade", str(student.grade)),
        class_name=student.class_name or "",
        enroll_month=student.enroll_month or "",
        enroll_mode=label("enroll_mode", student.enroll_mode),
        attendance_mode=label("attendance_mode", student.attendance_mode),
        current_address=(student.current_address or "") if address else WITHHELD,
        home_address=(student.home_address or "") if address else WITHHELD,
        phone=student.phone or "",
        only_child=_yn(student.only_child),
        preschool=_yn(student.preschool),
        left_behind=label("left_behind", student.left_behind),
        migrant_child=_yn(student.migrant_child),
        orphan=_yn(student.orphan),
        status=label("student_status", student.status),
    )


def _guardians(student: Student, groups: frozenset[str]) -> list[SimpleNamespace]:
    shown = export_gate.GUARDIAN in groups
    full_id = shown and export_gate.ID_NUMBER in groups
    return [
        SimpleNamespace(
            relation=codes.label("guardian_relation", g.relation),
            name=g.name,
            id_type=codes.label("id_type", g.id_type),
            id_number=(g.id_number if full_id else mask_id(g.id_number)) if shown else WITHHELD,
            phone=(g.phone or "") if shown else WITHHELD,
            workplace=g.workplace or "",
        )
        for g in student.guardians
    ]


def _requests(student: Student) -> list[SimpleNamespace]:
    """学籍变动: the pupil's decided change requests (completed or refused), oldest first."""
    rows = db.session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.student_id == student.id, ChangeRequest.status.in_(DECIDED))
        .order_by(ChangeRequest.created_at, ChangeRequest.id)
    )
    out = []
    for req in rows:
        ctype = workflows.TYPES.get(req.type)
        from_name = req.from_school.name if req.from_school else ""
        to_name = req.to_school.name if req.to_school else (req.external_school or "")
        schools = f"{from_name} → {to_name}" if from_name and to_name and from_name != to_name else (from_name or to_name)
        out.append(
            SimpleNamespace(
                type=zh(ctype.label) if ctype else req.type,
                filed_on=req.created_at.date() if req.created_at else None,
                decided_on=req.finished_at.date() if req.finished_at else None,
                decision=DECISION_CN.get(req.status, req.status),
                schools=schools,
                reason=req.reason_text or "",
            )
        )
    return out


def _history(student: Student, groups: frozenset[str]) -> list[SimpleNamespace]:
    """The record's changed items (StudentHistory), with the values of a sensitive group withheld unless approved."""
    out = []
    for h in db.session.scalars(
        select(StudentHistory).where(StudentHistory.student_id == student.id).order_by(StudentHistory.changed_at, StudentHistory.id)
    ):
        attr = h.field.split(".", 1)[1] if h.field.startswith("guardian") and "." in h.field else None
        group = export_gate.GUARDIAN if attr is not None else HISTORY_GROUPS.get(h.field)
        old, new = labels.history_value(h.field, h.old_value), labels.history_value(h.field, h.new_value)
        if group is not None and group not in groups:
            old, new = (WITHHELD if old else ""), (WITHHELD if new else "")
        elif h.field in ("xjh", "_created") and export_gate.ID_NUMBER not in groups:  # a G-number holds the ID number
            old, new = mask_xjh(old), mask_xjh(new)
        elif h.field == "id_number" or attr == "id_number":
            full = export_gate.ID_NUMBER in groups
            old, new = (old if full else mask_id(old)), (new if full else mask_id(new))
        if h.field == photos.HISTORY_FIELD:
            old, new = ("已上传" if old else ""), "已更新"  # a file's name says nothing on paper
        out.append(
            SimpleNamespace(
                day=h.changed_at.date() if h.changed_at else None, item=zh(history_label(h.field)), old=old, new=new, reason=h.reason or ""
            )
        )
    return out


def _awards(student: Student) -> list[SimpleNamespace]:
    rows = db.session.scalars(select(Award).where(Award.student_id == student.id).order_by(Award.date, Award.id))
    return [
        SimpleNamespace(day=a.date, name=a.name, level=zh(AWARD_LEVEL_LABELS.get(a.level, a.level)), issuer=a.issuer or "") for a in rows
    ]


def _assessments(student: Student) -> list[SimpleNamespace]:
    """年度评价: per school year and term, the quality report and the subjects' results."""
    terms: dict[tuple[str, int], SimpleNamespace] = {}

    def term(year: str, number: int) -> SimpleNamespace:
        key = (year, number)
        if key not in terms:
            terms[key] = SimpleNamespace(
                school_year=year,
                term=zh(TERM_LABELS.get(number, number)),
                academic_tests="",
                sports_arts="",
                community_service="",
                grades=[],
            )
        return terms[key]

    for q in db.session.scalars(select(QualityReport).where(QualityReport.student_id == student.id).order_by(QualityReport.id)):
        t = term(q.school_year, q.term)
        t.academic_tests, t.sports_arts, t.community_service = q.academic_tests or "", q.sports_arts or "", q.community_service or ""
    for r in db.session.scalars(select(GradeRecord).where(GradeRecord.student_id == student.id).order_by(GradeRecord.id)):
        term(r.school_year, r.term).grades.append(
            "".join((r.subject, f" {r.score}" if r.score else "", f"（{r.evaluation}）" if r.evaluation else ""))
        )
    for t in terms.values():
        t.grades = "；".join(t.grades)
    return [terms[k] for k in sorted(terms)]


def card_context(student: Student, groups: Iterable[str], doc: CardDoc, photo: bytes | None) -> SimpleNamespace:
    """Everything one card prints (call with the photo's JPEG, or None for the empty 照片 frame)."""
    shown = frozenset(groups)
    school = student.school
    return SimpleNamespace(
        province=province_of(school),
        school_name=school.name,
        school_code=school.code,
        basic=_basic(student, shown),
        guardians=_guardians(student, shown),
        requests=_requests(student),
        history=_history(student, shown),
        awards=_awards(student),
        assessments=_assessments(student),
        photo=photos.data_uri(photo),
        doc=doc,
        withheld=[export_gate.GROUP_LABELS[g] for g in sorted(export_gate.ALL_GROUPS - shown)],
    )


def render_cards(cards: Sequence[SimpleNamespace]) -> bytes:
    """The cards as one PDF, each starting on a new A4 page."""
    return pdf.render_pdf(TEMPLATE, cards=cards, rare=pdf_rare.rare)


def print_card(actor: User, student: Student, groups: Iterable[str], site: str) -> tuple[bytes, CardDoc]:
    """One pupil's numbered card for a user in scope (NotInScope otherwise); audited as a print."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    doc = number_card(actor, student, site)
    shown = frozenset(groups)
    data = render_cards([card_context(student, shown, doc, photos.photo_bytes(student.id))])
    audit.record(actor, "print", "student", student.id, f"{TITLE} {doc.number}{_groups_note(shown)}")
    return data, doc


def _groups_note(groups: frozenset[str]) -> str:
    shown = "、".join(export_gate.GROUP_LABELS[g] for g in sorted(groups) if g in export_gate.GROUP_LABELS)
    return f"（含{shown}）" if shown else ""


def print_cards(actor: User, students: Sequence[Student], groups: Iterable[str], site: str) -> tuple[bytes, list[CardDoc]]:
    """Several pupils' numbered cards as one PDF, in one xhtml2pdf run (callers chunk big batches)."""
    shown = frozenset(groups)
    pictures = photos.current_by_student([s.id for s in students])
    docs, cards = [], []
    for student in students:
        if not scope.covers(actor, student.scope_path):
            raise NotInScope()
        doc = number_card(actor, student, site)
        docs.append(doc)
        cards.append(card_context(student, shown, doc, photos.read_bytes(pictures.get(student.id))))
    return render_cards(cards), docs
