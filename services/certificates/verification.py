"""The verification code, its QR code and the public check of a certificate.

The code is random (`secrets`, 16 characters of an unambiguous alphabet, 80 bits), unique,
printed in words and in a QR code of `<site>/verify/<code>`; the site is the config value
PUBLIC_BASE_URL, else the host of the request. The public page shows a masked name and never
the ID number or the birth date; every lookup is audited.
"""

from __future__ import annotations

import re
import secrets
from types import SimpleNamespace

import segno
from flask import current_app, has_request_context, request
from sqlalchemy import select

from extensions import db
from models.graduation import Certificate
from services import audit
from services.certificates.kinds import KIND_LABELS, STATUS_LABELS, TITLES
from services.documents import VERIFY_ALPHABET
from services.labels import zh

CODE_LENGTH = 16
_CODE_RE = re.compile(rf"^[{VERIFY_ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(CODE_LENGTH))


def code_words(code: str) -> str:
    """The code as printed and read out: four groups of four."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: str | None) -> str | None:
    """A typed code without spaces or dashes, in capitals; None unless it can be a code at all."""
    code = re.sub(r"[\s\-－—]", "", raw or "").upper()
    return code if _CODE_RE.match(code) else None


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
        audit.record(None,  "certificate.verify", "certificate", cert.id,
                     f"{cert.number}（{zh(STATUS_LABELS.get(cert.status, cert.status))}）")
    else:
        audit.record(None, "certificate.verify", "certificate", None, f"未找到：{(raw_code or '')[:40]}")
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


def site_url() -> str:
    """The public address printed in the QR code: PUBLIC_BASE_URL, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL") or (request.host_url if has_request_context() else "http://localhost/")
    return str(base).rstrip("/")


def verify_url(code: str, site: str) -> str:
    return f"{site}/verify/{code}"


def qr_data_uri(url: str) -> str:
    """The QR code as an inline PNG (the PDF renderer fetches nothing: services/pdf.py)."""
    return str(segno.make(url, error="m", micro=False).png_data_uri(scale=6, border=2))
