"""学生卡 (regulation 第六条, issue 16 point 3): the free card of a pupil — issue, revoke, replace, print.

Not the 学籍卡 (services/student_cards.py, the record card): this is the small card a pupil carries,
credit-card size (85.6 × 54 mm), eight to an A4 sheet. It shows the name, the photo, the school,
the grade and class, the 学籍号 (masked when it is a G-number, which holds the ID number; 未取得 when
there is none), the card's number and a QR code of the public check `/verify/card/<token>`. Never
the ID number.

Only the staff of the pupil's own school issue, revoke and replace cards and print the sheet (the
rule of the 学籍卡's direct print, and of the archive: services/archive.can_edit). A pupil has at
most one valid card: a second issue is refused (the partial unique index decides a race); the class
print issues cards only for the pupils who have none. Every step is audited.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.lifecycle import StudentStatus
from models.people import User
from models.pupil_card import REPLACED, REVOKED, VALID, PupilCard
from models.school_class import SchoolClass
from models.student import Student
from services import audit, clock, codes, pdf, pdf_rare, photos, scope
from services.certificates import verification
from services.classes import IN_CLASS
from services.errors import NotInScope, RuleViolation
from services.ids import mask_xjh

TEMPLATE = "pupil_card_sheet.html"
TITLE = "学生卡"
PREFIX = "XSK"  # 学生卡 numbers: XSK<year><7 digits>, beside XK (学籍卡) and the certificates' numbers
CARDS_PER_PAGE = 8  # 2 columns × 4 rows of 85.6 × 54 mm on A4
MAX_REASON = 200
MAX_SHEET = 2000  # cards in one sheet PDF (a whole school's grade at most)
NO_XJH = "未取得"
TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 bits
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

# Stored as the reason of a card that stopped being valid because its pupil left the issuing school
# (transfer, graduation, departure): the card names that school, so it cannot stay valid elsewhere.
LEFT_SCHOOL_REASON = "学生已离开发卡学校"
# Who attends the school and carries a card: in school, suspended (休学, back later), or entered and
# waiting for the authority's approval (待核办: the child is already in class).
CARD_HOLDING = frozenset({StudentStatus.ENROLLED, StudentStatus.SUSPENDED, StudentStatus.PENDING})

STATUS_LABELS = {VALID: _l("Valid"), REVOKED: _l("Reported lost and cancelled"), REPLACED: _l("Replaced by a new card")}


# --- who and which ---------------------------------------------------------------------------------


def may_issue(actor: User, student: Student) -> bool:
    """The staff of the pupil's own school (registrar, principal, deputy) issue and print its cards."""
    return bool(actor.is_school_user) and actor.unit_id == student.school_id and scope.covers(actor, student.scope_path)


def load_student(actor: User, student_id: int) -> Student:
    """The pupil within the actor's scope (NotInScope → 404 otherwise)."""
    student: Student = scope.load_scoped(actor, Student, student_id)
    return student


def scoped_students(actor: User, student_ids: Iterable[int]) -> list[Student]:
    """These pupils, all within the actor's scope (NotInScope when any is not), in class and name order."""
    ids = sorted({int(i) for i in student_ids})
    rows = (
        db.session.scalars(select(Student).where(Student.id.in_(ids), scope.filter_for(actor, Student.scope_path))).all()
        if ids
        else []
    )
    if len(rows) != len(ids):
        raise NotInScope()
    return sorted(rows, key=lambda s: (s.grade, s.class_name or "", s.name, s.id))


def class_pupils(school_class: SchoolClass) -> list[Student]:
    """The pupils now in the class (in school or suspended), by name: those a class's cards are for."""
    return list(
        db.session.scalars(
            select(Student)
            .where(Student.class_id == school_class.id, Student.status.in_(IN_CLASS))
            .order_by(Student.name, Student.id)
        )
    )


def current_card(student_id: int) -> PupilCard | None:
    return db.session.scalar(select(PupilCard).where(PupilCard.student_id == student_id, PupilCard.status == VALID))


def history(student_id: int) -> list[PupilCard]:
    """Every card the pupil was ever issued, the newest first."""
    return list(db.session.scalars(select(PupilCard).where(PupilCard.student_id == student_id).order_by(PupilCard.id.desc())))


def valid_cards(students: Sequence[Student]) -> list[PupilCard]:
    """The valid cards of these pupils, in the pupils' order (a pupil without one is left out)."""
    ids = [s.id for s in students]
    if not ids:
        return []
    found = {c.student_id: c for c in db.session.scalars(select(PupilCard).where(PupilCard.student_id.in_(ids), PupilCard.status == VALID))}
    return [found[s.id] for s in students if s.id in found and still_at_school(found[s.id], s)]


def still_at_school(card: PupilCard, student: Student) -> bool:
    """The card's pupil is still in (or suspended from) the school that issued it."""
    return card.school_id == student.school_id and student.status in CARD_HOLDING


def _retire_if_left(student: Student) -> None:
    """A valid card of a school the pupil has left is cancelled, so that the new school can issue one.

    Derived on demand rather than by a hook in every change type that moves or ends a record: the
    public check applies the same rule (public_facts), so a card is never shown valid meanwhile."""
    card = current_card(student.id)
    if card is not None and not still_at_school(card, student):
        card.status, card.revoked_at, card.revoke_reason = REVOKED, clock.now(), LEFT_SCHOOL_REASON
        db.session.flush()
        audit.record(None, "pupil_card.revoke", "pupil_card", card.id, f"{student.name}：{card.number}（{LEFT_SCHOOL_REASON}）")


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# --- issuing, revoking, replacing ---------------------------------------------------------------------


def _check_may_issue(actor: User, student: Student) -> None:
    if not scope.covers(actor, student.scope_path):
        raise NotInScope()
    if not may_issue(actor, student):
        raise RuleViolation(str(_l("Student cards are issued by the pupil's own school: only its staff can do this.")))


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise RuleViolation([("reason", str(_l("Give the reason (for example: lost, damaged).")))])
    if len(text) > MAX_REASON:
        raise RuleViolation([("reason", str(_l("The reason may be at most %(n)d characters.", n=MAX_REASON)))])
    return text


def _new_card(actor: User, student: Student) -> PupilCard:
    """A valid card for the pupil, numbered; IntegrityError when another valid card won a race."""
    when = clock.now()
    card = PupilCard(
        student_id=student.id,
        school_id=student.school_id,
        number=f"tmp-{secrets.token_hex(8)}",  # the readable number needs the row's id
        token=secrets.token_urlsafe(TOKEN_BYTES),
        status=VALID,
        issued_at=when,
        issued_by_id=actor.id,
    )
    with db.session.begin_nested():  # a lost race undoes this card only, not the caller's other pupils
        db.session.add(card)
        db.session.flush()
        card.number = f"{PREFIX}{when.year}{card.id:07d}"
        db.session.flush()
    return card


def _already(number: str) -> RuleViolation:
    return RuleViolation(str(_l("The pupil already has a valid student card (%(number)s): it was not issued twice.", number=number)))


def issue(actor: User, student: Student) -> PupilCard:
    """发放: a first card, or a new one after the last was reported lost (it then points to the new one)."""
    _check_may_issue(actor, student)
    if student.status not in CARD_HOLDING:
        raise RuleViolation(str(_l(
            "Student cards are issued only to pupils attending the school (in school, suspended or awaiting approval).")))
    _retire_if_left(student)
    existing = current_card(student.id)
    if existing is not None:
        raise _already(existing.number)
    try:
        card = _new_card(actor, student)
    except IntegrityError:  # another request issued one between the check and the insert (a double click)
        winner = current_card(student.id)
        raise _already(winner.number if winner is not None else "") from None
    lost = db.session.scalar(
        select(PupilCard)
        .where(PupilCard.student_id == student.id, PupilCard.status == REVOKED, PupilCard.replaced_by_id.is_(None), PupilCard.id != card.id)
        .order_by(PupilCard.id.desc())
        .limit(1)
    )
    if lost is not None:
        lost.replaced_by_id = card.id
    audit.record(actor, "pupil_card.issue", "pupil_card", card.id, f"{student.name}：{card.number}")
    return card


def revoke(actor: User, student: Student, reason: str | None) -> PupilCard:
    """挂失作废: the valid card stops being valid (the public check says 已作废)."""
    _check_may_issue(actor, student)
    text = _reason(reason)
    card = current_card(student.id)
    if card is None:
        raise RuleViolation(str(_l("The pupil has no valid student card to cancel.")))
    card.status, card.revoked_at, card.revoked_by_id, card.revoke_reason = REVOKED, clock.now(), actor.id, text
    db.session.flush()
    audit.record(actor, "pupil_card.revoke", "pupil_card", card.id, f"{student.name}：{card.number}（{text}）")
    return card


def reissue(actor: User, student: Student, reason: str | None, replacing: str | None = None) -> PupilCard:
    """补办: the valid card is replaced by a new one (or, after a loss was reported, a new one is issued).

    `replacing` is the number of the card the page showed: a second click of the same button finds
    another card valid by then and is refused, instead of replacing the new card too."""
    _check_may_issue(actor, student)
    text = _reason(reason)
    old = current_card(student.id)
    if replacing is not None and (old.number if old is not None else "") != replacing:
        raise RuleViolation(str(_l("The student card was changed meanwhile (perhaps by a second click): look at the page again.")))
    if old is None:
        card = issue(actor, student)
        audit.record(actor, "pupil_card.reissue", "pupil_card", card.id, f"{student.name}：{card.number}（{text}）")
        return card
    old.status, old.revoked_at, old.revoked_by_id, old.revoke_reason = REPLACED, clock.now(), actor.id, text
    db.session.flush()  # the old card is no longer valid before the new one is (the partial unique index)
    card = _new_card(actor, student)
    old.replaced_by_id = card.id
    audit.record(actor, "pupil_card.reissue", "pupil_card", card.id, f"{student.name}：{old.number} → {card.number}（{text}）")
    return card


def issue_missing(actor: User, students: Sequence[Student]) -> list[PupilCard]:
    """A card for each of these pupils who has no valid one (the class print, the list's batch).

    Every pupil must be the actor's school's (else a refusal for the whole batch, before anything is
    issued); a pupil whose card another click issued meanwhile is skipped, not issued twice."""
    for student in students:
        _check_may_issue(actor, student)
    have = {c.student_id for c in valid_cards(students)}
    students = [s for s in students if s.status in CARD_HOLDING]
    issued = []
    for student in students:
        if student.id in have:
            continue
        try:
            issued.append(issue(actor, student))
        except RuleViolation:  # issued by a concurrent request since `have` was read
            continue
    return issued


# --- the sheet ------------------------------------------------------------------------------------------


def verify_url(token: str, site: str) -> str:
    return f"{site}/verify/card/{token}"


def card_face(card: PupilCard, photo: bytes | None, site: str) -> SimpleNamespace:
    """What one card prints (never the ID number: a G-学籍号 is masked, as on every list)."""
    student = card.student
    url = verify_url(card.token, site)
    grade = codes.label("grade", str(student.grade))
    return SimpleNamespace(
        name=student.name,
        school_name=student.school.name,
        grade_class=f"{grade} {student.class_name}" if student.class_name else grade,
        xjh=mask_xjh(student.xjh) if student.xjh else NO_XJH,
        number=card.number,
        issued_on=card.issued_at.date(),
        photo=photos.data_uri(photo),
        verify_url=url,
        qr=verification.qr_data_uri(url),
    )


def faces(cards: Sequence[PupilCard], site: str) -> list[SimpleNamespace]:
    pictures = photos.current_by_student([c.student_id for c in cards])
    return [card_face(c, photos.read_bytes(pictures.get(c.student_id)), site) for c in cards]


def render_sheet(card_faces: Sequence[SimpleNamespace]) -> bytes:
    """The cards on A4 sheets, eight to a page, each in its own 85.6 × 54 mm frame with a cut border."""
    pages = [list(card_faces[i : i + CARDS_PER_PAGE]) for i in range(0, len(card_faces), CARDS_PER_PAGE)]
    return pdf.render_pdf(TEMPLATE, pages=pages, rare=pdf_rare.rare)


def print_sheet(actor: User, cards: Sequence[PupilCard], site: str, title: str) -> bytes:
    """The sheet of these valid cards for the staff of their school; audited with the card numbers."""
    for card in cards:
        _check_may_issue(actor, card.student)
        if card.status != VALID:
            raise RuleViolation(str(_l("Only valid cards are printed.")))
    if not cards:
        raise RuleViolation(str(_l("No valid student card to print.")))
    if len(cards) > MAX_SHEET:
        raise RuleViolation(str(_l("At most %(n)d cards can be printed at once.", n=MAX_SHEET)))
    data = render_sheet(faces(cards, site))
    numbers = "、".join(c.number for c in cards)
    audit.record(actor, "pupil_card.print", "pupil_card", cards[0].id if len(cards) == 1 else None, f"{TITLE} {title}：{numbers}")
    return data


# --- the public check -------------------------------------------------------------------------------


def lookup(token: str | None) -> PupilCard | None:
    """The card of a scanned token, or None; every lookup is audited without a user (as the 学籍卡's)."""
    card = None
    if token and _TOKEN_RE.match(token):
        card = db.session.scalar(select(PupilCard).where(PupilCard.token == token))
    if card is not None:
        audit.record(None, "pupil_card.verify", "pupil_card", card.id, f"{card.number}（{status_label(card.status)}）")
    else:
        audit.record(None, "pupil_card.verify", "pupil_card", None, f"未找到：{(token or '')[:40]}")
    db.session.commit()
    return card


def public_facts(card: PupilCard) -> SimpleNamespace:
    """The minimum a checker needs: valid or not, the masked name (as the 学籍卡's check), school and grade."""
    student = card.student
    left = card.status == VALID and not still_at_school(card, student)
    return SimpleNamespace(
        valid=card.status == VALID and not left,
        left_school=left,
        masked_name=verification.mask_name(student.name),
        school_name=card.school.name,  # the school printed on the card, not where the pupil is now
        grade=codes.label("grade", str(student.grade)),
        cancelled_on=card.revoked_at.date() if card.revoked_at else None,
    )
