"""Issuing a certificate from a roster line (第二十四条: 经校长签章后由学校负责颁发).

Only the staff of the graduating school issue, and only when the school has a principal
account, whose name is printed as the signer. One valid certificate per pupil and kind: a
second issue is refused, a reissue is explicit (revocation).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models.graduation import GRADUATED, PENDING_APPROVAL, VALID, Certificate, GraduationRecord
from models.org import OrgUnit
from models.people import PRINCIPAL, Role, User
from models.student import Student
from services import audit, clock, scope
from services.certificates.kinds import FINAL_GRADE, KIND_FOR_OUTCOME, KIND_LABELS
from services.certificates.numbering import allocate, issuing_unit, numbering_year
from services.change_common import is_own_staff as is_school_staff
from services.errors import NotInScope, RuleViolation
from services.labels import zh

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

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


def check_issuer(actor: User, school: OrgUnit) -> None:
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


def certificate_spec(record: GraduationRecord | None, student: Student, school: OrgUnit, kind: str, actor: User, principal: User,
          **extra: Any) -> dict[str, Any]:
    unit = issuing_unit(school)
    return {
        "kind": kind, "student_id": student.id, "school_id": school.id, "scope_path": school.path, "county_id": unit.id,
        "year": numbering_year(record), "graduation_record_id": record.id if record else None,
        "principal_name": signer_name(principal), "issued_at": clock.now(), "issued_by_id": actor.id,
        "status": VALID, **extra,
    }


def lock_records(ids: list[int]) -> list[GraduationRecord]:
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
    check_issuer(actor, record.school)
    kind_for(record)
    principal = principal_of(record.school)
    (record,) = lock_records([record.id])
    kind = kind_for(record)
    existing = active_certificate(record.student_id, kind)
    if existing is not None:
        raise RuleViolation(str(_l("%(name)s already holds %(number)s; revoke it or reissue it instead.",
                                   name=record.student.name, number=existing.number)))
    (cert,) = allocate([certificate_spec(record, record.student, record.school, kind, actor, principal)])
    audit.record(actor, "certificate.issue", "certificate", cert.id, f"{zh(KIND_LABELS[kind])} {cert.number}（学生 #{record.student_id}）")
    return cert
