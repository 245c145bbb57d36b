"""Leaving school other than by transfer (第二十–二十一条, 第二十三条), declared as change types.

Kept whole until the change-type modules: it declares five change types (出国出境, 出国复学,
死亡, 辍学, 辍学返校) with their shared dates and checks; a later session gives each type a module.

- 出国出境 (第二十条): the guardian's 出国（出境）申请表 and a passport, HK/Macao or Taiwan pass or
  visa; the school decides in the system and the authority is told. 出国复学 on return continues
  the same record.
- 死亡 (第二十一条): the school reports with proof within 10 working days of the date of death; a
  later report is kept as the school's late report (shown on the request, in the lists and in
  the oversight report). The authority's step has its own 10 working days from the report, so
  an overdue case of its own shows in its 已超期 queue, but never for the school's delay.
- 辍学 (第二十三条): 4 consecutive weeks of unexcused absence, recorded by the school, and several
  recorded attempts to bring the pupil back let the school report a dropout to the authority.
  On approval the county bureau where the school stands and the supervising authority (when
  another) are notified, and see the pupil in their 辍学 list (the student list filtered by 辍学);
  a county of the province holding the pupil's hukou is notified too. The report to the
  township government (乡镇人民政府, no account here) is printed from the request
  (services/documents.py, 辍学报告): the absences and every recorded contact with the family. The record is kept; 辍学返校 is
  a change of its own. A migrant worker's child who dropped out has the archive handed to the
  county of the hukou at the end of the term: a task in the authority's 档案移交 list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from extensions import db
from forms.request_pages import GradeForm, RequestPage, prepare_grade
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.lifecycle import StudentStatus
from models.org import OrgUnit
from models.status import CONTACT_DROPOUT, ArchiveHandover, FamilyContact
from models.student import Student
from services import archive, audit, clock, family_contacts, scope, workdays
from services.absences import DROPOUT_WEEKS, MIN_CONTACTS, long_enough_for_dropout, longest_unexcused_run
from services.change_codes import ABROAD, ABROAD_RETURN, DEATH, DROPOUT, DROPOUT_RETURN, LATE_KEY
from services.change_common import (
    as_day,
    as_grade,
    as_label,
    authority_of,
    current,
    end_current,
    finish,
    grade_taught,
    open_change,
    school_of,
)
from services.errors import NotInScope, RuleViolation
from services.evidence import Never
from services.hukou import HUKOU_OTHER_COUNTY, HUKOU_OTHER_PROVINCE, county_authority, dropout_authorities, hukou_county, hukou_place
from services.ids import division_name
from services.labels import TRAVEL_DOCUMENTS
from services.lifecycle import Outcome
from services.payloads import Payload
from services.rosters.registers import FROM
from services.terms import term_end
from services.workflows import (
    ChangeType,
    Fact,
    Material,
    StepDef,
    close_others,
    declare,
    filed_by_own_school,
    notify,
    payload_date,
)

if TYPE_CHECKING:
    from models.people import User

@dataclass(frozen=True)
class AbroadPayload(Payload):
    destination: str = ""
    document: str | None = None  # services.labels.TRAVEL_DOCUMENTS
    leaves_on: date | None = None  # required: _may_go_abroad refuses a request without it, in words


@dataclass(frozen=True)
class ReturnPayload(Payload):
    grade: int  # the grade the pupil comes back into


@dataclass(frozen=True)
class DeathPayload(Payload):
    died_on: date | None = None
    report_due_on: date | None = None  # 10 working days from the death (第二十一条)
    late_workdays: int = 0  # working days the school reported after that day (LATE_KEY)
    reported_on: date | None = None  # written by reports filed before died_on was kept


@dataclass(frozen=True)
class DropoutPayload(Payload):
    absent_from: date | None = None
    absent_to: date | None = None
    township: str = ""  # the township government the printed report goes to
    # Written on approval: where the hukou is, and which county of the province was told.
    hukou_where: str | None = None
    hukou_division: str | None = None
    hukou_notified: str | None = None


ABROAD_STATUS, DECEASED, DROPPED_OUT = StudentStatus.ABROAD, StudentStatus.DECEASED, StudentStatus.DROPPED_OUT


# --- 出国出境 and 出国复学 ----------------------------------------------------------------------


def _may_go_abroad(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != "enrolled":
        return _l("Only a pupil in school (在籍) can leave to study abroad.")
    asked = AbroadPayload.read(req.payload)
    if asked.document not in TRAVEL_DOCUMENTS:
        return _l("Name the travel document (passport, HK/Macao or Taiwan pass, visa).")
    if not asked.destination.strip():
        return _l("Name the country or region where the pupil will study.")
    if asked.leaves_on is None:
        return _l("Give the date of departure.")
    return None


def _went_abroad(req: ChangeRequest, actor: User) -> Outcome:
    finish(req)
    notify(authority_of(req), req, str(_l("%(name)s of %(school)s left to study abroad (request #%(id)s).",
                                            name=req.student.name, school=req.student.school.name, id=req.id)))
    return Outcome(StudentStatus.ABROAD)


class AbroadForm(FlaskForm):
    destination = StringField(_l("Country or region of study"), validators=[DataRequired(), Length(max=100)])
    document = SelectField(_l("Travel document"), choices=list(TRAVEL_DOCUMENTS.items()), validators=[DataRequired()])
    leaves_on = DateField(_l("Date of departure"), validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


declare(ChangeType(
    code=ABROAD,
    label=_l("Study abroad"),
    steps=(StepDef("school", _l("School"), school_of),),  # the school operates it; the authority is told (第二十条)
    effect=_went_abroad,
    materials=(
        Material("application", _l("出国（出境）申请表 signed by the pupil and the guardian")),
        Material("travel_document", _l("Passport, HK/Macao or Taiwan pass, or visa")),
    ),
    preconditions=(filed_by_own_school, _may_go_abroad),
    facts=(Fact("destination", _l("Country or region of study")), Fact("document", _l("Travel document"), as_label(TRAVEL_DOCUMENTS)),
           Fact("leaves_on", _l("Date of departure"), as_day, kind="date")),
    roster_columns=(("abroad", FROM),),
    printable_forms=("abroad_form",),
    page=RequestPage(
        AbroadForm, types=(ABROAD,), defaults=lambda s: {"leaves_on": clock.today()},
        open=lambda s, a, f: request_abroad(s, a, destination=f.destination.data, document=f.document.data,
                                            leaves_on=f.leaves_on.data, reason_text=f.reason_text.data),
    ),
    payload=AbroadPayload,
    offered_in=(StudentStatus.ENROLLED,),
))


def request_abroad(student: Student, actor: User, *, destination: str, document: str, leaves_on: date,
                   reason_text: str | None) -> ChangeRequest:
    return open_change(ABROAD, student, actor, reason_text=reason_text, payload={
        "destination": (destination or "").strip()[:100], "document": document, "leaves_on": leaves_on.isoformat(),
    })


def _may_return_from_abroad(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != ABROAD_STATUS:
        return _l("Only a pupil who is abroad can return (出国复学).")
    return grade_taught(req)


def _returned_from_abroad(req: ChangeRequest, actor: User) -> Outcome:
    finish(req)
    return Outcome(StudentStatus.ENROLLED, {"grade": ReturnPayload.read(req.payload).grade})  # the same record continues (第二十条)


declare(ChangeType(
    code=ABROAD_RETURN,
    label=_l("Return from abroad"),
    steps=(StepDef("school", _l("School"), school_of),),
    effect=_returned_from_abroad,
    materials=(Material("application", _l("Guardian's application to resume school")),),
    preconditions=(filed_by_own_school, _may_return_from_abroad),
    while_blocked=(ABROAD_STATUS,),
    facts=(Fact("grade", _l("Grade after the change"), as_grade),),
    roster_columns=(("abroad_return", FROM),),
    printable_forms=("abroad_form",),
    page=RequestPage(
        GradeForm, types=(ABROAD_RETURN,), defaults=lambda s: {"grade": s.grade}, prepare=prepare_grade,
        open=lambda s, a, f: request_abroad_return(s, a, grade=f.grade.data, reason_text=f.reason_text.data),
    ),
    payload=ReturnPayload,
    offered_in=(StudentStatus.ABROAD,),
))


def request_abroad_return(student: Student, actor: User, *, grade: int, reason_text: str | None) -> ChangeRequest:
    return open_change(ABROAD_RETURN, student, actor, reason_text=reason_text, payload={"grade": grade})


# --- 死亡 ------------------------------------------------------------------------------------

LIVING = ("enrolled", "suspended", ABROAD_STATUS, DROPPED_OUT)
DEATH_REPORT_WORKDAYS = 10  # 第二十一条: 学校应当凭相关证明，在10个工作日内…报学籍主管部门注销


def died_on(req: ChangeRequest) -> date | None:
    """The date of death of a death report (older reports kept only the day it was reported)."""
    return payload_date(req.payload, "died_on") or payload_date(req.payload, "reported_on")


def death_report_due(died: date) -> workdays.Deadline:
    """第二十一条: the school reports within 10 working days of the death."""
    return workdays.add_workdays(died, DEATH_REPORT_WORKDAYS)


def filed_late(req: ChangeRequest) -> int:
    """Working days the filing unit reported after its deadline (0 when on time or not a late filing)."""
    value = (req.payload or {}).get(LATE_KEY)
    return value if isinstance(value, int) and value > 0 else 0


def _death_date_problem(student: Student, died: date | None) -> str | None:
    if died is None:
        return _l("Give the date of death.")
    if died > clock.today():
        return _l("The date of death cannot be in the future.")
    if student.birth_date is not None and died < student.birth_date:
        return _l("The date of death cannot be before the pupil's birth date.")
    return None


def _may_report_death(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status not in LIVING:
        return _l("This record is not in school; a death is reported for a pupil whose record is kept.")
    return _death_date_problem(req.student, payload_date(req.payload, "died_on"))


def _died(req: ChangeRequest, actor: User) -> Outcome:
    end_current(req.student, req)
    _cancel_open_handovers(req, actor)
    close_others(req, actor, str(_l("the pupil died (request #%(id)s)", id=req.id)))
    finish(req)
    return Outcome(StudentStatus.DECEASED)


def death_notes(req: ChangeRequest) -> list[tuple[str, str, bool]]:
    """The request page's facts of a death report: the date of death and whether the school
    reported within its 10 working days (第二十一条); a late report is marked (the flag)."""
    facts: list[tuple[str, str, bool]] = []
    died = died_on(req)
    if died is not None:
        facts.append((str(_l("Date of death")), died.isoformat(), False))
    due = payload_date(req.payload, "report_due_on")
    late = filed_late(req)
    if due is not None:
        text = (str(_l("Reported late by the school: %(n)d working days after the deadline %(day)s (第二十一条)",
                       n=late, day=due.isoformat())) if late
                else str(_l("On time (deadline %(day)s)", day=due.isoformat())))
        facts.append((str(_l("School's report (10 working days)")), text, bool(late)))
    return facts


class DeathForm(FlaskForm):
    # 第二十一条: the 10 working days run from this date; report_death checks it (not in the
    # future, not before birth).
    died_on = DateField(_l("Date of death"), validators=[DataRequired(message=_l("Give the date of death."))])
    reason_text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=500)])


declare(ChangeType(
    code=DEATH,
    label=_l("Death"),
    # The authority's own 10 working days run from the report: a school that reported late does
    # not make the authority overdue (the school's lateness is kept on the request, LATE_KEY).
    steps=(StepDef("authority", _l("Supervising authority"), authority_of, workdays=10),),
    effect=_died,
    materials=(Material("proof", _l("Death certificate or other proof")),),
    preconditions=(filed_by_own_school, _may_report_death),
    while_blocked=("suspended", ABROAD_STATUS),
    opens_beside_others=True,  # reported whatever else is under way; the effect ends the others
    # reports filed before died_on was kept; the date of death itself is one of death_notes
    facts=(Fact("reported_on", _l("Day the death was reported to the school"), as_day, kind="date"),),
    notes=death_notes,
    roster_columns=(("death", FROM),),
    page=RequestPage(
        DeathForm, types=(DEATH,), info=lambda s: {"suspension": current(s)},
        open=lambda s, a, f: report_death(s, a, died_on=f.died_on.data, reason_text=f.reason_text.data),
    ),
    payload=DeathPayload,
    offered_in=LIVING,
))


def report_death(student: Student, actor: User, *, died_on: date | None, reason_text: str | None) -> ChangeRequest:
    """第二十一条: the school reports the death with proof; the 10 working days run from the date of
    death. A report filed after them is kept as the school's late report (working days late)."""
    problem = _death_date_problem(student, died_on)
    if problem or died_on is None:
        raise RuleViolation([("died_on", str(problem))])
    return open_change(DEATH, student, actor, reason_text=reason_text, payload=death_payload(died_on, clock.today()))


def death_payload(died_on: date, filed_on: date) -> dict:
    """What a death report keeps: the date of death, the school's deadline (10 working days from
    it) and how many working days late it was filed (0: on time)."""
    due = death_report_due(died_on)
    # Filed on a day off after the deadline is still late: at least one working day.
    late = max(workdays.workdays_between(due.due, filed_on)[0], 1) if filed_on > due.due else 0
    return {"died_on": died_on.isoformat(), "report_due_on": due.due.isoformat(), LATE_KEY: late}


# --- 辍学 (the absences it counts: services/absences.py) -----------------------------------


def _may_report_dropout(req: ChangeRequest, actor: User) -> str | None:
    student = req.student
    if student.status != "enrolled":
        return _l("Only a pupil in school (在籍) can be reported as a dropout.")
    run = longest_unexcused_run(student)
    if not long_enough_for_dropout(run):
        return _l("A dropout needs 4 consecutive weeks of unexcused absence recorded by the school (第二十三条).")
    contacts = db.session.scalars(
        select(FamilyContact.contacted_on).where(FamilyContact.student_id == student.id,
                                                    FamilyContact.purpose == CONTACT_DROPOUT,
                                                    FamilyContact.contacted_on >= run[0])
    ).all()
    if len(contacts) < MIN_CONTACTS:
        return _l("Record the school's attempts to bring the pupil back (at least %(n)d contacts with the family, 第二十三条).",
                  n=MIN_CONTACTS)
    if student.migrant_child and hukou_county(student) is None:
        return _l("Record the pupil's hukou location first: a migrant child's archive goes to that county (第二十三条).")
    return None


def _dropped_out(req: ChangeRequest, actor: User) -> Outcome:
    student = req.student
    finish(req)
    notify(student.school, req, str(_l("%(name)s is recorded as a dropout (request #%(id)s); keep working with the township "
                                        "government to bring the pupil back.", name=student.name, id=req.id)))
    for unit in dropout_authorities(req):
        notify(unit, req, str(_l("Dropout of %(name)s of %(school)s (request #%(id)s, 第二十三条): the pupil's record is kept; "
                                 "the report to the township government is printed from the request.",
                                 name=student.name, school=student.school.name, id=req.id)))
    where, code, place = hukou_place(student)
    payload = dict(req.payload or {})
    payload.update({"hukou_where": where, "hukou_division": code})
    if where == HUKOU_OTHER_COUNTY:
        hukou_unit = county_authority(code)
        if hukou_unit is not None:
            notify(hukou_unit, req, str(_l("%(name)s, whose hukou is in your county (%(place)s), dropped out of %(school)s "
                                           "(第二十三条).", name=student.name, place=place, school=student.school.name)))
            payload["hukou_notified"] = hukou_unit.name
    req.payload = payload  # a new dict: the JSON column sees the change
    if student.migrant_child:
        county = hukou_county(student)
        authority = authority_of(req)
        receiving = county_authority(county)
        db.session.add(ArchiveHandover(
            student_id=student.id, request_id=req.id, scope_path=student.scope_path, authority_id=authority.id,  # type: ignore[union-attr]
            hukou_division=county, receiving_unit_id=receiving.id if receiving else None, due_on=term_end(clock.today()),
        ))
    return Outcome(StudentStatus.DROPPED_OUT)  # the record is kept and managed for the compulsory-education years


def dropout_notes(req: ChangeRequest) -> list[tuple[str, str, bool]]:
    """The township government the report goes to and the county of the hukou (第二十三条); a
    county without an account here is marked: the school sends it the printed report."""
    payload = req.payload or {}
    township = payload.get("township") or str(_l("Not given: fill it in on the printed report"))
    facts = [(str(_l("Township government")), township, False)]
    if payload.get("hukou_where") == HUKOU_OTHER_PROVINCE:
        facts.append((str(_l("Hukou")), str(_l("Outside the province: the printed report says so")), False))
    elif payload.get("hukou_notified"):
        facts.append((str(_l("Hukou")), str(_l("Another county of the province: %(unit)s was notified",
                                                unit=payload["hukou_notified"])), False))
    elif payload.get("hukou_where") == HUKOU_OTHER_COUNTY:  # that county has no account here
        facts.append((str(_l("Hukou")), str(_l("Another county of the province, without an account here: "
                                                "send it the printed report")), True))
    return facts


class DropoutForm(FlaskForm):
    reason_text = TextAreaField(_l("What the school did and why the pupil does not come back"),
                                validators=[DataRequired(), Length(max=500)])
    # 第二十三条: the printed report goes to this township government (no account here).
    township = StringField(_l("Township government (乡镇人民政府/街道办事处) the report goes to"),
                           validators=[Optional(), Length(max=50)])


def _dropout_info(student: Student) -> dict[str, Any]:
    """Beside the form: the longest run of unexcused absence and the contacts with the family,
    against what 第二十三条 asks (4 weeks, several attempts)."""
    run = longest_unexcused_run(student)
    return {"run": run, "run_days": (run[1] - run[0]).days + 1 if run else 0, "needed_days": DROPOUT_WEEKS * 7,
            "needed_contacts": MIN_CONTACTS, "contacts": family_contacts.contacts_of(student, CONTACT_DROPOUT)}


declare(ChangeType(
    code=DROPOUT,
    label=_l("Dropout"),
    steps=(StepDef("authority", _l("Supervising authority"), authority_of),),
    effect=_dropped_out,
    materials=(Material("absence_record", _l("Attendance record of the absence"), when=Never()),),
    preconditions=(filed_by_own_school, _may_report_dropout),
    facts=(Fact("absent_from", _l("First day absent"), as_day, kind="date"), Fact("absent_to", _l("Last day absent"), as_day, kind="date")),
    notes=dropout_notes,
    roster_columns=(("dropout", FROM),),
    printable_forms=("dropout_report",),
    page=RequestPage(
        DropoutForm, types=(DROPOUT,), defaults=lambda s: {"township": last_township(s.school)}, info=_dropout_info,
        open=lambda s, a, f: report_dropout(s, a, f.reason_text.data, township=f.township.data),
    ),
    payload=DropoutPayload,
    offered_in=(StudentStatus.ENROLLED,),
))


def report_dropout(student: Student, actor: User, reason_text: str | None, township: str | None = None) -> ChangeRequest:
    """第二十三条: the school reports the dropout. `township` names the 乡镇人民政府（街道办事处） the
    printed report goes to (it has no account here); empty, the report leaves a line to fill in."""
    run = longest_unexcused_run(student)
    payload: dict[str, Any] = {"absent_from": run[0].isoformat(), "absent_to": run[1].isoformat()} if run else {}
    payload["township"] = (township or "").strip()[:50]
    return open_change(DROPOUT, student, actor, reason_text=reason_text, payload=payload)


def last_township(school: OrgUnit) -> str:
    """The township government named in the school's latest dropout report: the same one, as a rule."""
    rows = db.session.scalars(
        select(ChangeRequest.payload).where(ChangeRequest.type == DROPOUT, ChangeRequest.from_school_id == school.id)
        .order_by(ChangeRequest.id.desc()).limit(5)
    )
    return next(((p or {}).get("township") for p in rows if (p or {}).get("township")), "")


def _may_return_after_dropout(req: ChangeRequest, actor: User) -> str | None:
    if req.student.status != DROPPED_OUT:
        return _l("Only a pupil recorded as a dropout can return to school this way.")
    return grade_taught(req)


def _returned_after_dropout(req: ChangeRequest, actor: User) -> Outcome:
    _cancel_open_handovers(req, actor)
    finish(req)
    return Outcome(StudentStatus.ENROLLED, {"grade": ReturnPayload.read(req.payload).grade})


declare(ChangeType(
    code=DROPOUT_RETURN,
    label=_l("Return after dropping out"),
    steps=(StepDef("school", _l("School"), school_of), StepDef("authority", _l("Supervising authority"), authority_of)),
    effect=_returned_after_dropout,
    materials=(Material("application", _l("Guardian's application to resume school")),),
    preconditions=(filed_by_own_school, _may_return_after_dropout),
    facts=(Fact("grade", _l("Grade after the change"), as_grade),),
    roster_columns=(("dropout_return", FROM),),
    page=RequestPage(
        GradeForm, types=(DROPOUT_RETURN,), defaults=lambda s: {"grade": s.grade}, prepare=prepare_grade,
        open=lambda s, a, f: request_dropout_return(s, a, grade=f.grade.data, reason_text=f.reason_text.data),
    ),
    payload=ReturnPayload,
    offered_in=(StudentStatus.DROPPED_OUT,),
))


def request_dropout_return(student: Student, actor: User, *, grade: int, reason_text: str | None) -> ChangeRequest:
    return open_change(DROPOUT_RETURN, student, actor, reason_text=reason_text, payload={"grade": grade})


# --- 档案移交 (migrant dropouts) ------------------------------------------------------------


def _cancel_open_handovers(req: ChangeRequest, actor: User) -> None:
    """A pupil who is no longer a dropout (back at school, or deceased) has no archive to hand
    over at the end of the term: the open task goes, the audit log keeps what it was."""
    open_tasks = select(ArchiveHandover).where(ArchiveHandover.student_id == req.student_id, ArchiveHandover.done_on.is_(None))
    for task in db.session.scalars(open_tasks).all():
        audit.record(actor, "archive.handover_cancelled", "student", task.student_id,
                     f"档案移交 #{task.id} → {task.hukou_division}（变动申请 #{req.id}）")
        db.session.delete(task)


def handovers_query(actor: User, *, open_only: bool = True) -> Select[Any]:
    query = select(ArchiveHandover).where(scope.filter_for(actor, ArchiveHandover.scope_path))
    if open_only:
        query = query.where(ArchiveHandover.done_on.is_(None))
    return query.order_by(ArchiveHandover.due_on, ArchiveHandover.id)


def may_complete_handover(actor: User, task: ArchiveHandover) -> bool:
    """An official of the authority the task is for records the handover."""
    return actor.unit_id == task.authority_id and actor.is_official


def complete_handover(task: ArchiveHandover, actor: User, note: str | None) -> ArchiveHandover:
    """The authority hands the archive to the county of the hukou: an exported backup is kept,
    the handover is written to the pupil's history."""
    if not scope.covers(actor, task.scope_path):
        raise NotInScope()
    if not may_complete_handover(actor, task):
        raise RuleViolation(str(_l("The supervising authority records the handover of the archive.")))
    if task.done_on is not None:
        raise RuleViolation(str(_l("This archive was already handed over.")))
    if task.student.status != DROPPED_OUT:
        raise RuleViolation(str(_l("The pupil is no longer a dropout; the archive stays (第二十三条).")))
    place = task.receiving_unit.name if task.receiving_unit else (division_name(task.hukou_division) or task.hukou_division)
    archive.backup_on_leaving(task.request, actor, str(_l("Archive handed to %(place)s (第二十三条)", place=place)))
    task.done_on, task.done_by_id, task.note = clock.today(), actor.id, (note or "").strip()[:500] or None
    db.session.add(StudentHistory(student_id=task.student_id, field="archive_handover", new_value=place,
                                  reason=task.note, request_id=task.request_id, changed_by_id=actor.id))
    db.session.flush()
    audit.record(actor, "archive.handover", "student", task.student_id, f"档案移交 #{task.id} → {task.hukou_division}")
    return task
