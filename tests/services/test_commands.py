"""The command layer (services/commands): for each command, who is allowed and who is refused with
which words; `run` refuses with the same words; the request page's buttons follow `allowed()`;
a concurrent change on a migrated handler is a message, not a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

import changes  # noqa: F401 - declares every type
from extensions import db
from models.changes import WITHDRAWN
from models.graduation import COMPLETED, REVOKED, VALID
from models.org import OrgUnit
from models.people import User
from models.problems import EVIDENCE, OPEN, RESOLVED
from services import problems, workflows
from services.commands import pupils, records, rosters
from services.commands import requests as rc
from services.commands.rosters import Roster
from services.errors import NotInScope, RuleViolation
from tests.builders import make_certificate, make_problem_record, make_pupil, make_request, user_of
from tests.conftest import login
from tests.transfer_helpers import upload

pytestmark = pytest.mark.usefixtures("ctx")


def T(message: str, **kw: object) -> str:
    """The words as the user reads them (the Chinese catalogue)."""
    return str(gettext(message, **kw))


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _stranger_school_user() -> User:
    """Staff of a school in another city (大连): sees nothing of a 沈阳 request."""
    return _user("school-xigang1@xueji.demo")


# --- the request page -------------------------------------------------------------------------


def test_withdraw_is_allowed_to_the_requesting_unit_only_while_it_waits() -> None:
    req = make_request("suspension", "pending:1")
    requester = req.requested_by
    step_user = user_of(req.current_step.unit)
    assert rc.WITHDRAW.allowed(requester, req) is None
    if step_user is not None and step_user.unit_id != requester.unit_id:
        assert rc.WITHDRAW.allowed(step_user, req) == T("Only the requesting unit can withdraw the request.")
        with pytest.raises(RuleViolation) as refused:
            rc.WITHDRAW.run(step_user, req)
        assert str(refused.value) == T("Only the requesting unit can withdraw the request.")
    rc.WITHDRAW.run(requester, req, reason="家长撤回")
    assert req.status == WITHDRAWN
    assert rc.WITHDRAW.allowed(requester, req) == T("Only a request still waiting for approval can be withdrawn.")


def test_out_of_scope_is_not_found_not_a_reason() -> None:
    req = make_request("suspension", "pending:1")
    stranger = _stranger_school_user()
    assert rc.WITHDRAW.allowed(stranger, req) == T("Not found.")
    with pytest.raises(NotInScope):
        rc.WITHDRAW.run(stranger, req)


def test_decide_is_allowed_to_the_step_unit_and_refused_to_the_requester_of_an_authority_step() -> None:
    req = make_request("suspension", "pending:2")
    step = req.current_step
    decider = user_of(step.unit)
    assert decider is not None
    assert rc.DECIDE.allowed(decider, req) is None
    assert rc.DECIDE.allowed(req.requested_by, req) == T("This step is decided by %(unit)s.", unit=step.unit.name)
    assert rc.FORCE.allowed(req.requested_by, req) == T("Forced intervention is only for an overdue step of a unit below yours.")


def test_decided_request_cannot_be_decided_again() -> None:
    req = make_request("suspension", "done")
    province = _user("province@xueji.demo")
    assert rc.DECIDE.allowed(province, req) == T("This step has already been decided.")


def test_attach_is_for_the_requesting_side_of_an_open_request() -> None:
    req = make_request("suspension", "pending:2")
    assert rc.ATTACH.allowed(req.requested_by, req) is None
    decider = user_of(req.current_step.unit)
    assert rc.ATTACH.allowed(decider, req) == T("Only the requesting school can add materials to an open request.")


def test_report_arrival_is_only_for_an_approved_transfer() -> None:
    req = make_request("suspension", "pending:1")
    assert rc.REPORT_ARRIVAL.allowed(_user("province@xueji.demo"), req) in (
        T("Only an approved transfer can be reported."), T("Not found."))


def test_provisional_admission_is_only_for_a_transfer_waiting_for_the_sending_side() -> None:
    req = make_request("suspension", "pending:1")
    assert rc.PROVISIONAL.allowed(_user("province@xueji.demo"), req) in (
        T("Provisional admission is only for a transfer waiting for the sending side."), T("Not found."))


def test_print_info_is_for_the_school_holding_the_record_or_above() -> None:
    req = make_request("suspension", "pending:1")
    assert rc.PRINT_PUPIL_INFO.allowed(req.requested_by, req) is None
    assert rc.PRINT_PUPIL_INFO.allowed(_user("province@xueji.demo"), req) is None
    assert rc.PRINT_PUPIL_INFO.allowed(_stranger_school_user(), req) == T("Not found.")


# --- the pupil's page -------------------------------------------------------------------------------


def test_status_changes_follow_the_pupils_status_school_and_open_requests() -> None:
    pupil = make_pupil(grade=3)
    registrar = _user("school-heping1@xueji.demo")
    assert pupil.school_id == registrar.unit_id
    offered = dict(pupils.offered(registrar, pupil))
    assert offered["suspension"] is None and "resumption" not in offered
    assert pupils.STATUS_CHANGES["resumption"].allowed(registrar, pupil) == T("The pupil's status does not allow this change.")
    other = _user("school-heping2@xueji.demo")
    assert pupils.offered(other, pupil) == []
    assert pupils.STATUS_CHANGES["suspension"].allowed(other, pupil) == T("Not found.")
    heping = _user("heping@xueji.demo")  # in scope, but the school files the change
    assert pupils.STATUS_CHANGES["suspension"].allowed(heping, pupil) == T(
        "The school that holds the pupil's record files this change.")
    busy = make_request("suspension", "pending:1", pupil=pupil)
    reason = dict(pupils.offered(registrar, pupil))["abroad"]
    assert reason == T("The pupil already has an open request (#%(id)s); finish or withdraw it first.", id=busy.id)
    with pytest.raises(RuleViolation) as refused:
        pupils.STATUS_CHANGES["abroad"].run(registrar, pupil, open=lambda: pytest.fail("opened despite the refusal"))
    assert str(refused.value) == reason


def test_a_pupils_page_asks_once_whether_a_request_is_open_with_the_same_answers() -> None:
    """workflows.open_requests_read_once (the pupil's page offers up to seven changes): inside the
    block every type gets the answer a fresh read gives, with no request open, with one open, and
    for a type that opens beside others (调班), from one statement."""
    from flask import current_app

    from tests.admin.test_request_account import statements

    pupil = make_pupil(grade=3)
    codes = sorted(workflows.TYPES)

    def answers() -> dict[str, str | None]:
        return {code: workflows.busy_refusal(code, pupil) for code in codes}

    for state in ("none open", "a suspension open"):
        if state != "none open":
            busy = make_request("suspension", "pending:1", pupil=pupil)
        fresh = answers()
        with statements(current_app._get_current_object()) as seen, workflows.open_requests_read_once(pupil):
            kept = answers()
        assert kept == fresh, state
        assert len([s for s in seen if "change_request" in s]) == 1, state
    assert fresh["abroad"] == T("The pupil already has an open request (#%(id)s); finish or withdraw it first.", id=busy.id)
    assert fresh["class_change"] is None  # 调班 opens beside a suspension
    assert workflows.busy_refusal("abroad", pupil) == fresh["abroad"]  # after the block: read afresh


# --- roster, certificates, problem records, calendar ------------------------------------------------


def test_roster_commands_refuse_an_authority_the_schools_work() -> None:
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == _user("school-heping2@xueji.demo").unit.code))
    roster = Roster(school, 2000 + 26)
    heping = _user("heping@xueji.demo")
    assert rosters.SUBMIT.allowed(heping, roster) == T("The school submits its own graduation roster (第二十四条).")
    assert rosters.COMPILE.allowed(heping, roster) == T("The school compiles and marks its own graduation roster (第二十四条).")
    assert rosters.COMPILE.allowed(_stranger_school_user(), roster) == T("Not found.")
    registrar = _user("school-heping2@xueji.demo")
    # The school's own registrar: allowed, or refused only by the calendar (the same words as the page's banner).
    from services import graduation
    assert rosters.SUBMIT.allowed(registrar, roster) in (None, graduation.why_not_now(roster.year))


def test_certificate_commands_ask_the_services_rules() -> None:
    cert = make_certificate()  # a diploma of 和平区第二中学, issued by the school
    registrar, county = _user("school-heping2@xueji.demo"), _user("heping@xueji.demo")  # the school, its issuing county
    for command in records.CERTIFICATE_PAGE.values():
        assert command.allowed(_stranger_school_user(), cert) == T("Not found.")
    issued_by_school = T("Certificates are issued by the graduating school (第二十四条).")
    assert records.REVOKE.allowed(registrar, cert) == T(
        "A certificate is revoked by the authority that issued it or the school's supervising authority.")
    assert records.REVOKE.allowed(county, cert) is None
    assert records.REISSUE.allowed(_user("province@xueji.demo"), cert) == issued_by_school
    assert records.REQUEST_PROOF.allowed(county, cert) == issued_by_school
    assert records.REISSUE.allowed(registrar, cert) is None and records.REQUEST_PROOF.allowed(registrar, cert) is None

    new = records.REISSUE.run(registrar, cert, reason="lost")
    assert (cert.status, new.status, new.replaces_id) == (REVOKED, VALID, cert.id)
    assert records.REISSUE.allowed(registrar, cert) == T("Only a valid certificate can be reissued.")
    with pytest.raises(RuleViolation) as refused:
        records.REVOKE.run(county, cert, reason="重复")
    assert str(refused.value) == records.REVOKE.allowed(county, cert) == T("The certificate is already revoked.")
    records.REVOKE.run(county, new, reason="信息有误")
    assert (new.status, new.revoke_reason, new.revoked_by_id) == (REVOKED, "信息有误", county.id)

    completion = make_certificate(outcome=COMPLETED)
    assert records.REQUEST_PROOF.allowed(registrar, completion) == T("A 学历证明书 replaces a lost diploma.")


def test_problem_record_resolution_is_for_the_pupils_school_or_its_authority() -> None:
    problem = make_problem_record()  # a pupil of 和平一小 flagged as a soft duplicate
    holder = _user("school-heping1@xueji.demo")
    assert problem.student.school_id == holder.unit_id and problem.status == OPEN
    assert records.RESOLVE_PROBLEM.allowed(holder, problem) is None
    assert records.RESOLVE_PROBLEM.allowed(_user("heping@xueji.demo"), problem) is None  # its authority
    for outsider in ("school-heping2@xueji.demo", "shenhe@xueji.demo"):  # another school, another county
        assert records.RESOLVE_PROBLEM.allowed(_user(outsider), problem) == T("Not found.")
    with pytest.raises(NotInScope):
        records.RESOLVE_PROBLEM.run(_stranger_school_user(), problem, how=lambda: pytest.fail("resolved out of scope"))

    records.RESOLVE_PROBLEM.run(holder, problem, how=lambda: problems.resolve_with_evidence(problem, holder, upload(), "双胞胎"))
    assert (problem.status, problem.resolution, problem.resolved_by_id) == (RESOLVED, EVIDENCE, holder.id)
    already = T("This problem record has already been resolved.")
    assert records.RESOLVE_PROBLEM.allowed(holder, problem) == already
    with pytest.raises(RuleViolation) as refused:
        records.RESOLVE_PROBLEM.run(holder, problem, how=lambda: pytest.fail("resolved twice"))
    assert str(refused.value) == already


def test_only_the_province_edits_the_calendar() -> None:
    assert records.EDIT_CALENDAR.allowed(_user("province@xueji.demo"), None) is None
    assert records.EDIT_CALENDAR.allowed(_user("heping@xueji.demo"), None) == T(
        "Only the provincial education department or an administrator may edit the working-day calendar.")


# --- the page follows allowed(), and a race is a message -------------------------------------------


def test_request_page_buttons_follow_allowed_and_the_handler_refuses_with_the_same_words(app: Flask) -> None:
    req = make_request("suspension", "pending:2")
    decider = user_of(req.current_step.unit)
    assert decider is not None and decider.unit_id != req.requester_unit_id
    db.session.commit()
    page = f"/admin/requests/{req.id}/"
    client = login(app, decider.email)
    html = client.get(page).get_data(as_text=True)
    assert f"/admin/requests/{req.id}/withdraw" not in html
    assert f"/admin/requests/{req.id}/decide" in html
    resp = client.post_form(f"{page}withdraw", {"reason": "试一试"}, token_from=page, follow_redirects=True)
    assert T("Only the requesting unit can withdraw the request.") in resp.get_data(as_text=True)
    assert db.session.get(type(req), req.id).status == T("pending")
    assert rc.WITHDRAW.allowed(req.requested_by, req) is None  # the requester's page offers it (one login per test: g is shared)


def test_a_concurrent_change_is_a_message_not_a_500(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    req = make_request("suspension", "pending:1")
    db.session.commit()

    def racing(*args: object, **kw: object) -> None:
        raise StaleDataError("UPDATE statement on table 'change_request' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(workflows, "withdraw", racing)
    page = f"/admin/requests/{req.id}/"
    client = login(app, req.requested_by.email)
    resp = client.post_form(f"{page}withdraw", {"reason": "撤回"}, token_from=page)
    assert resp.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert T("Someone else changed this request at the same moment; please look again.") in html
