"""毕业生花名册 (第二十四条; 30 July, 第十二条): compiling, assessing, submitting and approving a school's
roster through the services, then through the screens, and the scope matrix by URL (outside the
school's area: 404 on every graduation URL, the pupils' names never shown)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from changes import departures, enrollment
from extensions import db
from models.audit import AuditLog, StudentHistory
from models.changes import ApprovalStep, ChangeRequest, Notification
from models.graduation import GraduationRecord
from models.lifecycle import arranging
from models.student import Student
from services import graduation, promotion, workflows
from services.errors import NotInScope, RuleViolation
from tests.export_helpers import open_gate
from tests.helpers import HEPING1, HEPING2, XIGANG1, school
from tests.transfer_helpers import approve as decide
from tests.transfer_helpers import at, user

JUNE = date(2027, 6, 15)  # second term of 2026–27: the graduates of 2027 are assessed
YEAR = 2027
ME = "school-heping1"
OUTSIDERS = ("school-shenhe1", "shenhe", "school-xigang1", "xigang")


@pytest.fixture(autouse=True)
def summer(monkeypatch):
    at(monkeypatch, JUNE)


# --- building blocks ------------------------------------------------------------------------------


def pupils_of(code: str) -> list[Student]:
    return list(db.session.scalars(select(Student).where(Student.school_id == school(code).id).order_by(Student.id)))


def set_class(code: str, grade: int, n: int) -> list[Student]:
    """The first n pupils of the school in `grade`, the others one grade below; all in school."""
    pupils = pupils_of(code)
    assert len(pupils) > n
    for i, p in enumerate(pupils):
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            p.grade, p.status = (grade if i < n else grade - 1), "enrolled"
    db.session.commit()
    return pupils[:n]


def lines(code: str, year: int = YEAR) -> list[GraduationRecord]:
    return list(db.session.scalars(select(GraduationRecord).where(GraduationRecord.school_id == school(code).id,
                                                                  GraduationRecord.year == year).order_by(GraduationRecord.student_id)))


def compile_(code: str = HEPING1, who: str = ME) -> int:
    added = graduation.compile_roster(user(who), school(code), YEAR)
    db.session.commit()
    return added


def mark(code: str = HEPING1, who: str = ME, *, failed: tuple[int, ...] = ()) -> None:
    """Everyone passes but the pupils whose ids are in `failed`."""
    roster = lines(code)
    graduation.mark_assessment(user(who), [r for r in roster if r.student_id not in failed], True)
    if failed:
        graduation.mark_assessment(user(who), [r for r in roster if r.student_id in failed], False)
    db.session.commit()


def submit(code: str = HEPING1, who: str = ME, late_reason: str | None = None) -> ChangeRequest:
    req = graduation.submit_roster(user(who), school(code), YEAR, late_reason=late_reason)
    db.session.commit()
    return req


def ready(code: str = HEPING1, n: int = 3, *, failed: int = 0) -> list[Student]:
    """A compiled, fully assessed roster of n pupils of the graduating grade; the first `failed` fail."""
    grade = graduation.graduating_grade(school(code))
    pupils = set_class(code, grade, n)
    compile_(code, {HEPING1: ME, HEPING2: "school-heping2", XIGANG1: "school-xigang1"}[code])
    mark(code, {HEPING1: ME, HEPING2: "school-heping2", XIGANG1: "school-xigang1"}[code],
         failed=tuple(p.id for p in pupils[:failed]))
    return pupils


def approve(req: ChangeRequest, who: str) -> None:
    """The roster's decision; when `who` organises the assessment, it first confirms the results
    the school entered (第二十四条: approval is refused while a result is unconfirmed)."""
    place = req.from_school
    if place is not None and graduation.is_assessment_authority(user(who), place) and graduation.summary(place, YEAR).unconfirmed:
        graduation.confirm_assessment(user(who), place, YEAR)
        db.session.commit()
    decide(req, who)


def refused(call, match: str | None = None) -> RuleViolation:
    with pytest.raises(RuleViolation, match=match) as exc:
        call()
    db.session.rollback()
    return exc.value


def count(model: type, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- compiling --------------------------------------------------------------------------------------


def test_roster_lists_graduating_grade_in_school_only(ctx):
    sixth = set_class(HEPING1, 6, 4)
    set_class(HEPING2, 9, 3)
    nine_year = pupils_of(XIGANG1)
    nine_year[0].grade, nine_year[1].grade = 6, 9  # grade 6 of a nine-year school does not graduate
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        sixth[3].status = "suspended"  # kept at the school, not in school: not listed
    db.session.commit()
    assert compile_() == 3
    assert [r.student_id for r in lines(HEPING1)] == [p.id for p in sixth[:3]]
    assert {(r.grade, r.scope_path, r.assessment, r.outcome) for r in lines(HEPING1)} == {(6, school(HEPING1).path, None, None)}
    info = graduation.summary(school(HEPING1), YEAR)
    assert (info.total, info.unassessed, info.not_listed) == (3, 3, {"suspended": 1})
    compile_(XIGANG1, "school-xigang1")
    listed = {r.student_id for r in lines(XIGANG1)}
    assert nine_year[1].id in listed and nine_year[0].id not in listed
    assert {r.grade for r in lines(XIGANG1)} == {9}
    assert lines(HEPING2) == []  # each school compiles its own


def test_roster_compile_twice_adds_nobody_twice(ctx):
    sixth = set_class(HEPING1, 6, 3)
    assert compile_() == 3
    assert compile_() == 0
    assert len(lines(HEPING1)) == 3
    newcomer = pupils_of(HEPING1)[5]
    newcomer.grade = 6
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        sixth[0].status = "suspended"  # left meanwhile: dropped from the roster
    db.session.commit()
    assert compile_() == 1
    assert {r.student_id for r in lines(HEPING1)} == {sixth[1].id, sixth[2].id, newcomer.id}
    assert count(GraduationRecord) == 3


def test_pupil_promoted_into_grade_9_this_summer_graduates_next_year(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))  # the school year has ended (promotion) and the roster is due by 30 July
    ninth = set_class(HEPING2, 9, 2)
    eighth = [p for p in pupils_of(HEPING2) if p.grade == 8]
    promotion.promote(user("heping"), school(HEPING2), 2027)  # summer 2027: 8 → 9 for 2027–28
    db.session.commit()
    assert {p.grade for p in eighth} == {9}
    compile_(HEPING2, "school-heping2")
    assert {r.student_id for r in lines(HEPING2)} == {p.id for p in ninth}


def test_roster_is_compiled_for_this_summer_only(ctx):
    set_class(HEPING1, 6, 2)
    for year in (2026, 2028):
        refused(lambda y=year: graduation.compile_roster(user(ME), school(HEPING1), y))
    at_september = date(2027, 9, 10)
    assert graduation.graduation_year(at_september) == 2028 and graduation.graduation_year(JUNE) == 2027


def test_only_own_school_compiles_and_marks(ctx):
    set_class(HEPING1, 6, 2)
    for who in ("heping", "shenyang", "school-heping2"):
        with pytest.raises((RuleViolation, NotInScope)):
            graduation.compile_roster(user(who), school(HEPING1), YEAR)
        db.session.rollback()
    with pytest.raises(NotInScope):
        graduation.compile_roster(user("school-shenhe1"), school(HEPING1), YEAR)
    db.session.rollback()
    assert compile_(who="principal-heping1") == 2
    roster = lines(HEPING1)
    refused(lambda: graduation.mark_assessment(user("shenyang"), roster, True))  # not the assessment authority
    with pytest.raises(NotInScope):
        graduation.mark_assessment(user("school-xigang1"), roster, True)
    db.session.rollback()
    assert graduation.mark_assessment(user(ME), roster[0], False) == 1
    db.session.commit()
    assert (roster[0].assessment, roster[0].assessed_by.email) == ("failed", "school-heping1@xueji.demo")


# --- submitting ---------------------------------------------------------------------------------------


def test_unassessed_roster_cannot_be_submitted(ctx):
    set_class(HEPING1, 6, 3)
    refused(lambda: submit())  # empty
    compile_()
    graduation.mark_assessment(user(ME), lines(HEPING1)[:2], True)
    db.session.commit()
    refused(lambda: submit())
    assert count(ChangeRequest) == 0
    assert graduation.mark_unassessed(user(ME), school(HEPING1), YEAR, True) == 1
    db.session.commit()
    req = submit()
    assert req.student is None and req.from_school.code == HEPING1 and req.payload == {"year": YEAR, "grade": 6}
    assert [(s.role, s.unit.code) for s in req.steps] == [("authority", "210102")]


def test_submitted_roster_cannot_be_changed_or_submitted_twice(ctx):
    ready()
    req = submit()
    refused(lambda: graduation.mark_assessment(user(ME), lines(HEPING1), False), f"#{req.id}")
    refused(lambda: graduation.compile_roster(user(ME), school(HEPING1), YEAR))
    refused(lambda: submit(), f"#{req.id}")  # one open roster request per school and year
    assert {r.assessment for r in lines(HEPING1)} == {"passed"}
    ready(XIGANG1, 2)  # another school's roster is its own
    assert submit(XIGANG1, "school-xigang1").status == "pending"


def test_withdrawn_roster_is_editable_again(ctx):
    ready()
    req = submit()
    workflows.withdraw(req, user(ME), "漏标一人")
    db.session.commit()
    graduation.mark_assessment(user(ME), lines(HEPING1)[0], False)
    db.session.commit()
    assert submit().id != req.id


def test_pupil_who_left_or_has_an_open_request_blocks_the_submission(ctx):
    pupils = ready(n=3)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        pupils[0].status = "suspended"
    db.session.commit()
    refused(lambda: submit(), pupils[0].name)
    compile_()  # drops the line
    assert len(lines(HEPING1)) == 2
    req = departures.request_abroad(pupils[1], user(ME), destination="日本", document="passport", leaves_on=date(2027, 7, 1),
                                    reason_text=None)
    db.session.commit()
    refused(lambda: submit(), pupils[1].name)
    workflows.withdraw(req, user(ME))
    db.session.commit()
    assert submit().status == "pending"


def test_roster_after_30_july_needs_authority_override(ctx, monkeypatch):
    ready()
    at(monkeypatch, date(2027, 7, 30))  # the last day: the school still submits
    on_time = submit()
    workflows.withdraw(on_time, user(ME))
    db.session.commit()
    refused(lambda: submit(who="heping", late_reason="补报"))  # in time the school submits its own
    at(monkeypatch, date(2027, 7, 31))
    assert graduation.days_to_deadline(YEAR) == -1
    refused(lambda: submit(), "第十二条")
    refused(lambda: submit(late_reason="考核结果延迟"))  # only the authority overrides
    refused(lambda: submit(who="heping"))  # saying why
    refused(lambda: submit(who="shenyang", late_reason="补报"))  # the supervising authority, not the city above it
    req = submit(who="heping", late_reason="市级考核结果7月31日才公布")
    assert (req.window_override, req.requester_unit.code, req.status) == ("市级考核结果7月31日才公布", "210102", "pending")
    approve(req, "heping")
    assert req.status == "completed" and {p.status for p in pupils_of(HEPING1) if p.grade == 6} == {"graduated"}


# --- deciding -------------------------------------------------------------------------------------------


def test_passed_gets_graduated(ctx):
    pupils = ready(n=3)
    xjh = [p.xjh for p in pupils]
    req = submit()
    refused(lambda: approve(req, ME))  # the authority decides
    refused(lambda: approve(req, "shenyang"))
    approve(req, "heping")
    assert req.status == "completed" and req.finished_at is not None
    assert [(p.status, p.grade, p.school.code, p.xjh) for p in pupils] == [("graduated", 6, HEPING1, x) for x in xjh]
    assert {(r.outcome, r.request_id) for r in lines(HEPING1)} == {("graduated", req.id)}
    note = db.session.scalar(select(Notification).where(Notification.request_id == req.id))
    assert note.unit_id == school(HEPING1).id


def test_failed_assessment_gets_completed_status(ctx):
    """结业: who fails the assessment completes compulsory education and later gets a 修业证明书."""
    pupils = ready(HEPING2, n=3, failed=1)
    req = submit(HEPING2, "school-heping2")
    approve(req, "heping")
    assert [p.status for p in pupils] == ["completed", "graduated", "graduated"]
    assert [r.outcome for r in lines(HEPING2)] == ["completed", "graduated", "graduated"]


def test_approved_roster_is_final(ctx):
    ready()
    approve(submit(), "heping")
    refused(lambda: graduation.mark_assessment(user(ME), lines(HEPING1), False))
    refused(lambda: graduation.compile_roster(user(ME), school(HEPING1), YEAR))
    refused(lambda: submit())


def test_rejected_roster_can_be_corrected_and_resubmitted(ctx):
    pupils = ready(n=3)
    req = submit()
    refused(lambda: workflows.decide(req.current_step.id, user("heping"), False, ""))  # a rejection needs its reason
    workflows.decide(req.current_step.id, user("heping"), False, "王同学的考核结果有误")
    db.session.commit()
    assert req.status == "rejected" and {p.status for p in pupils} == {"enrolled"}
    assert graduation.summary(school(HEPING1), YEAR).request.id == req.id and not graduation.is_locked(school(HEPING1), YEAR)
    graduation.mark_assessment(user(ME), [r for r in lines(HEPING1) if r.student_id == pupils[0].id], False)
    db.session.commit()
    again = submit()
    assert again.id != req.id
    approve(again, "heping")
    assert [p.status for p in pupils] == ["completed", "graduated", "graduated"]
    assert {r.request_id for r in lines(HEPING1)} == {again.id}
    assert "有误" in db.session.scalar(select(Notification.message).where(Notification.request_id == req.id))


def test_pupil_who_left_after_submission_blocks_approval(ctx):
    pupils = ready(n=2)
    req = submit()
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        pupils[0].status = "deceased"
    db.session.commit()
    refused(lambda: approve(req, "heping"))
    assert req.status == "pending" and pupils[1].status == "enrolled"


def test_graduation_history_in_bulk(ctx):
    """Approval writes the pupils' status and history set-based: the same few statements for any roster size."""
    pupils = ready(XIGANG1, n=8, failed=2)
    req = submit(XIGANG1, "school-xigang1")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        approve(req, "xigang")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sum(s.startswith("INSERT INTO STUDENT_HISTORY") for s in statements) == 1
    assert sum(s.startswith("UPDATE STUDENT ") for s in statements) == 2  # one per outcome
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.field == "status", StudentHistory.request_id == req.id)
                              .order_by(StudentHistory.student_id)).all()
    assert [(r.student_id, r.old_value, r.new_value) for r in rows] == [
        (p.id, "enrolled", "completed" if i < 2 else "graduated") for i, p in enumerate(pupils)]
    assert {(r.changed_by_id, r.changed_at.date()) for r in rows} == {(user("xigang").id, JUNE)}
    assert {p.version_id for p in pupils} != {1}  # optimistic locking sees the change


def test_primary_graduate_continues_record_at_junior_school(ctx):
    pupils = ready(HEPING1, n=2)
    approve(submit(), "heping")
    pupil = pupils[0]
    sid, xjh, rows = pupil.id, pupil.xjh, count(Student)
    req = enrollment.continue_record(pupil, user("school-heping2"), school(HEPING2))
    decide(req, "school-heping2")
    db.session.expire_all()
    pupil = db.session.get(Student, sid)
    assert (pupil.id, pupil.xjh, pupil.school.code, pupil.grade, pupil.status) == (sid, xjh, HEPING2, 7, "enrolled")
    assert count(Student) == rows


def test_everything_is_audited(ctx):
    ready(n=2)
    req = submit()
    approve(req, "heping")
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"graduation.compile", "graduation.assess", "request.open", "request.approve", "graduation.approve"} <= actions


# --- the screens -------------------------------------------------------------------------------------


def _url(sid: int, tail: str = "") -> str:
    return f"/admin/graduation/{sid}/{YEAR}/{tail}"


def _setup(app, code: str = HEPING1, n: int = 3) -> tuple[int, list[int], list[str]]:
    with app.test_request_context():
        pupils = set_class(code, graduation.graduating_grade(school(code)), n)
        return school(code).id, [p.id for p in pupils], [p.name for p in pupils]


def _line_ids(app, sid: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(GraduationRecord.id).where(GraduationRecord.school_id == sid)
                                       .order_by(GraduationRecord.id)))


def test_school_compiles_marks_and_submits_through_the_screens(as_user, app):
    sid, _ids, names = _setup(app)
    c = as_user(ME)
    resp = c.get("/admin/graduation/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_url(sid))
    page = c.get(_url(sid)).get_data(as_text=True)
    assert 'id="compile-roster"' in page and 'id="roster-deadline"' in page and "2027-07-30" in page
    assert c.post_form(_url(sid, "compile"), {}, token_from=_url(sid)).status_code == 302
    line_ids = _line_ids(app, sid)
    assert len(line_ids) == 3
    page = c.get(_url(sid)).get_data(as_text=True)
    assert all(f'id="line-{i}"' in page for i in line_ids) and all(n in page for n in names)
    # A row's own button, then the checked rows, then the rest.
    assert c.post_form(_url(sid, "assess"), {"one": f"{line_ids[0]}:failed"}, token_from=_url(sid)).status_code == 302
    c.post_form(_url(sid, "assess"), {"result": "passed", "record_id": [str(line_ids[1])]}, token_from=_url(sid))
    with app.app_context():
        assert [db.session.get(GraduationRecord, i).assessment for i in line_ids] == ["failed", "passed", None]
    resp = c.post_form(_url(sid, "submit"), {}, token_from=_url(sid))  # one pupil not assessed: refused
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_url(sid))
    c.post_form(_url(sid, "assess-rest"), {"result": "passed"}, token_from=_url(sid))
    resp = c.post_form(_url(sid, "submit"), {}, token_from=_url(sid))
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        rid = req.id
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/requests/{rid}/")
    page = c.get(_url(sid)).get_data(as_text=True)
    assert 'id="compile-roster"' not in page and 'name="record_id"' not in page and f"/admin/requests/{rid}/" in page
    # The authority decides on the request page, which shows the school and the roster instead of a pupil.
    heping = as_user("heping")
    page = heping.get(f"/admin/requests/{rid}/").get_data(as_text=True)
    assert 'id="request-school"' in page and f'href="{_url(sid)}"' in page and 'id="submit-decision"' in page
    assert _url(sid) in heping.get("/admin/requests/").get_data(as_text=True)
    assert _url(sid) in heping.get("/admin/requests/?queue=waiting").get_data(as_text=True)
    assert f'id="waiting-{rid}"' in heping.get("/admin/graduation/").get_data(as_text=True)
    with app.app_context():
        step_id = db.session.scalar(select(ApprovalStep.id).where(ApprovalStep.request_id == rid))
    # 第二十四条: the county confirms the results on the roster before it approves.
    assert heping.post_form(_url(sid, "confirm"), {}, token_from=_url(sid)).status_code == 302
    resp = heping.post_form(f"/admin/requests/{rid}/decide", {"step_id": step_id, "decision": "approve", "comment": "同意"},
                            token_from=f"/admin/requests/{rid}/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(ChangeRequest, rid).status == "completed"
        assert [db.session.get(GraduationRecord, i).student.status for i in line_ids] == ["completed", "graduated", "graduated"]


def test_rejected_roster_goes_back_to_the_school_on_screen(as_user, app):
    sid, _ids, _names = _setup(app)
    with app.test_request_context():
        compile_()
        mark()
        rid = submit().id
        step_id = db.session.get(ChangeRequest, rid).current_step.id
    heping = as_user("heping")
    heping.post_form(f"/admin/requests/{rid}/decide", {"step_id": step_id, "decision": "reject", "comment": "请核对考核结果"},
                     token_from=f"/admin/requests/{rid}/")
    page = as_user(ME).get(_url(sid)).get_data(as_text=True)
    assert 'name="record_id"' in page and 'id="submit-roster"' in page and 'id="compile-roster"' in page


def test_school_request_prints_no_pupil_form(as_user, app):
    _setup(app)
    with app.test_request_context():
        compile_()
        mark()
        rid = submit().id
    for kind in ("student_info", "transfer_contact", "suspension_form"):
        assert as_user("heping").get(f"/admin/requests/{rid}/print/{kind}").status_code == 404


def test_roster_export_is_xlsx_scoped_and_audited(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    sid, _ids, names = _setup(app)
    with app.test_request_context():
        compile_()
        other = _setup(app, XIGANG1, 2)
        compile_(XIGANG1, "school-xigang1")
    resp = as_user("heping").get(_url(sid, "export.xlsx"))
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert sorted(r[2] for r in rows) == sorted(names) and [r[0] for r in rows] == [1, 2, 3]
    assert not set(other[2]) & {r[2] for r in rows}
    with app.app_context():
        assert count(AuditLog, AuditLog.action == "export", AuditLog.object_type == "graduation_record") == 1


def test_authority_looks_but_does_not_compile_or_mark(as_user, app):
    sid, _ids, names = _setup(app)
    with app.test_request_context():
        compile_()
    line_ids = _line_ids(app, sid)
    # The county organises the assessment (第二十四条): it may record results, never compile.
    heping = as_user("heping")
    assert 'id="compile-roster"' not in heping.get(_url(sid)).get_data(as_text=True)
    assert heping.post_form(_url(sid, "compile"), {}, token_from=_url(sid)).status_code == 403
    for who in ("shenyang", "province"):
        c = as_user(who)
        page = c.get(_url(sid)).get_data(as_text=True)
        assert names[0] in page and 'id="compile-roster"' not in page and 'name="record_id"' not in page, who
        assert c.post_form(_url(sid, "compile"), {}, token_from=_url(sid)).status_code == 403
        assert c.post_form(_url(sid, "assess"), {"one": f"{line_ids[0]}:failed"}, token_from=_url(sid)).status_code == 403
        assert c.post_form(_url(sid, "assess-rest"), {"result": "failed"}, token_from=_url(sid)).status_code == 403
        assert f'id="school-{sid}"' in c.get(f"/admin/graduation/?year={YEAR}").get_data(as_text=True)
    with app.app_context():
        assert {db.session.get(GraduationRecord, i).assessment for i in line_ids} == {None}


def test_late_submission_through_the_screens(as_user, app, monkeypatch):
    sid, _ids, _names = _setup(app)
    with app.test_request_context():
        compile_()
        mark()
    at(monkeypatch, date(2027, 8, 3))
    school_page = as_user(ME).get(_url(sid)).get_data(as_text=True)
    assert 'id="deadline-passed"' in school_page and 'id="ask-authority"' in school_page and 'id="submit-roster"' not in school_page
    as_user(ME).post_form(_url(sid, "submit"), {"late_reason": "补报"}, token_from=_url(sid))
    heping = as_user("heping")
    assert 'id="late-submit-form"' in heping.get(_url(sid)).get_data(as_text=True)
    heping.post_form(_url(sid, "submit"), {"late_reason": ""}, token_from=_url(sid))
    with app.app_context():
        assert count(ChangeRequest) == 0
    resp = heping.post_form(_url(sid, "submit"), {"late_reason": "考核结果8月初公布"}, token_from=_url(sid))
    assert resp.status_code == 302 and "/admin/requests/" in resp.headers["Location"]
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert (req.window_override, req.requested_by.email) == ("考核结果8月初公布", "heping@xueji.demo")
    assert "考核结果8月初公布" in heping.get(f"/admin/requests/{req.id}/").get_data(as_text=True)


def test_a_line_of_another_roster_cannot_be_posted(as_user, app):
    sid, _ids, _names = _setup(app)
    xid, _xids, _xnames = _setup(app, XIGANG1, 2)
    with app.test_request_context():
        compile_()
        compile_(XIGANG1, "school-xigang1")
    foreign = _line_ids(app, xid)[0]
    mine = _line_ids(app, sid)[0]
    c = as_user(ME)
    assert c.post_form(_url(sid, "assess"), {"one": f"{foreign}:failed"}, token_from=_url(sid)).status_code == 404
    resp = c.post_form(_url(sid, "assess"), {"result": "failed", "record_id": [str(mine), str(foreign)]}, token_from=_url(sid))
    assert resp.status_code == 404
    with app.app_context():
        assert {db.session.get(GraduationRecord, i).assessment for i in (foreign, mine)} == {None}


def test_unknown_school_or_year_is_404(as_user, app):
    sid, _ids, _names = _setup(app)
    c = as_user("province")
    for url in (f"/admin/graduation/{sid}/1999/", f"/admin/graduation/{sid}/2101/", "/admin/graduation/999999/2027/",
                f"/admin/graduation/{school_id_of(app, '210102')}/2027/", "/admin/graduation/?year=3000"):
        assert c.get(url).status_code == 404, url


def test_overlong_ids_are_404_not_a_database_error(as_user, app):
    """An id longer than any row's (SQLite: OverflowError, PostgreSQL: out of range) is simply not found."""
    sid, _ids, _names = _setup(app)
    big = "9" * 25
    assert as_user("province").get(f"/admin/graduation/{big}/2027/").status_code == 404
    c = as_user(ME)
    resp = c.post_form(_url(sid, "assess"), {"result": "passed", "record_id": big}, token_from=_url(sid), follow_redirects=True)
    assert resp.status_code == 200  # "choose the pupils": nothing was posted that could be a line


def school_id_of(app, code: str) -> int:
    with app.app_context():
        return school(code).id


def test_menu_has_the_graduation_rosters(as_user):
    assert "/admin/graduation/" in as_user(ME).get("/admin/").get_data(as_text=True)
    assert "/admin/graduation/" in as_user("heping").get("/admin/").get_data(as_text=True)


# --- the scope matrix ----------------------------------------------------------------------------


@pytest.fixture
def heping_roster(app):
    """HEPING1's roster, compiled and assessed, with one approval request waiting."""
    sid, _ids, names = _setup(app)
    with app.test_request_context():
        compile_()
        mark()
        rid = submit().id
        step_id = db.session.get(ChangeRequest, rid).current_step.id
    return {"sid": sid, "names": names, "lines": _line_ids(app, sid), "rid": rid, "step": step_id}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_graduation_url(as_user, app, heping_roster, who):
    t = heping_roster
    sid, rid = t["sid"], t["rid"]
    c = as_user(who)
    with app.app_context():
        before = (count(ChangeRequest), count(GraduationRecord, GraduationRecord.assessment == "failed"), count(AuditLog))
    gets = [_url(sid), f"{_url(sid)}?page=1&show=none", _url(sid, "export.xlsx"), f"/admin/requests/{rid}/",
            f"/admin/requests/{rid}/print/student_info"]
    posts = {
        _url(sid, "compile"): {}, _url(sid, "assess"): {"one": f"{t['lines'][0]}:failed"},
        _url(sid, "assess-rest"): {"result": "failed"}, _url(sid, "submit"): {"late_reason": "x"}, _url(sid, "confirm"): {},
        f"/admin/requests/{rid}/decide": {"step_id": t["step"], "decision": "reject", "comment": "x"},
        f"/admin/requests/{rid}/withdraw": {"reason": "x"},
    }
    for url in gets:
        resp = c.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 404 and not any(n in body for n in t["names"]), (who, url)
    for url, data in posts.items():
        resp = c.post_form(url, data, token_from="/admin/")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 404 and not any(n in body for n in t["names"]), (who, url)
    for url in ("/admin/graduation/", f"/admin/graduation/?year={YEAR}", "/admin/requests/", "/admin/requests/?queue=all"):
        resp = c.get(url, follow_redirects=True)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and not any(n in body for n in t["names"]), (who, url)
        assert _url(sid) not in body and f'id="school-{sid}"' not in body and f"/admin/requests/{rid}/" not in body, (who, url)
    with app.app_context():
        after = (count(ChangeRequest), count(GraduationRecord, GraduationRecord.assessment == "failed"), count(AuditLog))
        assert after[:2] == before[:2] and db.session.get(ChangeRequest, rid).status == "pending"
        assert count(AuditLog, AuditLog.action == "export", AuditLog.user_email == f"{who}@xueji.demo") == 0
