"""The registers printed (PDF, numbered and audited, 第二十八条) and exported (XLSX, through
services/exports)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from extensions import db
from models.changes import PrintedDocument
from models.graduation import COMPLETED as GRADUATION_COMPLETED
from models.graduation import FAILED, GRADUATED, PASSED
from models.org import SCHOOL, OrgUnit
from models.student import Student
from services import audit, codes, exports, graduation, pdf
from services.documents import numbered_document
from services.ids import division_name

if TYPE_CHECKING:
    from models.people import User

from services.rosters.counts import (
    ASSESSMENT_LABELS,
    OUTCOME_LABELS,
    UnitLine,
    aggregate,
    graduate_row,
    graduates_query,
    new_pupils_query,
    register_lines,
    school_approval,
)
from services.rosters.registers import (
    COLUMNS,
    DIRECTION_LABELS,
    GRADUATES,
    KINDS,
    NEW,
    RosterKind,
    due_on,
    is_direct,
    school_kind_label,
    year_label,
)


def _numbered(kind: RosterKind, actor: User, unit: OrgUnit, year: int) -> PrintedDocument:
    """Numbered with a verification code and audited, like every printed document (第二十八条)."""
    # A graduation roster carries its graduating year, not the year it happens to be printed in.
    doc = numbered_document(f"roster_{kind.code}", kind.prefix, unit.path, actor.id, year=year if kind.code == GRADUATES else None)
    audit.record(actor, "print", "printed_document", doc.id, f"{kind.title} {doc.number}（{unit.name}，{year} 年）")
    return doc


def _header(unit: OrgUnit, year: int, kind: RosterKind) -> SimpleNamespace:
    covered = year if kind.code == NEW else year - 1
    supervisor = unit.supervisor.name if unit.level == SCHOOL and unit.supervisor else ""
    county = unit.parent.name if unit.level == SCHOOL and unit.parent else ""
    if kind.code == GRADUATES:  # the graduates of the summer ending the school year, by 30 July
        label, due, due_note = f"{year_label(covered)}毕业生", graduation.deadline(year), "完成毕业（结业）操作"
    else:
        label, due, due_note = year_label(covered), due_on(year), "开学后1个月内"
    return SimpleNamespace(
        title=kind.title, unit_name=unit.name, unit_code=unit.code, is_school=unit.level == SCHOOL,
        school_kind=school_kind_label(unit),
        year_label=label, due_on=due, due_note=due_note, supervisor=supervisor,
        also_to=county if unit.level == SCHOOL and is_direct(unit) else "",
    )


def _pupil_row(index: int, s: Student) -> SimpleNamespace:
    guardian = s.guardians[0] if s.guardians else None
    return SimpleNamespace(
        index=index, name=s.name, gender=codes.label("gender", s.gender), birth_date=s.birth_date,
        ethnicity=codes.label("ethnicity", s.ethnicity), id_number=s.id_number or "", xjh=s.xjh or "",
        grade=codes.label("grade", str(s.grade)), class_name=s.class_name or "", enroll_month=s.enroll_month or "",
        hukou=division_name(s.hukou_location) or (s.hukou_location or ""), guardian=guardian.name if guardian else "",
        phone=(guardian.phone if guardian and guardian.phone else s.phone) or "",
        status=codes.label("student_status", s.status),
    )


def render_pdf(kind_code: str, unit: OrgUnit, actor: User, year: int) -> tuple[bytes, PrintedDocument]:
    """The register as a PDF: a school's with every pupil, an authority's with one line per unit below."""
    kind = KINDS[kind_code]
    doc = _numbered(kind, actor, unit, year)
    context: dict[str, Any] = {
        "head": _header(unit, year, kind), "columns": COLUMNS, "directions": DIRECTION_LABELS,
        "doc": SimpleNamespace(number=doc.number, verify_code=doc.verify_code, printed_at=doc.printed_at),
    }
    if unit.level == SCHOOL:
        if kind.code == NEW:
            pupils = db.session.scalars(new_pupils_query(unit, year)).all()
            context["pupils"] = [_pupil_row(i, s) for i, s in enumerate(pupils, start=1)]
        elif kind.code == GRADUATES:
            info = graduation.summary(unit, year)
            records = db.session.scalars(graduates_query(unit, year)).all()
            context["graduates"] = [graduate_row(i, r) for i, r in enumerate(records, start=1)]
            context["counts"] = Counter(r.outcome for r in records if r.outcome)
            context["info"], context["grade"] = info, codes.label("grade", str(info.grade))
            context["approval"] = school_approval(info)
        else:
            lines = register_lines(unit, year)
            context["lines"] = lines
            context["totals"] = Counter(line.column.code for line in lines)
    else:
        context["units"], context["total"] = aggregate(unit, year, kind.code)
        context["school_kind"] = school_kind_label
    return pdf.render_pdf(kind.template, **context), doc


def filename(kind_code: str, unit: OrgUnit, year: int, ext: str) -> str:
    return f"{KINDS[kind_code].title}_{unit.name}_{year}.{ext}"


def xlsx(kind_code: str, unit: OrgUnit, actor: User, year: int) -> Iterator[bytes]:
    """The register as an XLSX, streamed and audited; the caller has passed the export gate."""
    kind = KINDS[kind_code]
    audit.record(actor, "export", f"roster_{kind.code}", unit.id, f"{kind.title} Excel（{unit.name}，{year} 年）")
    db.session.commit()
    return register_workbook(kind, unit, year)


def register_workbook(kind: RosterKind, unit: OrgUnit, year: int) -> Iterator[bytes]:
    """The XLSX of one register of one unit, in chunks (not audited: the callers are)."""
    if unit.level != SCHOOL:
        lines, total = aggregate(unit, year, kind.code)
        return exports.workbook_stream([("汇总", _aggregate_columns(kind), [*lines, total])])
    if kind.code == GRADUATES:
        approval = school_approval(graduation.summary(unit, year))
        graduate_columns: list[exports.ExportColumn] = [
            ("序号", lambda r: r[0]), ("姓名", lambda r: r[1].student.name),
            ("性别", lambda r: codes.label("gender", r[1].student.gender)), ("出生日期", lambda r: r[1].student.birth_date),
            ("全国学籍号", lambda r: r[1].student.xjh), ("身份证件号", lambda r: r[1].student.id_number),
            ("年级", lambda r: codes.label("grade", str(r[1].grade))), ("班级", lambda r: r[1].student.class_name),
            ("考核结果", lambda r: ASSESSMENT_LABELS.get(r[1].assessment or "", "")),
            ("考核确认", lambda r: graduation.confirmation_text(r[1])),
            ("毕（结）业", lambda r: OUTCOME_LABELS.get(r[1].outcome or "", "")),
            ("核准日期", lambda r: approval.on if approval else None),
            ("核准单号", lambda r: f"#{approval.request_id}" if approval else "未核准"),
        ]
        records = enumerate(db.session.scalars(graduates_query(unit, year).execution_options(yield_per=exports.YIELD_PER)), start=1)
        return exports.workbook_stream([(f"{kind.title}{year}", graduate_columns, records)])
    if kind.code == NEW:
        columns: list[exports.ExportColumn] = [
            ("序号", lambda r: r[0]), ("姓名", lambda r: r[1].name), ("性别", lambda r: codes.label("gender", r[1].gender)),
            ("出生日期", lambda r: r[1].birth_date), ("民族", lambda r: codes.label("ethnicity", r[1].ethnicity)),
            ("身份证件号", lambda r: r[1].id_number), ("全国学籍号", lambda r: r[1].xjh),
            ("年级", lambda r: codes.label("grade", str(r[1].grade))), ("班级", lambda r: r[1].class_name),
            ("入学年月", lambda r: r[1].enroll_month), ("户口所在地", lambda r: division_name(r[1].hukou_location) or r[1].hukou_location),
            ("监护人", lambda r: r[1].guardians[0].name if r[1].guardians else ""),
            ("联系电话", lambda r: (r[1].guardians[0].phone if r[1].guardians else None) or r[1].phone),
            ("学籍状态", lambda r: codes.label("student_status", r[1].status)),
        ]
        rows = enumerate(db.session.scalars(new_pupils_query(unit, year).execution_options(yield_per=exports.YIELD_PER)), start=1)
        return exports.workbook_stream([(kind.title, columns, rows)])
    lines = register_lines(unit, year)
    totals = Counter(line.column.code for line in lines)
    summary: list[exports.ExportColumn] = [
        ("增减", lambda c: DIRECTION_LABELS[c.direction]), ("类别", lambda c: c.label), ("人数", lambda c: totals[c.code]),
    ]
    detail: list[exports.ExportColumn] = [
        ("增减", lambda ln: DIRECTION_LABELS[ln.column.direction]), ("类别", lambda ln: ln.column.label), ("日期", lambda ln: ln.day),
        ("姓名", lambda ln: ln.name), ("性别", lambda ln: ln.gender), ("全国学籍号", lambda ln: ln.xjh),
        ("年级", lambda ln: ln.grade), ("转入/转出学校", lambda ln: ln.other), ("单号", lambda ln: ln.number),
    ]
    return exports.workbook_stream([("汇总", summary, COLUMNS), ("明细", detail, lines)])


def _aggregate_columns(kind: RosterKind) -> list[exports.ExportColumn]:
    columns: list[exports.ExportColumn] = [
        ("单位", lambda ln: ln.unit.name), ("代码", lambda ln: ln.unit.code),
        ("直管", lambda ln: "是" if ln.direct else ""),
    ]
    if kind.code == NEW:
        return [*columns, ("男", lambda ln: ln.new["1"]), ("女", lambda ln: ln.new["2"]), ("合计", lambda ln: ln.new["total"])]
    if kind.code == GRADUATES:
        return [
            *columns, ("名册人数", lambda ln: ln.graduates["total"]), ("考核合格", lambda ln: ln.graduates[PASSED]),
            ("考核不合格", lambda ln: ln.graduates[FAILED]), ("毕业", lambda ln: ln.graduates[GRADUATED]),
            ("结业", lambda ln: ln.graduates[GRADUATION_COMPLETED]), ("有名册学校", lambda ln: ln.graduates["schools"]),
            ("已核准学校", lambda ln: ln.graduates["approved"]), ("核准", approval_text),
        ]
    for c in COLUMNS:
        columns.append((f"{DIRECTION_LABELS[c.direction]}·{c.label}", lambda ln, code=c.code: ln.changes[code]))
    return [*columns, ("增加合计", lambda ln: ln.added), ("减少合计", lambda ln: ln.removed)]


def approval_text(line: UnitLine) -> str:
    """The approval column of an aggregate: a school's approval (date, request), else how many of
    the unit's rosters are approved."""
    if line.unit.level == SCHOOL:
        if line.approval is None:
            return "未核准" if line.graduates["total"] else "无名册"
        return f"{line.approval.on or ''} #{line.approval.request_id}".strip()
    return f"{line.graduates['approved']}/{line.graduates['schools']}"
