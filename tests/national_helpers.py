"""Pupils with the variety a national exchange meets, and files in the national layout, for the
tests of services/national/ and admin/national.py."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook, load_workbook

from extensions import db
from models.org import OrgUnit
from models.student import Guardian, Student
from services.national import basic
from tests.helpers import make_id

SURNAMES = ("王", "李", "张", "刘", "陈", "𠮷", "欧阳", "司马", "赵", "䶮")
GIVEN = ("伟", "芳", "𠮷祥", "娜", "强", "丽", "龑", "磊", "静", "洋", "阿依古丽·买买提")
DIVISIONS = ("210102", "210103", "210106", "210211", "110101", "440305")
PINYIN = ("Wang Wei", "Li Fang", "Zhang Qiang", "Lü Yang", None)


def _guardian(rng: random.Random, n: int, k: int) -> Guardian:
    # Guardians of every age: born 1930 (a great-grandparent) to late 2008 (a sibling just grown up).
    born = rng.choice((date(1930, 1, 1), date(1968, 12, 31), date(1985, 1, 1), date(2008, 12, 30),
                       date(1979, 6, 15) + timedelta(days=k % 3000)))
    id_type = rng.choice(("1", "1", "1", "5", "9"))
    number = make_id(rng.choice(("210102", "210120", "110101")), born, 100 + (k * 2 + n) % 800) if id_type == "1" else (
        f"E{k:08d}" if id_type == "5" else None)
    return Guardian(
        relation=rng.choice(("1", "2", "3", "4", "5", "9")), name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        id_type=id_type, id_number=number, phone=rng.choice(("13800000000", "024-23456789", None)),
        workplace=rng.choice(("沈阳市某公司", None)), relation_note=rng.choice((None, "继父", "姑姑")),
        ethnicity=rng.choice((None, "01", "03", "11")), current_address=rng.choice((None, "和平区南京北街1号")),
        hukou_location=rng.choice((None, "210102", "110101")), is_guardian=rng.random() < 0.8,
        job_title=rng.choice((None, "职员", "经理")),
    )


def build_pupils(school: OrgUnit, n: int, seed: int = 16) -> list[Student]:
    """`n` pupils on roll of `school`, written (flushed) directly: every code, empty and filled optional
    fields, births and enrolments across New Year, no ID (type 其他), rare characters, 0–2 guardians."""
    rng = random.Random(seed)
    pupils = []
    for k in range(n):
        # Births on 31 December and 1 January, and spread over the compulsory-education years.
        birth = rng.choice((date(2016, 12, 31), date(2017, 1, 1), date(2015, 1, 1), date(2014, 12, 31))) \
            if k % 5 == 0 else date(2012, 1, 1) + timedelta(days=(k * 37) % 2900)
        id_type = "9" if k % 17 == 0 else rng.choice(("1", "1", "1", "1", "2", "3", "4", "5"))
        if id_type == "9":  # matched by name, gender and birth: no two alike (twins have two names)
            birth = date(2013, 12, 20) + timedelta(days=k)
        gender = rng.choice(("1", "2"))
        if id_type == "1":
            seq = (k % 499) * 2 + (1 if gender == "1" else 0)
            number: str | None = make_id("210102", birth, seq)
        elif id_type == "9":
            number = None
        else:
            number = f"H{k:07d}NAT"
        s = Student(
            name=rng.choice(SURNAMES) + rng.choice(GIVEN), gender=gender, birth_date=birth,
            id_type=id_type, id_number=number, ethnicity=rng.choice(("01", "01", "03", "10", "11", "56", "97", "98")),
            nationality=rng.choice(("156", "156", "344", "840")), overseas=rng.choice(("0", "0", "1", "2", "3", "4", "5")),
            health=rng.choice(("1", "2", "3", "4", "5")), birthplace=rng.choice((*DIVISIONS, None)),
            native_place=rng.choice(("辽宁沈阳", None)), hukou_location=rng.choice((*DIVISIONS, None)),
            hukou_type=rng.choice(("1", "2", "3", None)), grade=1 + k % 6, class_name=f"{1 + k % 4}班",
            enroll_month=rng.choice(("2024-09", "2025-01", "2023-12", None)),
            enroll_mode=rng.choice(("1", "2", "3", "4", "5", None)), attendance_mode=rng.choice(("1", "2", "3", "9", None)),
            current_address=rng.choice(("和平区南京北街1号", None)), home_address=rng.choice(("和平区中华路2号", None)),
            phone=rng.choice(("13900000000", None)), only_child=rng.random() < 0.5, preschool=rng.random() < 0.9,
            left_behind=rng.choice(("0", "1", "2")), migrant_child=rng.random() < 0.2, orphan=rng.random() < 0.02,
            disability=rng.choice(("0", "0", "1", "7", "9")), former_name=rng.choice((None, "王小𠮷")),
            name_pinyin=rng.choice(PINYIN), id_valid_period=rng.choice((None, "2020.06.01-2030.06.01", "2019.12.31-长期")),
            political_status=rng.choice((None, "13", "03")), specialty=rng.choice((None, "钢琴")),
            class_number=rng.choice((None, str(k % 50 + 1))), student_source=rng.choice((None, "1", "9")),
            mailing_address=rng.choice((None, "沈阳市和平区邮政信箱1号")), postal_code=rng.choice((None, "110001")),
            email=rng.choice((None, "family@example.cn")), homepage=rng.choice((None, "https://example.cn/")),
            martyr_child=rng.random() < 0.05, inclusive_class=rng.choice((None, "0", "3")),
            gov_paid_place=rng.random() < 0.1, needs_aid=rng.random() < 0.1, one_subsidy=rng.random() < 0.1,
            school_distance=rng.choice((None, "2.5", "12")), transport_mode=rng.choice((None, "1", "4", "5")),
            school_bus=rng.random() < 0.1, status="enrolled",
            school=school, school_id=school.id, scope_path=school.path,
            xjh=f"G{number}" if id_type == "1" else f"J21{birth:%Y%m%d}{900000 + k:08d}",
        )
        s.guardians = [_guardian(rng, i, k) for i in range(k % 3)]
        db.session.add(s)
        pupils.append(s)
    db.session.flush()
    return pupils


def exported(actor: Any, unit: OrgUnit) -> bytes:
    """The national basic-information file of the unit, as the export sends it."""
    return b"".join(basic.xlsx_stream(actor, unit))


def edited(data: bytes, changes: dict[tuple[int, str], Any]) -> bytes:
    """The file with some cells rewritten: (data row index from 0, header) → value."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    for (row, header), value in changes.items():
        ws.cell(row=row + 2, column=headers.index(header) + 1, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def sheet(rows: list[list[Any]], header: list[str]) -> bytes:
    """A small workbook: one header row and the rows."""
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row_of(data: bytes, student_id: int) -> int:
    """The data row index (from 0) of a pupil in an exported file (by 学籍辅号)."""
    ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    col = list(rows[0]).index("学籍辅号")
    return next(i for i, r in enumerate(rows[1:]) if r[col] == str(student_id))
