"""The printed certificate: one A4 page per certificate (PDF), its certifying paragraph set in
lines as Chinese typesetting does it, and the span of schooling it states."""

from __future__ import annotations

import html
import re
from datetime import date
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.graduation import RECORD_PROOF, VALID, Certificate
from models.org import OrgUnit
from models.people import User
from services import audit, codes, pdf, pdf_fonts, scope
from services.certificates.kinds import FINAL_GRADE, ISSUED_KINDS, TITLES
from services.certificates.numbering import printed_by
from services.certificates.verification import code_words, qr_data_uri, verify_url
from services.errors import NotInScope, RuleViolation

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
    return float(pdfmetrics.stringWidth(text, pdf_fonts.CJK_FONT_NAME, size)) + spacing * len(text)


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
    pdf_fonts.register_main_font()  # the metrics come from the embedded face
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


def arrival_months(school: OrgUnit, student_ids: list[int]) -> dict[int, date]:
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


def render_pages(contexts: list[SimpleNamespace]) -> bytes:
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
    data = render_pages([pdf_context(cert, site, arrival_months(cert.school, [cert.student_id]).get(cert.student_id))])
    audit.record(actor, "print", "certificate", cert.id, cert.number)
    return data


def download_name(cert: Certificate) -> str:
    return f"{TITLES[cert.kind]}-{cert.number}.pdf"
