"""Printed documents (学生基本信息表, 转学联系表, …): each numbered, with a verification code,
and audited before it leaves the system (第二十八条)."""

from __future__ import annotations

import secrets
import uuid
from types import SimpleNamespace
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from extensions import db
from models.changes import ChangeRequest, PrintedDocument
from models.student import Student
from services import audit, codes, pdf, scope
from services.clock import now
from services.errors import NotInScope, RuleViolation
from services.ids import division_name

if TYPE_CHECKING:
    from models.people import User

KINDS = {
    "student_info": ("XX", "student_info.html", _l("Basic information sheet")),
    "transfer_contact": ("ZX", "transfer_contact.html", _l("Transfer contact form")),
}
VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def can_print_student(actor: User, student: Student) -> bool:
    """The full basic-information sheet is printed by the school holding the record (第十四条) or above it."""
    return scope.covers(actor, student.scope_path)


def new_document(kind: str, actor: User, scope_path: str, student: Student | None = None,
                 request: ChangeRequest | None = None) -> PrintedDocument:
    prefix = KINDS[kind][0]
    doc = PrintedDocument(
        kind=kind, number=f"TMP-{uuid.uuid4().hex}", verify_code="".join(secrets.choice(VERIFY_ALPHABET) for _ in range(10)),
        student_id=student.id if student else None, request_id=request.id if request else None,
        scope_path=scope_path, printed_by_id=actor.id, printed_at=now(),
    )
    db.session.add(doc)
    db.session.flush()
    doc.number = f"{prefix}{doc.printed_at:%Y}{doc.id:07d}"
    db.session.flush()
    audit.record(actor, "print", "printed_document", doc.id, f"{kind} {doc.number}")
    return doc


def _place(code: str | None) -> str:
    """A division code printed as its name (辽宁省和平区), keeping the code when it is unknown."""
    return (division_name(code) or code or "") if code else ""


def student_context(student: Student) -> SimpleNamespace:
    label = codes.label
    return SimpleNamespace(
        xjh=student.xjh, name=student.name, former_name=student.former_name or "", gender_label=label("gender", student.gender),
        birth_date=student.birth_date, birthplace=_place(student.birthplace), native_place=student.native_place or "",
        ethnicity_label=label("ethnicity", student.ethnicity), nationality_label=label("nationality", student.nationality),
        id_type_label=label("id_type", student.id_type), id_number=student.id_number or "",
        overseas_label=label("overseas", student.overseas), health_label=label("health", student.health),
        hukou_location=_place(student.hukou_location), hukou_type_label=label("hukou_type", student.hukou_type),
        grade_label=label("grade", str(student.grade)), class_name=student.class_name or "", enroll_month=student.enroll_month or "",
        enroll_mode_label=label("enroll_mode", student.enroll_mode),
        attendance_mode_label=label("attendance_mode", student.attendance_mode),
        current_address=student.current_address or "", home_address=student.home_address or "", phone=student.phone or "",
        only_child=student.only_child, preschool=student.preschool, left_behind_label=label("left_behind", student.left_behind),
        migrant_child=student.migrant_child, orphan=student.orphan, disability_label=label("disability", student.disability),
        school_name=student.school.name,
        guardians=[
            SimpleNamespace(relation_label=label("guardian_relation", g.relation), name=g.name, id_type_label=label("id_type", g.id_type),
                            id_number=g.id_number or "", phone=g.phone or "", workplace=g.workplace or "")
            for g in student.guardians
        ],
    )


def request_context(req: ChangeRequest) -> SimpleNamespace:
    from admin.changes import DECISION_LABELS, ROLE_LABELS  # labels live with the screens
    from services.transfer import REASONS

    return SimpleNamespace(
        from_school_name=req.from_school.name if req.from_school else (req.external_school or ""),
        to_school_name=req.to_school.name if req.to_school else (req.external_school or ""),
        reason_label=str(REASONS.get(req.reason_code or "", "")), reason_text=req.reason_text or "", created_at=req.created_at,
        steps=[
            SimpleNamespace(role=s.role, role_label=str(ROLE_LABELS.get(s.role, s.role)), unit_name=s.unit.name,
                            decision_label=str(DECISION_LABELS.get(s.decision or "", "")),
                            decided_by=s.decided_by.name if s.decided_by else "", decided_at=s.decided_at, comment=s.comment or "")
            for s in req.steps
        ],
    )


def print_for_request(req: ChangeRequest, kind: str, actor: User) -> tuple[bytes, PrintedDocument]:
    if kind not in KINDS:
        raise NotInScope()
    student = req.student
    if kind == "student_info" and not can_print_student(actor, student):
        raise RuleViolation(str(_l("The basic information sheet is printed by the school that holds the record.")))
    doc = new_document(kind, actor, actor.unit.path, student=student, request=req)
    context = {"student": student_context(student), "doc": SimpleNamespace(
        number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at, printed_by=actor.name or actor.email)}
    if kind == "transfer_contact":
        context["request"] = request_context(req)
    return pdf.render_pdf(KINDS[kind][1], **context), doc
