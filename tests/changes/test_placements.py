"""第二十二条 (juvenile placement and return) and 第十七条 (special-education moves) through the services."""

from __future__ import annotations

from sqlalchemy import select

from changes import placements
from extensions import db
from models.archive import ArchiveBackup
from models.changes import ChangeRequest, Notification
from models.org import OrgUnit
from models.people import User
from models.student import Student
from services import workflows
from tests.changes.helpers import (
    give,
    give_all,
    history,
    refused,
    set_state,
    term_time,  # noqa: F401  (autouse: term time is today)
)
from tests.helpers import HEPING1, HEPING2, HEPING_SPECIAL, WORK_STUDY_SCHOOL, pupil_of, school
from tests.transfer_helpers import approve, user

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
