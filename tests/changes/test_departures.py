"""出国出境 (第二十条), 死亡 (第二十一条) and 辍学 (第二十三条) through the services: every rule is a test
named after it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from changes import departures, suspension, transfer
from extensions import db
from models.archive import ArchiveBackup
from models.audit import AuditLog
from models.changes import ChangeRequest, Notification
from models.org import OrgUnit
from models.status import CONTACT_SUSPENSION, ArchiveHandover
from models.student import Student
from services import absences, labels, scope, workflows
from services.errors import NotInScope
from tests.changes.helpers import (
    MON,
    absent,
    contact,
    decide_all,
    expired_ids,
    give,
    give_all,
    history,
    refused,
    set_state,
    suspend,
    term_time,  # noqa: F401  (autouse: term time is today)
    truant,
)
from tests.helpers import HEPING1, XIGANG1, pupil_of, school
from tests.transfer_helpers import approve, at, user

# --- 出国出境 (第二十条) --------------------------------------------------------------------------


def go_abroad(pupil: Student, document: str = "passport", destination: str = "日本") -> ChangeRequest:
    return departures.request_abroad(pupil, user("school-heping1"), destination=destination, document=document,
                                     leaves_on=date(2026, 12, 1), reason_text="随父母出国")


def test_abroad_needs_travel_document(ctx):
    pupil = pupil_of(HEPING1)
    refused(lambda: go_abroad(pupil, document="id_card"))
    refused(lambda: go_abroad(pupil, destination="  "))
    for document in labels.TRAVEL_DOCUMENTS:
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
    assert absences.longest_unexcused_run(pupil) == (date(2026, 11, 4), date(2026, 12, 1))
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
    assert absences.longest_unexcused_run(second) == (date(2026, 11, 19), date(2026, 12, 4))
    dropout_refused(second)
    # All excused: nothing counts.
    third = pupil_of(XIGANG1)
    absences.record_absence(third, user("school-xigang1"), first_day=date(2026, 10, 12), last_day=date(2026, 11, 30),
                              excused=True, note="病假")
    assert absences.longest_unexcused_run(third) is None


def test_absences_separated_only_by_days_off_join_into_one_run(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    absent(pupil, date(2026, 11, 4), date(2026, 11, 13))  # Wednesday to Friday
    absent(pupil, date(2026, 11, 16), date(2026, 12, 1))  # Monday to Tuesday: 28 days with the weekend between
    assert absences.longest_unexcused_run(pupil) == (date(2026, 11, 4), date(2026, 12, 1))
    assert departures.report_dropout(pupil, user("school-heping1"), "连续旷课").status == "pending"
    # 国庆 (1–7 October) lies between two periods: they join as well.
    other = pupil_of(XIGANG1)
    for first, last in ((date(2026, 9, 14), date(2026, 9, 30)), (date(2026, 10, 8), date(2026, 10, 13))):
        absences.record_absence(other, user("school-xigang1"), first_day=first, last_day=last, excused=False, note=None)
    assert absences.longest_unexcused_run(other) == (date(2026, 9, 14), date(2026, 10, 13))


def test_a_school_day_between_absences_breaks_the_run(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    contact(pupil, date(2026, 11, 10))
    contact(pupil, date(2026, 11, 20))
    absent(pupil, date(2026, 11, 4), date(2026, 11, 12))  # back at school on Friday 13 November
    absent(pupil, date(2026, 11, 16), date(2026, 12, 1))
    assert absences.longest_unexcused_run(pupil) == (date(2026, 11, 16), date(2026, 12, 1))
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



# --- a death while another request is open ---------------------------------------------------


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
                                                           AuditLog.object_id == str(moving.id))).startswith(f"因变动申请 #{req.id} 终止")
