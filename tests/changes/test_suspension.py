"""休学, its extension and 复学 (第十八–十九条) through the services: every rule is a test named after it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from changes import departures, suspension, transfer
from extensions import db
from models.changes import ChangeRequest
from models.status import CONTACT_DROPOUT, CONTACT_SUSPENSION, ILLNESS, OTHER
from models.student import Student
from services import absences, family_contacts, scope, workflows
from services.errors import NotInScope
from tests.changes.helpers import (
    MON,
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
)
from tests.helpers import HEPING1, HEPING2, XIGANG1, pupil_of
from tests.transfer_helpers import approve, at, user

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
        return family_contacts.record_contact(pupil, user(who), purpose=CONTACT_SUSPENSION, contacted_on=day, method="电话",
                                         outcome="家长同意下周办理复学")

    with pytest.raises(NotInScope):
        record("school-shenhe1")
    refused(lambda: record("heping"))  # the authority sees the pupil but does not make the contact
    refused(lambda: record("school-heping1", date(2026, 11, 3)))  # not in the future
    refused(lambda: family_contacts.record_contact(pupil, user("school-heping1"), purpose=CONTACT_SUSPENSION, contacted_on=MON,
                                              method=" ", outcome="x"))
    record("school-heping1")
    record("principal-heping1")
    db.session.commit()
    assert len(family_contacts.contacts_of(pupil, CONTACT_SUSPENSION)) == 2
    assert family_contacts.contacts_of(pupil, CONTACT_DROPOUT) == []


def test_absences_recorded_only_by_own_school(ctx):
    pupil = pupil_of(HEPING1)

    def record(who: str, first: date = date(2026, 10, 12), last: date = date(2026, 10, 16)):
        return absences.record_absence(pupil, user(who), first_day=first, last_day=last, excused=False, note=None)

    with pytest.raises(NotInScope):
        record("school-xigang1")
    refused(lambda: record("heping"))
    refused(lambda: record("school-heping1", date(2026, 10, 16), date(2026, 10, 12)))  # backwards
    refused(lambda: record("school-heping1", date(2026, 11, 2), date(2026, 11, 6)))  # days still to come
    record("school-heping1")
    db.session.commit()
    assert len(absences.absences_of(pupil)) == 1


def test_status_change_history_names_the_request_and_the_approver(ctx):
    pupil = pupil_of(HEPING1)
    req = suspend(pupil)
    rows = history(pupil, "status")
    assert [(r.old_value, r.new_value) for r in rows] == [("enrolled", "suspended")]
    assert (rows[0].request_id, rows[0].changed_by_id) == (req.id, user("heping").id)
