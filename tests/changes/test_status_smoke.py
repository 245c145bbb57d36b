"""Smoke path through each status change type (the detailed rules are in test_status_changes.py)."""

from __future__ import annotations

from datetime import date

from changes import departures, placements, suspension
from extensions import db
from services import absences, family_contacts, workflows
from tests.helpers import HEPING1, pupil_of, school
from tests.transfer_helpers import approve, at, upload, user


def attach(req, *materials):
    for m in materials:
        workflows.attach(req, m, upload(), user("school-heping1"))
    db.session.commit()


def test_suspension_then_resumption(ctx, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    pupil = pupil_of(HEPING1)
    grade = pupil.grade
    req = suspension.request_suspension(pupil, user("school-heping1"), reason_kind="illness", starts_on=date(2026, 11, 2),
                                        ends_on=None, reason_text="肺炎住院")
    attach(req, "application", "hospital_certificate", "medical_records", "receipts")
    approve(req, "school-heping1", "heping")
    assert pupil.status == "suspended" and suspension.current(pupil).ends_on == date(2027, 11, 1)
    req = suspension.request_resumption(pupil, user("school-heping1"))
    attach(req, "application", "recovery_certificate")
    approve(req, "school-heping1", "heping")
    assert pupil.status == "enrolled" and pupil.grade == grade and suspension.current(pupil) is None


def test_abroad_death_dropout_and_placements_open(ctx, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    pupil = pupil_of(HEPING1)
    req = departures.request_abroad(pupil, user("school-heping1"), destination="日本", document="passport",
                                    leaves_on=date(2026, 12, 1), reason_text=None)
    attach(req, "application", "travel_document")
    approve(req, "school-heping1")
    assert pupil.status == "abroad"
    req = departures.request_abroad_return(pupil, user("school-heping1"), grade=pupil.grade, reason_text=None)
    attach(req, "application")
    approve(req, "school-heping1")
    assert pupil.status == "enrolled"
    req = departures.report_death(pupil, user("school-heping1"), died_on=date(2026, 10, 30), reason_text=None)
    assert req.payload["report_due_on"] == "2026-11-13"  # the school's 10 working days from the death
    assert req.steps[0].due_date == date(2026, 11, 16)  # the authority's own, from the report
    attach(req, "proof")
    approve(req, "heping")
    assert pupil.status == "deceased"


def test_dropout_after_four_weeks_and_contacts(ctx, monkeypatch):
    at(monkeypatch, date(2026, 12, 10))
    pupil = pupil_of(HEPING1)
    me = user("school-heping1")
    absences.record_absence(pupil, me, first_day=date(2026, 11, 2), last_day=date(2026, 11, 13), excused=False, note=None)
    absences.record_absence(pupil, me, first_day=date(2026, 11, 16), last_day=date(2026, 11, 30), excused=False, note=None)
    for d in (date(2026, 11, 10), date(2026, 11, 20)):
        family_contacts.record_contact(pupil, me, purpose="dropout", contacted_on=d, method="电话", outcome="未返校")
    db.session.commit()
    req = departures.report_dropout(pupil, me, "连续旷课")
    approve(req, "heping")
    assert pupil.status == "dropped_out"


def test_special_move_keeps_record(ctx, monkeypatch):
    at(monkeypatch, date(2026, 11, 2))
    pupil = pupil_of(HEPING1)
    special = db.session.scalar(db.select(type(school(HEPING1))).where(type(school(HEPING1)).school_kind == "special"))
    if special is None:
        return
    req = placements.request_special_move(pupil, user("school-heping1"), kind="to_special", to_school=special,
                                          keep_record=True, reason_text=None)
    attach(req, "application")
    approve(req, "school-heping1")
    assert pupil.attending_school_id == special.id and pupil.school.code == HEPING1
