"""Every request page renders, for every change type, in every state, for every party.

The types come from `workflows.TYPES` (changes/__init__.py imports every declaring module), so a
type declared later is covered without touching this file. Each type is built in each state of
`states_of` (each step pending, refused at each step, withdrawn, overdue, decided from above,
finished) about a pupil with everything and a pupil with nothing optional (no 学籍号, class,
guardians or optional items), and its page is opened as the requesting unit, each step's unit and
an official above. The page answers 200, and what it shows contains no None/True/False, no internal
code and no English word.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import select

import changes  # noqa: F401 - declares every type
from extensions import db
from models.changes import ChangeRequest
from services import workflows
from tests.builders import make_request, official_above, states_of, user_of
from tests.conftest import login

TYPE_CODES = sorted(workflows.TYPES)
TAG_RE = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
ENGLISH_RE = re.compile(r"[A-Za-z_]{4,}")
RAW_RE = re.compile(r"\b(None|True|False|none|null)\b")
ALLOWED_WORDS = {"PDF"}


def visible_text(html: str) -> str:
    """The text a reader sees on the request page (its own block, without the menu)."""
    start = html.find('id="change-request"')
    body = html[html.index(">", start) + 1:] if start >= 0 else html
    return re.sub(r"\s+", " ", unescape(TAG_RE.sub(" ", body)))


def raw_words(text: str) -> list[str]:
    """None/True/False, internal codes and English words in shown text (a G-number and 'PDF' are fine)."""
    found = RAW_RE.findall(text)
    found += [w for w in ENGLISH_RE.findall(text) if w not in ALLOWED_WORDS]
    return found


def _parties(req: ChangeRequest) -> dict[str, str]:
    """e-mail → the roles in which that account opens the page: the requester, each step's unit, an
    official above each step. An account in several roles (a step's unit is often the official
    above the step before) opens the page once: the page depends on who looks, not on why."""
    roles = [("requester", req.requested_by.email)]
    for step in req.steps:
        user = user_of(step.unit)
        if user is not None:
            roles.append((f"step {step.seq} ({step.role})", user.email))
        above = official_above(step.unit)
        if above is not None:
            roles.append((f"above step {step.seq}", above.email))
    roles.append(("province", "province@xueji.demo"))
    parties: dict[str, str] = {}
    for role, email in roles:
        parties[email] = f"{parties[email]}, {role}" if email in parties else role
    return parties


def _build(app: Flask, type_code: str) -> list[tuple[int, str, str, dict[str, str]]]:
    built = []
    with app.test_request_context():
        for state in states_of(type_code):
            for kind, kw in (("complete", {"name": "古丽米热·艾合买提江"}), ("bare", {"bare": True, "name": "王𠮷"})):
                req = make_request(type_code, state, **kw)
                built.append((req.id, state, kind, _parties(req)))
        db.session.commit()
    return built


@pytest.mark.parametrize("type_code", TYPE_CODES)
def test_every_request_page_renders_for_every_party(app: Flask, type_code: str) -> None:
    built = _build(app, type_code)
    clients: dict[str, object] = {}
    failures = []
    for request_id, state, kind, parties in built:
        for email, party in parties.items():
            client = clients.get(email) or clients.setdefault(email, login(app, email))  # setdefault alone logged in on every page
            resp = client.get(f"/admin/requests/{request_id}/")  # type: ignore[attr-defined]
            where = f"{type_code} {state} ({kind} pupil) as {party} {email}"
            if resp.status_code != 200:
                failures.append(f"{where}: {resp.status_code}")
                continue
            html = resp.get_data(as_text=True)
            shown = raw_words(visible_text(html))
            if shown:
                failures.append(f"{where}: shows {sorted(set(shown))}")
            prints = re.findall(rf'href="(/admin/requests/{request_id}/print/[^"]+)"', html)
            if len(prints) != len(set(prints)):  # the transfer contact form was offered twice
                failures.append(f"{where}: a printable form is offered twice: {sorted(prints)}")
    assert not failures, "\n".join(failures)


def test_every_declared_type_has_a_state_list() -> None:
    """A type added later is built in each of its states: one pending and one refused state per step."""
    for code, ctype in workflows.TYPES.items():
        states = states_of(code)
        assert [s for s in states if s.startswith("pending:")] == [f"pending:{k}" for k in range(1, len(ctype.steps) + 1)]
        if not ctype.steps:  # decided by the school alone (校内调班): done when opened, nothing else
            assert states == ["done"]
            continue
        assert {"withdrawn", "overdue", "forced", "done"} <= set(states)


@pytest.mark.parametrize("type_code", ["enrollment", "transfer_in_province"])
def test_request_of_a_pupil_without_student_number_says_so(app: Flask, as_user, type_code: str) -> None:
    """入学核办 and 省外转入: the new pupil has no 学籍号 yet; the page says 未分配学籍号 (it answered 500)."""
    with app.test_request_context():
        req = make_request(type_code, "pending:1", xjh=None)
        assert req.student.xjh is None
        request_id = req.id
        db.session.commit()
    resp = as_user("heping").get(f"/admin/requests/{request_id}/")
    assert resp.status_code == 200
    assert "未分配学籍号" in resp.get_data(as_text=True)


def test_approving_a_single_enrollment_issues_the_student_number(app: Flask, as_user) -> None:
    """The authority can now open and approve one new pupil's 入学核办."""
    with app.test_request_context():
        req = make_request("enrollment", "pending:1", name="阿卜杜热合曼·买买提艾力")
        request_id, step_id, student_id = req.id, req.steps[0].id, req.student_id
        db.session.commit()
    client = as_user("heping")
    page = f"/admin/requests/{request_id}/"
    assert client.get(page).status_code == 200
    resp = client.post_form(f"/admin/requests/{request_id}/decide", {"step_id": step_id, "decision": "approve", "comment": ""},
                            token_from=page)
    assert resp.status_code == 302
    with app.app_context():
        from models.student import Student

        student = db.session.get(Student, student_id)
        assert student.status == "enrolled" and student.xjh == "G" + student.id_number


def test_archive_backup_shows_items_in_words(app: Flask, as_user) -> None:
    """The sending school's backup (第十条) on a finished transfer shows labels and words, not column names or 1/0."""
    with app.test_request_context():
        req = make_request("transfer", "reported")
        assert req.archive_backup, "the effect keeps a backup"
        request_id = req.id
        db.session.commit()
    html = as_user("school-shenhe1").get(f"/admin/requests/{request_id}/").get_data(as_text=True)
    assert 'id="archive-backup"' in html
    backup = html[html.index('id="archive-backup"'):]
    backup = backup[backup.index(">") + 1: backup.index("</table>")]
    assert "姓名" in backup and "school_id" not in backup and "only_child" not in backup
    assert not raw_words(visible_text(backup))


def _page_of(app: Flask, as_user, type_code: str, who: str, **kw) -> str:
    with app.test_request_context():
        req = make_request(type_code, "pending:1", **kw)
        request_id = req.id
        db.session.commit()
    resp = as_user(who).get(f"/admin/requests/{request_id}/")
    assert resp.status_code == 200
    return visible_text(resp.get_data(as_text=True))


def test_request_page_shows_what_is_asked_in_words(app: Flask, as_user) -> None:
    """Who decides sees what they decide: the suspension's days, the destination abroad, the items a
    correction changes (old → new), the kind of a 第十七条 move — in words, never as payload keys."""
    text = _page_of(app, as_user, "suspension", "school-heping1")
    assert "休学起始日期" in text and "休学截止日期" in text and "starts_on" not in text
    text = _page_of(app, as_user, "abroad", "school-heping1")
    assert "加拿大" in text and "护照" in text
    text = _page_of(app, as_user, "correction", "school-heping1", name="张三")
    assert "张三 → 张𠮷" in text
    text = _page_of(app, as_user, "special_attend", "school-heping1")
    assert "学籍去向" in text
    assert not raw_words(text)


def test_arrival_from_another_province_is_taken_in_through_its_page(app: Flask, as_user) -> None:
    """省外转入 end to end on the screens: the new record (no 学籍号 yet) is entered, its request page
    opens (it answered 500), the materials are uploaded there, our school and our authority approve,
    and the pupil is in school with a 学籍号."""
    import io

    from models.student import Student
    from tests.helpers import student_form
    from tests.transfer_helpers import png_bytes

    school_client = as_user("school-heping1")
    form = student_form(name="阿卜杜热合曼·买买提艾力", arrival_from="吉林省长春市南关区第一小学", arrival_reason="hukou_moved")
    resp = school_client.post_form("/admin/student/new/", form)
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest).where(ChangeRequest.type == "transfer_in_province"))
        request_id, student_id = req.id, req.student_id
        assert req.student.xjh is None
    page = f"/admin/requests/{request_id}/"
    text = visible_text(school_client.get(page).get_data(as_text=True))
    assert "未分配学籍号" in text and "吉林省长春市南关区第一小学" in text
    for material in ("contact_form", "release_proof"):
        resp = school_client.post_form(f"{page}attach", {"material": material, "file": (io.BytesIO(png_bytes()), "材料.png")},
                                       token_from=page, content_type="multipart/form-data")
        assert resp.status_code == 302
    for who in ("school-heping1", "heping"):
        client = as_user(who)
        with app.app_context():
            step_id = db.session.get(ChangeRequest, request_id).current_step.id
        resp = client.post_form(f"{page}decide", {"step_id": step_id, "decision": "approve", "comment": ""}, token_from=page)
        assert resp.status_code == 302
        assert client.get(page).status_code == 200
    with app.app_context():
        student = db.session.get(Student, student_id)
        assert student.status == "enrolled"
        assert student.xjh == "G" + student.id_number, "a pupil taken in gets the 学籍号 (第六条)"


TURNING_DAYS = [date(2025, 12, 31), date(2026, 1, 2), date(2026, 2, 13), date(2026, 2, 18), date(2026, 2, 25),
                date(2026, 12, 31), date(2027, 1, 4), date(2027, 2, 5), date(2027, 2, 10)]


@pytest.mark.parametrize("today", TURNING_DAYS, ids=str)
def test_request_pages_and_queues_on_both_sides_of_new_year_and_spring_festival(app: Flask, monkeypatch, today: date) -> None:
    """Working days are counted across New Year and the Spring Festival (a year whose calendar is
    not entered yet is estimated): the request pages and the 待我核办/已超期 queues still answer, with
    the days left in words."""
    from tests.transfer_helpers import at

    at(monkeypatch, today)
    with app.test_request_context():
        ids = [make_request(code, state, filed_on=today - timedelta(days=back)).id
               for code in ("transfer", "suspension", "death") for state in ("pending:1", "overdue") for back in (1, 12)]
        db.session.commit()
    for who in ("school-heping1", "heping", "shenyang"):
        client = login(app, f"{who}@xueji.demo")
        for queue in ("waiting", "overdue", "all"):
            assert client.get(f"/admin/requests/?queue={queue}").status_code == 200
        for request_id in ids:
            resp = client.get(f"/admin/requests/{request_id}/")
            assert resp.status_code in (200, 404), (who, request_id)
            if resp.status_code == 200:
                assert not raw_words(visible_text(resp.get_data(as_text=True))), (who, request_id)


def test_a_request_queue_reads_its_steps_and_the_calendar_once(app: Flask, as_user) -> None:
    """The queue's rows each show their current step and its working days left: the page's steps
    come in one query and the calendar's years in one read each, whatever the number of rows."""
    from sqlalchemy import event

    _build(app, "transfer")  # a transfer in every state, for a pupil with all data and one without
    c = as_user("province")
    c.get("/admin/")
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, many):
        statements.append(statement.lstrip())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = c.get("/admin/requests/?page_size=50").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    rows = len(set(re.findall(r'href="/admin/requests/(\d+)/"', page)))
    assert rows >= 10, rows
    assert "working days" in page or "个工作日" in page
    assert len([s for s in statements if s.startswith("SELECT approval_step.")]) == 1
    assert len([s for s in statements if "FROM calendar_day" in s]) <= 1
    assert len([s for s in statements if "FROM official_calendar_year" in s]) <= 1
    assert len(statements) < 20, len(statements)


def test_a_request_page_reads_the_request_with_its_pupil_schools_requester_and_steps(app: Flask, as_user) -> None:
    """workflows.get_visible: the request with its pupil, both schools, the requester and its unit
    in one statement, its steps with their units and deciders in one more — for a transfer in every
    state, each page complete (no lazy load of a pupil, a unit or a user afterwards)."""
    from tests.admin.test_request_account import statements as statements_of

    _build(app, "transfer")
    c = as_user("province")
    listing = c.get("/admin/requests/?page_size=50").get_data(as_text=True)
    ids = sorted(set(re.findall(r'href="/admin/requests/(\d+)/"', listing)))
    assert len(ids) >= 10, ids
    for rid in ids:
        with statements_of(app) as statements:
            response = c.get(f"/admin/requests/{rid}/")
        assert response.status_code == 200, rid
        lazy = [s for s in statements if s.startswith(("SELECT student.", "SELECT org_unit.", 'SELECT "user".'))]
        assert lazy == [], (rid, lazy)
        assert len([s for s in statements if s.startswith("SELECT approval_step.")]) == 1, rid
