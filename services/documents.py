"""Printed documents (学生基本信息表, 转学联系表, 休学复学申请表, 出国（出境）申请表, 辍学情况报告): each numbered,
with a verification code, and audited before it leaves the system (第二十八条).

The transfer contact form, the application forms and the dropout report are printed only for
requests of the types that name them (ChangeType.printable_forms, declared in changes/<type>.py):
any other combination is refused like an unknown kind, with a 404.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.changes import COMPLETED, ApprovalStep, ChangeRequest, PrintedDocument
from models.status import CONTACT_DROPOUT, ILLNESS, OTHER, Absence, FamilyContact, Suspension
from models.student import Student
from services import audit, clock, codes, labels, pdf, scope, workflows
from services.change_codes import ABROAD, ABROAD_RETURN, RESUMPTION, SUSPENSION, SUSPENSION_EXTENSION
from services.errors import NotInScope, RuleViolation
from services.hukou import HUKOU_OTHER_COUNTY, county_authority, dropout_authorities, hukou_place
from services.ids import division_name
from services.labels import DECISION_LABELS, STEP_ROLE_LABELS, TRANSFER_REASONS, zh
from services.terms import one_year_after
from services.workflows import payload_date

if TYPE_CHECKING:
    from models.people import User

KINDS = {
    "student_info": ("XX", "student_info.html", _l("Basic information sheet")),
    "transfer_contact": ("ZX", "transfer_contact.html", _l("Transfer contact form")),
    "suspension_form": ("XF", "suspension_form.html", _l("Suspension and resumption application form")),
    "abroad_form": ("CG", "abroad_form.html", _l("Application form for going abroad")),
    "dropout_report": ("CX", "dropout_report.html", _l("Dropout report to the township government")),
}
#: The forms printed only from a request of a type that names them (ChangeType.printable_forms);
#: the basic information sheet is printed for any pupil.
APPLICATION_FORMS = ("transfer_contact", "suspension_form", "abroad_form", "dropout_report")
VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def can_print_student(actor: User, student: Student) -> bool:
    """The full basic-information sheet is printed by the school holding the record (第十四条) or above it."""
    return scope.covers(actor, student.scope_path)


def print_student_refusal(actor: User, student: Student | None) -> str | None:
    """Why the actor may not print the pupil's basic-information sheet; None when they may."""
    if student is None or not can_print_student(actor, student):
        return str(_l("The basic information sheet is printed by the school that holds the record."))
    return None


def numbered_document(kind: str, prefix: str, scope_path: str, printed_by_id: int, *, student: Student | None = None,
                      request: ChangeRequest | None = None, year: int | None = None) -> PrintedDocument:
    """The record of one printed PDF (forms, archive exports, rosters): number <prefix><year><id>
    and a random verification code, printed on the page. The caller audits the print. `year`: the
    year the document is about (a graduation roster: the graduating year), else the year printed."""
    doc = PrintedDocument(
        kind=kind, number=f"TMP-{uuid.uuid4().hex}", verify_code="".join(secrets.choice(VERIFY_ALPHABET) for _ in range(10)),
        student_id=student.id if student else None, request_id=request.id if request else None,
        scope_path=scope_path, printed_by_id=printed_by_id, printed_at=clock.now(),
    )
    db.session.add(doc)
    db.session.flush()
    doc.number = f"{prefix}{year or doc.printed_at.year:04d}{doc.id:07d}"  # unique by the id whatever the year
    db.session.flush()
    return doc


def new_document(kind: str, actor: User, scope_path: str, student: Student | None = None,
                 request: ChangeRequest | None = None) -> PrintedDocument:
    doc = numbered_document(kind, KINDS[kind][0], scope_path, actor.id, student=student, request=request)
    audit.record(actor, "print", "printed_document", doc.id, f"{zh(KINDS[kind][2])} {doc.number}")
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
    return SimpleNamespace(
        from_school_name=req.from_school.name if req.from_school else (req.external_school or ""),
        to_school_name=req.to_school.name if req.to_school else (req.external_school or ""),
        reason_label=str(TRANSFER_REASONS.get(req.reason_code or "", "")), reason_text=req.reason_text or "", created_at=req.created_at,
        steps=[
            SimpleNamespace(role=s.role, role_label=str(STEP_ROLE_LABELS.get(s.role, s.role)), unit_name=s.unit.name,
                            decision_label=str(DECISION_LABELS.get(s.decision or "", "")),
                            decided_by=s.decided_by.name if s.decided_by else "", decided_at=s.decided_at, comment=s.comment or "")
            for s in req.steps
        ],
    )


# --- 休学复学申请表 and 出国（出境）申请表 -----------------------------------------------------
# The forms are Chinese by law: their fixed wording lives here and in the templates, not in
# the translations.

DECISIONS_CN = {"approved": "同意", "rejected": "不同意"}
REASON_KINDS_CN = {ILLNESS: "疾病", OTHER: "其他特殊原因"}
#: Keys as in services.labels.TRAVEL_DOCUMENTS, in the same order.
TRAVEL_DOCUMENTS_CN = {"passport": "护照", "hk_macao_pass": "往来港澳通行证", "taiwan_pass": "往来台湾通行证", "visa": "签证"}
#: The opinion blocks of the forms: (heading, ApprovalStep.role).
SUSPENSION_OPINIONS = (("学校意见", "school"), ("主管教育行政部门意见", "authority"))
ABROAD_OPINIONS = (("学校意见", "school"),)


def request_forms(req: ChangeRequest) -> list[tuple[str, str]]:
    """(kind, label) of the application forms printed for this request's type."""
    return [(kind, str(KINDS[kind][2])) for kind in workflows.TYPES[req.type].printable_forms]


def _grade(value: Any) -> str:
    return codes.label("grade", str(value)) if value not in (None, "") else ""


def _year_ending(last_day: date) -> date:
    """The first day of the school year whose last day is `last_day` (terms.one_year_after backwards)."""
    first = last_day + timedelta(days=1)
    try:
        return first.replace(year=first.year - 1)
    except ValueError:  # 29 Feb
        return date(first.year - 1, 3, 1)


def _opinions(req: ChangeRequest, blocks: tuple[tuple[str, str], ...]) -> list[tuple[str, SimpleNamespace | None]]:
    """(heading, decided step or None) per block; a resubmitted request's latest step of a role wins.
    A step not decided yet prints as an empty block, to be filled in by hand."""
    latest: dict[str, ApprovalStep] = {}
    for step in req.steps:
        latest[step.role] = step
    out: list[tuple[str, SimpleNamespace | None]] = []
    for heading, role in blocks:
        step = latest.get(role)
        if step is None or step.decision is None:
            out.append((heading, None))
            continue
        out.append((heading, SimpleNamespace(
            unit_name=step.unit.name, decision_label=DECISIONS_CN.get(step.decision, step.decision), comment=step.comment or "",
            decided_by=step.decided_by.name if step.decided_by else "", decided_at=step.decided_at,
            forced_by=step.forced_by_unit.name if step.forced_by_unit else "",
        )))
    return out


def _application(req: ChangeRequest) -> dict[str, Any]:
    """What both application forms print about the request itself."""
    student = req.student
    guardian = student.guardians[0] if student.guardians else None
    return {
        "kind": req.type, "created_at": req.created_at,
        "school_name": req.from_school.name if req.from_school else student.school.name,
        "grade_label": _grade(req.grade_at_request if req.grade_at_request is not None else student.grade),
        "class_name": student.class_name or "",
        "guardian_name": guardian.name if guardian else "",
        "guardian_relation": codes.label("guardian_relation", guardian.relation) if guardian else "",
        "guardian_phone": (guardian.phone if guardian else None) or student.phone or "",
    }


def _episode_before(req: ChangeRequest) -> Suspension | None:
    """The suspension an extension or a resumption is about: the pupil's latest one opened before it."""
    return db.session.scalar(
        select(Suspension).where(Suspension.student_id == req.student_id, Suspension.request_id < req.id)
        .order_by(Suspension.id.desc()).limit(1)
    )


def suspension_context(req: ChangeRequest) -> SimpleNamespace:
    """The 休学复学申请表 of a suspension, an extension or a resumption.

    A suspension prints its own reason and term. An extension and a resumption print the
    suspension they are about (reason, term, the extension's year) from its Suspension row;
    a pending extension shows the year it asks for.
    """
    payload = req.payload or {}
    episode = None if req.type == SUSPENSION else _episode_before(req)
    ctx = SimpleNamespace(**_application(req), reason_kind=None, reason_text="", starts_on=None, ends_on=None,
                          extension_starts_on=None, extension_ends_on=None, extension_reason="", left_grade_label="",
                          resume_grade_label="", grade_reason="", resume_reason="", resumed_on=None,
                          opinions=_opinions(req, SUSPENSION_OPINIONS))
    if req.type == SUSPENSION:
        ctx.reason_kind, ctx.reason_text = payload.get("reason_kind"), req.reason_text or ""
        ctx.starts_on, ctx.ends_on = payload_date(payload, "starts_on"), payload_date(payload, "ends_on")
    elif episode is not None:
        ctx.reason_kind, ctx.reason_text = episode.reason_kind, episode.request.reason_text or ""
        ctx.starts_on, ctx.ends_on = episode.starts_on, episode.ends_on
        if episode.extensions:  # ends_on already includes the extension's year
            ctx.extension_ends_on = episode.ends_on
            ctx.extension_starts_on = _year_ending(episode.ends_on)
            ctx.ends_on = ctx.extension_starts_on - timedelta(days=1)
        elif req.type == SUSPENSION_EXTENSION:
            ctx.extension_starts_on = episode.ends_on + timedelta(days=1)
            ctx.extension_ends_on = one_year_after(ctx.extension_starts_on)
    if req.type == SUSPENSION_EXTENSION:
        ctx.extension_reason = req.reason_text or ""
    if req.type == RESUMPTION:
        ctx.left_grade_label = _grade(episode.grade) if episode is not None else ""
        ctx.resume_grade_label = _grade(payload.get("grade"))
        ctx.grade_reason, ctx.resume_reason = payload.get("grade_reason") or "", req.reason_text or ""
        if episode is not None and episode.ended_by_request_id == req.id:
            ctx.resumed_on = episode.ended_on
    return ctx


def abroad_context(req: ChangeRequest) -> SimpleNamespace:
    """The 出国（出境）申请表 of a departure or of a return (出国复学), which prints the departure
    it ends: the pupil's latest completed 出国 request before it."""
    going: ChangeRequest | None = req
    if req.type == ABROAD_RETURN:
        going = db.session.scalar(
            select(ChangeRequest).where(ChangeRequest.student_id == req.student_id, ChangeRequest.type == ABROAD,
                                        ChangeRequest.status == COMPLETED, ChangeRequest.id < req.id)
            .order_by(ChangeRequest.id.desc()).limit(1)
        )
    going_payload = (going.payload or {}) if going is not None else {}
    returning = req.type == ABROAD_RETURN
    return SimpleNamespace(
        **_application(req), destination=going_payload.get("destination") or "", document=going_payload.get("document"),
        documents=TRAVEL_DOCUMENTS_CN, leaves_on=payload_date(going_payload, "leaves_on"),
        reason_text=(going.reason_text or "") if going is not None else "",
        return_grade_label=_grade((req.payload or {}).get("grade")) if returning else "",
        return_reason=(req.reason_text or "") if returning else "",
        returned_on=req.finished_at if returning and req.status == COMPLETED else None,
        opinions=_opinions(req, ABROAD_OPINIONS),
    )


DROPOUT_OPINIONS = (("学籍主管部门意见", "authority"),)


def dropout_context(req: ChangeRequest) -> SimpleNamespace:
    """The 辍学情况报告 (第二十三条) to the township government of the school: the absence, every
    absence recorded and every contact with the family to bring the pupil back, where the hukou
    lies (another county is notified; outside the province the report says so)."""
    student, payload = req.student, req.payload or {}
    until = req.finished_at.date() if req.finished_at else clock.today()
    absences = db.session.scalars(
        select(Absence).where(Absence.student_id == student.id, Absence.first_day <= until).order_by(Absence.first_day, Absence.id)
    ).all()
    contacts = db.session.scalars(
        select(FamilyContact).where(FamilyContact.student_id == student.id, FamilyContact.purpose == CONTACT_DROPOUT,
                                    FamilyContact.contacted_on <= until)
        .order_by(FamilyContact.contacted_on, FamilyContact.id)
    ).all()
    where, code, place = hukou_place(student)
    if payload.get("hukou_where"):
        where = payload["hukou_where"]
    # Before approval the county of the hukou is yet to be told (on approval, when it has an account).
    waiting = req.status == "pending" and where == HUKOU_OTHER_COUNTY
    to_tell = county_authority(code) if waiting else None
    authorities = dropout_authorities(req)
    return SimpleNamespace(
        **_application(req), township=payload.get("township") or "", reason_text=req.reason_text or "",
        absent_from=payload_date(payload, "absent_from"), absent_to=payload_date(payload, "absent_to"),
        absences=[SimpleNamespace(first_day=a.first_day, last_day=a.last_day, days=(a.last_day - a.first_day).days + 1,
                                  excused="是" if a.excused else "否", note=a.note or "") for a in absences],
        contacts=[SimpleNamespace(contacted_on=c.contacted_on, method=c.method, outcome=c.outcome) for c in contacts],
        hukou_where=where, hukou_place=place or _place(student.hukou_location),
        hukou_authority=payload.get("hukou_notified") or "",  # told on approval (changes/departures.py)
        hukou_to_tell=to_tell.name if to_tell else "",
        copies="、".join(u.name for u in authorities),
        opinions=_opinions(req, DROPOUT_OPINIONS),
    )


def print_for_request(req: ChangeRequest, kind: str, actor: User) -> tuple[bytes, PrintedDocument]:
    student = req.student
    # Every form is about one pupil; a request about a school (the graduation roster) has none to print.
    if kind not in KINDS or (kind in APPLICATION_FORMS and kind not in workflows.TYPES[req.type].printable_forms) \
            or student is None:
        raise NotInScope()
    refused = print_student_refusal(actor, student) if kind == "student_info" else None
    if refused:
        raise RuleViolation(refused)
    doc = new_document(kind, actor, actor.unit.path, student=student, request=req)
    context = {"student": student_context(student), "doc": SimpleNamespace(
        number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at, printed_by=labels.person(actor))}
    if kind == "transfer_contact":
        context["request"] = request_context(req)
    elif kind == "suspension_form":
        context["form"] = suspension_context(req)
        context["reason_kinds"] = REASON_KINDS_CN
    elif kind == "abroad_form":
        context["form"] = abroad_context(req)
    elif kind == "dropout_report":
        context["form"] = dropout_context(req)
    return pdf.render_pdf(KINDS[kind][1], **context), doc
