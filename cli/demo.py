"""Demo province: 辽宁省 with 沈阳 (和平区, 沈河区, 康平县) and 大连 (西岗区), schools, accounts, pupils.

Deterministic (fixed random seed) and idempotent: a second run changes nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from flask_security.utils import hash_password
from sqlalchemy import select

from cli import DEMO_PASSWORD
from extensions import db
from models.audit import StudentHistory
from models.org import CITY, COUNTY, PROVINCE, SCHOOL, OrgUnit, child_path
from models.people import (
    ADMIN,
    AUDIT_ADMIN,
    CITY_OFFICIAL,
    CONFIDENTIALITY_OFFICER,
    COUNTY_OFFICIAL,
    PRINCIPAL,
    PROVINCE_OFFICIAL,
    REGISTRAR,
    ROLE_LABELS,
    SECURITY_ADMIN,
    Role,
    User,
)
from models.rosters import SchoolRegistrar
from models.student import Guardian, Student
from services import classes
from services.ids import make_check_digit, xjh_from_id

AUTHORITIES = [
    # code, name, level, parent code
    ("21", "辽宁省教育厅", PROVINCE, None),
    ("2101", "沈阳市教育局", CITY, "21"),
    ("210102", "和平区教育局", COUNTY, "2101"),
    ("210103", "沈河区教育局", COUNTY, "2101"),
    ("210123", "康平县教育局", COUNTY, "2101"),
    ("2102", "大连市教育局", CITY, "21"),
    ("210203", "西岗区教育局", COUNTY, "2102"),
]
SCHOOLS = [
    # code, name, kind, county, supervisor, rural, central school code, pupils share
    ("2121000001", "沈阳市和平区第一小学", "primary", "210102", "210102", False, None, 0.20),
    ("2221000002", "沈阳市和平区第二中学", "junior", "210102", "210102", False, None, 0.15),
    ("2121000003", "沈阳市沈河区第一小学", "primary", "210103", "210103", False, None, 0.18),
    ("2321000004", "大连市西岗区实验学校", "nine_year", "210203", "210203", False, None, 0.20),
    ("2321000005", "沈阳市实验学校（市直管）", "nine_year", "210103", "2101", False, None, 0.17),
    ("2121000006", "康平县郝官镇中心小学", "primary", "210123", "210123", True, None, 0.07),
    ("2121000007", "康平县郝官镇东升村小学", "primary", "210123", "210123", True, "2121000006", 0.03),
    # No pupils of their own in the demo: they receive pupils through 第十七条 / 第二十二条 moves.
    ("2421000008", "沈阳市和平区特殊教育学校", "special", "210102", "210102", False, None, 0.0),
    ("2521000009", "沈阳市工读学校", "work_study", "210103", "2101", False, None, 0.0),
]
ACCOUNTS = [
    # email, name, unit code, role
    ("admin@xueji.demo", "系统管理员", "21", ADMIN),
    ("province@xueji.demo", "省厅学籍科", "21", PROVINCE_OFFICIAL),
    ("shenyang@xueji.demo", "沈阳市教育局学籍科", "2101", CITY_OFFICIAL),
    ("dalian@xueji.demo", "大连市教育局学籍科", "2102", CITY_OFFICIAL),
    ("heping@xueji.demo", "和平区教育局学籍股", "210102", COUNTY_OFFICIAL),
    ("shenhe@xueji.demo", "沈河区教育局学籍股", "210103", COUNTY_OFFICIAL),
    ("kangping@xueji.demo", "康平县教育局学籍股", "210123", COUNTY_OFFICIAL),
    ("xigang@xueji.demo", "西岗区教育局学籍股", "210203", COUNTY_OFFICIAL),
    ("school-heping1@xueji.demo", "王丽（学籍管理员）", "2121000001", REGISTRAR),
    ("principal-heping1@xueji.demo", "李建国（校长）", "2121000001", PRINCIPAL),
    ("school-heping2@xueji.demo", "赵敏（学籍管理员）", "2221000002", REGISTRAR),
    ("principal-heping2@xueji.demo", "张伟（校长）", "2221000002", PRINCIPAL),
    ("school-shenhe1@xueji.demo", "孙莉（学籍管理员）", "2121000003", REGISTRAR),
    ("school-xigang1@xueji.demo", "周静（学籍管理员）", "2321000004", REGISTRAR),
    ("school-citydirect@xueji.demo", "吴芳（学籍管理员）", "2321000005", REGISTRAR),
    ("school-kangping1@xueji.demo", "郑洁（学籍管理员）", "2121000006", REGISTRAR),
    ("school-special@xueji.demo", "陈红（学籍管理员）", "2421000008", REGISTRAR),
    ("school-workstudy@xueji.demo", "刘强（学籍管理员）", "2521000009", REGISTRAR),
    # Last, so that each unit's first account stays its registrar or official (tests/changes/helpers.staff).
    ("security-admin@xueji.demo", "省厅安全管理员", "21", SECURITY_ADMIN),
    ("audit-admin@xueji.demo", "省厅审计管理员", "21", AUDIT_ADMIN),
    ("baomi-heping@xueji.demo", "和平区教育局保密管理员", "210102", CONFIDENTIALITY_OFFICER),
]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜"
    "范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "子涵欣怡梓轩浩宇雨桐一诺俊熙思远佳琪梓萱宇轩诗涵博文嘉怡晨曦明哲若汐沐阳语桐皓轩"
    "可馨天佑雅琪泽宇静怡家豪紫萱昊然梦瑶文博心怡宇航"
)
SCHOOL_YEAR_START = 2026  # the 2026–2027 school year


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def make_id(rng: random.Random, division: str, birth: date, male: bool, taken: set[str]) -> str:
    while True:
        seq = rng.randrange(0, 1000)
        if (seq % 2 == 1) != male:
            seq = (seq + 1) % 1000
        body = f"{division}{birth:%Y%m%d}{seq:03d}"
        number = body + make_check_digit(body)
        if number not in taken:
            taken.add(number)
            return number


def birth_for_grade(rng: random.Random, grade: int) -> date:
    """Pupils of grade g in 2026–27 were born between September (2020-g) and August (2021-g): grade 1 is 6 by 31 August."""
    start = date(SCHOOL_YEAR_START - 6 - grade, 9, 1)
    return start + timedelta(days=rng.randrange(0, 365))


def ensure_roles() -> dict[str, Role]:
    roles = {r.name: r for r in db.session.scalars(select(Role))}
    for name, label in ROLE_LABELS.items():
        if name not in roles:
            roles[name] = Role(name=name, description=label)
            db.session.add(roles[name])
    db.session.flush()
    return roles


def load_demo(pupils: int = 2000, only_if_empty: bool = False, *, requests: bool = False, realistic: int = 0,
              registrars: bool = False) -> bool:
    """Create the demo province; False when it is already there.

    `requests`: also one change request of every declared type in every state (each step
    pending, refused, withdrawn, overdue, 强制干预, finished), so that whoever tries the demo
    meets them; `realistic`: that many more pupils with real-life variety (cli/realistic.py);
    `registrars`: each school with a registrar account records that person as its 学籍管理员
    (第二十六条), so that only the village school shows on 康平县's dashboard as having none.
    The tests load the plain province (fast) and build what they need with tests/builders.py."""
    roles = ensure_roles()
    if db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "21")) is not None:
        db.session.commit()
        return False
    if only_if_empty and db.session.scalar(select(OrgUnit.id).limit(1)) is not None:
        return False
    units: dict[str, OrgUnit] = {}
    for code, name, level, parent in AUTHORITIES:
        p = units.get(parent) if parent else None
        units[code] = OrgUnit(code=code, name=name, level=level, parent=p, path=child_path(p, code))
    for code, name, kind, county, sup, rural, central, _share in SCHOOLS:
        p = units[county]
        units[code] = OrgUnit(
            code=code, name=name, level=SCHOOL, parent=p, path=child_path(p, code), school_kind=kind,
            supervisor=units[sup], is_rural=rural, central_school=units.get(central) if central else None,
        )
    db.session.add_all(units.values())
    db.session.flush()

    password = hash_password(DEMO_PASSWORD)
    for email, name, unit_code, role in ACCOUNTS:
        db.session.add(User(
            email=email, name=name, password=password, active=True, fs_uniquifier=uuid.uuid4().hex,
            unit=units[unit_code], scope_path=units[unit_code].path, roles=[roles[role]],
        ))
    db.session.flush()
    _secure_demo_accounts()
    add_pupils(units, pupils)
    if registrars:
        add_registrars(units)
    if realistic or requests:
        from cli import realistic as real

        real.people(realistic)
        if requests:
            real.requests_in_every_state()
    # The classes of this school year, from the pupils' class names (as migration w_classes did for a real database).
    classes.adopt_named_classes(classes.current_school_year(), units["21"].path)
    db.session.commit()
    return True


def _secure_demo_accounts() -> None:
    """Issue 13: the demo passwords count as chosen by their owners today (no forced change, so the
    README's logins work), and the accounts that must use two-factor get the public demo secret."""
    from services import passwords, two_factor

    for user in db.session.scalars(select(User)):
        passwords.set_by_owner(user)
        if user.is_authority:
            two_factor.give_demo_secret(user)


def add_registrars(units: dict[str, OrgUnit]) -> None:
    """The registrar accounts' holders as their schools' 学籍管理员, recorded by the school's
    principal where it has one (the principal is responsible, 第二十六条)."""
    users = {u.email: u for u in db.session.scalars(select(User))}
    for n, (email, name, unit_code, role) in enumerate(ACCOUNTS):
        if role != REGISTRAR:
            continue
        principal = next((users[e] for e, _n, c, r in ACCOUNTS if c == unit_code and r == PRINCIPAL), users[email])
        school = units[unit_code]
        db.session.add(SchoolRegistrar(
            school_id=school.id, scope_path=school.path, name=name.split("（")[0], phone=f"1390000{n:04d}",
            appointed_on=date(2024, 9, 1), full_time=n % 3 != 0, formal_staff=True, recorded_by_id=principal.id,
        ))
    db.session.flush()


def add_pupils(units: dict[str, OrgUnit], total: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    taken: set[str] = set()
    grades = {"primary": range(1, 7), "junior": range(7, 10), "nine_year": range(1, 10)}
    students: list[Student] = []
    for code, _school_name, kind, county, _sup, _rural, _central, share in SCHOOLS:
        school = units[code]
        for i in range(round(total * share)):
            grade = rng.choice(grades[kind])
            birth = birth_for_grade(rng, grade)
            male = rng.random() < 0.52
            number = make_id(rng, county, birth, male, taken)
            surname = _name(rng)
            s = Student(
                xjh=xjh_from_id(number), school=school, scope_path=school.path, status="enrolled",
                name=surname, gender="1" if male else "2", birth_date=birth, birthplace=county,
                native_place="辽宁" + school.parent.name.replace("教育局", ""), ethnicity=rng.choice(["01"] * 9 + ["11", "10", "03"]),
                nationality="156", id_type="1", id_number=number, overseas="0", health="1",
                hukou_location=county, hukou_type=rng.choice("123"), grade=grade, class_name=f"{i % 4 + 1}班",
                enroll_month=f"{SCHOOL_YEAR_START - grade + 1}-09", enroll_mode="1", attendance_mode="1",
                current_address=f"{school.parent.name.replace('教育局', '')}示范街{rng.randrange(1, 300)}号",
                phone=f"13{rng.randrange(100000000, 999999999)}", only_child=rng.random() < 0.6,
                preschool=True, left_behind=rng.choice("0000000012") if school.is_rural else "0",
                migrant_child=rng.random() < 0.08, orphan=False, disability="0",
            )
            father_birth = date(rng.randrange(1980, 1993), rng.randrange(1, 13), rng.randrange(1, 29))
            mother_birth = date(rng.randrange(1981, 1994), rng.randrange(1, 13), rng.randrange(1, 29))
            s.guardians = [
                Guardian(relation="1", name=surname[0] + _name(rng)[1:], id_type="1",
                         id_number=make_id(rng, county, father_birth, True, taken), phone=f"139{rng.randrange(10000000, 99999999)}"),
                Guardian(relation="2", name=_name(rng), id_type="1",
                         id_number=make_id(rng, county, mother_birth, False, taken), phone=f"138{rng.randrange(10000000, 99999999)}"),
            ]
            students.append(s)
    db.session.add_all(students)
    db.session.flush()
    db.session.add_all(
        StudentHistory(student_id=s.id, field="_created", new_value=s.xjh, reason="演示数据") for s in students
    )


def print_logins(echo: Callable[[str], None]) -> None:
    echo(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for email, name, _unit, role in ACCOUNTS:
        echo(f"  {email:34s} {ROLE_LABELS[role]:10s} {name}")
    from services.two_factor import DEMO_TOTP_KEY

    echo(f"县级及以上和管理员账号登录时还需两步验证码：身份验证器应用添加演示密钥 {DEMO_TOTP_KEY}（仅限演示），"
         "或运行 flask --app app demo-totp 邮箱 显示当前验证码。")
