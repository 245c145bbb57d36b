"""Realistic data for trying and testing every workflow on real pupils, people and dates.

The plain demo (cli/demo.py) has tidy pupils: two guardians in their thirties, short Han names,
a 学籍号 each. Real records are not like that. This module adds, on top of the demo province:

- guardians of every age, adults born 1930 … 2008 (grandparents raise many pupils);
- pupils without a 学籍号 (待核办), without a class, without guardians or optional items;
- names with rare characters (𠮷, 䶮), with the middle dot (·), minority names of 10+ characters;
- leap-day birthdays (29 February);
- change requests of every declared type in every state: each step pending, approved, refused,
  withdrawn, overdue and decided by an authority above (强制干预);
- dates on both sides of New Year and of the Spring Festival.

Pupils and guardians are written directly, as the demo does: the generator produces valid data
(ID numbers with correct check digits, matching birth date and gender) and must not depend on
the screens' checks. Requests are built from each type's declaration (`workflows.TYPES`), so a
type declared later gets its requests too; the effect of a finished request is applied by the
type's own `effect` where the pupil's situation allows it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from changes import departures
from extensions import db
from models.audit import StudentHistory
from models.changes import APPROVED, COMPLETED, PENDING, REJECTED, WITHDRAWN, ApprovalStep, ChangeRequest
from models.graduation import GRADUATED, PASSED, GraduationRecord
from models.lifecycle import arranging
from models.org import SCHOOL, OrgUnit
from models.people import SCHOOL_ROLES, User
from models.student import Guardian, Student
from services import audit, clock, workdays, workflows
from services.commands.requests import REPORT_ARRIVAL
from services.ids import make_check_digit, xjh_from_id

# Schools of the demo province (cli/demo.py SCHOOLS) used as the ends of requests.
HEPING1, HEPING2, SHENHE1, XIGANG1, CITYDIRECT = "2121000001", "2221000002", "2121000003", "2321000004", "2321000005"
SPECIAL_SCHOOL, WORK_STUDY_SCHOOL = "2421000008", "2521000009"

RARE_NAMES = ("王𠮷", "𠮷田雅", "刘䶮", "李䶮龑", "张𠮷䶮")
DOT_NAMES = ("阿依古丽·买买提", "热依拉·阿不都热西提", "古丽米热·艾合买提江", "阿卜杜热合曼·买买提艾力",
             "巴特尔·额尔德尼其其格", "迪丽娜尔·阿不都克热木", "娜仁高娃·乌力吉巴雅尔")
HAN_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏欧阳司马诸葛"
HAN_GIVEN = "子涵欣怡梓轩浩宇雨桐一诺俊熙思远佳琪梓萱宇轩诗涵博文嘉怡晨曦明哲若汐沐阳语桐皓轩淑芬桂兰建国秀英德胜"
LEAP_DAYS = (date(2016, 2, 29), date(2020, 2, 29), date(2012, 2, 29))
# Days around New Year and the Spring Festival (2026: 17 February) on which requests were filed.
TURN_OF_YEAR = (date(2025, 12, 29), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 5),
                date(2026, 2, 12), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 24))
EXTERNAL_SCHOOLS = ("北京市海淀区中关村第一小学", "河北省石家庄市长安区育才街小学", "新疆维吾尔自治区喀什市第二小学")
GUARDIAN_YEARS = range(1930, 2009)  # adults born 1930 … 2008


class _Ids:
    """Unique, valid resident ID numbers (GB 11643) for generated people: random serials, checked
    against the pupils and guardians already stored and those made in this run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.recent: set[str] = set()

    def new(self, division: str, birth: date, male: bool) -> str:
        for _ in range(2000):
            seq = self.rng.randrange(0, 1000)
            if (seq % 2 == 1) != male:
                seq = (seq + 1) % 1000
            body = f"{division}{birth:%Y%m%d}{seq:03d}"
            number = body + make_check_digit(body)
            if number in self.recent or _stored(number):
                continue
            if len(self.recent) > 5000:  # a long test session: only the numbers of this run matter
                self.recent.clear()
            self.recent.add(number)
            return number
        raise RuntimeError(f"no free ID number for {division} {birth}")


def _stored(number: str) -> bool:
    with db.session.no_autoflush:
        return (db.session.scalar(select(Student.id).where(Student.id_number == number)) is not None
                or db.session.scalar(select(Guardian.id).where(Guardian.id_number == number)) is not None)


_IDS: _Ids | None = None


def _ids() -> _Ids:
    global _IDS
    if _IDS is None:
        _IDS = _Ids(2026)
    return _IDS


def school(code: str) -> OrgUnit:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise LookupError(f"no unit {code}: load the demo province first (flask --app app demo-data)")
    return unit


def birth_for_grade(grade: int, rng: random.Random | None = None) -> date:
    """A birth date for grade `grade` of the 2026–27 school year (grade 1: 6 by 31 August 2026)."""
    start = date(2026 - 6 - grade, 9, 1)
    return start + timedelta(days=(rng or random.Random(grade)).randrange(0, 365))


def grade_for_birth(birth: date) -> int:
    """The grade of a pupil born on `birth` in the 2026–27 school year (clamped to 1 … 9)."""
    age_on_31_august = 2026 - birth.year - (1 if (birth.month, birth.day) > (8, 31) else 0)
    return min(max(age_on_31_august - 5, 1), 9)


def make_guardian(relation: str = "1", *, name: str = "王建国", born: date = date(1985, 5, 20), division: str = "210102",
                  male: bool | None = None, phone: str | None = "13900000000", workplace: str | None = None,
                  id_number: str | None = None) -> Guardian:
    """A guardian with a valid resident ID of the given birth day (relation 1 father, 2 mother, …)."""
    is_male = male if male is not None else relation != "2"
    number = id_number or _ids().new(division, born, is_male)
    return Guardian(relation=relation, name=name, id_type="1", id_number=number, phone=phone, workplace=workplace)


_AUTO: Any = object()


def make_pupil(school_code: str | OrgUnit = HEPING1, *, name: str = "测试学生", grade: int | None = None,
               birth_date: date | None = None, male: bool = True, status: str = "enrolled", xjh: Any = _AUTO,
               class_name: str | None = "1班", guardians: Any = _AUTO, bare: bool = False, **fields: Any) -> Student:
    """One pupil written directly to the database (flushed, not committed).

    `xjh=None` (or status 待核办) gives a pupil without a 学籍号; `class_name=None` one without a
    class; `guardians=[]` one without guardians; `bare=True` all of that and no optional items.
    """
    unit = school_code if isinstance(school_code, OrgUnit) else school(school_code)
    if birth_date is None:
        birth_date = birth_for_grade(grade or 3)
    if grade is None:
        grade = grade_for_birth(birth_date)
    division = unit.parent.code if unit.parent is not None and len(unit.parent.code) == 6 else "210102"
    id_number = fields.pop("id_number", None) or _ids().new(division, birth_date, male)
    if bare:
        xjh, class_name, guardians = None, None, []
    if xjh is _AUTO:
        xjh = xjh_from_id(id_number) if status != "pending" else None
    if guardians is _AUTO:
        guardians = [make_guardian("1", name=name[0] + "建国", born=date(birth_date.year - 32, 3, 8), division=division),
                     make_guardian("2", name="李秀英", born=date(birth_date.year - 30, 11, 2), division=division)]
    values: dict[str, Any] = dict(
        xjh=xjh, school=unit, school_id=unit.id, scope_path=unit.path, status=status, name=name, gender="1" if male else "2",
        birth_date=birth_date, ethnicity="01", nationality="156", id_type="1", id_number=id_number, overseas="0",
        health="1", grade=grade, class_name=class_name, left_behind="0", disability="0",
    )
    if not bare:
        values.update(birthplace=division, native_place="辽宁沈阳", hukou_location=division, hukou_type="1",
                      enroll_month=f"{2026 - grade + 1}-09", enroll_mode="1", attendance_mode="1",
                      current_address="和平区南京北街1号", phone="13800000000", preschool=True)
    else:
        values.update(preschool=False)
    values.update(fields)
    student = Student(**values)
    student.guardians = list(guardians)
    db.session.add(student)
    db.session.flush()
    db.session.add(StudentHistory(student_id=student.id, field="_created", new_value=student.xjh, reason="演示数据"))
    return student


# --- requests ---------------------------------------------------------------------------------


# What a school writes as the reason, per type (the generic text where a type has none here).
REASON_TEXTS = {
    "death": "家长来校告知，持医院出具的死亡证明。",
    "dropout": "连续四周无故未到校，多次家访劝返无果。",
    "suspension": "因病住院治疗，家长申请休学。",
    "transfer": "随父母户籍迁入本区。",
}


@dataclass
class Ends:
    """Who a request of one type is about and between whom (the demo schools by code)."""

    pupil_school: str | None = HEPING1  # None: a request about a school (no pupil)
    pupil_status: str = "enrolled"
    grade: int = 3
    from_school: str | None = "pupil"  # "pupil": the pupil's school
    to_school: str | None = None
    requester: str = "pupil"  # the school whose staff filed it ("pupil", "from", "to")
    external_school: str | None = None
    reason_code: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _ends(code: str) -> Ends:
    """The usual shape of a request of each type; an unknown (later) type gets the default shape:
    a pupil of 和平一小 filed by the pupil's school."""
    today = clock.today()
    shapes: dict[str, Ends] = {
        "transfer": Ends(pupil_school=SHENHE1, to_school=HEPING1, requester="to", reason_code="hukou_moved",
                         payload={"hukou_changed": True}),
        "transfer_out_province": Ends(external_school=EXTERNAL_SCHOOLS[0], reason_code="guardian_job"),
        "transfer_in_province": Ends(pupil_status="pending", from_school=None, to_school="pupil",
                                     external_school=EXTERNAL_SCHOOLS[1], reason_code="hukou_moved"),
        "enrollment": Ends(pupil_status="pending", grade=1, from_school=None, to_school="pupil"),
        "delayed_enrollment": Ends(pupil_status="pending", grade=1, from_school=None, to_school="pupil",
                                   payload={"start_date": date(today.year + 1, 9, 1).isoformat()}),
        "correction": Ends(from_school=None, to_school="pupil", payload={"changes": {"name": "张𠮷"}}),
        "continuation": Ends(pupil_status="graduated", grade=6, to_school=HEPING2, requester="to"),
        "suspension": Ends(payload={"reason_kind": "illness", "starts_on": today.isoformat(),
                                    "ends_on": (today + timedelta(days=300)).isoformat()}),
        "suspension_extension": Ends(pupil_status="suspended"),
        "resumption": Ends(pupil_status="suspended", payload={"grade": 3}),
        "abroad": Ends(payload={"destination": "加拿大", "document": "passport",
                                "leaves_on": (today + timedelta(days=20)).isoformat()}),
        "abroad_return": Ends(pupil_status="abroad", payload={"grade": 3}),
        "death": Ends(),  # its payload depends on the day it was filed (make_request)
        "dropout": Ends(grade=8, pupil_school=HEPING2, payload={"absent_from": (today - timedelta(days=40)).isoformat(),
                                                                "absent_to": (today - timedelta(days=5)).isoformat()}),
        "dropout_return": Ends(grade=8, pupil_school=HEPING2, pupil_status="dropped_out", payload={"grade": 8}),
        "juvenile_placement": Ends(grade=8, pupil_school=HEPING2, to_school=WORK_STUDY_SCHOOL),
        "juvenile_return": Ends(grade=8, pupil_school=WORK_STUDY_SCHOOL, to_school=HEPING2),
        "special_move": Ends(to_school=SPECIAL_SCHOOL, payload={"kind": "to_special", "keep_record": False}),
        "special_attend": Ends(to_school=SPECIAL_SCHOOL, payload={"kind": "to_special", "keep_record": True}),
        "graduation": Ends(pupil_school=None, from_school=HEPING1, requester="from",
                           payload={"year": today.year if today.month >= 7 else today.year - 1, "grade": 6}),
        "record_proof": Ends(grade=9, pupil_school=HEPING2, pupil_status="graduated", reason_code="lost"),
        "class_change": Ends(payload={"from_class": "1班", "to_class": "2班"}),
    }
    return shapes.get(code, Ends())


def states_of(type_code: str) -> list[str]:
    """Every state a request of this type can be in: each step pending, refused at each step,
    withdrawn, overdue, decided from above (强制干预), finished; a transfer also approved and
    waiting for 报到, and reported."""
    n = len(workflows.TYPES[type_code].steps)
    if n == 0:  # decided by the school alone (校内调班): done when opened
        return ["done"]
    states = [f"pending:{k}" for k in range(1, n + 1)] + [f"rejected:{k}" for k in range(1, n + 1)]
    states += ["withdrawn", "overdue", "forced", "done"]
    if type_code == "transfer":
        states.append("reported")
    return states


def user_of(unit: OrgUnit, official: bool | None = None) -> User | None:
    """A user of the unit: school staff for a school, an official for an authority."""
    users = db.session.scalars(select(User).where(User.unit_id == unit.id, User.active.is_(True)).order_by(User.id)).all()
    for user in users:
        if unit.level == SCHOOL and user.role_names & set(SCHOOL_ROLES):
            return user
        if unit.level != SCHOOL and user.is_official:
            return user
    return users[0] if users else None


def official_above(unit: OrgUnit) -> User | None:
    """The nearest official of a unit above `unit` (who may decide an overdue step, 强制干预)."""
    parent = unit.parent
    while parent is not None:
        user = user_of(parent)
        if user is not None and user.is_official:
            return user
        parent = parent.parent
    return None


# A pupil suspended, abroad or dropped out got there by a finished request of its own, whose
# effect left what the later request needs (the suspension episode, the status and its history).
GOT_THERE_BY = {"suspended": "suspension", "abroad": "abroad", "dropped_out": "dropout"}


def _pupil_for(ends: Ends, type_code: str, name: str | None, pupil_kw: dict[str, Any]) -> Student | None:
    if ends.pupil_school is None:
        return None
    earlier = GOT_THERE_BY.get(ends.pupil_status)
    kw: dict[str, Any] = {"grade": ends.grade, "status": "enrolled" if earlier else ends.pupil_status, "name": name or "测试学生"}
    kw.update(pupil_kw)
    pupil = make_pupil(ends.pupil_school, **kw)
    if earlier and earlier != type_code:
        make_request(earlier, "done", pupil=pupil, filed_on=clock.today() - timedelta(days=60))
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            pupil.status = ends.pupil_status  # where the earlier effect could not apply, the status still fits
    return pupil


def _unit(which: str | None, pupil: Student | None) -> OrgUnit | None:
    if which is None:
        return None
    if which == "pupil":
        return pupil.school if pupil is not None else None
    return school(which)


def make_request(type_code: str, state: str = "pending:1", *, pupil: Student | None = None, name: str | None = None,
                 filed_on: date | None = None, comment: str = "材料齐全，同意。", **pupil_kw: Any) -> ChangeRequest:
    """A request of `type_code` in `state` (see `states_of`), written directly (flushed).

    The steps are the type's own (`StepDef.unit`), decided by users of their units; `done`
    applies the type's effect where the pupil's situation allows it (else the request is simply
    completed). A pupil is made for it unless given (`pupil_kw` go to `make_pupil`)."""
    ctype = workflows.TYPES[type_code]
    if state not in states_of(type_code):
        raise ValueError(f"{type_code} has no state {state!r}; its states: {', '.join(states_of(type_code))}")
    ends = _ends(type_code)
    if pupil is None:
        pupil = _pupil_for(ends, type_code, name, pupil_kw)
    from_school, to_school = _unit(ends.from_school, pupil), _unit(ends.to_school, pupil)
    requester_unit = {"pupil": pupil.school if pupil else from_school, "from": from_school, "to": to_school}[ends.requester]
    assert requester_unit is not None
    requester = user_of(requester_unit)
    assert requester is not None, f"no user at {requester_unit.name}"
    today = clock.today()
    filed = filed_on or today - timedelta(days=1)
    if state in ("overdue", "forced"):  # started long enough ago that its working days have passed
        filed = min(filed, today - timedelta(days=45))
    payload = dict(ends.payload)
    if type_code == "death":  # died a few days before the report; the overdue one was also reported late
        payload.update(departures.death_payload(filed - timedelta(days=30 if state == "overdue" else 3), filed))
    if type_code == "record_proof":  # a proof replaces the diploma of the pupil's graduation: its roster line
        line = GraduationRecord(student=pupil, student_id=pupil.id, school_id=pupil.school_id, scope_path=pupil.scope_path,
                                year=today.year - 1, grade=pupil.grade, assessment=PASSED, outcome=GRADUATED)
        db.session.add(line)
        db.session.flush()
        payload["graduation_record_id"] = line.id
    req = ChangeRequest(
        type=type_code, status=PENDING, student=pupil, from_school=from_school, to_school=to_school,
        from_path=from_school.path if from_school else None, to_path=to_school.path if to_school else None,
        from_central_id=from_school.central_school_id if from_school else None,
        to_central_id=to_school.central_school_id if to_school else None,
        external_school=ends.external_school, reason_code=ends.reason_code or _first_reason(ctype),
        reason_text=REASON_TEXTS.get(type_code, "家长申请，已核实。"), payload=workflows.checked_payload(type_code, payload),
        grade_at_request=pupil.grade if pupil else ends.payload.get("grade"),
        requested_by=requester, requested_by_id=requester.id, requester_unit=requester_unit,
        requester_unit_id=requester_unit.id, created_at=datetime.combine(filed, datetime.min.time()).replace(hour=9),
    )
    for seq, sdef in enumerate(ctype.steps, start=1):
        unit = sdef.unit(req)
        assert unit is not None, f"{type_code}: no unit for step {seq}"
        req.steps.append(ApprovalStep(seq=seq, role=sdef.role, unit=unit, unit_id=unit.id, workdays=sdef.workdays))
    db.session.add(req)
    _put_in_state(req, state, filed, comment)
    db.session.flush()
    return req


def _first_reason(ctype: workflows.ChangeType) -> str | None:
    return next(iter(ctype.reasons), None)


def _start(step: ApprovalStep, day: date) -> None:
    day = min(day, clock.today())  # a chain of steps filed yesterday does not start in the future
    deadline = workdays.add_workdays(day, step.workdays)
    step.started_at, step.due_date, step.due_estimated = day, deadline.due, deadline.estimated


def _decide(step: ApprovalStep, day: date, approve: bool, comment: str, by: User | None = None,
            forced: bool = False) -> None:
    decider = by or user_of(step.unit)
    step.decision = APPROVED if approve else REJECTED
    step.decided_by, step.decided_by_id = decider, decider.id if decider else None
    step.decided_at = min(datetime.combine(day, datetime.min.time()).replace(hour=15, minute=30), clock.now())
    step.comment = comment if approve else "材料不全，请补充后重新申请。"
    if forced and decider is not None:
        step.forced_by_unit_id = decider.unit_id


def _put_in_state(req: ChangeRequest, state: str, filed: date, comment: str) -> None:
    kind, _, num = state.partition(":")
    steps = list(req.steps)
    day = filed
    stop = int(num) if num else len(steps) + 1
    if kind == "pending" or kind == "rejected":
        for step in steps[: stop - 1]:
            _start(step, day)
            _decide(step, day + timedelta(days=1), True, comment)
            day += timedelta(days=1)
        current = steps[stop - 1]
        _start(current, day)
        if kind == "pending":
            req.current_seq = current.seq
        else:
            _decide(current, day + timedelta(days=1), False, comment)
            req.status, req.current_seq = REJECTED, None
            req.finished_at = current.decided_at
        return
    if not steps:  # a type without an approval step is done when opened
        _finish(req)
        return
    first = steps[0]
    _start(first, day)
    if kind == "withdrawn":
        req.status, req.current_seq = WITHDRAWN, None
        req.finished_at = min(datetime.combine(day + timedelta(days=2), datetime.min.time()).replace(hour=10), clock.now())
        return
    if kind == "overdue":
        req.current_seq = first.seq  # started 45 days ago: its 10 working days have passed
        return
    if kind == "forced":
        above = official_above(first.unit)
        _decide(first, clock.today(), True, "逾期未核办，上级主管部门强制干预。", by=above, forced=True)
        if len(steps) > 1:
            _start(steps[1], clock.today())
            req.current_seq = steps[1].seq
        else:
            _finish(req)
        return
    for step in steps:  # done / reported: every step approved
        _start(step, day)
        _decide(step, day + timedelta(days=1), True, comment)
        day += timedelta(days=1)
    _finish(req, report=kind == "reported")


def _finish(req: ChangeRequest, report: bool = False) -> None:
    """The last step approved: the type's effect, inside a savepoint; where the pupil's situation
    does not allow it (e.g. a roster without lines), the request is completed without it."""
    req.current_seq = None
    last = req.steps[-1] if req.steps else None
    actor = (last.decided_by if last else None) or req.requested_by
    ctype = workflows.type_of(req)
    db.session.flush()
    savepoint = db.session.begin_nested()
    try:
        with audit.acting(actor, reason=str(ctype.label), request_id=req.id):
            ctype.effect(req, actor)
            db.session.flush()
        if report and req.status == APPROVED:  # 报到 as the receiving school does it on the request's page
            REPORT_ARRIVAL.run(user_of(req.to_school) or actor, req)  # type: ignore[arg-type]
        savepoint.commit()
    except Exception as exc:  # any refusal by the effect (e.g. a roster without lines): completed without it
        logging.getLogger(__name__).info("request %s (%s) completed without its effect: %r", req.id, req.type, exc)
        savepoint.rollback()
        req.status, req.current_seq = COMPLETED, None
    if req.status == PENDING:
        req.status = COMPLETED
    if req.finished_at is None and req.status == COMPLETED:
        req.finished_at = last.decided_at if last else req.created_at


def requests_in_every_state(type_codes: Iterable[str] | None = None) -> list[ChangeRequest]:
    """One request per declared type and state, each about its own pupil (one open request per pupil)."""
    made = []
    names = RARE_NAMES + DOT_NAMES
    dates = TURN_OF_YEAR
    n = 0
    for code in sorted(type_codes or workflows.TYPES):
        for state in states_of(code):
            filed = dates[n % len(dates)] if state.startswith(("done", "rejected", "withdrawn", "reported")) else None
            made.append(make_request(code, state, name=names[n % len(names)], filed_on=filed,
                                     bare=n % 3 == 0, birth_date=_birth_for(code, n)))
            n += 1
    return made


def _birth_for(type_code: str, n: int) -> date:
    grade = _ends(type_code).grade
    if n % 5 == 0:  # leap-day pupils, in the grade the type needs where one fits
        for day in LEAP_DAYS:
            if grade_for_birth(day) == grade:
                return day
    return birth_for_grade(grade, random.Random(n))


# --- the whole set -----------------------------------------------------------------------------


def people(n: int, seed: int = 7) -> list[Student]:
    """`n` pupils spread over the demo schools with real-life variety (see the module docstring)."""
    rng = random.Random(seed)
    schools = [school(c) for c in (HEPING1, HEPING2, SHENHE1, XIGANG1, CITYDIRECT)]
    made = []
    guardians_made = 0
    for i in range(n):
        unit = schools[i % len(schools)]
        grades = range(7, 10) if unit.school_kind == "junior" else range(1, 7) if unit.school_kind == "primary" else range(1, 10)
        birth = birth_for_grade(rng.choice(grades), rng)
        if i % 11 == 0:
            leap = [d for d in LEAP_DAYS if grade_for_birth(d) in grades]
            birth = leap[0] if leap else birth
        if i % 13 == 0:  # New Year's Eve and New Year's Day
            birth = date(birth.year, 12, 31) if i % 2 else date(birth.year, 1, 1)
        male = rng.random() < 0.52
        kind = i % 6  # 1: no guardians, 2: one guardian, 3: waiting (no 学籍号), 4: no class, 5: nothing optional
        guardians = []
        for relation in ([] if kind in (1, 5) else ["1", "2"][: 1 if kind == 2 else 2]):
            # Every birth year 1930 … 2008 in turn: grandparents as guardians, and parents of 18.
            born = _guardian_birth(guardians_made, rng)
            relation = "3" if born.year < 1960 else relation
            guardians.append(make_guardian(relation, name=_name(i + len(guardians) + 1, rng), born=born,
                                           male=relation == "1" or (relation == "3" and rng.random() < 0.5)))
            guardians_made += 1
        made.append(make_pupil(
            unit, name=_name(i, rng), birth_date=birth, male=male, grade=grade_for_birth(birth),
            status="pending" if kind == 3 else "enrolled", class_name=None if kind == 4 else f"{i % 5 + 1}班",
            guardians=guardians, bare=kind == 5,
        ))
    return made


def _guardian_birth(i: int, rng: random.Random) -> date:
    """Guardians born in every year 1930 … 2008, some on 29 February."""
    year = GUARDIAN_YEARS[i % len(GUARDIAN_YEARS)]
    if year % 4 == 0 and i % 3 == 0:
        return date(year, 2, 29)
    return date(year, rng.randrange(1, 13), rng.randrange(1, 29))


def _name(i: int, rng: random.Random) -> str:
    if i % 7 == 0:
        return RARE_NAMES[i % len(RARE_NAMES)]
    if i % 7 == 1:
        return DOT_NAMES[i % len(DOT_NAMES)]
    return rng.choice(HAN_SURNAMES) + "".join(rng.choice(HAN_GIVEN) for _ in range(rng.choice((1, 2))))


def load_realistic(n: int) -> tuple[int, int]:
    """Add `n` varied pupils and one request per type and state to the demo province; commits.
    Returns (pupils, requests)."""
    pupils = people(n)
    requests = requests_in_every_state()
    db.session.commit()
    return len(pupils), len(requests)
