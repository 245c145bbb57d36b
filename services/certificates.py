"""Certificates of compulsory education (第二十四–二十五条): issue, number, revoke, reissue, verify, print.

- 义务教育毕业证书 (DIPLOMA) for a pupil whose grade-9 line of the approved 毕业生花名册 says
  毕业 (graduated), 义务教育修业证明书 (COMPLETION) when it says 结业 (completed: the assessment
  was failed). A grade-6 primary leaver gets nothing: the record continues (接续).
- The school issues (第二十四条: 经校长签章后由学校负责颁发): only the staff of the graduating
  school, and only when the school has a principal account, whose name is printed as the signer.
- One certificate per pupil and kind that is valid (or, for a 学历证明书, waiting for the
  authority); a second issue is refused, a reissue is explicit.
- Numbers run per issuing unit, graduating year and kind: 和平义毕字〔2027〕第000123号 (the year of
  the roster, not of the day it is printed; `numbering_year`). The issuing
  unit is the school's county, or the supervisor of a city- or province-direct school (which
  prints the forms, 第二十四条). The serial is max+1, taken in a savepoint; the unique
  constraint uq_certificate_serial settles a race, and the loser takes the next number.
- The verification code is random (`secrets`, 16 characters of an unambiguous alphabet,
  80 bits), unique, printed in words and in a QR code of `<site>/verify/<code>`; the site is
  the config value PUBLIC_BASE_URL, else the host of the request.
- 学历证明书 (RECORD_PROOF, 第二十五条): for a lost diploma, requested by the graduating school
  as a change request with the authority's step; the certificate exists as "pending" and is
  valid once the authority approves (its 验印); rejected or withdrawn, it is revoked without
  ever having been valid. When it becomes valid, the lost diploma (if the system issued it) is
  revoked.
- Revocation (with a reason, audited) is for the issuing authority or the school's
  supervising authority. A reissue (lost, damaged) is a new certificate with a new number and
  code whose `replaces_id` names the old one, which is revoked with the reason "reissued".
- A class's certificates print as one PDF, one A4 page each, in a background job whose state
  is a small JSON file under UPLOAD_DIR (any process of the site can show its progress) and
  whose result is stored like an upload.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import segno
from flask import Flask, current_app, has_request_context, request
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from pypdf import PdfReader, PdfWriter
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from extensions import db
from models.audit import StudentHistory
from models.changes import COMPLETED as REQUEST_COMPLETED
from models.changes import ChangeRequest
from models.graduation import (
    COMPLETED,
    COMPLETION,
    DIPLOMA,
    GRADUATED,
    PENDING_APPROVAL,
    RECORD_PROOF,
    REVOKED,
    VALID,
    Certificate,
    GraduationRecord,
)
from models.org import COUNTY, OrgUnit
from models.people import PRINCIPAL, Role, User
from models.student import Student
from services import audit, clock, codes, pdf, scope, uploads
from services.change_common import is_own_staff as is_school_staff
from services.documents import VERIFY_ALPHABET
from services.errors import NotInScope, RuleViolation
from services.workflows import ChangeType, Material, StepDef, declare, open_request

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

FINAL_GRADE = 9  # 完成九年义务教育: grade 6 leavers continue their record instead
KIND_FOR_OUTCOME = {GRADUATED: DIPLOMA, COMPLETED: COMPLETION}
ISSUED_KINDS = (DIPLOMA, COMPLETION)  # issued by the school from the roster; RECORD_PROOF goes through a request
KIND_WORDS = {DIPLOMA: "义毕", COMPLETION: "义修", RECORD_PROOF: "学证"}
TITLES = {DIPLOMA: "义务教育毕业证书", COMPLETION: "义务教育修业证明书", RECORD_PROOF: "学历证明书"}
KIND_LABELS = {
    DIPLOMA: _l("Diploma of compulsory education"),
    COMPLETION: _l("Certificate of completion of compulsory education"),
    RECORD_PROOF: _l("Proof of education record"),
}
STATUS_LABELS = {VALID: _l("Valid"), PENDING_APPROVAL: _l("Waiting for the authority's approval"), REVOKED: _l("Revoked")}
# Revocations written by the system (a person's revocation stores the reason they typed). The
# stored text stays a code, in English; `revoke_reason_label` says it in the user's language.
REISSUED = "reissued"
WITHDRAWN = "request withdrawn"
NOT_APPROVED = "not approved:"  # + the authority's comment
LOST_REPLACED = "lost: replaced by 学历证明书"  # + the number of the 学历证明书
REISSUE_REASONS = {"lost": _l("Lost"), "damaged": _l("Damaged")}
CODE_LENGTH = 16
_CODE_RE = re.compile(rf"^[{VERIFY_ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_TRIES = 10  # numbering attempts before giving up (each loses only to a concurrent issuer)
SERIAL_DIGITS = 6


# --- who issues, who signs -------------------------------------------------------------------


def issuing_unit(school: OrgUnit) -> OrgUnit:
    """The unit whose numbering a school's certificates use: its county, or the supervisor of a
    city- or province-direct school (直管学校)."""
    unit = school.supervisor if school.is_directly_managed else school.parent
    if unit is None:  # pragma: no cover - a school always hangs under a county
        raise RuleViolation(str(_l("The school has no issuing education authority.")))
    return unit


_AUTHORITY_SUFFIXES = ("教育和体育局", "教育体育局", "教育委员会", "教育局", "教育厅", "教体局", "教委")
_DIVISION_SUFFIXES = ("自治县", "自治州", "自治区", "自治旗", "区", "县", "市", "省", "旗")


def division_of(unit: OrgUnit) -> str:
    """和平区教育局 → 和平区: the division an authority serves."""
    name = unit.name
    for suffix in _AUTHORITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def short_name(unit: OrgUnit) -> str:
    """和平区教育局 → 和平, 沈阳市教育局 → 沈阳: the prefix of a certificate number."""
    name = division_of(unit)
    for suffix in _DIVISION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def printed_by(unit: OrgUnit) -> str:
    """Who prints the forms (第二十四条: 市或县（市、区）教育行政部门统一印制): 沈阳市和平区教育局."""
    if unit.level == COUNTY and unit.parent is not None:
        return division_of(unit.parent) + unit.name
    return unit.name


def format_number(unit: OrgUnit, kind: str, year: int, serial: int) -> str:
    return f"{short_name(unit)}{KIND_WORDS[kind]}字〔{year}〕第{serial:0{SERIAL_DIGITS}d}号"


_ROLE_NOTE = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def principal_of(school: OrgUnit) -> User:
    """The school's principal account (an active user of the school with the principal role)."""
    user = db.session.scalar(
        select(User).join(User.roles)
        .where(User.unit_id == school.id, Role.name == PRINCIPAL, User.active.is_(True))
        .order_by(User.id).limit(1)
    )
    if user is None:
        raise RuleViolation(str(_l(
            "%(school)s has no principal account: certificates are signed by the principal (第二十四条). "
            "Ask the authority to create the principal's account first.", school=school.name)))
    return user


def signer_name(user: User) -> str:
    """The name printed as the signer: the account's name without a note such as （校长）."""
    return _ROLE_NOTE.sub("", user.name or "").strip() or user.email


def may_issue(actor: User, school: OrgUnit) -> bool:
    """第二十四条: 由学校负责颁发 — the graduating school's own staff."""
    return is_school_staff(actor, school)


def may_revoke(actor: User, cert: Certificate) -> bool:
    """The issuing authority, or the school's supervising authority (they coincide but for 直管学校)."""
    return actor.is_official and actor.unit_id in (cert.county_id, cert.school.supervisor_id)


def _check_issuer(actor: User, school: OrgUnit) -> None:
    if not scope.covers(actor, school.path):
        raise NotInScope()
    if not may_issue(actor, school):
        raise RuleViolation(str(_l("Certificates are issued by the graduating school (第二十四条).")))


# --- loading within the actor's scope ---------------------------------------------------------


_scoped_row = scope.load_scoped  # NotInScope (404) also for an id longer than any row's


def get_certificate(actor: User, cert_id: int) -> Certificate:
    cert: Certificate = _scoped_row(actor, Certificate, cert_id)
    return cert


def get_record(actor: User, record_id: int) -> GraduationRecord:
    return _scoped_row(actor, GraduationRecord, record_id)  # type: ignore[no-any-return]


def get_student(actor: User, student_id: int) -> Student:
    return _scoped_row(actor, Student, student_id)  # type: ignore[no-any-return]


def scoped(actor: User) -> ColumnElement[bool]:
    return scope.filter_for(actor, Certificate.scope_path)


# --- what a roster line entitles to -----------------------------------------------------------


def kind_for(record: GraduationRecord) -> str:
    """The certificate a roster line entitles to, or a RuleViolation saying why none."""
    if record.grade != FINAL_GRADE:
        raise RuleViolation(str(_l(
            "A primary school leaver receives no certificate: the record continues into junior middle school.")))
    kind = KIND_FOR_OUTCOME.get(record.outcome or "")
    if kind is None:
        raise RuleViolation(str(_l(
            "The graduation roster of %(year)s has not been approved for this pupil yet (第二十四条).", year=record.year)))
    return kind


def active_certificate(student_id: int, kind: str) -> Certificate | None:
    """The pupil's valid certificate of this kind (or 学历证明书 waiting for approval)."""
    return db.session.scalar(
        select(Certificate).where(Certificate.student_id == student_id, Certificate.kind == kind,
                                  Certificate.status.in_((VALID, PENDING_APPROVAL))).order_by(Certificate.id.desc()).limit(1)
    )


def graduated_record(student: Student) -> GraduationRecord | None:
    """The pupil's grade-9 roster line with the outcome 毕业, the latest one."""
    return db.session.scalar(
        select(GraduationRecord).where(GraduationRecord.student_id == student.id, GraduationRecord.grade == FINAL_GRADE,
                                       GraduationRecord.outcome == GRADUATED)
        .order_by(GraduationRecord.year.desc()).limit(1)
    )


# --- numbering --------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(CODE_LENGTH))


def code_words(code: str) -> str:
    """The code as printed and read out: four groups of four."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: str | None) -> str | None:
    """A typed code without spaces or dashes, in capitals; None unless it can be a code at all."""
    code = re.sub(r"[\s\-－—]", "", raw or "").upper()
    return code if _CODE_RE.match(code) else None


def _next_serial(county_id: int, year: int, kind: str) -> int:
    top = db.session.scalar(
        select(func.max(Certificate.serial)).where(Certificate.county_id == county_id, Certificate.year == year,
                                                   Certificate.kind == kind)
    )
    return (top or 0) + 1


def _is_number_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "certificate" in text and any(k in text for k in ("serial", "number", "verify_code", "unique", "duplicate"))


def _allocate(specs: Sequence[dict[str, Any]]) -> list[Certificate]:
    """Create certificates from `specs` (column values without serial, number and code), numbered
    consecutively per (issuing unit, year, kind).

    Each attempt runs in a savepoint. Two issuers at once may read the same highest serial; the
    unique constraint refuses the second insert (on PostgreSQL once the first commits), its
    savepoint is rolled back and it reads the highest serial again — so no serial repeats and the
    caller's transaction survives. New objects are built for every attempt: a rolled-back
    savepoint expunges the ones it had added.
    """
    units = {s["county_id"]: db.session.get(OrgUnit, s["county_id"]) for s in specs}
    for attempt in range(1, MAX_TRIES + 1):
        certs: list[Certificate] = []
        try:
            with db.session.begin_nested():
                serials: dict[tuple[int, int, str], int] = {}
                for spec in specs:
                    key = (spec["county_id"], spec["year"], spec["kind"])
                    serial = serials[key] = serials[key] + 1 if key in serials else _next_serial(*key)
                    number = format_number(units[spec["county_id"]], spec["kind"], spec["year"], serial)  # type: ignore[arg-type]
                    certs.append(Certificate(**spec, serial=serial, number=number, verify_code=new_code()))
                db.session.add_all(certs)
                db.session.flush()
        except IntegrityError as exc:
            if not _is_number_clash(exc):
                raise
            log.info("certificate numbering clashed (attempt %d), taking the next numbers", attempt)
            time.sleep(0.01 * attempt)
            continue
        return certs
    raise RuleViolation(str(_l("Certificate numbers are being allocated by another issuer right now; please try again.")))


def numbering_year(record: GraduationRecord | None) -> int:
    """The year in 〔〕: the graduating year of the pupil's roster (the summer that ends the school
    year), whenever the certificate is printed — a class graduating in 2027 is 〔2027〕 even when
    issued in December 2026 or in 2028. The issue date is printed separately (issued_at)."""
    return record.year if record is not None else clock.today().year


def _spec(record: GraduationRecord | None, student: Student, school: OrgUnit, kind: str, actor: User, principal: User,
          **extra: Any) -> dict[str, Any]:
    unit = issuing_unit(school)
    return {
        "kind": kind, "student_id": student.id, "school_id": school.id, "scope_path": school.path, "county_id": unit.id,
        "year": numbering_year(record), "graduation_record_id": record.id if record else None,
        "principal_name": signer_name(principal), "issued_at": clock.now(), "issued_by_id": actor.id,
        "status": VALID, **extra,
    }


def _lock_records(ids: list[int]) -> list[GraduationRecord]:
    """The roster lines, locked (PostgreSQL) so that two issuers of the same pupil take turns."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(GraduationRecord).where(GraduationRecord.id.in_(ids)).order_by(GraduationRecord.id).with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return list(rows)


# --- issuing ----------------------------------------------------------------------------------


def issue(record: GraduationRecord, actor: User) -> Certificate:
    """The certificate of one roster line: refused when the line entitles to none or it was issued."""
    if not scope.covers(actor, record.scope_path):
        raise NotInScope()
    _check_issuer(actor, record.school)
    kind_for(record)
    principal = principal_of(record.school)
    (record,) = _lock_records([record.id])
    kind = kind_for(record)
    existing = active_certificate(record.student_id, kind)
    if existing is not None:
        raise RuleViolation(str(_l("%(name)s already holds %(number)s; revoke it or reissue it instead.",
                                   name=record.student.name, number=existing.number)))
    (cert,) = _allocate([_spec(record, record.student, record.school, kind, actor, principal)])
    audit.record(actor, "certificate.issue", "certificate", cert.id, f"{kind} {cert.number} student={record.student_id}")
    return cert


def class_records(school: OrgUnit, year: int) -> list[GraduationRecord]:
    """The school's roster of `year`, in class and name order."""
    return list(db.session.scalars(
        select(GraduationRecord).join(GraduationRecord.student)
        .where(GraduationRecord.school_id == school.id, GraduationRecord.year == year)
        .options(selectinload(GraduationRecord.student))
        .order_by(Student.class_name, Student.name, GraduationRecord.id)
    ))


def roster_years(school: OrgUnit) -> list[int]:
    return list(db.session.scalars(
        select(GraduationRecord.year).where(GraduationRecord.school_id == school.id).distinct().order_by(GraduationRecord.year.desc())
    ))


def held_certificates(records: Sequence[GraduationRecord]) -> dict[tuple[int, str], Certificate]:
    """(pupil, kind) → the valid diploma or certificate of completion of these roster lines' pupils."""
    if not records:
        return {}
    rows = db.session.scalars(
        select(Certificate).where(Certificate.student_id.in_([r.student_id for r in records]),
                                  Certificate.kind.in_(ISSUED_KINDS), Certificate.status == VALID)
    )
    return {(c.student_id, c.kind): c for c in rows}


def due_records(records: Sequence[GraduationRecord], held: dict[tuple[int, str], Certificate]) -> list[GraduationRecord]:
    """The roster lines that entitle to a certificate their pupil does not hold yet."""
    return [r for r in records if r.grade == FINAL_GRADE and r.outcome in KIND_FOR_OUTCOME
            and (r.student_id, KIND_FOR_OUTCOME[r.outcome]) not in held]


def issue_class(school: OrgUnit, year: int, actor: User) -> list[Certificate]:
    """Issue every certificate of the school's roster of `year` that is due and not issued yet."""
    _check_issuer(actor, school)
    principal = principal_of(school)
    records = class_records(school, year)  # in class and name order: the order of the numbers
    _lock_records([r.id for r in records])  # refreshes the lines in place
    specs = [_spec(r, r.student, school, KIND_FOR_OUTCOME[r.outcome], actor, principal)  # type: ignore[index]
             for r in due_records(records, held_certificates(records))]
    certs = _allocate(specs) if specs else []
    for cert in certs:
        audit.record(actor, "certificate.issue", "certificate", cert.id, f"{cert.kind} {cert.number} student={cert.student_id}")
    if certs:
        audit.record(actor, "certificate.issue_class", "org_unit", school.id, f"{year}: {len(certs)} certificates")
    return certs


# --- revoking and reissuing -------------------------------------------------------------------


def _lock(cert: Certificate) -> Certificate:
    db.session.execute(select(Certificate.id).where(Certificate.id == cert.id).with_for_update())
    db.session.refresh(cert)
    return cert


def _revoke(cert: Certificate, actor: User | None, reason: str, at: datetime | None = None) -> None:
    cert.status, cert.revoked_at, cert.revoke_reason = REVOKED, at or clock.now(), reason[:500]
    cert.revoked_by_id = actor.id if actor else None


def revoke(cert: Certificate, actor: User, reason: str | None) -> None:
    if not scope.covers(actor, cert.scope_path):
        raise NotInScope()
    if not may_revoke(actor, cert):
        raise RuleViolation(str(_l("A certificate is revoked by the authority that issued it or the school's supervising authority.")))
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation([("reason", str(_l("Give the reason for the revocation.")))])
    _lock(cert)
    if cert.status == PENDING_APPROVAL:
        raise RuleViolation(str(_l("This 学历证明书 waits for the authority: decide its request instead.")))
    if cert.status != VALID:
        raise RuleViolation(str(_l("The certificate is already revoked.")))
    _revoke(cert, actor, reason)
    audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}: {reason}")
    db.session.flush()


def reissue(cert: Certificate, actor: User, reason: str, note: str | None = None) -> Certificate:
    """补发 of a lost or damaged diploma or certificate of completion: a new number and code; the
    old one is revoked ("reissued") and named by the new one's `replaces_id`."""
    if not scope.covers(actor, cert.scope_path):
        raise NotInScope()
    if cert.kind not in ISSUED_KINDS:
        raise RuleViolation(str(_l("A 学历证明书 is not reissued: request a new one.")))
    if not may_issue(actor, cert.school):
        raise RuleViolation(str(_l("Certificates are issued by the graduating school (第二十四条).")))
    if reason not in REISSUE_REASONS:
        raise RuleViolation([("reason", str(_l("Say whether the certificate was lost or damaged.")))])
    principal = principal_of(cert.school)
    _lock(cert)
    if cert.status != VALID:
        raise RuleViolation(str(_l("Only a valid certificate can be reissued.")))
    (new,) = _allocate([_spec(cert.graduation_record, cert.student, cert.school, cert.kind, actor, principal, replaces_id=cert.id)])
    _revoke(cert, actor, REISSUED)
    audit.record(actor, "certificate.reissue", "certificate", new.id,
                 f"{new.number} replaces {cert.number} ({reason}{': ' + note.strip() if note and note.strip() else ''})")
    db.session.flush()
    return new


def revoke_reason_label(cert: Certificate) -> str:
    """The reason of a revocation as shown: the system's own reasons in the user's language, a
    person's reason as typed."""
    reason = (cert.revoke_reason or "").strip()
    if reason == REISSUED:
        return str(_l("Reissued: replaced by a new certificate."))
    if reason == WITHDRAWN:
        return str(_l("The request was withdrawn."))
    if reason.startswith(NOT_APPROVED):
        comment = reason[len(NOT_APPROVED):].strip()
        if comment:
            return str(_l("Not approved by the supervising authority: %(comment)s", comment=comment))
        return str(_l("Not approved by the supervising authority."))
    if reason.startswith(LOST_REPLACED):
        return str(_l("Lost: replaced by the 学历证明书 %(number)s.", number=reason[len(LOST_REPLACED):].strip()))
    return reason


def replaced_by(cert: Certificate) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.replaces_id == cert.id).order_by(Certificate.id.desc()).limit(1))


# --- 学历证明书 (第二十五条) ----------------------------------------------------------------------

LOST_DIPLOMA = "lost"


def _graduating_school(req: ChangeRequest) -> OrgUnit | None:
    return req.from_school


def _authority(req: ChangeRequest) -> OrgUnit | None:
    school = _graduating_school(req)
    return school.supervisor if school is not None else None


def _may_request_proof(req: ChangeRequest, actor: User) -> str | None:
    school = req.from_school
    if school is None or not is_school_staff(actor, school):
        return _l("The graduating school requests the 学历证明书 (第二十五条).")
    return None


def request_record_proof(student: Student, actor: User, reason_text: str | None = None) -> ChangeRequest:
    """The graduating school asks its authority to stamp a 学历证明书 for a lost diploma; the
    certificate exists from now on as pending."""
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    record = graduated_record(student)
    if record is None:
        raise RuleViolation(str(_l("A 学历证明书 replaces the diploma of a pupil who graduated (毕业) from grade 9.")))
    school = record.school
    if not is_school_staff(actor, school):
        raise RuleViolation(str(_l("The graduating school requests the 学历证明书 (第二十五条).")))
    held = active_certificate(student.id, RECORD_PROOF)
    if held is not None:
        raise RuleViolation(str(_l("The pupil already holds %(number)s.", number=held.number)))
    principal = principal_of(school)
    (record,) = _lock_records([record.id])
    lost = active_certificate(student.id, DIPLOMA)
    req = open_request(RECORD_PROOF, student, actor, from_school=school, reason_code=LOST_DIPLOMA, reason_text=reason_text,
                       payload={"graduation_record_id": record.id, "lost_certificate_id": lost.id if lost else None})
    (cert,) = _allocate([_spec(record, student, school, RECORD_PROOF, actor, principal, status=PENDING_APPROVAL,
                               request_id=req.id, replaces_id=lost.id if lost else None)])
    req.payload = {**(req.payload or {}), "certificate_id": cert.id}
    audit.record(actor, "certificate.request", "certificate", cert.id, f"{cert.number} request={req.id}")
    db.session.flush()
    return req


def certificate_of_request(req: ChangeRequest) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.request_id == req.id).limit(1))


def _record_proof_approved(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        cert.status = VALID
        lost = cert.replaces
        if lost is not None and lost.status == VALID:
            _revoke(lost, actor, f"{LOST_REPLACED} {cert.number}")
            audit.record(actor, "certificate.revoke", "certificate", lost.id, f"{lost.number}: lost, replaced by {cert.number}")
        audit.record(actor, "certificate.validate", "certificate", cert.id, f"{cert.number} request={req.id}")
    req.status, req.finished_at = REQUEST_COMPLETED, clock.now()
    db.session.flush()


def _record_proof_rejected(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        step = req.steps[-1] if req.steps else None
        _revoke(cert, actor, f"{NOT_APPROVED} {(step.comment if step else '') or ''}".strip())
        audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}: request {req.id} rejected")


def _record_proof_withdrawn(req: ChangeRequest, actor: User) -> None:
    cert = certificate_of_request(req)
    if cert is not None and cert.status == PENDING_APPROVAL:
        _revoke(cert, actor, WITHDRAWN)
        audit.record(actor, "certificate.revoke", "certificate", cert.id, f"{cert.number}: request {req.id} withdrawn")


declare(ChangeType(
    code=RECORD_PROOF,
    label=_l("Proof of education record (学历证明书)"),
    steps=(StepDef("authority", _l("Supervising authority"), _authority),),
    effect=_record_proof_approved,
    on_reject=_record_proof_rejected,
    on_withdraw=_record_proof_withdrawn,
    materials=(Material("loss_statement", _l("Statement of the loss of the diploma"), required=lambda req: False),),
    reasons={LOST_DIPLOMA: _l("Diploma lost")},
    preconditions=(_may_request_proof,),
))


# --- the public check -------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """张三明 → 张*明, 张三 → 张*, 欧阳娜娜 → 欧**娜: enough to match a person in front of you."""
    chars = list((name or "").strip())
    if len(chars) <= 1:
        return "*" * len(chars)
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def lookup(raw_code: str | None) -> Certificate | None:
    """The certificate of a typed or scanned code, or None; every lookup is audited (no user)."""
    code = normalize_code(raw_code)
    cert = db.session.scalar(select(Certificate).where(Certificate.verify_code == code)) if code else None
    if cert is not None:
        audit.record(None, "certificate.verify", "certificate", cert.id, f"{cert.number} {cert.status}")
    else:
        audit.record(None, "certificate.verify", "certificate", None, f"not found: {(raw_code or '')[:40]!r}")
    db.session.commit()
    return cert


def public_facts(cert: Certificate) -> SimpleNamespace:
    """What the verification page may show: never the ID number, the birth date or anything else."""
    record = cert.graduation_record
    return SimpleNamespace(
        masked_name=mask_name(cert.student.name), school_name=cert.school.name,
        year=record.year if record is not None else cert.year, title=TITLES[cert.kind], kind_label=KIND_LABELS[cert.kind],
        number=cert.number, status=cert.status, status_label=STATUS_LABELS[cert.status],
        revoked_on=cert.revoked_at.date() if cert.revoked_at else None, issued_on=cert.issued_at.date(),
    )


# --- the printed certificate ------------------------------------------------------------------

#: The certifying paragraph: its size and letter-spacing in pt (.body and .body-small in
#: templates/pdf/_certificate.html), and the width of its cell less the padding, with a margin.
BODY_SIZES = ((18.0, 0.8, "body"), (14.0, 0.5, "body-small"))
BODY_WIDTH = (189 - 18 - 4) * 72 / 25.4 * 0.97
#: Lines of the large size that fit the 84 mm row beside the photo, with the closing line (a
#: paragraph without one may have a line more); a longer paragraph (a long name) prints smaller.
MAX_LINES = 4
# A line never starts with closing punctuation nor ends with opening punctuation (标点禁则).
_NO_START = set("，。、；：？！）》」』〕】,.;:?!)%")
_NO_END = set("（《「『〔【(")
_UNIT = re.compile(r"[0-9A-Za-z]+|.", re.S)
_SPAN = re.compile(r'<span class="(fill|keep)">(.*?)</span>', re.S)


class Lines(list[Markup]):
    """The lines of a paragraph, and the CSS class of the size they were measured in."""

    css: str = BODY_SIZES[0][2]


def _width(text: str, size: float, spacing: float) -> float:
    return float(pdfmetrics.stringWidth(text, pdf.CJK_FONT_NAME, size)) + spacing * len(text)


def _units(markup: str) -> list[list[tuple[str, bool]]]:
    """The paragraph as unbreakable groups of (text, underlined) units."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for m in _SPAN.finditer(markup):
        pieces += [(markup[pos:m.start()], ""), (m.group(2), m.group(1))]
        pos = m.end()
    pieces.append((markup[pos:], ""))
    units: list[tuple[str, bool]] = []
    for piece, kind in pieces:
        text = html.unescape(re.sub(r"<[^>]*>", "", piece)).replace("\n", "")
        units += [(text, False)] if kind == "keep" else [(u, kind == "fill") for u in _UNIT.findall(text)]
    # Glue closing marks to the unit before and opening marks to the unit after.
    glued: list[list[tuple[str, bool]]] = []
    for unit in units:
        if glued and (unit[0] in _NO_START or glued[-1][-1][0] in _NO_END):
            glued[-1].append(unit)
        else:
            glued.append([unit])
    return glued


def _fill_lines(groups: list[list[tuple[str, bool]]], width: float, size: float, spacing: float) -> list[list[tuple[str, bool]]]:
    lines: list[list[tuple[str, bool]]] = [[]]
    used = 0.0
    for group in groups:
        w = sum(_width(u, size, spacing) for u, _fill in group)
        if lines[-1] and used + w > width:
            lines.append([])
            used = 0.0
        lines[-1] += group
        used += w
    return [line for line in lines if line]


def wrap_lines(markup: str, max_lines: int = MAX_LINES, width: float = BODY_WIDTH) -> Lines:
    """Break the certifying paragraph into lines that fit, as Chinese typesetting does it.

    xhtml2pdf breaks CJK text either only at spaces or (word-break: break-all) anywhere, even
    inside 2027. This measures the text with the embedded face and breaks between characters,
    never inside a number or a Latin word and never before a closing mark. `markup` is escaped
    HTML whose only tags are <span class="fill"> (the underlined values, which come back as
    such) and <span class="keep"> (text never broken, such as a certificate number). A paragraph
    longer than `max_lines` lines is set in the small size (`.css`), so that the certificate
    keeps to its page.
    """
    pdf._register_font()  # the metrics come from the embedded face
    groups = _units(markup)
    for size, spacing, css in BODY_SIZES:
        out = Lines(_line_markup(line) for line in _fill_lines(groups, width, size, spacing))
        out.css = css
        if len(out) <= max_lines:
            break
    return out  # in the smallest size when none fits max_lines


def _line_markup(line: list[tuple[str, bool]]) -> Markup:
    out = Markup("")
    run, run_fill = "", False
    for text, fill in [*line, ("", not line[-1][1])]:
        if fill != run_fill and run:
            out += Markup('<span class="fill">{}</span>').format(run) if run_fill else escape(run)
            run = ""
        run_fill = fill
        run += text
    return out


def site_url() -> str:
    """The public address printed in the QR code: PUBLIC_BASE_URL, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL") or (request.host_url if has_request_context() else "http://localhost/")
    return str(base).rstrip("/")


def verify_url(code: str, site: str) -> str:
    return f"{site}/verify/{code}"


def qr_data_uri(url: str) -> str:
    """The QR code as an inline PNG (the PDF renderer fetches nothing: services/pdf.py)."""
    return str(segno.make(url, error="m", micro=False).png_data_uri(scale=6, border=2))


def _arrival_months(school: OrgUnit, student_ids: list[int]) -> dict[int, date]:
    """When each pupil's record came to this school (a transfer in), from the history."""
    if not student_ids:
        return {}
    rows = db.session.execute(
        select(StudentHistory.student_id, func.max(StudentHistory.changed_at))
        .where(StudentHistory.student_id.in_(student_ids), StudentHistory.field == "school_id",
               StudentHistory.new_value.like(f"%（{school.code}）"))
        .group_by(StudentHistory.student_id)
    )
    return {sid: at.date() for sid, at in rows if at is not None}


def _span(cert: Certificate, arrived: date | None) -> tuple[int, int, int, int]:
    """(from year, from month, to year, to month) of the schooling the certificate states."""
    record = cert.graduation_record
    year = record.year if record is not None else cert.year
    kind = cert.school.school_kind or ""
    first = date(year - 3, 9, 1) if kind == "junior" else date(year - FINAL_GRADE, 9, 1)
    enrolled = cert.student.enroll_month or ""
    if kind != "junior" and re.match(r"^\d{4}-\d{2}$", enrolled):
        first = date(int(enrolled[:4]), int(enrolled[5:7]), 1)
    if arrived is not None and first < arrived <= date(year, 7, 31):
        first = arrived
    issued = cert.issued_at.date()
    to_month = issued.month if issued.year == year and issued.month < 7 else 7
    return first.year, first.month, year, to_month


def _approval(cert: Certificate) -> tuple[str, date | None]:
    """The authority that stamped a 学历证明书 and when (its request's approved step)."""
    if cert.request_id is None:
        return "", None
    req = db.session.get(ChangeRequest, cert.request_id)
    step = next((s for s in reversed(req.steps) if s.decision == "approved"), None) if req else None
    if step is None:
        return (req.steps[-1].unit.name if req and req.steps else ""), None
    return step.unit.name, step.decided_at.date() if step.decided_at else None


def pdf_context(cert: Certificate, site: str, arrived: date | None = None) -> SimpleNamespace:
    student = cert.student
    span = _span(cert, arrived)
    authority, approved_on = _approval(cert) if cert.kind == RECORD_PROOF else ("", None)
    url = verify_url(cert.verify_code, site)
    original = cert.replaces.number if cert.kind == RECORD_PROOF and cert.replaces is not None else ""
    return SimpleNamespace(
        kind=cert.kind, title=TITLES[cert.kind], printed_by=printed_by(cert.county) + "印制",
        reissue=cert.kind in ISSUED_KINDS and cert.replaces_id is not None,
        name=student.name, gender=codes.label("gender", student.gender), birth_date=student.birth_date,
        from_year=span[0], from_month=span[1], to_year=span[2], to_month=span[3],
        school_name=cert.school.name, principal_name=cert.principal_name or "", issued_on=cert.issued_at.date(),
        number=cert.number, code_words=code_words(cert.verify_code), verify_url=url, qr=qr_data_uri(url),
        original_number=original, authority_name=authority, approved_on=approved_on,
    )


def _render(contexts: list[SimpleNamespace]) -> bytes:
    title = contexts[0].title if len(contexts) == 1 else "义务教育证书"
    return pdf.render_pdf("_certificate.html", certificates=contexts, title=title, wrap=wrap_lines)


def printable(cert: Certificate) -> None:
    if cert.status != VALID:
        raise RuleViolation(str(_l("Only a valid certificate can be printed.")))


def render_certificate(cert: Certificate, actor: User, site: str) -> bytes:
    """One certificate as PDF, audited (第二十八条: every document leaving the system)."""
    if not scope.covers(actor, cert.scope_path):
        raise NotInScope()
    printable(cert)
    data = _render([pdf_context(cert, site, _arrival_months(cert.school, [cert.student_id]).get(cert.student_id))])
    audit.record(actor, "print", "certificate", cert.id, cert.number)
    return data


def download_name(cert: Certificate) -> str:
    return f"{TITLES[cert.kind]}-{cert.number}.pdf"


# --- a class in one PDF, in the background ---------------------------------------------------------


def class_certificates(school: OrgUnit, year: int) -> list[Certificate]:
    """The valid diplomas and certificates of completion of the school's roster of `year`."""
    return list(db.session.scalars(
        select(Certificate).join(Certificate.graduation_record).join(Certificate.student)
        .where(Certificate.school_id == school.id, GraduationRecord.year == year, Certificate.kind.in_(ISSUED_KINDS),
               Certificate.status == VALID)
        .options(selectinload(Certificate.student), selectinload(Certificate.graduation_record), selectinload(Certificate.replaces))
        .order_by(Student.class_name, Student.name, Certificate.id)
    ))


CHUNK_PAGES = 50  # pages per xhtml2pdf run: the progress steps, and a bound on the renderer's memory
INLINE_PAGES = 20  # smaller classes are printed during the request itself
JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED = "queued", "running", "done", "failed"
JOB_FINISHED = (JOB_DONE, JOB_FAILED)
STALE_AFTER = timedelta(minutes=30)
KEEP_JOBS = timedelta(days=7)  # a class PDF is printed again from the certificates at any time
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass
class PrintJob:
    """A batch print: who asked, which class, how far, and the stored PDF when done."""

    id: str
    user_id: int
    school_id: int
    school_name: str
    year: int
    total: int
    status: str = JOB_QUEUED
    processed: int = 0
    sha256: str | None = None
    error: str | None = None
    seconds: float | None = None
    created_at: str = field(default_factory=lambda: clock.now().isoformat())
    updated_at: str = field(default_factory=lambda: clock.now().isoformat())

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED

    @property
    def percent(self) -> int:
        if self.status == JOB_DONE:
            return 100
        return round(100 * self.processed / self.total) if self.total else 0

    def progress(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "total": self.total, "processed": self.processed,
                "percent": self.percent, "finished": self.finished, "error": self.error}


def _job_dir() -> Path:
    path = uploads.upload_dir() / "certificate-jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save(job: PrintJob) -> None:
    job.updated_at = clock.now().isoformat()
    target = _job_dir() / f"{job.id}.json"
    tmp = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")
    tmp.write_text(json.dumps(asdict(job)))
    tmp.replace(target)


def _load(job_id: str) -> PrintJob | None:
    if not _JOB_ID.match(job_id or ""):
        return None
    path = _job_dir() / f"{job_id}.json"
    try:
        return PrintJob(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def get_job(actor: User, job_id: str) -> PrintJob:
    """A print job of this user (anybody else's, or none: NotInScope → 404)."""
    job = _load(job_id)
    if job is None or job.user_id != actor.id:
        raise NotInScope()
    if not job.finished and datetime.fromisoformat(job.updated_at) < clock.now() - STALE_AFTER:
        job.status, job.error = JOB_FAILED, str(_l("The printing was interrupted. Start it again."))
        _save(job)
    return job


def job_pdf(job: PrintJob) -> Path:
    if job.status != JOB_DONE or not job.sha256 or not uploads.path_of(job.sha256).exists():
        raise NotInScope()
    return uploads.path_of(job.sha256)


Progress = Callable[[int], None]


def render_class(certs: list[Certificate], site: str, progress: Progress | None = None, chunk: int | None = None) -> bytes:
    """All the certificates as one PDF, one page each, rendered `chunk` (CHUNK_PAGES) pages at a time."""
    chunk = chunk or CHUNK_PAGES
    if not certs:
        raise RuleViolation(str(_l("There is no valid certificate to print.")))
    by_school: dict[int, list[int]] = {}
    for cert in certs:
        by_school.setdefault(cert.school_id, []).append(cert.student_id)
    arrived: dict[int, date] = {}
    for school_id, ids in by_school.items():
        arrived.update(_arrival_months(db.session.get(OrgUnit, school_id), ids))  # type: ignore[arg-type]
    writer = PdfWriter()
    for start in range(0, len(certs), chunk):
        part = certs[start:start + chunk]
        data = _render([pdf_context(c, site, arrived.get(c.student_id)) for c in part])
        writer.append(PdfReader(io.BytesIO(data)))
        if progress is not None:
            progress(start + len(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _run(job: PrintJob, site: str) -> PrintJob:
    started = time.monotonic()
    try:
        school = db.session.get(OrgUnit, job.school_id)
        actor = db.session.get(User, job.user_id)
        certs = class_certificates(school, job.year)  # type: ignore[arg-type]
        job.status, job.total, job.processed = JOB_RUNNING, len(certs), 0
        _save(job)

        def progress(n: int) -> None:
            job.processed = n
            _save(job)

        data = render_class(certs, site, progress)
        job.sha256 = uploads.store(data)
        audit.record(actor, "print", "certificate_batch", job.school_id,
                     f"{job.school_name} {job.year}: {len(certs)} certificates " + ",".join(c.number for c in certs)[:400])
        db.session.commit()
        job.status, job.seconds = JOB_DONE, round(time.monotonic() - started, 2)
    except RuleViolation as exc:
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(exc)
    except Exception:
        log.exception("certificate print job %s failed", job.id)
        db.session.rollback()
        job.status, job.error = JOB_FAILED, str(_l("The printing stopped because of an unexpected error."))
    _save(job)
    return job


def _run_in_thread(app: Flask, job: PrintJob, site: str, locale: str) -> None:
    with app.app_context(), force_locale(locale):
        try:
            _run(job, site)
        finally:
            db.session.remove()


def start_class_print(school: OrgUnit, year: int, actor: User, site: str) -> PrintJob:
    """Print the class's certificates as one PDF: inline when small, else in a background thread
    with its own app context. The caller shows the job's page, which polls its progress."""
    if not scope.covers(actor, school.path):
        raise NotInScope()
    total = len(class_certificates(school, year))
    if not total:
        raise RuleViolation(str(_l("There is no valid certificate to print.")))
    forget_old_jobs()
    job = PrintJob(id=secrets.token_urlsafe(24), user_id=actor.id, school_id=school.id, school_name=school.name, year=year,
                   total=total)
    _save(job)
    db.session.commit()  # the thread's session must not wait for this one (SQLite allows one writer)
    if total < INLINE_PAGES:
        return _run(job, site)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    locale = str(get_locale() or app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"))
    threading.Thread(target=_run_in_thread, args=(app, job, site, locale), name=f"certificates-{job.id[:8]}", daemon=True).start()
    return job


def forget_old_jobs(now: datetime | None = None) -> int:
    """Delete print jobs older than KEEP_JOBS with their class PDF (each PDF carries its own numbers
    and codes, so no other stored file shares its content). Returns how many went."""
    cutoff = (now or clock.now()) - KEEP_JOBS
    gone = 0
    for path in _job_dir().glob("*.json"):
        job = _load(path.stem)
        if job is None or datetime.fromisoformat(job.updated_at) >= cutoff:
            continue
        if job.sha256 and uploads.path_of(job.sha256).exists():
            uploads.path_of(job.sha256).unlink()
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def recent_jobs(actor: User, limit: int = 5) -> list[PrintJob]:
    """This user's latest print jobs (their files, newest first)."""
    files = sorted(_job_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    jobs: list[PrintJob] = []
    for path in files[:200]:
        job = _load(path.stem)
        if job is not None and job.user_id == actor.id:
            jobs.append(job)
            if len(jobs) >= limit:
                break
    return jobs
