"""What goes with a record when it leaves a school: the sending school's backup on 升学 (第十条),
the request's evidence filed into the archive (第十二条), and the paper file's hand-over (第九、十、十六条)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from changes import enrollment, transfer
from extensions import db
from models.archive import DOC_HUKOU, DOC_TRANSFER, ArchiveBackup, ArchiveDocument
from models.changes import ChangeRequest
from models.lifecycle import arranging
from models.paper import PaperHandover
from services import arrivals, paper, workflows
from services.errors import NotInScope, RuleViolation
from services.oversight import reports
from tests.changes.helpers import NEW_TYPES, decide_all, ready, staff, term_time  # noqa: F401  (term_time: autouse)
from tests.export_helpers import open_gate
from tests.helpers import HEPING1, HEPING2, SHENHE1, pupil_of, school
from tests.transfer_helpers import approve, at, start, upload, user

FOUR = ("school-shenhe1", "shenhe", "school-heping1", "heping")


def _continued() -> tuple[int, int]:
    """A 和平一小 primary graduate continued by 和平二中 (升学): (student id, request id)."""
    s = pupil_of(HEPING1)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        s.grade, s.status = 6, "graduated"
    db.session.commit()
    req = enrollment.continue_record(s, user("school-heping2"), school(HEPING2))
    db.session.commit()
    approve(req, "school-heping2")
    return s.id, req.id


# --- 6. 升学 keeps a backup for the primary school (第十条) -------------------------------------------


def test_continuation_leaves_a_backup_the_primary_school_keeps_and_opens(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # a backup is a governed file (第二十八条): here, as if the request were approved
    with app.test_request_context():
        sid, rid = _continued()
        backup = db.session.scalar(select(ArchiveBackup).where(ArchiveBackup.student_id == sid))
        assert backup is not None and backup.request_id == rid
        assert backup.from_school_id == school(HEPING1).id and backup.scope_path == school(HEPING1).path
        bid = backup.id
    primary = as_user("school-heping1")
    assert f"backup-{bid}" in primary.get("/admin/archive/backups").get_data(as_text=True)
    pdf_file = primary.get(f"/admin/archive/backup/{bid}/pdf")
    assert pdf_file.status_code == 200 and pdf_file.data.startswith(b"%PDF")
    assert primary.get(f"/admin/archive/backup/{bid}/xlsx").status_code == 200
    junior = as_user("school-heping2")
    assert f"backup-{bid}" not in junior.get("/admin/archive/backups").get_data(as_text=True)
    assert junior.get(f"/admin/archive/backup/{bid}/pdf").status_code == 404


# --- 9. a request's evidence is filed into the archive (第十二条) ------------------------------------


def _filed(req: ChangeRequest) -> list[ArchiveDocument]:
    return list(db.session.scalars(select(ArchiveDocument).where(ArchiveDocument.request_id == req.id)
                                   .order_by(ArchiveDocument.id)))


def _give_every_material(req: ChangeRequest) -> None:
    for m in workflows.type_of(req).materials:
        workflows.attach(req, m.code, upload(name=f"{m.code}.png"), req.requested_by)
    db.session.commit()


def _assert_filed_once(req: ChangeRequest) -> None:
    docs = _filed(req)
    assert len(docs) == len(req.attachments) > 0
    for doc, att in zip(docs, req.attachments, strict=True):
        assert (doc.student_id, doc.attachment_id, doc.sha256, doc.filename) == (req.student_id, att.id, att.sha256, att.filename)
        assert f"#{req.id}" in doc.note
    from services import archive

    assert archive.file_request_materials(req, req.requested_by) == []  # idempotent
    assert len(_filed(req)) == len(docs)


@pytest.mark.parametrize("code", NEW_TYPES)
def test_approved_status_change_files_its_evidence_into_the_archive(ctx, code):
    pupil, open_as = ready(code)
    req = open_as(staff(pupil.school_id))
    _give_every_material(req)
    decide_all(req)
    assert req.status == "completed"
    _assert_filed_once(req)


def test_approved_correction_files_the_hukou_copy_as_hukou_proof(ctx):
    s = pupil_of(HEPING1)
    req = enrollment.request_correction(s, user("school-heping1"), {"name": "新名字"}, "户口簿已变更")
    workflows.attach(req, "hukou", upload(name="户口簿.png"), user("school-heping1"))
    db.session.commit()
    approve(req, "school-heping1", "heping")
    _assert_filed_once(req)
    (doc,) = _filed(req)
    assert doc.kind == DOC_HUKOU and "户口簿" in doc.note


def test_transfer_evidence_is_filed_at_arrival_into_the_receiving_schools_archive(ctx):
    req = start()
    approve(req, *FOUR)
    assert req.status == "approved" and _filed(req) == []  # not before the pupil reports: the move may never happen
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    assert req.student.school.code == SHENHE1
    _assert_filed_once(req)
    assert {d.kind for d in _filed(req)} == {DOC_TRANSFER, DOC_HUKOU}
    assert all(d.created_by.email == "school-shenhe1@xueji.demo" for d in _filed(req))


def test_transfer_out_of_the_province_files_its_evidence(ctx):
    student = pupil_of(HEPING1)
    req = workflows.open_request(transfer.TRANSFER_OUT_OF_PROVINCE, student, user("school-heping1"), from_school=student.school,
                                 external_school="北京市海淀区中关村第一小学", reason_code="guardian_job")
    _give_every_material(req)
    approve(req, "school-heping1", "heping")
    _assert_filed_once(req)


def test_approved_delayed_enrollment_files_the_guardians_application(ctx):
    from tests.changes.test_enrollment import _new_pupil
    from tests.helpers import make_id

    s = _new_pupil(grade=1, birth_date=date(2020, 5, 1), id_number=make_id("210102", date(2020, 5, 1), 11))
    db.session.commit()
    workflows.withdraw(db.session.scalar(select(ChangeRequest).where(ChangeRequest.student_id == s.id)), user("school-heping1"))
    req = enrollment.request_delay(s, user("school-heping1"), date(2027, 9, 1), "身体原因")
    _give_every_material(req)
    decide_all(req)
    _assert_filed_once(req)


def test_approved_arrival_from_another_province_files_its_evidence(ctx):
    from tests.services.test_students import new_student

    actor = user("school-heping1")
    student = new_student()
    req = transfer.record_arrival_from_other_province(student, actor, school(HEPING1), "吉林省某小学", "hukou_moved")
    _give_every_material(req)
    decide_all(req)
    assert student.status == "enrolled"
    _assert_filed_once(req)


def test_approved_record_proof_files_the_loss_statement(ctx, monkeypatch):
    from changes import record_proof
    from tests.services.test_certificates import YEAR, issued

    at(monkeypatch, date(YEAR, 7, 1))
    (diploma,) = issued()
    req = record_proof.request_record_proof(diploma.student, user("school-heping2"), "搬家时遗失")
    _give_every_material(req)
    decide_all(req)
    _assert_filed_once(req)


def test_every_change_type_with_materials_is_covered_here():
    covered = {*NEW_TYPES, "correction", "delayed_enrollment", transfer.TRANSFER, transfer.TRANSFER_OUT_OF_PROVINCE,
               transfer.TRANSFER_INTO_PROVINCE, "record_proof"}
    assert {code for code, t in workflows.TYPES.items() if t.materials} == covered


def test_rejected_request_files_nothing(ctx):
    pupil, open_as = ready(NEW_TYPES[0])
    req = open_as(staff(pupil.school_id))
    _give_every_material(req)
    decide_all(req, but_last=True)
    workflows.decide(req.current_step.id, staff(req.current_step.unit_id), False, "材料不实")
    db.session.commit()
    assert req.status == "rejected" and _filed(req) == []


def test_withdrawn_request_files_nothing(ctx):
    req = start()
    approve(req, "school-shenhe1")
    workflows.withdraw(req, user("school-shenhe1"), "家长撤回")
    db.session.commit()
    assert req.status == "withdrawn" and _filed(req) == []


def test_filed_evidence_is_shown_and_served_on_the_archive_page_only_in_scope(as_user, app):
    with app.test_request_context():
        pupil, open_as = ready(NEW_TYPES[0])
        req = open_as(staff(pupil.school_id))
        _give_every_material(req)
        decide_all(req)
        doc = _filed(req)[0]
        sid, did, rid = pupil.id, doc.id, req.id
    own = as_user("school-heping1")
    page = own.get(f"/admin/student/details/?id={sid}").get_data(as_text=True)
    assert f"/admin/archive/document/{did}" in page and f"#{rid}" in page
    served = own.get(f"/admin/archive/document/{did}")
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    assert as_user("school-shenhe1").get(f"/admin/archive/document/{did}").status_code == 404


# --- 13. the paper file: where it is, and its hand-over (第九、十、十六条) ------------------------------

MON_13 = date(2026, 11, 2)  # the autouse term_time day (tests/changes/helpers.py)


def _arrived() -> ChangeRequest:
    """A 和平一小 pupil transferred to 沈河一小 and reported there (报到)."""
    req = start()
    approve(req, *FOUR)
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    return req


def _dispatch(h: PaperHandover, who: str = "school-heping1", **over: object) -> PaperHandover:
    values = {"sent_on": MON_13, "carried_by": "王父", "sealed": True, "copy_kept": True, "copy_location": "档案室复印件柜"}
    values.update(over)
    return paper.record_dispatch(h, user(who), **values)  # type: ignore[arg-type]


def _problems(call) -> list[tuple[str, str]]:
    with pytest.raises(RuleViolation) as exc:
        call()
    db.session.rollback()
    return exc.value.problems


def test_paper_file_location_is_recorded_by_the_holding_school_with_history(ctx):
    s = pupil_of(HEPING1)
    paper.record_location(s, user("school-heping1"), "档案室 2号柜", "李老师")
    paper.record_location(s, user("school-heping1"), "档案室 3号柜", "张老师")
    db.session.commit()
    assert (paper.current_location(s).location, paper.current_location(s).custodian) == ("档案室 3号柜", "张老师")
    assert [r.location for r in paper.location_history(s)] == ["档案室 3号柜", "档案室 2号柜"]
    problems = _problems(lambda: paper.record_location(s, user("school-heping1"), "  ", ""))
    assert {f for f, _ in problems} == {"location", "custodian"}
    _problems(lambda: paper.record_location(s, user("school-heping1"), "档案室 3号柜", "张老师"))  # nothing changed
    _problems(lambda: paper.record_location(s, user("heping"), "区档案馆", "赵科长"))  # the authority reads only
    with pytest.raises(NotInScope):
        paper.record_location(s, user("school-shenhe1"), "x", "y")
    assert len(paper.location_history(s)) == 2


def test_transfer_hands_over_the_paper_file_after_arrival_only(ctx):
    req = start()
    approve(req, *FOUR)
    assert paper.handover_of(req) is None  # approved, not yet reported: the file stays
    arrivals.report_arrival(req, user("school-shenhe1"))
    db.session.commit()
    h = paper.handover_of(req)
    assert (h.from_school.code, h.to_school.code, h.student_id) == (HEPING1, SHENHE1, req.student_id)
    assert h.sent_on is None and h.received_on is None


def test_continuation_hands_over_the_paper_file(ctx):
    _sid, rid = _continued()
    h = paper.handover_of(db.session.get(ChangeRequest, rid))
    assert (h.from_school.code, h.to_school.code) == (HEPING1, HEPING2)


def test_sending_school_records_dispatch_sealed_by_the_guardian_and_its_copy(ctx):
    h = paper.handover_of(_arrived())
    _dispatch(h)
    db.session.commit()
    assert (h.sent_on, h.carried_by, h.sealed, h.copy_kept, h.copy_location) == (MON_13, "王父", True, True, "档案室复印件柜")


def test_dispatch_refuses_bad_input_and_the_wrong_school(ctx):
    h = paper.handover_of(_arrived())
    assert {f for f, _ in _problems(lambda: _dispatch(h, sent_on=MON_13 + timedelta(days=1)))} == {"sent_on"}  # future
    assert {f for f, _ in _problems(lambda: _dispatch(h, sent_on=MON_13 - timedelta(days=1)))} == {"sent_on"}  # before the move
    assert {f for f, _ in _problems(lambda: _dispatch(h, sent_on=None))} == {"sent_on"}
    assert {f for f, _ in _problems(lambda: _dispatch(h, sealed=False))} == {"sealed"}
    assert {f for f, _ in _problems(lambda: _dispatch(h, copy_kept=False, copy_location=""))} == {"copy_kept", "copy_location"}
    assert {f for f, _ in _problems(lambda: _dispatch(h, carried_by=" "))} == {"carried_by"}
    _problems(lambda: _dispatch(h, who="school-shenhe1"))  # the receiving school does not dispatch
    with pytest.raises(NotInScope):
        _dispatch(h, who="school-xigang1")
    assert h.sent_on is None


def test_receiving_school_confirms_receipt_after_dispatch(ctx, monkeypatch):
    h = paper.handover_of(_arrived())
    receive = lambda who="school-shenhe1", **kw: paper.confirm_receipt(  # noqa: E731
        h, user(who), **{"received_on": MON_13, "received_by": "沈河一小 刘老师", **kw})
    _problems(receive)  # not yet sent
    _dispatch(h)
    db.session.commit()
    at(monkeypatch, MON_13 + timedelta(days=3))
    assert {f for f, _ in _problems(lambda: receive(received_on=MON_13 - timedelta(days=1)))} == {"received_on"}  # before sent
    assert {f for f, _ in _problems(lambda: receive(received_on=MON_13 + timedelta(days=4)))} == {"received_on"}  # future
    assert {f for f, _ in _problems(lambda: receive(received_by=""))} == {"received_by"}
    _problems(lambda: receive(who="school-heping1"))  # the sending school does not sign for it
    with pytest.raises(NotInScope):
        receive(who="school-xigang1")
    receive(received_on=MON_13 + timedelta(days=2))
    db.session.commit()
    assert (h.received_on, h.received_by) == (MON_13 + timedelta(days=2), "沈河一小 刘老师")
    _problems(receive)  # once
    _problems(lambda: _dispatch(h))  # and the dispatch is closed


def test_paper_files_not_received_are_listed_for_the_area(ctx):
    h = paper.handover_of(_arrived())
    db.session.commit()
    for who, sees in (("heping", True), ("shenhe", True), ("school-heping1", True), ("school-shenhe1", True),
                      ("school-xigang1", False), ("school-heping2", False)):
        assert reports.count(user(who), reports.PAPER) == (1 if sees else 0), who
    assert reports.by_school(user("heping"))[school(HEPING1).path][reports.PAPER] == 1  # waiting for the sender
    _dispatch(h)
    db.session.commit()
    assert reports.by_school(user("shenhe"))[school(SHENHE1).path][reports.PAPER] == 1  # now for the receiver
    paper.confirm_receipt(h, user("school-shenhe1"), received_on=MON_13, received_by="刘老师")
    db.session.commit()
    assert reports.count(user("heping"), reports.PAPER) == 0


def test_paper_handover_through_the_pages_with_scope(as_user, app):
    with app.test_request_context():
        req = _arrived()
        s = req.student
        rid, sid, hid = req.id, s.id, paper.handover_of(req).id
    page_url = f"/admin/requests/{rid}/"
    sender, receiver = as_user("school-heping1"), as_user("school-shenhe1")
    page = sender.get(page_url).get_data(as_text=True)
    assert 'id="paper-handover"' in page and f'id="paper-dispatch-{hid}"' in page
    assert f'id="paper-receive-{hid}"' not in receiver.get(page_url).get_data(as_text=True)  # not sent yet
    # bad input: a date in the future is refused in Chinese and nothing is recorded
    resp = sender.post_form(f"/admin/paper/handover/{hid}/dispatch", {
        "sent_on": "2026-11-03", "carried_by": "王父", "sealed": "y", "copy_kept": "y", "copy_location": "复印件柜",
        "back": "request"}, token_from=page_url, follow_redirects=True)
    assert "不能晚于今天" in resp.get_data(as_text=True)
    resp = sender.post_form(f"/admin/paper/handover/{hid}/dispatch", {
        "sent_on": "2026-11-02", "carried_by": "王父", "sealed": "y", "copy_kept": "y", "copy_location": "复印件柜",
        "back": "request"}, token_from=page_url)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/requests/{rid}/#paper-handover")
    assert sender.post(f"/admin/paper/handover/{hid}/receive", data={"received_on": "2026-11-02"}).status_code == 400  # no CSRF
    details = f"/admin/student/details/?id={sid}"
    page = receiver.get(details).get_data(as_text=True)
    assert 'id="paper-file"' in page and f'id="paper-receive-{hid}"' in page and "王父" in page
    resp = receiver.post_form(f"/admin/paper/handover/{hid}/receive", {"received_on": "2026-11-02", "received_by": "刘老师",
                                                                       "back": "student"}, token_from=details)
    assert resp.status_code == 302
    resp = receiver.post_form(f"/admin/paper/{sid}/location", {"location": "档案室 1号柜", "custodian": "刘老师"}, token_from=details)
    assert resp.status_code == 302
    page = receiver.get(details).get_data(as_text=True)
    assert "档案室 1号柜" in page and "刘老师" in page
    outsider = as_user("school-xigang1")
    for url, data in ((f"/admin/paper/handover/{hid}/dispatch", {"sent_on": "2026-11-02"}),
                      (f"/admin/paper/handover/{hid}/receive", {"received_on": "2026-11-02"}),
                      (f"/admin/paper/{sid}/location", {"location": "x", "custodian": "y"}),
                      ("/admin/paper/handover/999999/receive", {}), ("/admin/paper/99999999999/location", {})):
        assert outsider.post_form(url, data, token_from="/admin/").status_code == 404, url
    with app.app_context():
        h = db.session.get(PaperHandover, hid)
        assert h.received_by == "刘老师" and paper.current_location(h.student).location == "档案室 1号柜"
    report = as_user("heping").get("/admin/oversight/paper_not_received/").get_data(as_text=True)
    assert f'id="row-{hid}"' not in report
