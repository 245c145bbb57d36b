"""查重 and 问题学籍 (第七条) through the services: every rule is a test named after it."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models.audit import AuditLog, StudentHistory
from models.problems import ProblemRecord
from models.student import Guardian, Student
from services import dedup, dedup_scan, enrollment_records, problems, workflows
from services.errors import NotInScope, RuleViolation
from services.ids import make_check_digit
from services.students import save_student
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of, school
from tests.transfer_helpers import start, upload, user


def new_student(**kw) -> Student:
    birth = kw.pop("birth_date", date(2017, 3, 15))
    gender = kw.pop("gender", "1")
    seq = kw.pop("seq", 991 if gender == "1" else 992)
    base = dict(
        name="测试学生", gender=gender, birth_date=birth, id_type="1", id_number=make_id("210102", birth, seq),
        ethnicity="01", nationality="156", overseas="0", health="1", grade=3, left_behind="0", disability="0",
    )
    base.update(kw)
    return Student(**base)


def twin_of(existing: Student, **kw) -> Student:
    """A new record with the same name, gender and birth date as `existing` (a different ID)."""
    return new_student(name=existing.name, gender=existing.gender, birth_date=existing.birth_date,
                       grade=min(existing.grade, 6), **kw)


def problems_of(student: Student) -> list[ProblemRecord]:
    return db.session.scalars(select(ProblemRecord).where(ProblemRecord.student_id == student.id).order_by(ProblemRecord.id)).all()


def open_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProblemRecord).where(ProblemRecord.status == "open"))


# --- hard duplicates -------------------------------------------------------------------------


def test_same_id_in_another_school_is_refused(ctx):
    holder = pupil_of(SHENHE1)
    copy = dict(id_number=holder.id_number, birth_date=holder.birth_date, gender=holder.gender, grade=min(holder.grade, 6))
    with pytest.raises(RuleViolation, match="一人一籍") as exc:
        save_student(new_student(**copy), user("school-heping1"), school(HEPING1))
    assert holder.school.name not in str(exc.value)  # a school does not learn where the pupil is
    db.session.rollback()
    with pytest.raises(RuleViolation, match="一人一籍") as exc:
        save_student(new_student(**copy), user("heping"), school(HEPING1))
    assert holder.school.name in str(exc.value)  # an official does
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.id_number == holder.id_number)) == 1


def test_hard_duplicate_finds_the_holder_anywhere_but_not_the_record_itself(ctx):
    holder = pupil_of(SHENHE1)
    assert dedup.hard_duplicate(holder.id_number.lower(), None) is holder
    assert dedup.hard_duplicate(holder.id_number, holder.id) is None
    assert dedup.hard_duplicate("", None) is None


# --- soft duplicates on entry ---------------------------------------------------------------------


def test_soft_duplicate_by_name_gender_birth_is_flagged(ctx):
    existing = pupil_of(SHENHE1)
    new = save_student(twin_of(existing), user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    assert (problem.kind, problem.other_student_id, problem.status) == ("soft_name_birth", existing.id, "open")
    assert problem.scope_path == school(HEPING1).path
    assert problems_of(existing) == []  # the pair is flagged once, on the record entered later
    new.phone = "13912345678"  # saving again does not flag it twice
    save_student(new, user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert len(problems_of(new)) == 1
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "problem.flag")) is not None


def test_soft_duplicate_by_guardian_id_and_name_is_flagged(ctx):
    existing = pupil_of(SHENHE1)
    father = existing.guardians[0]
    birth = existing.birth_date - timedelta(days=40)  # another birth date: not a name+birth duplicate
    new = new_student(name=existing.name, gender=existing.gender, birth_date=birth, grade=min(existing.grade, 6))
    new.guardians = [Guardian(relation="1", name=father.name, id_type="1", id_number=father.id_number)]
    save_student(new, user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    assert (problem.kind, problem.other_student_id, problem.detail) == ("soft_guardian", existing.id, father.name)


def test_a_sibling_sharing_a_guardian_is_not_flagged(ctx):
    existing = pupil_of(SHENHE1)
    father = existing.guardians[0]
    sibling = new_student(name="测试弟弟")
    sibling.guardians = [Guardian(relation="1", name=father.name, id_type="1", id_number=father.id_number)]
    save_student(sibling, user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert problems_of(sibling) == []


def test_cancelled_records_are_not_duplicates(ctx):
    existing = pupil_of(SHENHE1)
    db.session.execute(update(Student).where(Student.id == existing.id).values(status="cancelled"))
    db.session.commit()
    new = save_student(twin_of(existing), user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert problems_of(new) == []


# --- the block --------------------------------------------------------------------------------------


def flag(student: Student, kind: str = "invalid_id", other: Student | None = None) -> ProblemRecord:
    problem = ProblemRecord(student_id=student.id, kind=kind, other_student_id=other.id if other else None,
                            detail="check_digit" if kind == "invalid_id" else None, status="open", scope_path=student.scope_path)
    db.session.add(problem)
    db.session.commit()
    return problem


def test_problem_record_blocks_transfer(ctx):
    problem = flag(pupil_of(HEPING1))
    with pytest.raises(RuleViolation, match="问题学籍"):
        start()
    db.session.rollback()
    problems.resolve_with_evidence(problem, user("school-heping1"), upload(), "户口簿已核对")
    db.session.commit()
    assert start().status == "pending"


def test_problem_record_blocks_every_status_change_but_not_a_waiting_record(ctx):
    from models.changes import ChangeRequest

    pupil = pupil_of(HEPING1)
    flag(pupil)
    for code, ctype in workflows.TYPES.items():
        if not ctype.open_with_problem:
            problems = workflows._open_problems(ctype, ChangeRequest(type=code, student=pupil, payload={}), user("school-heping1"), None)
            assert "问题学籍" in problems[0][1], code
    db.session.rollback()
    # A new record entered as 待核办 is flagged, and still goes to its authority for approval.
    new = enrollment_records.enroll(twin_of(pupil_of(SHENHE1)), user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert [p.kind for p in problems_of(new)] == ["soft_name_birth"]
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest).where(ChangeRequest.student_id == new.id)) == 1


# --- resolutions ------------------------------------------------------------------------------------


def test_resolution_by_evidence(ctx):
    new = save_student(twin_of(pupil_of(SHENHE1)), user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    with pytest.raises(RuleViolation):  # not a JPG, PNG or PDF: refused before it is stored
        problems.resolve_with_evidence(problem, user("school-heping1"), upload(b"MZ\x90\x00 not an image", "x.png"), None)
    db.session.rollback()
    with pytest.raises(RuleViolation):  # no file at all
        problems.resolve_with_evidence(problem, user("school-heping1"), None, "同名同生日，非同一人")
    db.session.rollback()
    assert problem.status == "open"
    problems.resolve_with_evidence(problem, user("school-heping1"), upload(name="出生证明.png"), "同名同生日，非同一人")
    db.session.commit()
    assert (problem.status, problem.resolution, problem.evidence_filename) == ("resolved", "evidence", "出生证明.png")
    assert problem.evidence_content_type == "image/png" and len(problem.evidence_sha256) == 64
    assert problem.resolved_by.email == "school-heping1@xueji.demo" and problem.resolved_at is not None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "problem.resolve.evidence", AuditLog.object_id == str(problem.id)))
    with pytest.raises(RuleViolation):  # once only
        problems.resolve_with_evidence(problem, user("heping"), upload(), None)


def test_resolution_by_correction_is_refused_while_the_collision_still_holds(ctx):
    existing = pupil_of(SHENHE1)
    father = existing.guardians[0]
    new = new_student(name=existing.name, gender=existing.gender, birth_date=existing.birth_date - timedelta(days=40),
                      grade=min(existing.grade, 6))
    new.guardians = [Guardian(relation="1", name=father.name, id_type="1", id_number=father.id_number)]
    save_student(new, user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    with pytest.raises(RuleViolation, match="变更"):
        problems.resolve_by_correction(problem, user("school-heping1"), None)
    db.session.rollback()
    assert problem.status == "open"
    # The guardian's ID number had been typed from the wrong family: the school corrects it.
    new.guardians[0].id_number = make_id("210102", date(1985, 5, 5), 13)
    save_student(new, user("school-heping1"), school(HEPING1))
    db.session.commit()
    problems.resolve_by_correction(problem, user("school-heping1"), "监护人身份证号录入错误，已更正")
    db.session.commit()
    assert (problem.status, problem.resolution) == ("resolved", "corrected")


def test_resolution_by_correction_after_a_correction_request(ctx, monkeypatch):
    """Core data of an approved record changes by a correction request (第十一条); that request type
    is declared `open_with_problem`, since it is how a problem gets fixed."""
    from changes import enrollment

    corr = workflows.TYPES[enrollment.CORRECTION]
    monkeypatch.setitem(workflows.TYPES, enrollment.CORRECTION, dataclasses.replace(corr, open_with_problem=True))
    existing = pupil_of(SHENHE1)
    new = save_student(twin_of(existing), user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    req = enrollment.request_correction(new, user("school-heping1"), {"name": "测试改名"}, "姓名录入错误")
    workflows.attach(req, "hukou", upload(), user("school-heping1"))
    db.session.commit()
    for who in ("school-heping1", "heping"):
        workflows.decide(req.current_step.id, user(who), True, "同意")
        db.session.commit()
    assert new.name == "测试改名"
    problems.resolve_by_correction(problem, user("school-heping1"), "姓名已更正")
    db.session.commit()
    assert problem.resolution == "corrected"


def test_resolution_by_cancellation_sets_cancelled_status_and_writes_history(ctx):
    existing = pupil_of(SHENHE1)
    new = save_student(twin_of(existing), user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    second = flag(new)  # another open problem of the same record ends with it
    with pytest.raises(RuleViolation):  # a reason is required
        problems.resolve_by_cancellation(problem, user("school-heping1"), " ")
    db.session.rollback()
    problems.resolve_by_cancellation(problem, user("school-heping1"), "重复建籍，系同一学生")
    db.session.commit()
    db.session.refresh(second)
    assert db.session.get(Student, new.id).status == "cancelled"  # a status: the row stays
    assert (problem.resolution, second.status, second.resolution) == ("cancelled", "resolved", "cancelled")
    row = db.session.scalar(select(StudentHistory).where(StudentHistory.student_id == new.id, StudentHistory.field == "status"))
    assert (row.old_value, row.new_value, row.reason) == ("enrolled", "cancelled", "重复建籍，系同一学生")
    assert row.changed_by_id == user("school-heping1").id
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_id.in_([str(new.id), str(problem.id)]))))
    assert {"problem.resolve.cancelled", "student.cancel"} <= actions
    assert existing.status == "enrolled"


def test_cancellation_waits_for_an_open_request(ctx):
    req = start()
    problem = flag(req.student)
    with pytest.raises(RuleViolation, match=f"#{req.id}"):
        problems.resolve_by_cancellation(problem, user("school-heping1"), "重复")
    db.session.rollback()
    assert req.student.status == "enrolled"


def test_only_the_school_or_an_authority_above_it_resolves(ctx):
    problem = flag(pupil_of(HEPING1))
    for outsider in ("school-shenhe1", "shenhe", "dalian"):
        with pytest.raises(NotInScope):
            problems.resolve_with_evidence(problem, user(outsider), upload(), None)
        db.session.rollback()
    for insider in ("heping", "shenyang", "province"):
        assert problems.may_resolve(user(insider), problem)
    assert problems.may_resolve(user("school-heping1"), problem) and problems.may_resolve(user("principal-heping1"), problem)
    assert not problems.may_resolve(user("school-heping2"), problem)


# --- the province-wide scan ----------------------------------------------------------------------------


def _pupils(n: int) -> list[Student]:
    return db.session.scalars(select(Student).order_by(Student.id).limit(n)).all()


def test_scan_flags_each_pair_once_and_is_idempotent(ctx):
    p = _pupils(8)
    # Legacy data loaded around the checks: p1 = p0 by name/gender/birth; p3 shares p2's father and name;
    # p4's ID has a wrong check digit; p5 is cancelled and would collide with p6.
    twin_id = _id("210102", f"{p[0].birth_date:%Y%m%d}", "981" if p[0].gender == "1" else "982")
    db.session.execute(update(Student).where(Student.id == p[1].id)
                       .values(name=p[0].name, gender=p[0].gender, birth_date=p[0].birth_date, id_number=twin_id))
    db.session.execute(update(Student).where(Student.id == p[3].id).values(name=p[2].name))
    db.session.execute(update(Guardian).where(Guardian.id == p[3].guardians[0].id)
                       .values(name=p[2].guardians[0].name, id_number=p[2].guardians[0].id_number))
    bad = p[4].id_number[:17] + ("0" if p[4].id_number[17] != "0" else "1")
    db.session.execute(update(Student).where(Student.id == p[4].id).values(id_number=bad))
    db.session.execute(update(Student).where(Student.id == p[5].id).values(status="cancelled", name=p[6].name,
                                                                           gender=p[6].gender, birth_date=p[6].birth_date))
    db.session.commit()
    db.session.expire_all()
    counts = dedup_scan.scan_province()
    db.session.commit()
    assert counts == {"soft_name_birth": 1, "soft_guardian": 1, "invalid_id": 1, "rescoped": 0}
    rows = {(r.kind, r.student_id, r.other_student_id, r.detail) for r in db.session.scalars(select(ProblemRecord))}
    assert rows == {
        ("soft_name_birth", p[1].id, p[0].id, None),
        ("soft_guardian", p[3].id, p[2].id, p[2].guardians[0].name),
        ("invalid_id", p[4].id, None, "check_digit"),
    }
    assert all(r.scope_path == db.session.get(Student, r.student_id).scope_path for r in db.session.scalars(select(ProblemRecord)))
    assert dedup_scan.scan_province() == {"soft_name_birth": 0, "soft_guardian": 0, "invalid_id": 0, "rescoped": 0}
    db.session.commit()
    assert open_count() == 3


def test_scan_does_not_repeat_a_pair_flagged_on_entry_either_way_round(ctx):
    existing = pupil_of(SHENHE1)
    new = save_student(twin_of(existing), user("school-heping1"), school(HEPING1))
    db.session.commit()
    # Flagged the other way round (as when the older record was the one edited): still the same pair.
    db.session.execute(update(ProblemRecord).values(student_id=existing.id, other_student_id=new.id, scope_path=existing.scope_path))
    db.session.commit()
    assert dedup_scan.scan_province()["soft_name_birth"] == 0
    db.session.commit()
    assert open_count() == 1


def test_a_pair_settled_by_evidence_is_not_flagged_again(ctx):
    new = save_student(twin_of(pupil_of(SHENHE1)), user("school-heping1"), school(HEPING1))
    db.session.commit()
    [problem] = problems_of(new)
    problems.resolve_with_evidence(problem, user("school-heping1"), upload(), "双胞胎")
    db.session.commit()
    assert dedup_scan.scan_province()["soft_name_birth"] == 0  # twins stay twins at the next term's check
    new.phone = "13912345678"
    save_student(new, user("school-heping1"), school(HEPING1))
    db.session.commit()
    assert [p.status for p in problems_of(new)] == ["resolved"]


def _id(division: str, yyyymmdd: str, seq: str) -> str:
    body = division + yyyymmdd + seq
    return body + make_check_digit(body)


def test_scan_judges_id_numbers_like_the_entry_check(ctx):
    """The SQL of the scan and services.ids agree on every kind of invalid ID number."""
    p = _pupils(10)
    valid = p[0].id_number
    cases = {
        p[1].id: valid[:17] + ("0" if valid[17] != "0" else "1"),      # check digit
        p[2].id: valid[:16],                                             # length
        p[3].id: _id("210102", "20170231", "013")[:17] + "x",          # lowercase x
        p[4].id: _id("210102", "20170231", "013"),                      # no real date
        p[5].id: _id("999999", f"{p[5].birth_date:%Y%m%d}", "013" if p[5].gender == "1" else "014"),  # division
        p[6].id: _id("210199", f"{p[6].birth_date:%Y%m%d}", "013" if p[6].gender == "1" else "014"),  # province-only code
        p[7].id: _id("210102", "20160101", "013" if p[7].gender == "1" else "014"),  # birth date differs
        p[8].id: _id("210102", f"{p[8].birth_date:%Y%m%d}", "014" if p[8].gender == "1" else "013"),  # gender differs
    }
    for sid, number in cases.items():
        db.session.execute(update(Student).where(Student.id == sid).values(id_number=number))
    db.session.execute(update(Student).where(Student.id == p[9].id).values(id_type="5", id_number="E12345678"))
    db.session.commit()
    db.session.expire_all()
    dedup_scan.scan_province()
    db.session.commit()
    found = {r.student_id: r.detail for r in db.session.scalars(select(ProblemRecord).where(ProblemRecord.kind == "invalid_id"))}
    expected = {}
    for s in db.session.scalars(select(Student)):
        reason = dedup.invalid_id_reason(s.id_type, s.id_number, s.birth_date, s.gender)
        if reason:
            expected[s.id] = reason
    assert found == expected
    assert set(found.values()) == {"check_digit", "length", "characters", "birth_date", "division", "birth_mismatch",
                                   "gender_mismatch"}


def test_scan_moves_an_open_problem_with_its_pupil(ctx):
    pupil = pupil_of(HEPING1)
    problem = flag(pupil)
    db.session.execute(update(Student).where(Student.id == pupil.id).values(school_id=school(SHENHE1).id,
                                                                            scope_path=school(SHENHE1).path))
    db.session.commit()
    assert dedup_scan.scan_province()["rescoped"] == 1
    db.session.commit()
    db.session.refresh(problem)
    assert problem.scope_path == school(SHENHE1).path


# --- the rescan as a task of the queue (issue 15) ------------------------------------------------------
def test_the_rescan_task_scans_audits_and_reports_its_phases(ctx):
    from services import job_progress

    bad = pupil_of(HEPING1)
    broken = bad.id_number[:17] + ("0" if bad.id_number[17] != "0" else "1")
    db.session.execute(update(Student).where(Student.id == bad.id).values(id_number=broken))
    db.session.commit()
    dedup_scan.rescan_task()  # QUEUE_IMMEDIATE in the suite: run at once, with a session of its own
    db.session.expire_all()
    assert db.session.scalar(select(ProblemRecord).where(ProblemRecord.student_id == bad.id, ProblemRecord.kind == "invalid_id"))
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "dedup.scan"))
    assert row is not None and "身份证号无效 1 条" in row.detail
    seen = job_progress.read(dedup_scan.PROGRESS_KIND, dedup_scan.PROGRESS_ID)
    assert seen is not None and (seen.status, seen.done, seen.total) == ("done", 4, 4)
    dedup_scan.rescan_task()  # twice = once: nothing new
    assert db.session.scalar(select(func.count()).select_from(ProblemRecord).where(ProblemRecord.student_id == bad.id)) == 1


def test_the_cli_can_hand_the_rescan_to_the_queue(app, ctx):
    out = app.test_cli_runner().invoke(args=["check-duplicates", "--background"])
    assert out.exit_code == 0 and "已提交全省查重任务" in out.output
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "dedup.scan"))


def test_only_a_province_official_starts_the_rescan_from_the_problem_list(as_user):
    url = "/admin/problems/rescan"
    province = as_user("province")
    assert 'id="rescan-button"' in province.get("/admin/problems/").get_data(as_text=True)
    assert province.post(url).status_code == 400  # no CSRF token
    assert province.post_form(url, {}, token_from="/admin/problems/").status_code == 302
    page = province.get("/admin/problems/").get_data(as_text=True)
    assert "已提交全省查重" in page and "上次查重：已完成" in page
    for who in ("shenyang", "heping", "school-heping1"):
        c = as_user(who)
        assert 'id="rescan-button"' not in c.get("/admin/problems/").get_data(as_text=True), who
        assert c.post_form(url, {}, token_from="/admin/problems/").status_code == 404, who
