"""Statistics, dashboards, rosters (第十二条), violation reports (第三十条) and the term data check
(第二十七条): counts against direct queries, links against the lists they open, PDF and XLSX
content, and the scope rule on every new URL."""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select, update

from changes import departures, suspension, transfer
from extensions import db
from models.archive import ArchiveDocument
from models.audit import AuditLog, StudentHistory
from models.changes import Attachment, ChangeRequest, PrintedDocument
from models.graduation import GraduationRecord
from models.lifecycle import arranging
from models.org import OrgUnit
from models.oversight import CheckCampaign, CheckCompletion
from models.status import ILLNESS, OTHER, ArchiveHandover
from models.student import Student
from services import absences, arrivals, clock, exports, family_contacts, graduation, pdf, scope, statistics, workflows
from services.errors import NotInScope, RuleViolation
from services.org import merge_schools
from services.oversight import campaigns, reports, violations
from services.rosters import counts as roster_counts
from services.rosters import registers
from services.students import save_student
from tests.export_helpers import open_gate, shut_gate
from tests.helpers import CITYDIRECT, HEPING1, HEPING2, HEPING_SPECIAL, SHENHE1, XIGANG1, school
from tests.services.test_dedup import flag
from tests.transfer_helpers import approve, at, upload, user

MON = date(2026, 11, 2)  # a Monday of the first term of 2026–27
SPRING = date(2026, 3, 10)  # a Tuesday of the second term of 2025–26: the register submitted in 2026
OUTSIDERS = ("school-shenhe1", "shenhe", "school-xigang1")  # none of them may reach 和平一小


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


# --- helpers ------------------------------------------------------------------------------------


def pupils(code: str, **where: object) -> list[Student]:
    query = select(Student).join(Student.school).where(OrgUnit.code == code).order_by(Student.id)
    for k, v in where.items():
        query = query.where(getattr(Student, k) == v)
    return list(db.session.scalars(query))


def give_all(req: ChangeRequest) -> None:
    for m in workflows.missing_materials(req):
        workflows.attach(req, m.code, upload(), req.requested_by)
    db.session.commit()


def suspend(pupil: Student, day: date, reason_kind: str = ILLNESS) -> ChangeRequest:
    req = suspension.request_suspension(pupil, user("school-" + _school_account(pupil)), reason_kind=reason_kind, starts_on=day,
                                        ends_on=None, reason_text="住院治疗")
    give_all(req)
    approve(req, "school-" + _school_account(pupil), _authority_account(pupil))
    assert req.status == "completed" and pupil.status == "suspended"
    return req


def _school_account(pupil: Student) -> str:
    return {HEPING1: "heping1", HEPING2: "heping2", SHENHE1: "shenhe1", XIGANG1: "xigang1", CITYDIRECT: "citydirect"}[pupil.school.code]


def _authority_account(pupil: Student) -> str:
    return {"210102": "heping", "210103": "shenhe", "210203": "xigang", "2101": "shenyang"}[pupil.school.supervisor.code]


def transfer_completed(pupil: Student, receiver: str = "school-shenhe1") -> ChangeRequest:
    req = transfer.start_transfer(pupil, user(receiver), reason_code="hukou_moved", reason_text="随父母迁居", hukou_changed=True)
    give_all(req)
    to_auth, from_auth = req.to_school.supervisor.code, req.from_school.supervisor.code
    accounts = {"210102": "heping", "210103": "shenhe", "210203": "xigang", "2101": "shenyang"}
    approve(req, receiver, accounts[to_auth], "school-" + _school_account(pupil), accounts[from_auth])
    arrivals.report_arrival(req, user(receiver))
    db.session.commit()
    assert req.status == "completed"
    return req


def truant(pupil: Student, last: date = date(2026, 10, 30)) -> None:
    """Five weeks of unexcused absence (国庆 inside) and two attempts to bring the pupil back."""
    staff = user("school-" + _school_account(pupil))
    absences.record_absence(pupil, staff, first_day=date(2026, 9, 28), last_day=last, excused=False, note=None)
    for day in (date(2026, 10, 12), date(2026, 10, 20)):
        family_contacts.record_contact(pupil, staff, purpose="dropout", contacted_on=day, method="电话", outcome="未返校")
    db.session.commit()


def href(page: str, element_id: str) -> str:
    m = re.search(r'id="' + re.escape(element_id) + r'"[^>]*href="([^"]+)"', page)
    assert m, f"no link #{element_id}"
    return html.unescape(m.group(1))


def number(page: str, element_id: str) -> int:
    m = re.search(r'id="' + re.escape(element_id) + r'"[^>]*>(\d+)<', page)
    assert m, f"no number #{element_id}"
    return int(m.group(1))


def links(fragment: str) -> list[tuple[str, dict[str, str]]]:
    """Every link of a piece of HTML with its query arguments."""
    out = []
    for raw in re.findall(r'href="([^"]+)"', fragment):
        url = html.unescape(raw)
        out.append((url, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}))
    return out


def listed_students(client, url: str) -> set[int]:
    page = client.get(url + ("&" if "?" in url else "?") + "page_size=100").get_data(as_text=True)
    return {int(i) for i in re.findall(r"/admin/student/details/\?id=(\d+)", page)}


def workbook(resp) -> list[list[object]]:
    assert resp.status_code == 200 and resp.mimetype == exports.XLSX_MIMETYPE
    wb = load_workbook(io.BytesIO(resp.data), read_only=True)
    return [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]  # type: ignore[misc]


def in_record_direct(path: str) -> Counter[tuple[int, str]]:
    rows = db.session.execute(
        select(Student.grade, OrgUnit.school_kind, func.count()).join(OrgUnit, OrgUnit.id == Student.school_id)
        .where(Student.scope_path.startswith(path), Student.status.in_(("enrolled", "suspended")))
        .group_by(Student.grade, OrgUnit.school_kind)
    )
    return Counter({(g, k): n for g, k, n in rows})


# --- pupils -------------------------------------------------------------------------------------------


def test_pupil_counts_match_direct_queries_and_keep_suspended_pupils_in_the_record(ctx):
    heping = user("heping")
    a, b, c = pupils(HEPING1)[:3]
    suspend(a, MON)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        b.status = "dropped_out"
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        c.status = "transferred_out"
    db.session.commit()
    counts = statistics.pupil_counts(heping.unit.path)
    got = Counter()
    for row in statistics.in_record(counts):
        got[(row.grade, row.school_kind)] += row.n
    assert got == in_record_direct(heping.unit.path)
    assert sum(got.values()) == db.session.scalar(
        select(func.count()).select_from(Student).where(scope.filter_for(heping, Student.scope_path),
                                                        Student.status.in_(("enrolled", "suspended"))))
    by_status = Counter()
    for row in counts:
        by_status[row.status] += row.n
    assert by_status["suspended"] == 1 and by_status["dropped_out"] == 1 and by_status["transferred_out"] == 1
    # 第十九条: the suspended pupil still counts in the record of the grade left.
    assert any(r.grade == a.grade and r.status == "suspended" for r in statistics.in_record(counts))


def test_dashboard_numbers_link_to_lists_with_the_same_pupils(as_user, app):
    with app.test_request_context():
        pupil = pupils(HEPING1)[0]
        suspend(pupil, MON)
        grade, name = pupil.grade, pupil.name
        expected = set(db.session.scalars(select(Student.id).join(Student.school).where(
            OrgUnit.code == HEPING1, Student.status.in_(("enrolled", "suspended")))))
        same_grade = set(db.session.scalars(select(Student.id).join(Student.school).where(
            OrgUnit.code == HEPING1, Student.status.in_(("enrolled", "suspended")), Student.grade == grade)))
    c = as_user("school-heping1")
    page = c.get("/admin/statistics/").get_data(as_text=True)
    assert number(page, "dash-in-record") == len(expected)
    assert number(page, "dash-suspended") == 1
    assert listed_students(c, href(page, "dash-in-record")) == expected
    suspended = c.get(href(page, "dash-suspended")).get_data(as_text=True)
    assert name in suspended
    # The grade's total links to that grade's pupils in the record, the suspended one included.
    table = page.split('id="dash-grade-table"')[1].split("</table>")[0]
    grade_total = next(u for u, args in links(table) if sorted(args.values()) == sorted([str(grade), "enrolled,suspended"]))
    assert listed_students(c, grade_total) == same_grade


def test_school_sees_only_its_own_numbers_and_a_county_its_schools(ctx):
    own = Counter()
    for row in statistics.in_record(statistics.pupil_counts(user("school-shenhe1").unit.path)):
        own[row.grade] += row.n
    assert sum(own.values()) == len(pupils(SHENHE1))
    county = sum(r.n for r in statistics.in_record(statistics.pupil_counts(user("shenhe").unit.path)))
    assert county == len(pupils(SHENHE1)) + len(pupils(CITYDIRECT))  # the city-direct school stands in 沈河区
    heping = sum(r.n for r in statistics.in_record(statistics.pupil_counts(user("heping").unit.path)))
    assert heping == len(pupils(HEPING1)) + len(pupils(HEPING2))


# --- changes, approvals, problems -----------------------------------------------------------------------


def test_changes_by_type_and_month_match_completed_requests(ctx, monkeypatch):
    at(monkeypatch, SPRING)
    spring = suspend(pupils(HEPING1, grade=2)[0], SPRING)
    at(monkeypatch, MON)
    autumn = suspend(pupils(HEPING2)[0], MON)
    counts = statistics.change_counts(user("heping"))
    assert {(c.type, c.year, c.month): c.n for c in counts} == {("suspension", 2026, 3): 1, ("suspension", 2026, 11): 1}
    assert statistics.change_counts(user("school-heping1"))[0].month == 3  # only its own
    assert statistics.change_counts(user("shenhe")) == []
    direct = db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        workflows.visible_filter(user("shenyang")), ChangeRequest.status == "completed"))
    assert sum(c.n for c in statistics.change_counts(user("shenyang"))) == direct == 2
    assert {spring.id, autumn.id} == set(db.session.scalars(select(ChangeRequest.id).where(ChangeRequest.status == "completed")))


def test_change_month_cell_links_to_the_requests_of_that_month(as_user, app, monkeypatch):
    with app.test_request_context():
        at(monkeypatch, SPRING)
        spring = suspend(pupils(HEPING1, grade=2)[0], SPRING).id
        at(monkeypatch, MON)
        autumn = suspend(pupils(HEPING1, grade=3)[0], MON).id
    c = as_user("heping")
    page = c.get("/admin/statistics/").get_data(as_text=True)
    table = page.split('id="dash-change-table"')[1].split("</table>")[0]
    march = next(u for u, args in links(table) if "2026-03-01 00:00:00 to 2026-03-31 23:59:59" in args.values())
    listed = c.get(march).get_data(as_text=True)
    assert f"#{spring}<" in listed and f"#{autumn}<" not in listed


def test_pending_and_overdue_approvals_follow_the_queues(as_user, app, monkeypatch):
    with app.test_request_context():
        req = suspension.request_suspension(pupils(HEPING1)[0], user("school-heping1"), reason_kind=OTHER, starts_on=MON,
                                            ends_on=None, reason_text="随父母外出")
        give_all(req)
        rid = req.id
        assert statistics.approval_counts(user("school-heping1"))["waiting"] == {"suspension": 1}
        assert statistics.approval_counts(user("heping"))["waiting"] == {}
        assert statistics.approval_counts(user("heping"))["pending"] == {"suspension": 1}
        assert statistics.approval_counts(user("shenhe"))["pending"] == {}
    at(monkeypatch, MON + timedelta(days=30))  # past the school's 10 working days
    with app.test_request_context():
        for who in ("school-heping1", "heping", "shenyang", "shenhe"):
            direct = db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
                workflows.visible_filter(user(who)), workflows.queue_filter(user(who), "overdue")))
            assert sum(statistics.approval_counts(user(who))["overdue"].values()) == direct
        assert statistics.approval_counts(user("heping"))["overdue"] == {"suspension": 1}
    c = as_user("heping")
    page = c.get("/admin/statistics/").get_data(as_text=True)
    assert number(page, "dash-queue-overdue") == 1
    assert f"#{rid}<" in c.get(href(page, "dash-queue-overdue")).get_data(as_text=True)
    assert number(as_user("shenhe").get("/admin/statistics/").get_data(as_text=True), "dash-queue-overdue") == 0


ENDS = ("from_path", "to_path", "from_central_id", "to_central_id")


def test_the_queues_and_counts_of_every_level_can_be_read_by_index(app):
    """PostgreSQL (migration w_reqix): every end of visible_filter's OR has an index, so a county's
    or a city's requests are read by a BitmapOr; the queues 待我核办 and 已超期 read the open steps
    from their indexes. With sequential scans priced out, no plan scans change_request or
    approval_step (a missing index, or a condition the partial index cannot serve, would)."""
    from sqlalchemy import text

    with app.test_request_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's plans")
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        for who in ("school-heping1", "heping", "shenyang"):
            actor = user(who)
            for queue in ("waiting", "overdue", "all"):
                stmt = select(func.count()).select_from(ChangeRequest).where(
                    workflows.visible_filter(actor), workflows.queue_filter(actor, queue))
                sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
                plan = "\n".join(db.session.scalars(text("EXPLAIN " + sql)))
                assert "Seq Scan on change_request" not in plan and "Seq Scan on approval_step" not in plan, (who, queue, plan)
                if queue == "all":  # the four ends of the scope, each by its index
                    assert "BitmapOr" in plan and all(f"ix_change_request_{end}" in plan for end in ENDS), (who, plan)
                if queue in ("waiting", "overdue"):  # the open steps, which the open-step indexes hold (which one the
                    # planner takes depends on the figures of the moment)
                    assert "approval_step.decision IS NULL" in sql, sql
        db.session.rollback()


def test_open_problem_records_are_counted_by_kind_and_linked(as_user, app):
    with app.test_request_context():
        flag(pupils(HEPING1)[0])
        flag(pupils(SHENHE1)[0])
        assert statistics.problem_counts(user("heping").unit.path) == {"invalid_id": 1}
        assert statistics.problem_counts(user("shenyang").unit.path) == {"invalid_id": 2}
        name = pupils(HEPING1)[0].name
    c = as_user("school-heping1")
    page = c.get("/admin/statistics/").get_data(as_text=True)
    assert number(page, "dash-problems-total") == 1
    assert name in c.get(href(page, "dash-problems-total")).get_data(as_text=True)


def test_statistics_of_wide_units_are_cached_but_not_in_tests(app):
    with app.test_request_context():
        assert statistics._cache_seconds() == 0
        app.config["STATISTICS_CACHE_SECONDS"] = 60
        try:
            statistics.clear_cache()
            first = statistics.pupil_counts("/21/")
            db.session.execute(update(Student).values(status="graduated"))
            # The province waits a minute, on PostgreSQL too: its trigger-kept counts (models/pupil_count.py)
            # are still a sum over every school of the subtree.
            assert statistics.pupil_counts("/21/") == first
            assert all(r.status == "graduated" for r in statistics.pupil_counts("/21/2101/210102/"))  # a county does not
        finally:
            app.config.pop("STATISTICS_CACHE_SECONDS")
            statistics.clear_cache()
            db.session.rollback()


# --- rosters (第十二条) ------------------------------------------------------------------------------------


def test_new_pupil_roster_of_a_school_as_pdf_and_xlsx(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        first_graders = pupils(HEPING1, grade=1)
        names = {p.name for p in first_graders}
        heping1 = school(HEPING1).id
        assert first_graders and all(p.enroll_month == "2026-09" for p in first_graders)
    c = as_user("school-heping1")
    resp = c.get(f"/admin/rosters/new/{heping1}.pdf?year=2026")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf.extract_text(resp.data)
    assert "新生花名册" in text and "沈阳市和平区第一小学" in text and "2026—2027学年" in text
    assert "2026年9月30日" in text  # due one month after the school year starts
    assert all(n in text for n in names)
    assert f"共 {len(names)} 人" in text
    sheet = workbook(c.get(f"/admin/rosters/new/{heping1}.xlsx?year=2026"))[0]
    assert sheet[0][:3] == ["序号", "姓名", "性别"]
    assert {row[1] for row in sheet[1:]} == names
    with app.test_request_context():
        doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.kind == "roster_new"))
        assert doc.number.startswith("HM") and doc.number in text.replace(" ", "")
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "roster_new"))
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_id == str(doc.id)))
    # Another school year has no new pupils at this school.
    assert "本学年无新生" in pdf.extract_text(c.get(f"/admin/rosters/new/{heping1}.pdf?year=2020").data)


def test_register_of_additions_and_removals_of_the_past_school_year(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        at(monkeypatch, SPRING)
        away, resting = pupils(HEPING1, grade=3)[:2]
        transfer_completed(away)
        suspend(resting, SPRING)
        names = away.name, resting.name
        ids = school(HEPING1).id, school(SHENHE1).id, school(HEPING1).parent_id
        at(monkeypatch, MON)
        counts = roster_counts.register_counts("/21/", 2026)
        assert counts[ids[0]] == Counter({"transfer_out": 1, "suspension": 1})
        assert counts[ids[1]] == Counter({"transfer_in": 1})
        assert roster_counts.register_counts("/21/", 2027) == {}  # not in the school year 2026–27
    c = as_user("school-heping1")
    text = pdf.extract_text(c.get(f"/admin/rosters/changes/{ids[0]}.pdf?year=2026").data)
    assert "学生增加和减少情况登记表" in text and "2025—2026学年" in text
    assert names[0] in text and names[1] in text and "转出" in text and "休学" in text and "沈阳市沈河区第一小学" in text
    summary, detail = workbook(c.get(f"/admin/rosters/changes/{ids[0]}.xlsx?year=2026"))
    assert ["减少", "转出", 1] in summary and ["减少", "休学", 1] in summary and ["增加", "转入", 0] in summary
    assert {(row[1], row[3]) for row in detail[1:]} == {("转出", names[0]), ("休学", names[1])}
    # The county's aggregate: one line per school with the totals, and the sum.
    text = pdf.extract_text(as_user("heping").get(f"/admin/rosters/changes/{ids[2]}.pdf?year=2026").data)
    assert "沈阳市和平区第一小学" in text and "沈阳市和平区第二中学" in text and "合计" in text
    sheet = workbook(as_user("heping").get(f"/admin/rosters/changes/{ids[2]}.xlsx?year=2026"))[0]
    header, lines = sheet[0], {row[0]: row for row in sheet[1:]}
    assert lines["沈阳市和平区第一小学"][header.index("减少·转出")] == 1
    assert lines["和平区教育局"][header.index("减少合计")] == 2  # the total line carries the unit's name


def test_city_direct_school_register_is_listed_for_the_county_where_it_stands(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        at(monkeypatch, SPRING)
        pupil = pupils(CITYDIRECT, grade=4)[0]
        suspend(pupil, SPRING)
        direct, name = school(CITYDIRECT), pupil.name
        direct_id, direct_name, shenhe_id = direct.id, direct.name, direct.parent_id
        assert direct.supervisor.code == "2101" and direct.parent.code == "210103"
        at(monkeypatch, MON)
    c = as_user("shenhe")
    page = c.get("/admin/rosters/?year=2026").get_data(as_text=True)
    row = page.split(f'id="roster-{CITYDIRECT}"')[1].split("</tr>")[0]
    assert direct_name in row and f"/admin/rosters/changes/{direct_id}.pdf" in row
    text = pdf.extract_text(c.get(f"/admin/rosters/changes/{direct_id}.pdf?year=2026").data)
    assert name in text and "抄报所在地：沈河区教育局" in text and "沈阳市教育局" in text
    county = pdf.extract_text(c.get(f"/admin/rosters/changes/{shenhe_id}.pdf?year=2026").data)
    assert direct_name + "（直管）" in county.replace("\n", "")
    assert as_user("school-citydirect").get(f"/admin/rosters/changes/{direct_id}.pdf?year=2026").status_code == 200
    assert as_user("shenyang").get(f"/admin/rosters/changes/{direct_id}.pdf?year=2026").status_code == 200
    assert as_user("heping").get(f"/admin/rosters/changes/{direct_id}.pdf?year=2026").status_code == 404


def test_roster_list_shows_the_due_date_and_overdue(as_user, monkeypatch):
    """Past the due date, a school that has not submitted is overdue on its own line (the date alone
    no longer marks the whole page overdue: tests/test_roster_submissions.py)."""
    page = as_user("heping").get("/admin/rosters/?year=2026").get_data(as_text=True)
    assert "2026-09-30" in page and "badge-danger" not in page.split('id="roster-due"')[1].split("</p>")[0]
    assert "roster-state-missing" in page.split(f'id="roster-{HEPING1}"')[1].split("</tr>")[0]
    page = as_user("heping").get("/admin/rosters/?year=2027").get_data(as_text=True)
    assert "2027-09-30" in page and "badge-danger" not in page.split('id="roster-due"')[1].split("</p>")[0]
    assert as_user("heping").get("/admin/rosters/?year=1900").status_code == 404


def test_roster_export_passes_the_export_gate(as_user, app, monkeypatch):
    with app.test_request_context():
        heping1 = school(HEPING1).id
    shut_gate(monkeypatch)
    resp = as_user("school-heping1").get(f"/admin/rosters/new/{heping1}.xlsx?year=2026")
    assert resp.status_code == 403 and "测试：网关拒绝" in resp.get_data(as_text=True)
    with app.test_request_context():
        assert not db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "roster_new"))


def test_roster_due_date_is_one_month_after_the_school_year_starts(app):
    with app.test_request_context():
        assert registers.year_start(2026) == date(2026, 9, 1) and registers.due_on(2026) == date(2026, 9, 30)
        assert registers.current_year(date(2026, 8, 31)) == 2025 and registers.current_year(date(2026, 9, 1)) == 2026


# --- violation reports (第三十条) -----------------------------------------------------------------------------


def test_archive_overdue_report_counts_what_its_list_shows(as_user, app):
    with app.test_request_context():
        late = pupils(HEPING1)[0]
        db.session.execute(update(Student).where(Student.id == late.id).values(created_at=clock.now() - timedelta(days=40)))
        db.session.commit()
        assert reports.count(user("school-heping1"), reports.ARCHIVE) == 1
        assert reports.count(user("heping"), reports.ARCHIVE) == 1
        assert reports.count(user("shenhe"), reports.ARCHIVE) == 0
        name = late.name
    page = as_user("heping").get("/admin/oversight/").get_data(as_text=True)
    row = page.split('id="report-archive_overdue"')[1].split("</tr>")[0]
    assert re.search(r">1</a>", row)
    assert name in as_user("heping").get(re.search(r'href="([^"]+)"', row).group(1)).get_data(as_text=True)


def test_changes_not_archived_finds_a_completed_change_with_missing_evidence(as_user, app, monkeypatch):
    with app.test_request_context():
        kept = suspend(pupils(HEPING1)[0], MON)  # every file there
        lost = suspend(pupils(HEPING1)[1], MON, reason_kind=OTHER)
        # A change completed with a file missing (older data, or a file lost): the filed archive copy goes too.
        gone = select(Attachment.id).where(Attachment.request_id == lost.id, Attachment.material == "reason_proof")
        db.session.execute(delete(ArchiveDocument).where(ArchiveDocument.attachment_id.in_(gone)))
        db.session.execute(delete(Attachment).where(Attachment.request_id == lost.id, Attachment.material == "reason_proof"))
        moved = transfer_completed(pupils(HEPING1)[2])  # hukou moved: no proof of reason needed
        db.session.commit()
        assert [m.code for m in workflows.missing_materials(lost)] == ["reason_proof"]
        found = db.session.scalars(select(ChangeRequest.id).where(violations.not_archived_filter("/21/"))).all()
        assert found == [lost.id] and kept.id not in found and moved.id not in found
        assert reports.count(user("school-heping1"), reports.NOT_ARCHIVED) == 1
        assert reports.count(user("school-shenhe1"), reports.NOT_ARCHIVED) == 0
        lost_id = lost.id
    page = as_user("heping").get("/admin/oversight/changes_not_archived/").get_data(as_text=True)
    assert f'id="row-{lost_id}"' in page and number(page, "report-total") == 1
    for who in OUTSIDERS:
        assert f'id="row-{lost_id}"' not in as_user(who).get("/admin/oversight/changes_not_archived/").get_data(as_text=True)


def test_the_report_of_missing_evidence_agrees_with_the_workflow(ctx):
    illness = suspension.request_suspension(pupils(HEPING1)[0], user("school-heping1"), reason_kind=ILLNESS, starts_on=MON,
                                            ends_on=None, reason_text="住院")
    other = suspension.request_suspension(pupils(HEPING1)[1], user("school-heping1"), reason_kind=OTHER, starts_on=MON,
                                          ends_on=None, reason_text="外出")
    moved = transfer.start_transfer(pupils(HEPING1)[2], user("school-shenhe1"), reason_code="guardian_job", reason_text="工作调动",
                                    hukou_changed=False)
    db.session.flush()
    for req in (illness, other, moved):
        assert {m.code for m in reports.missing_of(req)} == {m.code for m in workflows.missing_materials(req)}


def test_unreported_dropouts_lists_four_weeks_of_unexcused_absence_until_reported(as_user, app):
    with app.test_request_context():
        truant_pupil, short = pupils(HEPING1)[:2]
        truant(truant_pupil)
        absences.record_absence(short, user("school-heping1"), first_day=date(2026, 10, 12), last_day=date(2026, 10, 23),
                                  excused=False, note=None)
        db.session.commit()
        found = violations.unreported_dropouts("/21/")
        assert [t.student_id for t in found] == [truant_pupil.id]
        assert reports.count(user("heping"), reports.DROPOUTS) == 1
        assert reports.count(user("school-shenhe1"), reports.DROPOUTS) == 0
        name, pid = truant_pupil.name, truant_pupil.id
    page = as_user("school-heping1").get("/admin/oversight/unreported_dropouts/").get_data(as_text=True)
    assert f'id="row-{pid}"' in page and name in page
    for who in OUTSIDERS:
        assert name not in as_user(who).get("/admin/oversight/unreported_dropouts/").get_data(as_text=True)
    with app.test_request_context():
        departures.report_dropout(db.session.get(Student, pid), user("school-heping1"), "连续旷课")
        db.session.commit()
        assert violations.unreported_dropouts("/21/") == []  # reported: waiting for the authority


def test_admission_without_transfer_finds_a_school_change_with_no_request(as_user, app):
    with app.test_request_context():
        pupil = pupils(HEPING1)[0]
        save_student(pupil, user("heping"), school(HEPING_SPECIAL))  # an official moves the record by editing it
        db.session.commit()
        transfer_completed(pupils(HEPING1)[1])  # the lawful way: not listed
        rows = db.session.execute(select(StudentHistory.id, StudentHistory.student_id)
                                  .where(violations.admissions_filter("/21/"))).all()
        assert [r.student_id for r in rows] == [pupil.id]
        assert reports.count(user("school-special"), reports.ADMISSIONS) == 1
        assert reports.count(user("school-heping1"), reports.ADMISSIONS) == 0  # the pupil is no longer there
        name = pupil.name
    page = as_user("heping").get("/admin/oversight/admission_without_transfer/").get_data(as_text=True)
    assert name in page and "沈阳市和平区第一小学（2121000001）" in page and number(page, "report-total") == 1
    for who in OUTSIDERS:
        assert name not in as_user(who).get("/admin/oversight/admission_without_transfer/").get_data(as_text=True)


def test_school_merger_is_not_an_admission_without_transfer(ctx):
    moved = merge_schools(school(HEPING2), school(HEPING1), user("heping"))
    db.session.commit()
    assert moved > 0
    assert reports.count(user("heping"), reports.ADMISSIONS) == 0


def test_archives_not_passed_on_lists_handovers_past_their_due_date(as_user, app, monkeypatch):
    with app.test_request_context():
        at(monkeypatch, date(2026, 12, 10))
        pupil = pupils(HEPING1)[0]
        pupil.migrant_child, pupil.hukou_location = True, "210203"
        db.session.commit()
        truant(pupil)
        req = departures.report_dropout(pupil, user("school-heping1"), "随父母返乡")
        approve(req, "heping")
        task = db.session.scalar(select(ArchiveHandover).where(ArchiveHandover.student_id == pupil.id))
        assert task.due_on == date(2027, 1, 31)
        assert reports.count(user("heping"), reports.HANDOVERS) == 0  # not due yet
        task_id, name = task.id, pupil.name
    at(monkeypatch, date(2027, 2, 3))
    with app.test_request_context():
        assert reports.count(user("heping"), reports.HANDOVERS) == 1
        assert reports.count(user("shenhe"), reports.HANDOVERS) == 0
    page = as_user("heping").get("/admin/oversight/handover_overdue/").get_data(as_text=True)
    assert f'id="row-{task_id}"' in page and name in page
    for who in OUTSIDERS:
        assert f'id="row-{task_id}"' not in as_user(who).get("/admin/oversight/handover_overdue/").get_data(as_text=True)


def test_oversight_page_counts_each_report_in_scope(as_user, app):
    with app.test_request_context():
        flag(pupils(HEPING1)[0])
    page = as_user("school-heping1").get("/admin/oversight/").get_data(as_text=True)
    row = page.split('id="report-open_problems"')[1].split("</tr>")[0]
    assert ">1</a>" in row
    row = as_user("school-shenhe1").get("/admin/oversight/").get_data(as_text=True).split('id="report-open_problems"')[1]
    assert ">0</a>" in row.split("</tr>")[0]
    assert as_user("heping").get("/admin/oversight/nonsense/").status_code == 404


# --- the term data check (第二十七条) ----------------------------------------------------------------------


def test_authority_starts_a_check_schools_see_and_complete_it(as_user, app):
    c = as_user("heping")
    resp = c.post_form("/admin/campaigns/new", {"title": "2026年秋季学期学籍数据核查", "due_on": "2026-11-20"},
                       token_from="/admin/campaigns/")
    assert resp.status_code == 302
    with app.test_request_context():
        campaign = db.session.scalar(select(CheckCampaign))
        assert (campaign.title, campaign.scope_path, campaign.due_on) == ("2026年秋季学期学籍数据核查", "/21/2101/210102/",
                                                                          date(2026, 11, 20))
        cid = campaign.id
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "check.start"))
    school_c = as_user("school-heping1")
    assert "2026年秋季学期学籍数据核查" in school_c.get("/admin/campaigns/").get_data(as_text=True)
    page = school_c.get(f"/admin/campaigns/{cid}/").get_data(as_text=True)
    assert 'id="checklist"' in page and 'id="completion-form"' in page
    resp = school_c.post_form(f"/admin/campaigns/{cid}/complete", {"note": "已核对全部学生身份信息"}, token_from=f"/admin/campaigns/{cid}/")
    assert resp.status_code == 302
    with app.test_request_context():
        done = db.session.scalar(select(CheckCompletion))
        assert (done.campaign_id, done.school.code, done.note) == (cid, HEPING1, "已核对全部学生身份信息")
        with pytest.raises(RuleViolation):
            campaigns.complete(db.session.get(CheckCampaign, cid), user("principal-heping1"), "再次")
        db.session.rollback()
    # The authority sees completion school by school.
    page = c.get(f"/admin/campaigns/{cid}/").get_data(as_text=True)
    row1 = page.split(f'id="school-{HEPING1}"')[1].split("</tr>")[0]
    row2 = page.split(f'id="school-{HEPING2}"')[1].split("</tr>")[0]
    assert "badge-success" in row1 and "已核对全部学生身份信息" in row1 and "badge-success" not in row2
    with app.test_request_context():
        summary = campaigns.completion_summary(db.session.get(CheckCampaign, cid), user("heping"))
        assert summary == {"schools": 3, "done": 1, "open": 2}  # 和平一小, 和平二中, 特教学校


def test_check_overdue_and_completion_with_problems_needs_a_note(ctx, monkeypatch):
    campaign = campaigns.start_campaign(user("heping"), "期中核查", MON + timedelta(days=5))
    db.session.commit()
    flag(pupils(HEPING2)[0])
    with pytest.raises(RuleViolation, match="1"):
        campaigns.complete(campaign, user("school-heping2"), "")
    db.session.rollback()
    at(monkeypatch, MON + timedelta(days=10))
    assert campaigns.is_overdue(campaign)
    done = campaigns.complete(campaign, user("school-heping2"), "重复记录待区教育局核实")
    db.session.commit()
    checks, _more = campaigns.school_checks(campaign, user("heping"), 0)
    row = next(c for c in checks if c.school.code == HEPING2)
    assert row.completion is done and row.late and row.problems[reports.PROBLEMS] == 1
    campaigns.close_campaign(campaign, user("heping"))
    db.session.commit()
    assert not campaigns.is_overdue(campaign)
    with pytest.raises(RuleViolation):
        campaigns.complete(campaign, user("school-heping1"), "关闭后")


def test_who_may_start_and_complete_a_check(ctx):
    with pytest.raises(RuleViolation):
        campaigns.start_campaign(user("school-heping1"), "学校不能发起", MON)
    with pytest.raises(RuleViolation):
        campaigns.start_campaign(user("heping"), "过去的日期", MON - timedelta(days=1))
    city = campaigns.start_campaign(user("shenyang"), "全市核查", MON + timedelta(days=20))
    db.session.commit()
    # Schools and counties of the city see it; the county sees only its own schools.
    assert city in campaigns.campaigns(user("school-shenhe1")) and city in campaigns.campaigns(user("shenhe"))
    assert city not in campaigns.campaigns(user("school-xigang1")) and city not in campaigns.campaigns(user("dalian"))
    codes = {c.school.code for c in campaigns.school_checks(city, user("shenhe"), 0)[0]}
    assert codes == {SHENHE1, CITYDIRECT, "2521000009"}
    with pytest.raises(RuleViolation):
        campaigns.complete(city, user("shenhe"), "县局不替学校完成")
    with pytest.raises(RuleViolation):
        campaigns.close_campaign(city, user("shenhe"))  # only the unit that started it
    with pytest.raises(NotInScope):
        campaigns.get_campaign(user("school-xigang1"), city.id)


def test_only_the_starting_authority_may_close_an_open_check_and_the_page_agrees(as_user, app):
    with app.test_request_context():
        campaign = campaigns.start_campaign(user("heping"), "期末核查", MON + timedelta(days=5))
        db.session.commit()
        cid = campaign.id
        assert campaigns.may_close(user("heping"), campaign)
        assert not campaigns.may_close(user("shenyang"), campaign)  # above it: sees it, does not close it
        assert not campaigns.may_close(user("school-heping1"), campaign)
    close_url = f"/admin/campaigns/{cid}/close"
    assert close_url in as_user("heping").get(f"/admin/campaigns/{cid}/").get_data(as_text=True)
    assert close_url not in as_user("shenyang").get(f"/admin/campaigns/{cid}/").get_data(as_text=True)
    with app.test_request_context():
        campaign = db.session.get(CheckCampaign, cid)
        campaigns.close_campaign(campaign, user("heping"))
        db.session.commit()
        assert not campaigns.may_close(user("heping"), campaign)
        with pytest.raises(RuleViolation, match=r"已|already"):
            campaigns.close_campaign(campaign, user("heping"))
    assert close_url not in as_user("heping").get(f"/admin/campaigns/{cid}/").get_data(as_text=True)


def test_a_school_sees_which_checks_it_has_recorded(as_user, app):
    with app.test_request_context():
        first = campaigns.start_campaign(user("heping"), "第一次核查", MON + timedelta(days=5))
        second = campaigns.start_campaign(user("heping"), "第二次核查", MON + timedelta(days=5))
        db.session.commit()
        campaigns.complete(first, user("school-heping2"), "已核对")
        db.session.commit()
        done = campaigns.completions_of(school(HEPING2).id, [first, second])
        assert set(done) == {first.id} and campaigns.completion_of(second, school(HEPING2).id) is None
        assert campaigns.completions_of(school(HEPING2).id, []) == {}
        first_id, second_id = first.id, second.id
    page = as_user("school-heping2").get("/admin/campaigns/").get_data(as_text=True)
    first_row = page.split(f'id="campaign-{first_id}"')[1].split("</tr>")[0]
    second_row = page.split(f'id="campaign-{second_id}"')[1].split("</tr>")[0]
    assert "badge-success" in first_row and "badge-success" not in second_row


def test_school_cannot_start_a_check_by_url(as_user):
    resp = as_user("school-heping1").post_form("/admin/campaigns/new", {"title": "x", "due_on": "2026-12-01"},
                                               token_from="/admin/campaigns/")
    assert resp.status_code == 403


# --- the scope matrix on every new URL ---------------------------------------------------------------------


@pytest.fixture
def planted(app, monkeypatch):
    """Cases at 和平一小 (a suspension, a problem record, a truant), a data check of 和平区, and the ids the URLs need."""
    with app.test_request_context():
        heping1 = school(HEPING1)
        a, b, c = pupils(HEPING1)[:3]
        suspend(a, MON)
        flag(b)
        truant(c)
        campaign = campaigns.start_campaign(user("heping"), "和平区核查", MON + timedelta(days=7))
        db.session.commit()
        return {"school": heping1.id, "county": heping1.parent_id, "names": [a.name, b.name, c.name],
                "campaign": campaign.id, "school_name": heping1.name}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_reach_nothing_of_heping1(as_user, planted, who):
    c = as_user(who)
    for kind in ("new", "changes"):
        for unit in ("school", "county"):
            for ext in ("pdf", "xlsx"):
                assert c.get(f"/admin/rosters/{kind}/{planted[unit]}.{ext}?year=2026").status_code == 404
    assert c.get(f"/admin/campaigns/{planted['campaign']}/").status_code == 404
    resp = c.post_form(f"/admin/campaigns/{planted['campaign']}/complete", {"note": "x"}, token_from="/admin/campaigns/")
    assert resp.status_code == 404
    resp = c.post_form(f"/admin/campaigns/{planted['campaign']}/close", {}, token_from="/admin/campaigns/")
    assert resp.status_code == 404
    for url in ("/admin/statistics/", "/admin/rosters/?year=2026", "/admin/oversight/", "/admin/campaigns/",
                *(f"/admin/oversight/{code}/" for code in ("changes_not_archived", "unreported_dropouts",
                                                           "admission_without_transfer", "handover_overdue"))):
        page = c.get(url).get_data(as_text=True)
        assert all(n not in page for n in planted["names"]), url
        assert planted["school_name"] not in page and "和平区核查" not in page, url


def test_insiders_reach_the_planted_cases(as_user, planted, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    c = as_user("heping")
    assert c.get(f"/admin/rosters/new/{planted['school']}.pdf?year=2026").status_code == 200
    assert c.get(f"/admin/campaigns/{planted['campaign']}/").status_code == 200
    page = c.get("/admin/oversight/unreported_dropouts/").get_data(as_text=True)
    assert planted["names"][2] in page
    s = as_user("school-heping1")
    assert s.get(f"/admin/rosters/changes/{planted['county']}.pdf?year=2026").status_code == 404  # the county's, not a school's
    page = s.get(f"/admin/campaigns/{planted['campaign']}/").get_data(as_text=True)
    row = page.split('id="check-open_problems"')[1].split("</tr>")[0]
    assert ">1</a>" in row


def test_unknown_roster_kind_and_unit_are_404(as_user):
    c = as_user("heping")
    assert c.get("/admin/rosters/secret/1.pdf").status_code == 404
    assert c.get("/admin/rosters/new/999999.pdf").status_code == 404


def test_dashboard_charts_are_inline_svg_linking_to_the_lists(as_user):
    """Charts drawn on the server by a library (pygal): no script, nothing fetched, each bar a link."""
    import re

    html = as_user("heping").get("/admin/statistics/").get_data(as_text=True)
    chart = html[html.index('id="dash-grade-chart"'):]
    chart = chart[:chart.index("</svg>")]
    assert "<svg" in chart and "<script" not in chart
    links = re.findall(r'xlink:href="([^"]+)"', chart)
    assert links and all(link.startswith("/admin/student/") for link in links)
    assert not re.search(r'(src|href)="https?://', html)


def test_a_chart_is_drawn_once_for_the_same_bars() -> None:
    """admin/charts.bar_chart keeps the SVG of the same words, numbers and links (pygal ~5 ms a chart):
    equal bars give the kept drawing; a moved count or another link is drawn again."""
    from types import SimpleNamespace as Bar

    from admin import charts

    charts._drawn.cache_clear()
    bars = [Bar(label="一年级", n=3, url="/admin/student/?flt0_1=1"), Bar(label="二年级", n=5, url="/admin/student/?flt0_1=2")]
    first = charts.bar_chart(bars)
    again = charts.bar_chart([Bar(label=b.label, n=b.n, url=b.url) for b in bars])
    assert again is first and charts._drawn.cache_info().hits == 1
    moved = charts.bar_chart([bars[0], Bar(label="二年级", n=6, url=bars[1].url)])
    assert moved != first and ">6<" in moved and ">5<" in first
    relinked = charts.bar_chart([bars[0], Bar(label="二年级", n=5, url="/admin/student/?flt0_1=9")])
    assert 'href="/admin/student/?flt0_1=9"' in relinked and 'flt0_1=9' not in first
    assert charts.bar_chart([Bar(label="一年级", n=0, url="/")]) == ""
    assert charts.bar_chart(bars, horizontal=False) != first


# --- the graduation roster (毕业生花名册, 第二十四条) on the rosters screen -------------------------------------

JUNE = date(2026, 6, 15)  # the graduates of 2026 are assessed: the rosters screen of the school year 2026 prints them


def graduates(monkeypatch, code: str, n: int = 3, failed: int = 1, approved: bool = True) -> tuple[list[Student], ChangeRequest]:
    """n pupils of the school's graduating grade (the others one grade below) on its roster of 2026, compiled,
    assessed (the first `failed` fail) and submitted in June through services/graduation; approved by the
    supervising authority unless `approved` is False."""
    at(monkeypatch, JUNE)
    place = school(code)
    grade = graduation.graduating_grade(place)
    everyone = pupils(code)
    chosen = everyone[:n]
    for p in everyone:
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            p.grade, p.status = (grade if p in chosen else grade - 1), "enrolled"
    db.session.commit()
    staff = user("school-" + _school_account(chosen[0]))
    assert graduation.compile_roster(staff, place, 2026) == n
    db.session.commit()
    records = {r.student_id: r for r in db.session.scalars(select(GraduationRecord).where(GraduationRecord.school_id == place.id))}
    graduation.mark_assessment(staff, [records[p.id] for p in chosen[failed:]], True)
    if failed:
        graduation.mark_assessment(staff, [records[p.id] for p in chosen[:failed]], False)
    db.session.commit()
    req = graduation.submit_roster(staff, place, 2026)
    db.session.commit()
    if approved:
        graduation.confirm_assessment(user(_authority_account(chosen[0])), place, 2026)  # 第二十四条: the county confirms
        db.session.commit()
        approve(req, _authority_account(chosen[0]))
        assert req.status == "completed"
    at(monkeypatch, MON)
    return chosen, req


def test_graduation_roster_of_a_school_as_pdf_and_xlsx(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        chosen, req = graduates(monkeypatch, HEPING2, n=3, failed=1)
        names = [p.name for p in chosen]
        xjh, rid, heping2 = chosen[1].xjh, req.id, school(HEPING2).id
        assert [p.status for p in chosen] == ["completed", "graduated", "graduated"]
    c = as_user("school-heping2")
    resp = c.get(f"/admin/rosters/graduates/{heping2}.pdf?year=2026")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf.extract_text(resp.data)
    flat = text.replace("\n", "").replace(" ", "")
    assert "毕业生花名册" in text and "沈阳市和平区第二中学" in text and "2025—2026学年毕业生" in flat
    assert "2026年7月30日" in flat  # graduation operations end by 30 July (第十二条)
    assert all(n in text for n in names) and xjh in flat  # the whole 学籍号, as the 新生花名册 prints it
    assert "不合格" in text and "结业" in text and "毕业" in text
    assert "共3人（毕业年级：九年级）：考核合格2人，不合格1人" in flat and "毕业2人，结业1人" in flat
    assert "学校（盖章）" in text and "校长（签字）" in text and "主管教育行政部门核准" in text
    assert f"核准单号：#{rid}" in flat and "核准日期：2026年6月15日" in flat and "核准单位：和平区教育局" in flat
    assert "未核准" not in flat
    # Each pupil's line (序号, 姓名, 性别, 出生日期, 学籍号, 班级, 考核结果, 毕（结）业): the failed one 结业.
    cells = [cell.strip() for cell in text.splitlines()]
    failed_row, passed_row = (cells[cells.index(n) - 1:cells.index(n) + 7] for n in names[:2])
    assert failed_row[6:] == ["不合格", "结业"] and passed_row[6:] == ["合格", "毕业"] and passed_row[4] == xjh
    sheet = workbook(c.get(f"/admin/rosters/graduates/{heping2}.xlsx?year=2026"))[0]
    header, rows = sheet[0], {row[1]: row for row in sheet[1:]}
    assert header[:5] == ["序号", "姓名", "性别", "出生日期", "全国学籍号"]
    assert set(rows) == set(names) and sorted(row[0] for row in rows.values()) == [1, 2, 3]
    assert rows[names[0]][header.index("考核结果")] == "不合格" and rows[names[0]][header.index("毕（结）业")] == "结业"
    assert rows[names[1]][header.index("考核结果")] == "合格" and rows[names[1]][header.index("毕（结）业")] == "毕业"
    assert rows[names[1]][header.index("全国学籍号")] == xjh and rows[names[1]][header.index("核准单号")] == f"#{rid}"
    with app.test_request_context():
        doc = db.session.scalar(select(PrintedDocument).where(PrintedDocument.kind == "roster_graduates"))
        assert doc.number.startswith("BY") and doc.number in flat and doc.scope_path == school(HEPING2).path
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "print", AuditLog.object_id == str(doc.id)))
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.object_type == "roster_graduates"))


def test_graduation_roster_not_yet_approved_prints_no_outcome(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        chosen, req = graduates(monkeypatch, HEPING1, n=2, failed=0, approved=False)
        names, heping1 = [p.name for p in chosen], school(HEPING1).id
        assert req.status == "pending"
    c = as_user("school-heping1")
    flat = pdf.extract_text(c.get(f"/admin/rosters/graduates/{heping1}.pdf?year=2026").data).replace("\n", "").replace(" ", "")
    assert all(n in flat for n in names) and "未核准" in flat and "核准单号" not in flat and "毕业0人，结业0人" in flat
    assert "毕业年级：六年级" in flat
    sheet = workbook(c.get(f"/admin/rosters/graduates/{heping1}.xlsx?year=2026"))[0]
    header = sheet[0]
    assert {row[header.index("毕（结）业")] for row in sheet[1:]} == {None} and {row[-1] for row in sheet[1:]} == {"未核准"}
    # Another summer: no roster.
    assert "本年度尚未编制毕业生花名册" in pdf.extract_text(c.get(f"/admin/rosters/graduates/{heping1}.pdf?year=2025").data)


def test_graduation_roster_of_a_county_and_a_city(as_user, app, monkeypatch):
    with app.test_request_context():
        graduates(monkeypatch, HEPING2, n=3, failed=1)
        _pending, _req = graduates(monkeypatch, HEPING1, n=2, failed=0, approved=False)
        rid = db.session.scalar(select(GraduationRecord.request_id).where(GraduationRecord.school_id == school(HEPING2).id))
        county, city = school(HEPING1).parent_id, school(HEPING1).parent.parent_id
        direct = Counter()
        for sid, outcome, n in db.session.execute(select(GraduationRecord.school_id, GraduationRecord.outcome, func.count())
                                                  .group_by(GraduationRecord.school_id, GraduationRecord.outcome)):
            direct[(sid, outcome)] = n
        counted = roster_counts.graduate_counts("/21/2101/210102/", 2026)
        assert counted[school(HEPING2).id]["graduated"] == direct[(school(HEPING2).id, "graduated")] == 2
        assert counted[school(HEPING2).id]["completed"] == 1 and counted[school(HEPING1).id]["approved"] == 0
        assert roster_counts.graduate_counts("/21/2101/210103/", 2026) == {} and roster_counts.graduate_counts("/21/", 2027) == {}
    c = as_user("heping")
    flat = pdf.extract_text(c.get(f"/admin/rosters/graduates/{county}.pdf?year=2026").data).replace("\n", "").replace(" ", "")
    assert "毕业生花名册" in flat and "和平区教育局" in flat and "合计" in flat
    assert "沈阳市和平区第一小学" in flat and "沈阳市和平区第二中学" in flat and "沈阳市和平区特殊教育学校" in flat
    assert f"2026年6月15日（#{rid}）" in flat and "未核准" in flat and "无名册" in flat and "已核准1/2校" in flat
    sheet = workbook(c.get(f"/admin/rosters/graduates/{county}.xlsx?year=2026"))[0]
    header, lines = sheet[0], {row[0]: row for row in sheet[1:]}
    school2, school1 = lines["沈阳市和平区第二中学"], lines["沈阳市和平区第一小学"]
    assert [school2[header.index(h)] for h in ("名册人数", "考核合格", "考核不合格", "毕业", "结业")] == [3, 2, 1, 2, 1]
    assert school2[header.index("核准")] == f"2026-06-15 #{rid}" and school1[header.index("核准")] == "未核准"
    assert [school1[header.index(h)] for h in ("名册人数", "考核合格", "毕业")] == [2, 2, 0]
    total = lines["和平区教育局"]  # the total line carries the unit's name
    assert [total[header.index(h)] for h in ("名册人数", "毕业", "结业", "有名册学校", "已核准学校")] == [5, 2, 1, 2, 1]
    # The city: one line per county.
    sheet = workbook(as_user("shenyang").get(f"/admin/rosters/graduates/{city}.xlsx?year=2026"))[0]
    header, lines = sheet[0], {row[0]: row for row in sheet[1:]}
    assert lines["和平区教育局"][header.index("名册人数")] == 5 and lines["和平区教育局"][header.index("核准")] == "1/2"
    assert lines["沈河区教育局"][header.index("名册人数")] == 0
    text = pdf.extract_text(as_user("shenyang").get(f"/admin/rosters/graduates/{city}.pdf?year=2026").data)
    assert "和平区教育局" in text and "沈河区教育局" in text


def test_rosters_screen_and_graduation_page_link_to_the_graduation_roster(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        graduates(monkeypatch, HEPING2, n=3, failed=1)
        heping2, county = school(HEPING2).id, school(HEPING2).parent_id
    c = as_user("heping")
    page = c.get("/admin/rosters/?year=2026").get_data(as_text=True)
    assert "2026-07-30" in page.split('id="graduates-due"')[1].split("</span>")[0]
    row = page.split(f'id="roster-{HEPING2}"')[1].split("</tr>")[0]
    assert f"/admin/rosters/graduates/{heping2}.pdf?year=2026" in row and f"/admin/rosters/graduates/{heping2}.xlsx?year=2026" in row
    assert "badge-success" in row and ">3 <" in row
    aggregates = page.split('id="roster-aggregates"')[1].split("</table>")[0]
    assert f"/admin/rosters/graduates/{county}.pdf?year=2026" in aggregates
    s = as_user("school-heping2")
    roster_page = s.get(f"/admin/graduation/{heping2}/2026/").get_data(as_text=True)
    url = href(roster_page, "print-roster")
    assert url == f"/admin/rosters/graduates/{heping2}.pdf?year=2026"
    resp = s.get(url)
    assert resp.status_code == 200 and "毕业生花名册" in pdf.extract_text(resp.data)
    shut_gate(monkeypatch)
    assert s.get(f"/admin/rosters/graduates/{heping2}.xlsx?year=2026").status_code == 403


def test_city_direct_school_graduation_roster_is_visible_to_the_county_where_it_stands(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    with app.test_request_context():
        chosen, req = graduates(monkeypatch, CITYDIRECT, n=2, failed=0)
        direct = school(CITYDIRECT)
        direct_id, direct_name, shenhe_id, names = direct.id, direct.name, direct.parent_id, [p.name for p in chosen]
        assert [s.unit.code for s in req.steps] == ["2101"]  # approved by the city, its supervising authority
    c = as_user("shenhe")
    row = c.get("/admin/rosters/?year=2026").get_data(as_text=True).split(f'id="roster-{CITYDIRECT}"')[1].split("</tr>")[0]
    assert f"/admin/rosters/graduates/{direct_id}.pdf" in row
    flat = pdf.extract_text(c.get(f"/admin/rosters/graduates/{direct_id}.pdf?year=2026").data).replace("\n", "").replace(" ", "")
    assert all(n in flat for n in names) and "核准单位：沈阳市教育局" in flat and "抄报所在地：沈河区教育局" in flat
    county = pdf.extract_text(c.get(f"/admin/rosters/graduates/{shenhe_id}.pdf?year=2026").data).replace("\n", "")
    assert direct_name + "（直管）" in county
    for who in ("school-citydirect", "shenyang", "province"):
        assert as_user(who).get(f"/admin/rosters/graduates/{direct_id}.pdf?year=2026").status_code == 200, who
    assert as_user("heping").get(f"/admin/rosters/graduates/{direct_id}.pdf?year=2026").status_code == 404
    assert as_user("heping").get(f"/admin/rosters/graduates/{direct_id}.xlsx?year=2026").status_code == 404


@pytest.fixture
def graduated_heping2(app, monkeypatch):
    """和平二中's approved roster of 2026 and the ids the URLs need."""
    with app.test_request_context():
        chosen, _req = graduates(monkeypatch, HEPING2, n=3, failed=1)
        return {"school": school(HEPING2).id, "county": school(HEPING2).parent_id, "names": [p.name for p in chosen]}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_the_graduation_rosters_of_heping(as_user, app, graduated_heping2, who):
    c = as_user(who)
    with app.test_request_context():
        before = db.session.scalar(select(func.count()).select_from(PrintedDocument))
    for unit in ("school", "county"):
        for ext in ("pdf", "xlsx"):
            resp = c.get(f"/admin/rosters/graduates/{graduated_heping2[unit]}.{ext}?year=2026")
            assert resp.status_code == 404, (unit, ext)
            assert not any(n in resp.get_data(as_text=True) for n in graduated_heping2["names"])
    page = c.get("/admin/rosters/?year=2026").get_data(as_text=True)
    assert f"/admin/rosters/graduates/{graduated_heping2['school']}." not in page and "沈阳市和平区第二中学" not in page
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(PrintedDocument)) == before  # nothing numbered
        assert not db.session.scalar(select(AuditLog).where(AuditLog.object_type == "roster_graduates",
                                                            AuditLog.user_email == f"{who}@xueji.demo"))


def test_insiders_reach_the_graduation_rosters_of_heping(as_user, graduated_heping2, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    for who in ("school-heping2", "heping", "shenyang", "province"):
        assert as_user(who).get(f"/admin/rosters/graduates/{graduated_heping2['school']}.pdf?year=2026").status_code == 200, who
    assert as_user("heping").get(f"/admin/rosters/graduates/{graduated_heping2['county']}.xlsx?year=2026").status_code == 200
    # A school reaches neither its county's aggregate nor a neighbouring school's roster.
    assert as_user("school-heping2").get(f"/admin/rosters/graduates/{graduated_heping2['county']}.pdf?year=2026").status_code == 404
    assert as_user("school-heping1").get(f"/admin/rosters/graduates/{graduated_heping2['school']}.pdf?year=2026").status_code == 404
