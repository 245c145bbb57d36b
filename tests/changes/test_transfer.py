"""转学 (第十三–十六条) through the services: every rule is a test named after it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from changes import transfer
from extensions import db
from models.audit import AuditLog, StudentHistory
from models.changes import ApprovalStep, ChangeRequest, Notification
from models.lifecycle import arranging
from models.org import OrgUnit
from services import arrivals, pupil_identity, workdays, workflows
from services.errors import NotInScope, RuleViolation
from tests.helpers import HEPING1, KANGPING_VILLAGE, SHENHE1, pupil_of, school
from tests.transfer_helpers import approve, at, pdf_bytes, start, upload, user

FOUR = ("school-shenhe1", "shenhe", "school-heping1", "heping")


def test_transfer_needs_all_four_approvals(ctx):
    req = start()
    assert [s.role for s in req.steps] == ["receiving_school", "receiving_authority", "sending_school", "sending_authority"]
    assert [s.unit.name for s in req.steps] == ["沈阳市沈河区第一小学", "沈河区教育局", "沈阳市和平区第一小学", "和平区教育局"]
    for n, who in enumerate(FOUR, start=1):
        assert req.status == "pending" and req.current_seq == n
        approve(req, who)
    assert req.status == "approved" and req.current_seq is None
    assert req.student.school.code == HEPING1  # the record moves only when the pupil reports


def test_each_step_is_due_in_ten_working_days(ctx):
    req = start()
    step = req.steps[0]
    assert step.started_at is not None
    assert step.due_date == workdays.add_workdays(step.started_at, 10).due
    assert req.steps[1].due_date is None  # starts when step 1 is approved
    approve(req, FOUR[0])
    assert req.steps[1].due_date == workdays.add_workdays(req.steps[1].started_at, 10).due


def test_directly_managed_school_routes_to_the_city(ctx):
    req = start("school-citydirect")
    assert req.steps[1].unit.code == "2101"  # 沈阳市教育局, not 沈河区 where the school stands


def test_same_county_transfer_keeps_four_steps_with_the_county_deciding_twice(ctx):
    from services.org import save_school

    county, official = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "210102")), user("heping")
    second = save_school(OrgUnit(code="2121000050", name="沈阳市和平区第五小学", school_kind="primary", parent=county), official, True)
    db.session.commit()
    # The county opens it for its new school (which has no registrar yet).
    req = transfer.start_transfer(pupil_of(HEPING1), user("heping"), reason_code="hukou_moved", reason_text=None,
                                  hukou_changed=True, to_school=second)
    assert [s.unit.code for s in req.steps] == ["2121000050", "210102", HEPING1, "210102"]
    assert [s.role for s in req.steps][1::2] == ["receiving_authority", "sending_authority"]


def test_reason_must_be_one_of_the_five(ctx):
    with pytest.raises(RuleViolation, match=r"法定|lawful"):
        start(reason="likes_the_other_school")


def test_health_reason_needs_a_special_school_at_one_end(ctx):
    with pytest.raises(RuleViolation, match=r"特殊教育|special-education"):
        start(reason="health")


def test_receiving_school_must_teach_the_grade(ctx):
    with pytest.raises(RuleViolation, match=r"年级|grade"):
        start("school-heping2", pupil_school=SHENHE1)  # a junior school cannot take a primary pupil


def test_pupil_already_at_the_school_cannot_transfer_there(ctx):
    with pytest.raises(RuleViolation):
        start("school-heping1", pupil_school=HEPING1)


def test_step_one_needs_the_materials(ctx):
    req = start(materials=False, hukou_changed=False)
    with pytest.raises(RuleViolation, match=r"缺少材料|Materials missing"):
        approve(req, FOUR[0])
    db.session.rollback()
    for m in ("contact_form", "student_info", "hukou"):
        workflows.attach(req, m, upload(), user(FOUR[0]))
    db.session.commit()
    with pytest.raises(RuleViolation, match=r"转学原因|Proof of the reason"):  # hukou unchanged: proof of the reason too
        approve(req, FOUR[0])
    db.session.rollback()
    workflows.attach(req, "reason_proof", upload(pdf_bytes(), "工作调动证明.pdf"), user(FOUR[0]))
    approve(req, FOUR[0])
    assert req.current_seq == 2


def test_upload_must_be_jpg_png_or_pdf_by_content(ctx):
    req = start(materials=False)
    with pytest.raises(RuleViolation, match="JPG"):
        workflows.attach(req, "hukou", upload(b"MZ\x90\x00 not really a picture", "户口簿.jpg"), user(FOUR[0]))
    with pytest.raises(RuleViolation, match="JPG"):
        workflows.attach(req, "hukou", upload(b"\x89PNG\r\n\x1a\n broken", "户口簿.png"), user(FOUR[0]))
    with pytest.raises(RuleViolation, match="5 MB"):
        workflows.attach(req, "hukou", upload(b"%PDF-" + b"0" * (5 * 1024 * 1024) + b"%%EOF", "big.pdf"), user(FOUR[0]))
    with pytest.raises(RuleViolation, match=r"为空|empty"):
        workflows.attach(req, "hukou", upload(b"", "empty.png"), user(FOUR[0]))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(workflows.Attachment)) == 0


def test_only_the_requesting_school_adds_materials(ctx):
    req = start()
    with pytest.raises(RuleViolation):
        workflows.attach(req, "hukou", upload(), user("school-heping1"))


def test_reject_needs_a_reason_and_ends_the_request(ctx):
    req = start()
    approve(req, FOUR[0])
    with pytest.raises(RuleViolation, match=r"理由|reason"):
        workflows.decide(req.current_step.id, user("shenhe"), False, "")
    workflows.decide(req.current_step.id, user("shenhe"), False, "材料不全")
    db.session.commit()
    assert req.status == "rejected" and req.current_seq is None
    assert req.steps[1].decision == "rejected" and req.steps[1].comment == "材料不全"


def test_only_the_steps_unit_decides(ctx):
    req = start()
    for who in ("shenhe", "school-heping1", "heping", "shenyang", "principal-heping1"):
        with pytest.raises(RuleViolation):
            workflows.decide(req.current_step.id, user(who), True)
        db.session.rollback()
    with pytest.raises(NotInScope):
        workflows.decide(req.current_step.id, user("school-xigang1"), True)


def test_principal_of_the_school_may_decide_the_school_step(ctx):
    req = start("school-heping1", pupil_school=SHENHE1)
    approve(req, "principal-heping1")
    assert req.current_seq == 2


@pytest.mark.committing
def test_two_approvers_at_once_give_one_decision(app, ctx):
    """Both load the open step; the first decision wins, the second gets "already decided"."""
    from sqlalchemy.orm import Session

    req = start()
    step_id = req.current_step.id
    other = Session(db.engine)
    try:
        other_step = other.get(ApprovalStep, step_id)
        assert other_step.decision is None  # the second approver saw it open
        workflows.decide(step_id, user(FOUR[0]), True, "第一位")
        db.session.commit()
        # The second approver's UPDATE finds no open step.
        from sqlalchemy import update

        result = other.execute(update(ApprovalStep).where(ApprovalStep.id == step_id, ApprovalStep.decision.is_(None))
                               .values(decision="rejected"))
        assert result.rowcount == 0
        other.rollback()
    finally:
        other.close()
    with pytest.raises(RuleViolation, match=r"已核办|already"):
        workflows.decide(step_id, user(FOUR[0]), False, "第二位")
    db.session.rollback()
    assert db.session.get(ApprovalStep, step_id).comment == "第一位"


def test_requester_can_withdraw_before_the_last_step(ctx):
    req = start()
    approve(req, *FOUR[:3])
    with pytest.raises(RuleViolation):
        workflows.withdraw(req, user("school-heping1"))  # not the requester
    workflows.withdraw(req, user("school-shenhe1"), "家长改变主意")
    db.session.commit()
    assert req.status == "withdrawn"


def test_no_withdrawal_after_final_approval(ctx):
    req = start()
    approve(req, *FOUR)
    with pytest.raises(RuleViolation):
        workflows.withdraw(req, user("school-shenhe1"))


def test_open_request_blocks_a_second_one(ctx):
    start()
    with pytest.raises(RuleViolation, match=r"#"):
        start("school-citydirect")


@pytest.mark.parametrize("status", ["suspended", "abroad"])
def test_blocking_status_prevents_a_transfer(ctx, status):
    s = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        s.status = status
    db.session.commit()
    with pytest.raises(RuleViolation):
        start()


def test_report_moves_the_pupil_keeps_the_grade_writes_history_and_notifies_the_sender(ctx):
    req = start()
    student = req.student
    grade, old_school = student.grade, student.school
    approve(req, *FOUR)
    with pytest.raises(RuleViolation):
        arrivals.report_arrival(req, user("shenhe"))  # the receiving school records the arrival
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    assert req.status == "completed" and req.reported_at
    assert student.school.code == SHENHE1 and student.scope_path == school(SHENHE1).path and student.grade == grade
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == student.id,
                                                           StudentHistory.request_id == req.id)).all()
    moved = next(r for r in rows if r.field == "school_id")
    assert (moved.old_value, moved.new_value) == (f"{old_school.name}（{HEPING1}）", f"{school(SHENHE1).name}（{SHENHE1}）")
    assert req.archive_backup["school_id"] == str(old_school.id)
    note = db.session.scalar(select(Notification).where(Notification.unit_id == old_school.id))
    assert note and student.name in note.message


def test_report_only_after_all_four_approved(ctx):
    req = start()
    approve(req, *FOUR[:3])
    with pytest.raises(RuleViolation):
        arrivals.report_arrival(req, user("school-shenhe1"))


def test_sending_side_silent_20_workdays_allows_provisional_admission(ctx, monkeypatch):
    req = start()
    approve(req, *FOUR[:2])
    decided = req.steps[1].decided_at.date()
    opens = workdays.add_workdays(decided, 20).due
    at(monkeypatch, opens - timedelta(days=1))
    with pytest.raises(RuleViolation, match="20"):
        arrivals.admit_provisionally(req, user("shenhe"))
    db.session.rollback()
    at(monkeypatch, opens)
    with pytest.raises(RuleViolation):
        arrivals.admit_provisionally(req, user("school-shenhe1"))  # only the receiving authority
    arrivals.admit_provisionally(req, user("shenhe"))
    db.session.commit()
    assert req.provisional_at is not None
    assert req.student.school.code == HEPING1  # the archive moves when the sending side acts
    approve(req, "school-heping1", "heping")
    assert req.status == "completed" and req.student.school.code == SHENHE1


def test_forced_intervention_by_the_level_above_on_an_overdue_step(ctx, monkeypatch):
    req = start()
    approve(req, FOUR[0])
    step = req.current_step  # 沈河区 must decide
    with pytest.raises(RuleViolation):
        workflows.decide(step.id, user("shenyang"), True, "代为核办", forced=True)  # not overdue yet
    db.session.rollback()
    at(monkeypatch, step.due_date + timedelta(days=1))
    assert req.id in db.session.scalars(select(ChangeRequest.id).where(
        workflows.queue_filter(user("shenyang"), "overdue"))).all()
    with pytest.raises(RuleViolation):
        workflows.decide(step.id, user("shenyang"), True, "", forced=True)  # must say why
    db.session.rollback()
    with pytest.raises(NotInScope):
        workflows.decide(step.id, user("dalian"), True, "越权", forced=True)  # not above 沈河区
    db.session.rollback()
    workflows.decide(step.id, user("shenyang"), True, "沈河区超期，市局代为核办", forced=True)
    db.session.commit()
    assert step.decision == "approved" and step.forced_by_unit.code == "2101" and req.current_seq == 3


def test_transfer_window_is_closed_in_the_summer_vacation(ctx, monkeypatch):
    at(monkeypatch, date(2026, 8, 10))
    with pytest.raises(RuleViolation, match="第十五条"):
        start()
    db.session.rollback()
    with pytest.raises(RuleViolation):  # a school cannot override
        start(window_override="家长工作调动")
    db.session.rollback()
    actor = user("shenhe")
    req = transfer.start_transfer(pupil_of(HEPING1), actor, reason_code="hukou_moved", reason_text=None,
                                  hukou_changed=True, window_override="家长八月工作调动，需开学前入学",
                                  to_school=school(SHENHE1))
    assert req.window_override.startswith("家长")


def test_transfer_out_of_the_province_has_our_two_steps(ctx):
    from services.workflows import open_request

    student = pupil_of(HEPING1)
    req = open_request(transfer.TRANSFER_OUT_OF_PROVINCE, student, user("school-heping1"), from_school=student.school,
                       external_school="北京市海淀区中关村第一小学", reason_code="guardian_job")
    assert [s.unit.code for s in req.steps] == [HEPING1, "210102"]
    for m in ("contact_form", "receiving_proof"):
        workflows.attach(req, m, upload(), user("school-heping1"))
    approve(req, "school-heping1", "heping")
    assert req.status == "completed" and student.status == "transferred_out" and req.archive_backup


def test_rural_transfer_is_visible_read_only_to_the_township_central_school(ctx):
    req = start("school-heping1", pupil_school=KANGPING_VILLAGE)
    central = user("school-kangping1")
    assert workflows.can_see(central, req)
    assert req.id in db.session.scalars(select(ChangeRequest.id).where(workflows.visible_filter(central))).all()
    assert not any(workflows.may_decide(central, s) for s in req.steps)


def test_a_school_outside_both_ends_sees_nothing(ctx):
    req = start()
    for who in ("school-xigang1", "school-heping2", "xigang", "dalian", "school-kangping1"):
        assert not workflows.can_see(user(who), req), who
        with pytest.raises(NotInScope):
            workflows.get_visible(user(who), req.id)


def test_cross_scope_lookup_needs_the_full_number_and_the_name_and_is_audited(ctx):
    student = pupil_of(HEPING1)
    actor = user("school-shenhe1")
    assert pupil_identity.identify(actor, student.xjh, None, "transfer") is None  # the number alone
    assert pupil_identity.identify(actor, None, student.name, "transfer") is None  # the name alone
    assert pupil_identity.identify(actor, student.xjh[:10], student.name, "transfer") is None  # a prefix
    assert pupil_identity.identify(actor, student.xjh, student.name + "x", "transfer") is None  # another name
    assert pupil_identity.identify(actor, student.xjh, student.name, "transfer").id == student.id
    assert pupil_identity.identify(actor, student.id_number.lower(), f" {student.name} ", "transfer").id == student.id
    db.session.commit()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.lookup")).all()
    assert len(rows) == 6 and all(student.id_number not in (r.detail or "") for r in rows)


def test_transfer_requests_are_not_batch_approvable(ctx):
    assert not workflows.TYPES[transfer.TRANSFER].batch_approvable


def test_a_school_cannot_give_a_window_override_even_in_term(ctx):
    with pytest.raises(RuleViolation):
        start(window_override="学校自己填写")
