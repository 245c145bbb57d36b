"""休学/复学, 出国出境, 死亡, 辍学 and the 第十七条/第二十二条 placements (第十七–二十三条) through the
services: every rule is a test named after it; the rules every type shares are parametrized over
all of them at the end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models.archive import ArchiveBackup
from models.audit import AuditLog, StudentHistory
from models.changes import OPEN_STATUSES, ChangeRequest, Notification
from models.org import OrgUnit
from models.people import User
from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION, ILLNESS, OTHER, ArchiveHandover
from models.student import Student
from services import departures, placements, scope, suspension, transfer, workflows
from services.errors import NotInScope, RuleViolation
from tests.helpers import HEPING1, HEPING2, HEPING_SPECIAL, WORK_STUDY_SCHOOL, XIGANG1, pupil_of, school
from tests.test_dedup import flag
from tests.transfer_helpers import approve, at, upload, user

MON = date(2026, 11, 2)  # a Monday of the first term of 2026–27


@pytest.fixture(autouse=True)
def term_time(monkeypatch):
    at(monkeypatch, MON)


# --- helpers -----------------------------------------------------------------------------------


def staff(unit_id: int) -> User:
    """The first account of a unit: the registrar of a school, the official of an authority."""
    return db.session.scalar(select(User).where(User.unit_id == unit_id).order_by(User.id))


def give(req: ChangeRequest, *materials: str) -> None:
    for m in materials:
        workflows.attach(req, m, upload(), req.requested_by)
    db.session.commit()


def give_all(req: ChangeRequest) -> None:
    give(req, *(m.code for m in workflows.missing_materials(req)))


def decide_all(req: ChangeRequest, *, but_last: bool = False) -> None:
    """Each step approved by its own unit (all of them, or all but the last)."""
    while req.status == "pending" and not (but_last and req.current_seq == len(req.steps)):
        workflows.decide(req.current_step.id, staff(req.current_step.unit_id), True, "同意")
        db.session.commit()


def refused(call: Callable[[], object], match: str | None = None) -> RuleViolation:
    with pytest.raises(RuleViolation, match=match) as exc:
        call()
    db.session.rollback()
    return exc.value


def set_state(pupil: Student, **values: object) -> Student:
    for k, v in values.items():
        setattr(pupil, k, v)
    db.session.commit()
    return pupil


def suspend(pupil: Student, *, reason_kind: str = ILLNESS, starts_on: date = MON, ends_on: date | None = None) -> ChangeRequest:
    req = suspension.request_suspension(pupil, staff(pupil.school_id), reason_kind=reason_kind, starts_on=starts_on,
                                        ends_on=ends_on, reason_text="住院治疗")
    give_all(req)
    decide_all(req)
    assert pupil.status == "suspended"
    return req


def absent(pupil: Student, first: date, last: date, *, excused: bool = False) -> None:
    departures.record_absence(pupil, staff(pupil.school_id), first_day=first, last_day=last, excused=excused, note=None)
    db.session.commit()


def contact(pupil: Student, day: date, purpose: str = CONTACT_DROPOUT) -> None:
    suspension.record_contact(pupil, staff(pupil.school_id), purpose=purpose, contacted_on=day, method="电话", outcome="未返校")
    db.session.commit()


def truant(pupil: Student) -> None:
    """Five weeks of unexcused absence before MON (国庆 inside) and two attempts to bring the pupil back."""
    absent(pupil, date(2026, 9, 28), date(2026, 10, 30))
    contact(pupil, date(2026, 10, 12))
    contact(pupil, date(2026, 10, 20))


def place(pupil: Student) -> ChangeRequest:
    """第二十二条: the record moves to the work-study school, which stands in for an institution's school."""
    req = placements.request_juvenile_placement(pupil, staff(pupil.school_id), school(WORK_STUDY_SCHOOL), "法院判决")
    give_all(req)
    decide_all(req)
    assert pupil.school.code == WORK_STUDY_SCHOOL
    return req


def expired_ids(who: str) -> list[int]:
    return [s.id for _, s in db.session.execute(suspension.expired_query(user(who))).all()]


def history(pupil: Student, field: str) -> list[StudentHistory]:
    return list(db.session.scalars(
        select(StudentHistory).where(StudentHistory.student_id == pupil.id, StudentHistory.field == field).order_by(StudentHistory.id)
    ))


# --- 休学 (第十八–十九条) --------------------------------------------------------------------------


def test_suspension_needs_school_then_authority(ctx):
    pupil = pupil_of(HEPING1)
    req = suspension.request_suspension(pupil, user("school-heping1"), reason_kind=ILLNESS, starts_on=MON, ends_on=None,
                                        reason_text="肺炎住院")
    assert [(s.role, s.unit.code) for s in req.steps] == [("school", HEPING1), ("authority", "210102")]
    give_all(req)
    refused(lambda: workflows.decide(req.current_step.id, user("heping"), True, "同意"))  # not the authority's turn
    approve(req, "school-heping1")
    assert req.current_seq == 2 and pupil.status == "enrolled"
    refused(lambda: workflows.decide(req.current_step.id, user("school-heping1"), True, "同意"))
    approve(req, "heping")
    assert req.status == "completed" and pupil.status == "suspended"


def test_illness_suspension_needs_hospital_certificate_records_and_receipts(ctx):
    req = suspension.request_suspension(pupil_of(HEPING1), user("school-heping1"), reason_kind=ILLNESS, starts_on=MON,
                                        ends_on=None, reason_text="肺炎住院")
    assert {m.code for m in workflows.missing_materials(req)} == {"application", "hospital_certificate", "medical_records",
                                                                  "receipts"}
    give(req, "application", "hospital_certificate", "medical_records")
    refused(lambda: approve(req, "school-heping1"))
    assert {m.code for m in workflows.missing_materials(req)} == {"receipts"}
    give(req, "receipts")
    approve(req, "school-heping1")
    assert req.current_seq == 2


def test_other_reason_needs_proof(ctx):
    req = suspension.request_suspension(pupil_of(HEPING1), user("school-heping1"), reason_kind=OTHER, starts_on=MON,
                                        ends_on=None, reason_text="随父母外出务工")
    assert {m.code for m in workflows.missing_materials(req)} == {"application", "reason_proof"}
    give(req, "application")
    refused(lambda: approve(req, "school-heping1"))
    give(req, "reason_proof")
    approve(req, "school-heping1", "heping")
    assert suspension.current(req.student).reason_kind == OTHER


def test_suspension_reason_is_illness_or_another_special_reason(ctx):
    refused(lambda: suspension.request_suspension(pupil_of(HEPING1), user("school-heping1"), reason_kind="holiday",
                                                  starts_on=MON, ends_on=None, reason_text=None))


def test_suspension_lasts_one_school_year_by_default(ctx):
    pupil = pupil_of(HEPING1)
    req = suspend(pupil)
    episode = suspension.current(pupil)
    assert (episode.starts_on, episode.ends_on) == (MON, date(2027, 11, 1))
    assert req.payload["ends_on"] == "2027-11-01" and episode.extensions == 0 and episode.request_id == req.id


def test_suspension_longer_than_a_year_refused(ctx):
    pupil, me = pupil_of(HEPING1), user("school-heping1")

    def ask(ends_on: date) -> ChangeRequest:
        return suspension.request_suspension(pupil, me, reason_kind=ILLNESS, starts_on=MON, ends_on=ends_on, reason_text=None)

    refused(lambda: ask(date(2027, 11, 2)), "第十九条")
    refused(lambda: ask(date(2026, 11, 1)))  # ends before it starts
    assert ask(date(2027, 11, 1)).status == "pending"


def test_no_suspension_in_last_term_of_grade_9(ctx, monkeypatch):
    pupil = set_state(pupil_of(HEPING2), grade=9)
    at(monkeypatch, date(2027, 3, 15))
    refused(lambda: suspend(pupil, starts_on=date(2027, 3, 15)), "第十九条")


def test_no_suspension_in_last_term_of_grade_6_in_a_primary_school(ctx, monkeypatch):
    pupil = set_state(pupil_of(HEPING1), grade=6)
    at(monkeypatch, date(2027, 5, 10))
    refused(lambda: suspend(pupil, starts_on=date(2027, 5, 10)), "第十九条")
    # Grade 6 of a nine-year school is not a graduating grade.
    other = set_state(pupil_of(XIGANG1), grade=6)
    suspend(other, starts_on=date(2027, 5, 10))


def test_graduating_grade_may_be_suspended_in_the_first_term(ctx):
    suspend(set_state(pupil_of(HEPING2), grade=9))


def test_grade_8_may_be_suspended_in_the_second_term(ctx, monkeypatch):
    at(monkeypatch, date(2027, 3, 15))
    suspend(set_state(pupil_of(HEPING2), grade=8), starts_on=date(2027, 3, 15))


def test_no_suspension_of_the_graduating_grade_in_the_vacation_before_the_last_term_or_starting_in_it(ctx, monkeypatch):
    pupil = set_state(pupil_of(HEPING2), grade=9)
    at(monkeypatch, date(2027, 2, 15))  # winter vacation: the next term is the last one
    refused(lambda: suspend(pupil, starts_on=date(2027, 3, 1)), "第十九条")
    at(monkeypatch, date(2027, 1, 15))  # first term, but the suspension would start in the last one
    refused(lambda: suspend(pupil, starts_on=date(2027, 3, 1)), "第十九条")
    suspend(pupil, starts_on=date(2027, 1, 18))


def test_suspended_pupil_keeps_the_record_and_cannot_transfer(ctx):
    pupil = pupil_of(HEPING1)
    xjh, school_id = pupil.xjh, pupil.school_id
    suspend(pupil)
    assert (pupil.status, pupil.xjh, pupil.school_id) == ("suspended", xjh, school_id)
    in_school = db.session.scalars(select(Student.id).where(scope.filter_for(user("school-heping1"), Student.scope_path))).all()
    assert pupil.id in in_school
    refused(lambda: transfer.start_transfer(pupil, user("school-shenhe1"), reason_code="hukou_moved", reason_text=None,
                                            hukou_changed=True))
    refused(lambda: departures.request_abroad(pupil, user("school-heping1"), destination="日本", document="passport",
                                              leaves_on=date(2026, 12, 1), reason_text=None))


def test_one_extension_of_one_year(ctx, monkeypatch):
    pupil = pupil_of(HEPING1)
    suspend(pupil)
    at(monkeypatch, date(2027, 10, 15))
    req = suspension.request_extension(pupil, user("school-heping1"), "仍在治疗")
    assert [s.role for s in req.steps] == ["school", "authority"]
    assert {m.code for m in workflows.missing_materials(req)} == {"application", "reason_proof"}
    give_all(req)
    approve(req, "school-heping1", "heping")
    episode = suspension.current(pupil)
    assert (episode.ends_on, episode.extensions, pupil.status) == (date(2028, 11, 1), 1, "suspended")


def test_second_extension_refused(ctx, monkeypatch):
    pupil = pupil_of(HEPING1)
    suspend(pupil)
    at(monkeypatch, date(2027, 10, 15))
    req = suspension.request_extension(pupil, user("school-heping1"), "仍在治疗")
    give_all(req)
    decide_all(req)
    at(monkeypatch, date(2028, 10, 16))
    refused(lambda: suspension.request_extension(pupil, user("school-heping1"), "仍在治疗"), "第十九条")


def test_extension_only_for_a_suspended_pupil(ctx):
    refused(lambda: suspension.request_extension(pupil_of(HEPING1), user("school-heping1"), None))


def test_resumption_back_into_the_grade_left(ctx, monkeypatch):
    pupil = set_state(pupil_of(HEPING1), grade=3)
    suspend(pupil)
    set_state(pupil, grade=4)  # e.g. moved up by a promotion run meanwhile
    at(monkeypatch, date(2027, 9, 6))
    req = suspension.request_resumption(pupil, user("school-heping1"))
    assert req.payload["grade"] == 3 and [s.role for s in req.steps] == ["school", "authority"]
    give_all(req)
    approve(req, "school-heping1")
    assert pupil.status == "suspended"  # the authority decides too
    approve(req, "heping")
    assert (pupil.status, pupil.grade) == ("enrolled", 3)
    assert suspension.current(pupil) is None


def test_resumption_into_another_grade_needs_a_reason(ctx):
    pupil = set_state(pupil_of(HEPING1), grade=3)
    suspend(pupil)
    me = user("school-heping1")
    refused(lambda: suspension.request_resumption(pupil, me, grade=4), "第十九条")
    refused(lambda: suspension.request_resumption(pupil, me, grade=4, grade_reason="   "), "第十九条")
    refused(lambda: suspension.request_resumption(pupil, me, grade=7, grade_reason="学力"))  # not taught here
    req = suspension.request_resumption(pupil, me, grade=4, grade_reason="家长申请，学力测试合格")
    give_all(req)
    decide_all(req)
    assert (pupil.status, pupil.grade) == ("enrolled", 4)


def test_resumption_after_illness_needs_recovery_certificate(ctx):
    pupil = pupil_of(HEPING1)
    suspend(pupil, reason_kind=ILLNESS)
    req = suspension.request_resumption(pupil, user("school-heping1"))
    assert {m.code for m in workflows.missing_materials(req)} == {"application", "recovery_certificate"}
    give(req, "application")
    refused(lambda: approve(req, "school-heping1"))
    give(req, "recovery_certificate")
    decide_all(req)
    assert pupil.status == "enrolled"


def test_resumption_after_another_reason_needs_no_recovery_certificate(ctx):
    pupil = pupil_of(HEPING1)
    suspend(pupil, reason_kind=OTHER)
    req = suspension.request_resumption(pupil, user("school-heping1"))
    assert {m.code for m in workflows.missing_materials(req)} == {"application"}
    give(req, "application")
    decide_all(req)
    assert pupil.status == "enrolled"


def test_expired_suspension_appears_in_the_list_until_resumption_is_filed(ctx, monkeypatch):
    pupil = pupil_of(HEPING1)
    suspend(pupil, ends_on=date(2027, 6, 30))
    at(monkeypatch, date(2027, 6, 30))
    assert pupil.id not in expired_ids("school-heping1")  # the last day of the suspension
    at(monkeypatch, date(2027, 7, 1))
    for who in ("school-heping1", "heping", "shenyang", "province"):
        assert pupil.id in expired_ids(who), who
    for who in ("shenhe", "school-shenhe1", "school-heping2", "dalian"):
        assert pupil.id not in expired_ids(who), who
    contact(pupil, date(2027, 7, 1), CONTACT_SUSPENSION)  # the family is told; the pupil stays listed
    assert pupil.id in expired_ids("school-heping1")
    req = suspension.request_resumption(pupil, user("school-heping1"))
    db.session.commit()
    assert pupil.id not in expired_ids("school-heping1")
    workflows.decide(req.current_step.id, user("school-heping1"), False, "未提供康复证明")
    db.session.commit()
    assert pupil.id in expired_ids("school-heping1")  # refused: still to be resolved
    req = suspension.request_resumption(pupil, user("school-heping1"))
    give_all(req)
    decide_all(req)
    assert pupil.id not in expired_ids("school-heping1")


def test_contact_recorded_only_by_own_school(ctx):
    pupil = pupil_of(HEPING1)
    suspend(pupil)

    def record(who: str, day: date = MON):
        return suspension.record_contact(pupil, user(who), purpose=CONTACT_SUSPENSION, contacted_on=day, method="电话",
                                         outcome="家长同意下周办理复学")

    with pytest.raises(NotInScope):
        record("school-shenhe1")
    refused(lambda: record("heping"))  # the authority sees the pupil but does not make the contact
    refused(lambda: record("school-heping1", date(2026, 11, 3)))  # not in the future
    refused(lambda: suspension.record_contact(pupil, user("school-heping1"), purpose=CONTACT_SUSPENSION, contacted_on=MON,
                                              method=" ", outcome="x"))
    record("school-heping1")
    record("principal-heping1")
    db.session.commit()
    assert len(suspension.contacts_of(pupil, CONTACT_SUSPENSION)) == 2
    assert suspension.contacts_of(pupil, CONTACT_DROPOUT) == []


def test_absences_recorded_only_by_own_school(ctx):
    pupil = pupil_of(HEPING1)

    def record(who: str, first: date = date(2026, 10, 12), last: date = date(2026, 10, 16)):
        return departures.record_absence(pupil, user(who), first_day=first, last_day=last, excused=False, note=None)

    with pytest.raises(NotInScope):
        record("school-xigang1")
    refused(lambda: record("heping"))
    refused(lambda: record("school-heping1", date(2026, 10, 16), date(2026, 10, 12)))  # backwards
    refused(lambda: record("school-heping1", date(2026, 11, 2), date(2026, 11, 6)))  # days still to come
    record("school-heping1")
    db.session.commit()
    assert len(departures.absences_of(pupil)) == 1


def test_status_change_history_names_the_request_and_the_approver(ctx):
    pupil = pupil_of(HEPING1)
    req = suspend(pupil)
    rows = history(pupil, "status")
    assert [(r.old_value, r.new_value) for r in rows] == [("enrolled", "suspended")]
    assert (rows[0].request_id, rows[0].changed_by_id) == (req.id, user("heping").id)


# --- 出国出境 (第二十条) --------------------------------------------------------------------------


def go_abroad(pupil: Student, document: str = "passport", destination: str = "日本") -> ChangeRequest:
    return departures.request_abroad(pupil, user("school-heping1"), destination=destination, document=document,
                                     leaves_on=date(2026, 12, 1), reason_text="随父母出国")


def test_abroad_needs_travel_document(ctx):
    pupil = pupil_of(HEPING1)
    refused(lambda: go_abroad(pupil, document="id_card"))
    refused(lambda: go_abroad(pupil, destination="  "))
    for document in departures.TRAVEL_DOCUMENTS:
        req = go_abroad(pupil, document=document)
        workflows.withdraw(req, user("school-heping1"))
    req = go_abroad(pupil, document="hk_macao_pass")
    assert {m.code for m in workflows.missing_materials(req)} == {"application", "travel_document"}
    give(req, "application")
    refused(lambda: approve(req, "school-heping1"))
    give(req, "travel_document")
    approve(req, "school-heping1")
    assert pupil.status == "abroad"


def test_abroad_is_decided_by_the_school_and_the_authority_is_notified(ctx):
    pupil = pupil_of(HEPING1)
    req = go_abroad(pupil)
    assert [(s.role, s.unit.code) for s in req.steps] == [("school", HEPING1)]
    give_all(req)
    refused(lambda: approve(req, "heping"))
    approve(req, "school-heping1")
    assert req.status == "completed" and pupil.status == "abroad"
    told = db.session.scalars(select(Notification.unit_id).where(Notification.request_id == req.id)).all()
    assert told == [school(HEPING1).supervisor_id]


def test_abroad_return_continues_the_same_record(ctx):
    pupil = set_state(pupil_of(HEPING1), grade=3)
    ident = (pupil.id, pupil.xjh, pupil.id_number, pupil.school_id)
    pupils = db.session.scalar(select(func.count()).select_from(Student))
    req = go_abroad(pupil)
    give_all(req)
    decide_all(req)
    refused(lambda: departures.request_abroad_return(pupil, user("school-heping1"), grade=7, reason_text=None))
    req = departures.request_abroad_return(pupil, user("school-heping1"), grade=4, reason_text="回国")
    assert [(s.role, s.unit.code) for s in req.steps] == [("school", HEPING1)]
    give_all(req)
    approve(req, "school-heping1")
    assert (pupil.id, pupil.xjh, pupil.id_number, pupil.school_id) == ident
    assert (pupil.status, pupil.grade) == ("enrolled", 4)
    assert db.session.scalar(select(func.count()).select_from(Student)) == pupils


def test_abroad_return_only_for_a_pupil_abroad(ctx):
    pupil = pupil_of(HEPING1)
    refused(lambda: departures.request_abroad_return(pupil, user("school-heping1"), grade=pupil.grade, reason_text=None))


# --- 死亡 (第二十一条) ----------------------------------------------------------------------------


def test_death_authority_step_has_its_own_10_workdays_from_the_report(ctx, monkeypatch):
    # Died on Monday 28 September 2026; 1–7 October is 国庆, Saturday 10 October a working day.
    at(monkeypatch, date(2026, 10, 9))  # filed within the school's 10 working days (due 16 October)
    pupil = pupil_of(HEPING1)
    req = departures.report_death(pupil, user("school-heping1"), died_on=date(2026, 9, 28), reason_text="车祸")
    assert [(s.role, s.unit.code) for s in req.steps] == [("authority", "210102")]
    assert req.steps[0].started_at == date(2026, 10, 9)
    assert (req.steps[0].due_date, req.steps[0].due_estimated) == (date(2026, 10, 22), False)
    assert req.payload["report_due_on"] == "2026-10-16" and departures.filed_late(req) == 0


def test_death_report_cannot_be_dated_in_the_future(ctx):
    refused(lambda: departures.report_death(pupil_of(HEPING1), user("school-heping1"), died_on=date(2026, 11, 3),
                                            reason_text=None))


def test_overdue_death_report_in_authority_overdue_queue(ctx, monkeypatch):
    at(monkeypatch, date(2026, 10, 9))
    req = departures.report_death(pupil_of(HEPING1), user("school-heping1"), died_on=date(2026, 9, 28), reason_text=None)
    db.session.commit()

    def overdue(who: str) -> bool:
        return req.id in db.session.scalars(select(ChangeRequest.id).where(workflows.queue_filter(user(who), "overdue"))).all()

    at(monkeypatch, date(2026, 10, 22))
    assert not overdue("heping")  # the due day itself
    at(monkeypatch, date(2026, 10, 23))
    assert overdue("heping") and overdue("shenyang") and overdue("province")
    assert not overdue("shenhe") and not overdue("school-heping1")
    give_all(req)
    approve(req, "heping")
    assert not overdue("heping")


def test_death_needs_proof(ctx):
    pupil = pupil_of(HEPING1)
    req = departures.report_death(pupil, user("school-heping1"), died_on=MON, reason_text=None)
    assert {m.code for m in workflows.missing_materials(req)} == {"proof"}
    refused(lambda: approve(req, "heping"))
    give(req, "proof")
    approve(req, "heping")
    assert pupil.status == "deceased"
    refused(lambda: departures.report_death(pupil, user("school-heping1"), died_on=MON, reason_text=None))


def test_death_of_a_suspended_pupil_ends_the_suspension(ctx):
    pupil = pupil_of(HEPING1)
    suspend(pupil)
    req = departures.report_death(pupil, user("school-heping1"), died_on=MON, reason_text=None)
    give_all(req)
    approve(req, "heping")
    assert pupil.status == "deceased" and suspension.current(pupil) is None
    assert pupil.id not in expired_ids("heping")


# --- 辍学 (第二十三条) ----------------------------------------------------------------------------


def dropout_refused(pupil: Student) -> None:
    refused(lambda: departures.report_dropout(pupil, user("school-heping1"), "连续旷课"), "第二十三条")


def test_dropout_needs_four_weeks_absence(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    absent(pupil, date(2026, 11, 4), date(2026, 11, 30))  # Wednesday to Monday: 27 days
    dropout_refused(pupil)
    absent(pupil, date(2026, 12, 1), date(2026, 12, 1))  # the 28th day
    assert departures.longest_unexcused_run(pupil) == (date(2026, 11, 4), date(2026, 12, 1))
    req = departures.report_dropout(pupil, user("school-heping1"), "连续旷课")
    assert (req.payload["absent_from"], req.payload["absent_to"]) == ("2026-11-04", "2026-12-01")


def test_four_school_weeks_monday_to_friday_are_four_weeks(ctx, monkeypatch):
    """Absent Monday to Friday for four weeks (recorded week by week): the weekends count too."""
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    for monday in (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)):
        absent(pupil, monday, monday + timedelta(days=4))
    dropout_refused(pupil)  # three weeks
    absent(pupil, date(2026, 11, 23), date(2026, 11, 27))  # the fourth week, Monday to Friday
    assert departures.report_dropout(pupil, user("school-heping1"), "连续旷课4周").status == "pending"


def test_excused_absences_do_not_count_towards_a_dropout(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    first, second = pupil_of(HEPING1), db.session.scalars(
        select(Student).join(Student.school).where(OrgUnit.code == HEPING1).order_by(Student.id).offset(1)).first()
    for pupil in (first, second):
        contact(pupil, date(2026, 11, 10))
        contact(pupil, date(2026, 11, 20))
    # Sick leave between two truant fortnights breaks the run.
    absent(first, date(2026, 11, 2), date(2026, 11, 13))
    absent(first, date(2026, 11, 16), date(2026, 11, 20), excused=True)
    absent(first, date(2026, 11, 23), date(2026, 12, 4))
    dropout_refused(first)
    # Sick leave recorded afterwards over days first recorded as truancy takes them out.
    absent(second, date(2026, 11, 2), date(2026, 12, 4))
    absent(second, date(2026, 11, 16), date(2026, 11, 18), excused=True)
    assert departures.longest_unexcused_run(second) == (date(2026, 11, 19), date(2026, 12, 4))
    dropout_refused(second)
    # All excused: nothing counts.
    third = pupil_of(XIGANG1)
    departures.record_absence(third, user("school-xigang1"), first_day=date(2026, 10, 12), last_day=date(2026, 11, 30),
                              excused=True, note="病假")
    assert departures.longest_unexcused_run(third) is None


def test_absences_separated_only_by_days_off_join_into_one_run(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    absent(pupil, date(2026, 11, 4), date(2026, 11, 13))  # Wednesday to Friday
    absent(pupil, date(2026, 11, 16), date(2026, 12, 1))  # Monday to Tuesday: 28 days with the weekend between
    assert departures.longest_unexcused_run(pupil) == (date(2026, 11, 4), date(2026, 12, 1))
    assert departures.report_dropout(pupil, user("school-heping1"), "连续旷课").status == "pending"
    # 国庆 (1–7 October) lies between two periods: they join as well.
    other = pupil_of(XIGANG1)
    for first, last in ((date(2026, 9, 14), date(2026, 9, 30)), (date(2026, 10, 8), date(2026, 10, 13))):
        departures.record_absence(other, user("school-xigang1"), first_day=first, last_day=last, excused=False, note=None)
    assert departures.longest_unexcused_run(other) == (date(2026, 9, 14), date(2026, 10, 13))


def test_a_school_day_between_absences_breaks_the_run(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    absent(pupil, date(2026, 11, 4), date(2026, 11, 12))  # back at school on Friday 13 November
    absent(pupil, date(2026, 11, 16), date(2026, 12, 1))
    assert departures.longest_unexcused_run(pupil) == (date(2026, 11, 16), date(2026, 12, 1))
    dropout_refused(pupil)


def test_dropout_needs_contact_attempts(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    absent(pupil, date(2026, 11, 2), date(2026, 12, 4))
    dropout_refused(pupil)
    contact(pupil, date(2026, 10, 20))  # before the absence began: does not count
    contact(pupil, date(2026, 11, 10), CONTACT_SUSPENSION)  # about something else
    contact(pupil, date(2026, 11, 12))
    dropout_refused(pupil)
    contact(pupil, date(2026, 11, 25))
    req = departures.report_dropout(pupil, user("school-heping1"), "多次联系无效")
    assert [(s.role, s.unit.code) for s in req.steps] == [("authority", "210102")]


def test_dropout_keeps_the_record(ctx):
    pupil = pupil_of(HEPING1)
    ident = (pupil.id, pupil.xjh, pupil.school_id, pupil.scope_path)
    truant(pupil)
    req = departures.report_dropout(pupil, user("school-heping1"), "连续旷课")
    approve(req, "heping")
    assert req.status == "completed" and pupil.status == "dropped_out"
    assert (pupil.id, pupil.xjh, pupil.school_id, pupil.scope_path) == ident
    listed = db.session.scalars(select(Student.id).where(scope.filter_for(user("heping"), Student.scope_path),
                                                         Student.status == "dropped_out")).all()
    assert listed == [pupil.id]  # the county bureau's list of dropouts
    told = db.session.scalars(select(Notification.unit_id).where(Notification.request_id == req.id)).all()
    # The school keeps working to bring the pupil back; the county bureau is told (第二十三条).
    assert sorted(told) == sorted([pupil.school_id, pupil.school.supervisor_id])
    assert not db.session.scalars(select(ArchiveHandover)).all()  # not a migrant child


def test_dropout_return_is_a_declared_change(ctx):
    assert departures.DROPOUT_RETURN in workflows.TYPES
    pupil = set_state(pupil_of(HEPING1), grade=3)
    truant(pupil)
    req = departures.report_dropout(pupil, user("school-heping1"), "连续旷课")
    approve(req, "heping")
    refused(lambda: departures.request_dropout_return(pupil, user("school-heping1"), grade=8, reason_text=None))
    req = departures.request_dropout_return(pupil, user("school-heping1"), grade=3, reason_text="动员返校")
    assert [(s.role, s.unit.code) for s in req.steps] == [("school", HEPING1), ("authority", "210102")]
    assert [m.code for m in workflows.missing_materials(req)] == ["application"]  # the guardian's application
    give_all(req)
    approve(req, "school-heping1")
    assert pupil.status == "dropped_out"
    approve(req, "heping")
    assert (pupil.status, pupil.grade) == ("enrolled", 3)
    assert [(r.old_value, r.new_value) for r in history(pupil, "status")][-2:] == [("enrolled", "dropped_out"),
                                                                                  ("dropped_out", "enrolled")]


def test_migrant_dropout_creates_archive_handover_task_due_at_term_end(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = set_state(pupil_of(HEPING1), migrant_child=True, hukou_location=None)
    truant(pupil)
    dropout_refused(pupil)  # where does the archive go?
    set_state(pupil, hukou_location="210200")  # a city, not a county
    dropout_refused(pupil)
    set_state(pupil, hukou_location="210203")  # 大连市西岗区
    req = departures.report_dropout(pupil, user("school-heping1"), "随父母返乡")
    approve(req, "heping")
    task = db.session.scalar(select(ArchiveHandover).where(ArchiveHandover.student_id == pupil.id))
    assert (task.request_id, task.hukou_division, task.due_on, task.done_on) == (req.id, "210203", date(2027, 1, 31), None)
    assert task.authority.code == "210102" and task.receiving_unit.code == "210203"
    assert task in db.session.scalars(departures.handovers_query(user("heping"))).all()
    assert task not in db.session.scalars(departures.handovers_query(user("shenhe"))).all()


def test_migrant_dropout_in_the_second_term_is_handed_over_at_its_end(ctx, monkeypatch):
    at(monkeypatch, date(2027, 5, 20))
    pupil = set_state(pupil_of(HEPING1), migrant_child=True, hukou_location="110105")  # 北京市朝阳区: outside the province
    absent(pupil, date(2027, 4, 6), date(2027, 5, 14))
    contact(pupil, date(2027, 4, 20))
    contact(pupil, date(2027, 5, 6))
    req = departures.report_dropout(pupil, user("school-heping1"), "随父母返乡")
    approve(req, "heping")
    task = db.session.scalar(select(ArchiveHandover).where(ArchiveHandover.student_id == pupil.id))
    assert (task.due_on, task.hukou_division, task.receiving_unit) == (date(2027, 7, 15), "110105", None)


def test_archive_handover_done_by_authority_keeps_backup_and_history(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = set_state(pupil_of(HEPING1), migrant_child=True, hukou_location="210203")
    truant(pupil)
    req = departures.report_dropout(pupil, user("school-heping1"), "随父母返乡")
    approve(req, "heping")
    task = db.session.scalar(select(ArchiveHandover).where(ArchiveHandover.student_id == pupil.id))
    refused(lambda: departures.complete_handover(task, user("school-heping1"), None))
    refused(lambda: departures.complete_handover(task, user("shenyang"), None))  # above the authority, not it
    with pytest.raises(NotInScope):
        departures.complete_handover(task, user("shenhe"), None)
    set_state(pupil, status="enrolled")  # however it came back: no dropout, no handover
    refused(lambda: departures.complete_handover(task, user("heping"), None), "第二十三条")
    set_state(pupil, status="dropped_out")
    at(monkeypatch, date(2027, 1, 25))
    departures.complete_handover(task, user("heping"), "挂号邮寄西岗区教育局")
    db.session.commit()
    assert (task.done_on, task.done_by_id, task.note) == (date(2027, 1, 25), user("heping").id, "挂号邮寄西岗区教育局")
    backups = db.session.scalars(select(ArchiveBackup).where(ArchiveBackup.student_id == pupil.id)).all()
    assert [(b.request_id, b.from_school_id) for b in backups] == [(req.id, pupil.school_id)]
    rows = history(pupil, "archive_handover")
    assert len(rows) == 1 and rows[0].request_id == req.id and rows[0].changed_by_id == user("heping").id
    assert pupil.status == "dropped_out" and pupil.school.code == HEPING1  # the record itself stays
    assert task not in db.session.scalars(departures.handovers_query(user("heping"))).all()
    refused(lambda: departures.complete_handover(task, user("heping"), None))


def test_migrant_who_is_no_longer_a_dropout_has_no_archive_handover(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    back, died = db.session.scalars(
        select(Student).join(Student.school).where(OrgUnit.code == HEPING1).order_by(Student.id).limit(2)).all()
    for pupil in (back, died):
        set_state(pupil, migrant_child=True, hukou_location="210203")
        truant(pupil)
        approve(departures.report_dropout(pupil, user("school-heping1"), "随父母返乡"), "heping")
    assert len(db.session.scalars(departures.handovers_query(user("heping"))).all()) == 2
    req = departures.request_dropout_return(back, user("school-heping1"), grade=back.grade, reason_text="动员返校")
    give_all(req)
    decide_all(req)
    req = departures.report_death(died, user("school-heping1"), died_on=date(2026, 12, 9), reason_text=None)
    give_all(req)
    decide_all(req)
    assert db.session.scalars(departures.handovers_query(user("heping"), open_only=False)).all() == []
    cancelled = db.session.scalars(select(AuditLog.object_id).where(AuditLog.action == "archive.handover_cancelled")).all()
    assert sorted(cancelled) == sorted([str(back.id), str(died.id)])


# --- 第二十二条 and 第十七条 -----------------------------------------------------------------------


def test_juvenile_placement_moves_record_and_return_brings_it_back(ctx):
    pupil = pupil_of(HEPING1)
    home, institution = school(HEPING1), school(WORK_STUDY_SCHOOL)
    xjh = pupil.xjh
    req = placements.request_juvenile_placement(pupil, user("school-heping1"), institution, "法院判决")
    assert [(s.role, s.unit.code) for s in req.steps] == [
        ("sending_school", HEPING1), ("sending_authority", "210102"), ("receiving_school", WORK_STUDY_SCHOOL)]
    give_all(req)
    approve(req, "school-heping1", "heping")
    assert pupil.school_id == home.id
    approve(req, "school-workstudy")
    assert (pupil.school_id, pupil.scope_path, pupil.xjh, pupil.status) == (institution.id, institution.path, xjh, "enrolled")
    assert placements.original_school(pupil) is home
    moved = history(pupil, "school_id")
    assert len(moved) == 1 and moved[0].request_id == req.id and WORK_STUDY_SCHOOL in moved[0].new_value
    backup = db.session.scalar(select(ArchiveBackup).where(ArchiveBackup.request_id == req.id))
    assert backup.from_school_id == home.id and backup.scope_path == home.path  # 第十条: the old school keeps a copy

    back = placements.request_juvenile_return(pupil, user("school-workstudy"), "解除强制性教育措施")
    assert [(s.role, s.unit.code) for s in back.steps] == [("sending_school", WORK_STUDY_SCHOOL), ("receiving_school", HEPING1)]
    assert {m.code for m in workflows.missing_materials(back)} == {"release"}
    give_all(back)
    approve(back, "school-workstudy", "school-heping1")
    assert (pupil.school_id, pupil.scope_path, pupil.xjh) == (home.id, home.path, xjh)
    moved = history(pupil, "school_id")
    assert [r.request_id for r in moved] == [req.id, back.id] and HEPING1 in moved[1].new_value
    # Back home there is nothing to return from.
    refused(lambda: placements.request_juvenile_return(pupil, user("school-heping1"), None))


def test_juvenile_return_needs_a_placement(ctx):
    refused(lambda: placements.request_juvenile_return(pupil_of(HEPING1), user("school-heping1"), None))


def test_special_move_record_moves_or_stays(ctx):
    pupil, other = db.session.scalars(
        select(Student).join(Student.school).where(OrgUnit.code == HEPING1).order_by(Student.id).limit(2)).all()
    special = school(HEPING_SPECIAL)
    # The record stays at the old school, which records the school attended.
    req = placements.request_special_move(pupil, user("school-heping1"), kind=placements.TO_SPECIAL, to_school=special,
                                          keep_record=True, reason_text="随班就读困难")
    assert req.type == placements.SPECIAL_ATTEND and [(s.role, s.unit.code) for s in req.steps] == [("sending_school", HEPING1)]
    give_all(req)
    approve(req, "school-heping1")
    assert (pupil.school.code, pupil.attending_school_id) == (HEPING1, special.id)
    assert db.session.scalar(select(Notification.unit_id).where(Notification.request_id == req.id)) == special.id
    # Back to the ordinary school that holds the record: no other school is attended any more.
    req = placements.request_special_move(pupil, user("school-heping1"), kind=placements.TO_ORDINARY, to_school=school(HEPING1),
                                          keep_record=False, reason_text="康复")
    assert req.type == placements.SPECIAL_ATTEND
    give_all(req)
    approve(req, "school-heping1")
    assert (pupil.school.code, pupil.attending_school_id) == (HEPING1, None)
    # The record moves with the pupil: old school, then the receiving school.
    req = placements.request_special_move(other, user("school-heping1"), kind=placements.TO_SPECIAL, to_school=special,
                                          keep_record=False, reason_text="随班就读困难")
    assert req.type == placements.SPECIAL_MOVE
    assert [(s.role, s.unit.code) for s in req.steps] == [("sending_school", HEPING1), ("receiving_school", HEPING_SPECIAL)]
    give_all(req)
    approve(req, "school-heping1", "school-special")
    assert (other.school_id, other.scope_path, other.attending_school_id) == (special.id, special.path, None)
    assert db.session.scalar(select(ArchiveBackup.from_school_id).where(ArchiveBackup.request_id == req.id)) == school(HEPING1).id


def test_work_study_needs_guardian_agreement(ctx):
    pupil = pupil_of(HEPING1)

    def without_agreement(keep_record: bool) -> None:
        req = placements.request_special_move(pupil, user("school-heping1"), kind=placements.WORK_STUDY,
                                              to_school=school(WORK_STUDY_SCHOOL), keep_record=keep_record, reason_text=None)
        assert {m.code for m in workflows.missing_materials(req)} == {"application", "agreement"}
        give(req, "application")
        refused(lambda: approve(req, "school-heping1"))
        workflows.withdraw(req, user("school-heping1"))
        db.session.commit()

    without_agreement(keep_record=True)
    without_agreement(keep_record=False)
    req = placements.request_special_move(pupil, user("school-heping1"), kind=placements.TO_SPECIAL,
                                          to_school=school(HEPING_SPECIAL), keep_record=True, reason_text=None)
    assert {m.code for m in workflows.missing_materials(req)} == {"application"}  # only 工读 needs the agreement
    workflows.withdraw(req, user("school-heping1"))
    req = placements.request_special_move(pupil, user("school-heping1"), kind=placements.WORK_STUDY,
                                          to_school=school(WORK_STUDY_SCHOOL), keep_record=True, reason_text=None)
    give(req, "application", "agreement")
    approve(req, "school-heping1")
    assert pupil.attending_school.code == WORK_STUDY_SCHOOL and pupil.school.code == HEPING1


def test_wrong_kind_of_special_move_refused(ctx):
    pupil, me = pupil_of(HEPING1), user("school-heping1")

    def move(kind: str, to: str, who: User = me, student: Student = pupil) -> ChangeRequest:
        return placements.request_special_move(student, who, kind=kind, to_school=school(to), keep_record=True, reason_text=None)

    refused(lambda: move(placements.TO_SPECIAL, WORK_STUDY_SCHOOL))
    refused(lambda: move(placements.TO_SPECIAL, HEPING2))
    refused(lambda: move(placements.WORK_STUDY, HEPING_SPECIAL))
    refused(lambda: move(placements.TO_ORDINARY, HEPING2))  # the pupil is not at a special school
    refused(lambda: move("boarding", HEPING_SPECIAL))
    refused(lambda: placements.request_special_move(pupil, me, kind=placements.TO_SPECIAL, to_school=school("210102"),
                                                    keep_record=True, reason_text=None))  # not a school
    # Out of a special school, only into an ordinary school that teaches the grade.
    special = school(HEPING_SPECIAL)
    set_state(pupil, grade=8, school=special, school_id=special.id, scope_path=special.path)
    special_staff = user("school-special")
    refused(lambda: move(placements.TO_SPECIAL, HEPING_SPECIAL, special_staff))
    refused(lambda: move(placements.TO_ORDINARY, WORK_STUDY_SCHOOL, special_staff))
    refused(lambda: move(placements.TO_ORDINARY, HEPING1, special_staff))  # a primary school does not teach grade 8
    assert move(placements.TO_ORDINARY, HEPING2, special_staff).status == "pending"


# --- the rules every new type shares ------------------------------------------------------------------

NEW_TYPES = (
    suspension.SUSPENSION, suspension.SUSPENSION_EXTENSION, suspension.RESUMPTION,
    departures.ABROAD, departures.ABROAD_RETURN, departures.DEATH, departures.DROPOUT, departures.DROPOUT_RETURN,
    placements.JUVENILE_PLACEMENT, placements.JUVENILE_RETURN, placements.SPECIAL_MOVE, placements.SPECIAL_ATTEND,
)
OPENERS: dict[str, Callable[[Student, User], ChangeRequest]] = {
    suspension.SUSPENSION: lambda p, a: suspension.request_suspension(p, a, reason_kind=ILLNESS, starts_on=MON, ends_on=None,
                                                                      reason_text="肺炎住院"),
    suspension.SUSPENSION_EXTENSION: lambda p, a: suspension.request_extension(p, a, "仍在治疗"),
    suspension.RESUMPTION: lambda p, a: suspension.request_resumption(p, a),
    departures.ABROAD: lambda p, a: departures.request_abroad(p, a, destination="加拿大", document="visa",
                                                              leaves_on=date(2026, 12, 1), reason_text=None),
    departures.ABROAD_RETURN: lambda p, a: departures.request_abroad_return(p, a, grade=p.grade, reason_text=None),
    departures.DEATH: lambda p, a: departures.report_death(p, a, died_on=MON, reason_text=None),
    departures.DROPOUT: lambda p, a: departures.report_dropout(p, a, "连续旷课"),
    departures.DROPOUT_RETURN: lambda p, a: departures.request_dropout_return(p, a, grade=p.grade, reason_text=None),
    placements.JUVENILE_PLACEMENT: lambda p, a: placements.request_juvenile_placement(p, a, school(WORK_STUDY_SCHOOL), "判决"),
    placements.JUVENILE_RETURN: lambda p, a: placements.request_juvenile_return(p, a, "刑满释放"),
    placements.SPECIAL_MOVE: lambda p, a: placements.request_special_move(
        p, a, kind=placements.TO_SPECIAL, to_school=school(HEPING_SPECIAL), keep_record=False, reason_text=None),
    placements.SPECIAL_ATTEND: lambda p, a: placements.request_special_move(
        p, a, kind=placements.TO_SPECIAL, to_school=school(HEPING_SPECIAL), keep_record=True, reason_text=None),
}


def ready(code: str) -> tuple[Student, Callable[[User], ChangeRequest]]:
    """A 和平一小 pupil in the state the type starts from, and how to open it as someone."""
    pupil = pupil_of(HEPING1)
    if code in (suspension.SUSPENSION_EXTENSION, suspension.RESUMPTION):
        suspend(pupil)
    elif code == departures.ABROAD_RETURN:
        set_state(pupil, status="abroad")
    elif code == departures.DROPOUT:
        truant(pupil)
    elif code == departures.DROPOUT_RETURN:
        set_state(pupil, status="dropped_out")
    elif code == placements.JUVENILE_RETURN:
        place(pupil)
    return pupil, lambda actor: OPENERS[code](pupil, actor)


def state(pupil: Student) -> tuple:
    episode = suspension.current(pupil)
    return (pupil.status, pupil.school_id, pupil.scope_path, pupil.attending_school_id, pupil.grade,
            episode and (episode.ends_on, episode.extensions))


def open_requests(pupil: Student) -> int:
    return db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.student_id == pupil.id, ChangeRequest.status.in_(OPEN_STATUSES)))


def test_every_new_type_is_covered():
    modules = {suspension.__name__, departures.__name__, placements.__name__}
    assert {code for code, t in workflows.TYPES.items() if t.effect.__module__ in modules} == set(NEW_TYPES) == set(OPENERS)


@pytest.mark.parametrize("code", NEW_TYPES)
def test_reject_needs_a_reason_and_leaves_the_status_unchanged(ctx, code):
    pupil, open_as = ready(code)
    before = state(pupil)
    req = open_as(staff(pupil.school_id))
    assert req.type == code
    give_all(req)
    decide_all(req, but_last=True)  # the last step refuses
    decider = staff(req.current_step.unit_id)
    problem = refused(lambda: workflows.decide(req.current_step.id, decider, False, "  "))
    assert problem.problems[0][0] == "comment"
    workflows.decide(req.current_step.id, decider, False, "材料与事实不符")
    db.session.commit()
    assert (req.status, req.current_seq, req.steps[-1].comment) == ("rejected", None, "材料与事实不符")
    assert state(pupil) == before
    assert open_as(staff(pupil.school_id)).status == "pending"  # a new request may follow


@pytest.mark.parametrize("code", NEW_TYPES)
def test_requester_can_withdraw(ctx, code):
    pupil, open_as = ready(code)
    before = state(pupil)
    requester = staff(pupil.school_id)
    req = open_as(requester)
    give_all(req)
    decide_all(req, but_last=True)
    decider = staff(req.current_step.unit_id)
    refused(lambda: workflows.withdraw(req, decider if decider.unit_id != requester.unit_id
                                       else staff(pupil.school.supervisor_id)))  # only the requesting unit withdraws
    workflows.withdraw(req, requester, "家长撤回申请")
    db.session.commit()
    assert req.status == "withdrawn" and state(pupil) == before and open_requests(pupil) == 0
    refused(lambda: workflows.withdraw(req, requester))


@pytest.mark.parametrize("code", NEW_TYPES)
def test_open_problem_record_blocks(ctx, code):
    pupil, open_as = ready(code)
    flag(pupil)
    refused(lambda: open_as(staff(pupil.school_id)), "第七条")
    assert open_requests(pupil) == 0


@pytest.mark.parametrize("code", NEW_TYPES)
def test_two_requests_at_once_refused(ctx, code):
    pupil, open_as = ready(code)
    first = open_as(staff(pupil.school_id))
    db.session.commit()
    refused(lambda: open_as(staff(pupil.school_id)))
    assert open_requests(pupil) == 1
    workflows.withdraw(first, staff(pupil.school_id))
    db.session.commit()
    assert open_as(staff(pupil.school_id)).status == "pending"  # it was refused only because of the first


@pytest.mark.parametrize("code", NEW_TYPES)
def test_user_outside_scope_gets_not_in_scope(ctx, code):
    pupil, open_as = ready(code)
    outsider = user("school-xigang1")
    with pytest.raises(NotInScope):
        open_as(outsider)
    db.session.rollback()
    req = open_as(staff(pupil.school_id))
    db.session.commit()
    with pytest.raises(NotInScope):
        workflows.decide(req.current_step.id, outsider, True, "同意")
    with pytest.raises(NotInScope):
        workflows.withdraw(req, outsider)
    for material in workflows.type_of(req).materials[:1]:
        with pytest.raises(NotInScope):
            workflows.attach(req, material.code, upload(), outsider)
    db.session.rollback()
    assert req.status == "pending" and not req.attachments


@pytest.mark.parametrize("code", NEW_TYPES)
def test_filed_by_the_school_that_holds_the_record(ctx, code):
    pupil, open_as = ready(code)
    authority = staff(pupil.school.supervisor_id)
    refused(lambda: open_as(authority))  # in scope, but the school files and the authority decides
    other_school = staff(school(HEPING2).id)
    with pytest.raises(NotInScope):
        open_as(other_school)
    db.session.rollback()
    assert open_requests(pupil) == 0


def test_death_reported_during_a_transfer_ends_the_transfer(ctx, monkeypatch):
    """A death is reported whatever else is under way (第二十一条: within 10 working days); its
    approval ends the pupil's other open requests, and the unit that asked is told."""
    from models.changes import Notification

    pupil = pupil_of(HEPING1)
    moving = transfer.start_transfer(pupil, user("school-shenhe1"), reason_code="hukou_moved", reason_text=None,
                                     hukou_changed=True)
    db.session.commit()
    req = departures.report_death(pupil, user("school-heping1"), died_on=MON, reason_text="病故")
    refused(lambda: departures.report_death(pupil, user("school-heping1"), died_on=MON, reason_text=None))  # one at a time
    give_all(req)
    decide_all(req)
    assert pupil.status == "deceased" and moving.status == "withdrawn"
    notes = db.session.scalars(select(Notification.message).where(Notification.request_id == moving.id)).all()
    assert notes and str(req.id) in notes[-1]
    assert db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "request.closed",
                                                           AuditLog.object_id == str(moving.id))).startswith(f"by request #{req.id}")
