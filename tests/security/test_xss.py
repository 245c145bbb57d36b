"""XSS (issue 13): script payloads in every free-text field come back escaped on every page that
shows them (lists, details, request pages, history; PDFs are out of scope).

The free-text fields are enumerated from the models: every String/Text column that holds words a
person typed (names, reasons, notes, comments, unit and user names, file names of uploads …), not
codes, paths, hashes or numbers (STRUCTURED). The payloads are written straight into the database,
in front of whatever each row held, so that they reach the pages whatever the forms would have
let through. Rows of every kind exist first: the demo, a transfer with a refused step and an
upload, and one row of every other kind (the id walk's builder). Then, as the administrator (who
sees everything) and as the school and county that hold the rows, the pages are crawled from
/admin/ and the pupil's and the request's pages: no response may carry a payload unescaped.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import String, Text, select, update

from extensions import db
from tests.admin.test_crawl import SKIP_RE, html_of, walk
from tests.conftest import end_extended_demo, extend_demo, login
from tests.helpers import HEPING1, pupil_of

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)//"
PAYLOAD = JS + SCRIPT + IMG
# What must never appear in a page: the payloads as markup (escaped, they read &lt;script&gt; …).
RAW = re.compile(r"<script>alert\(1\)|<img src=x onerror|(?:href|src|action)\s*=\s*[\"']?\s*javascript:alert", re.I)
# Columns of String/Text type that are not free text: codes, paths, numbers, hashes, identifiers.
STRUCTURED = {
    "scope_path", "from_path", "to_path", "path", "xjh", "id_number", "email", "user_email", "password",
    "fs_uniquifier", "tf_totp_secret", "tf_primary_method", "tf_phone_number", "us_phone_number", "content_type",
    "evidence_content_type", "verify_code", "number", "phone", "ip", "action", "object_type", "object_id", "status",
    "type", "kind", "material", "role", "code", "level", "school_kind", "reason_code", "decision", "term", "school_year",
    "hukou_division", "hukou_location", "birth_place", "native_place", "current_login_ip", "last_login_ip", "locale",
    "field", "old_value", "new_value", "purpose", "state", "method", "grade_label", "level_code",
}
SHORT = 10  # a String of at most this length is a code (gender "1", grade, ethnicity "01" …)
MAX_PAGES = 260  # per account
PER_KIND = 2
PER_RECORD_KIND = 6
SKIP = re.compile(f"{SKIP_RE.pattern}|javascript:", re.I)  # a payload's link is not followed


def payload_for(length: int | None) -> str:
    """The longest of the payloads that leaves a few characters of the original value (uniqueness)."""
    for payload in (PAYLOAD, SCRIPT + IMG, JS + SCRIPT, IMG, SCRIPT, "<script>alert(1)"):
        if length is None or len(payload) <= length - 4:
            return payload
    return "<script>alert(1)"[:length]


def free_text_columns() -> list[tuple[t.Any, t.Any]]:
    """(table, column) of every free-text column of the models."""
    out = []
    for table in db.metadata.sorted_tables:
        if table.name in ("alembic_version", "role"):
            continue
        for col in table.columns:
            if col.primary_key or col.foreign_keys or col.name in STRUCTURED or col.name.endswith(("_sha256", "_id", "_code")):
                continue
            if isinstance(col.type, Text) or (isinstance(col.type, String) and (col.type.length is None or col.type.length > SHORT)):
                out.append((table, col))
    return out


def _seed() -> dict[str, int]:
    from changes import transfer
    from models.people import User
    from services import workflows
    from tests.security.test_id_walk import build_foreign_rows
    from tests.transfer_helpers import upload

    student = pupil_of(HEPING1)
    receiver = db.session.scalar(select(User).where(User.email == "school-shenhe1@xueji.demo"))
    req = transfer.start_transfer(student, receiver, reason_code="hukou_moved", reason_text="随父母迁居", hukou_changed=True)
    workflows.attach(req, "contact_form", upload(name="联系表.png"), receiver)
    workflows.decide(req.current_step.id, receiver, False, "材料不全")  # a refusal with its reason
    ids = build_foreign_rows()
    db.session.flush()
    for table, col in free_text_columns():
        # Prepended (unique columns stay unique); empty values get the payload too. A column shorter
        # than the whole payload gets the longest part that fits, cut to its length (PostgreSQL
        # refuses a longer value; SQLite would keep it, and then the page would show what no real
        # row can hold).
        length = getattr(col.type, "length", None)
        payload = payload_for(length)
        value = payload + db.func.coalesce(col, "")
        if length is not None:
            value = db.func.substr(value, 1, length)
        db.session.execute(update(table).values({col.name: value}))
    db.session.flush()
    return {"student": student.id, "request": req.id, **{k: v for k, v in ids.items() if isinstance(v, int)}}


@pytest.fixture(scope="module")
def seeded(app: Flask) -> t.Iterator[dict[str, int]]:
    from tests.transfer_helpers import at

    mp = pytest.MonkeyPatch()
    with app.app_context():
        at(mp, date(2026, 11, 10))  # in term time: the transfer may open
    try:
        yield extend_demo(app, _seed)
    finally:
        mp.undo()
        end_extended_demo()


def test_free_text_fields_are_enumerated_from_the_models(app: Flask) -> None:
    with app.app_context():
        names = {f"{table.name}.{col.name}" for table, col in free_text_columns()}
    must = {"student.name", "student.current_address", "guardian.name", "change_request.reason_text",
            "change_request.external_school", "approval_step.comment", "org_unit.name", "user.name",
            "attachment.filename", "archive_document.filename"}
    assert must <= names, must - names


def _crawl(app: Flask, email: str, seeds: tuple[str, ...]) -> tuple[list[str], int, int]:
    """(pages with a raw payload, pages read, pages that showed the escaped payload)."""
    raw: list[str] = []
    shown = 0

    def read(url: str, referrer: str, answer: t.Any) -> str | None:
        nonlocal shown
        html = html_of(answer)  # a page that fails is the crawl test's concern (tests/admin/test_crawl.py)
        if html is None:
            return None
        if m := RAW.search(html):
            raw.append(f"{url}: …{html[max(0, m.start() - 120):m.end() + 40]}…")
        if "&lt;script&gt;alert(1)" in html or "&#60;script&gt;alert(1)" in html:
            shown += 1
        return html

    visited = walk(login(app, email), ("/admin/", *seeds), read, max_pages=MAX_PAGES, skip=SKIP,
                   limit=lambda kind: PER_RECORD_KIND if ("?id" in kind or "/N/" in kind or "student_id" in kind) else PER_KIND)
    return raw, visited, shown


@pytest.mark.parametrize("email", ["admin@xueji.demo", "school-shenhe1@xueji.demo", "heping@xueji.demo"])
def test_payloads_in_every_free_text_field_come_back_escaped(app: Flask, seeded: dict[str, int], email: str) -> None:
    seeds = (
        f"/admin/student/details/?id={seeded['student']}", f"/admin/requests/{seeded['request']}/",
        f"/admin/requests/{seeded['request']}/", "/admin/requests/", "/admin/users/", "/admin/school/",
        f"/admin/problems/{seeded['problem']}/", "/admin/status/handovers?done=1", "/admin/registrars/",
        "/admin/archive/backups", "/admin/certificates/", "/admin/audit/", "/admin/calendar/", "/admin/imports/",
        f"/admin/student/details/?id={seeded['student']}#history",
    )
    raw, visited, shown = _crawl(app, email, seeds)
    assert not raw, f"{email}: payloads came back unescaped:\n" + "\n".join(raw[:20])
    assert visited > 20 and shown > 5, (visited, shown)  # the crawl did read pages that show the payloads
